"""The result contract (playbook.analyses.base): every decision of every template has a
documented meaning and a tone from the one table that the report and the archive read."""

from __future__ import annotations

import inspect
import re
import sys

from tests.conftest import ROOT

from playbook.analyses import base
from playbook.analyses.base import DECISIONS, TONES, Tone, tone
from playbook.publish.formatting import decision_class
from playbook.runner.templates import discover


def test_every_template_has_a_result_and_a_decision_enum() -> None:
    templates = discover(ROOT / "notebooks")
    assert {t: base.result_class(t) is not None for t in templates} == dict.fromkeys(templates, True)
    assert set(DECISIONS) == set(templates)


def test_every_decision_has_a_tone_and_a_meaning() -> None:
    for template, enum in DECISIONS.items():
        source = inspect.getsource(sys.modules[enum.__module__])  # base, or a registering package
        assert len(enum) >= 2, template
        for member in enum:
            assert member.value in TONES, (template, member)
            assert isinstance(TONES[member.value], Tone)
            # the meaning is written beside the member: `NAME = "word"  # meaning`
            assert re.search(rf'{member.name} = "{re.escape(member.value)}"  # \w', source), member


def test_report_and_archive_read_the_same_table() -> None:
    for word, t in TONES.items():
        assert tone(word) == t and decision_class(word) == t.value
    assert tone("Keep running") == Tone.NEUTRAL and tone("unheard-of") == Tone.NEUTRAL
    # the archive shows the tone an outcome recorded (a template registering its decisions in its
    # own package is known to the kernel that ran it, not necessarily to the publisher)
    assert decision_class("unheard-of", "good") == "good"
    assert decision_class("ship", "x onclick=alert(1)") == "good" and decision_class("ship", None) == "good"


def _results(sample):
    import yaml

    from playbook.analyses.experiment.design import design_experiment
    from playbook.analyses.experiment.readout import analyze_experiment
    from playbook.analyses.quality.analysis import check_warehouse
    from playbook.sources import Warehouse

    spec = yaml.safe_load((ROOT / "playbooks" / "limit-banner-experiment.yml").read_text())
    design, readout = (r["parameters"] for r in spec["runs"])
    yield check_warehouse(Warehouse(sample))
    yield design_experiment(Warehouse(sample), readout["metrics"], **design)
    yield analyze_experiment(Warehouse(sample), readout.pop("experiment"), readout.pop("metrics"), **readout)
    yield from _diagnoses(sample)


def _diagnoses(sample):
    import yaml

    from playbook.analyses.funnel.analysis import analyze_funnel
    from playbook.analyses.process.analysis import analyze_process
    from playbook.sources import Warehouse

    spec = yaml.safe_load((ROOT / "playbooks" / "loan-journey-diagnosis.yml").read_text())
    funnel, process = (r["parameters"] for r in spec["runs"])
    yield analyze_funnel(Warehouse(sample), funnel.pop("steps"), **funnel)
    yield analyze_process(Warehouse(sample), **process)


def test_results_implement_the_contract(sample) -> None:
    from playbook.analyses.base import Metric, Result

    for result in _results(sample):
        assert isinstance(result, Result), type(result)
        assert result.decision in TONES
        assert all(len(t.columns) for t in result.tables().values())
        info = {m.name: m for m in result.metric_info()}
        missing = set(result.metrics()) - set(info)
        assert not missing, (type(result).__name__, sorted(missing))
        for m in info.values():
            assert isinstance(m, Metric) and m.label and m.kind
            if m.low is not None:
                assert m.high is not None and m.level is not None and m.low <= m.high


def test_diagnosis_decision_rules_live_in_the_results(sample) -> None:
    from dataclasses import replace

    from playbook.analyses.base import FunnelDecision, ProcessDecision

    funnel, process = _diagnoses(sample)
    assert funnel.decision is FunnelDecision.ACT and funnel.bottleneck_loss == "verify_identity"
    assert replace(funnel, bottleneck_loss=None).decision is FunnelDecision.NO_ACTION
    assert process.decision is ProcessDecision.ACT and process.step_to_fix == "manual_review"
    assert replace(process, step_to_fix=None).decision is ProcessDecision.NO_ACTION
    # the tones the archive shows: something to fix is bad news
    assert [TONES[d] for d in (funnel.decision, process.decision)] == [Tone.BAD, Tone.BAD]


def test_summaries_escape_names_from_data(sample) -> None:
    for result in _results(sample):
        text = result.summary()
        assert text and "<script" not in text


def test_the_stylesheet_uses_the_palettes_tone_colours():
    """The archive's badges (CSS variables) and the report's (playbook.palette) agree."""
    import re
    from importlib import resources

    from playbook.palette import BAD_TINT, TONE_COLOURS

    css = resources.files("playbook.publish").joinpath("static/playbook.css").read_text("utf-8")
    var = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", css))
    assert {"good": var["ok"], "bad": var["bad"], "invalid": var["invalid"],
            "neutral": var["muted"]} == TONE_COLOURS
    assert var["bad-bg"] == BAD_TINT
