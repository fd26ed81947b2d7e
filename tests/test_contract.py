"""The result contract (playbook.analyses.base): every decision of every template has a
documented meaning and a tone from the one table that the report and the archive read."""

from __future__ import annotations

import inspect
import re

from tests.conftest import ROOT

from playbook.analyses import base
from playbook.analyses.base import DECISIONS, TONES, Tone, tone
from playbook.publish.formatting import decision_class
from playbook.runner.templates import discover


def test_every_template_has_a_decision_enum() -> None:
    assert set(DECISIONS) == set(discover(ROOT / "notebooks"))


def test_every_decision_has_a_tone_and_a_meaning() -> None:
    source = inspect.getsource(base)
    for template, enum in DECISIONS.items():
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
