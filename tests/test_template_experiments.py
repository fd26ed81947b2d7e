"""experiment_design and experiment_readout end to end on the generated sample warehouse.

Both example specs run through the CLI: limit-banner (planted +8% relative lift on applying,
harmless guardrails) must ship with an interval covering the truth; onboarding-copy (planted
53/47 split) must be invalid. The design must agree with playbook.stats.power.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.conftest import make_demo_project, run_cli

from playbook.sample import PLANTED
from playbook.stats import MetricSpec, duration_days, sample_size

SPECS = ["playbooks/limit-banner-experiment.yml", "playbooks/onboarding-copy-experiment.yml"]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, Any]]]:
    root = make_demo_project(tmp_path_factory, "experiments")
    result = run_cli(root, "run", "--quiet", *SPECS)
    assert result.exit_code == 0, result.output
    out = {}
    for campaign in ("limit-banner-experiment", "onboarding-copy-experiment"):
        (run_dir,) = (root / "outputs" / "runs" / campaign).iterdir()
        for p in run_dir.glob("*.outcome.json"):
            out[f"{campaign}/{p.name.split('.')[0]}"] = json.loads(p.read_text())
    return root, out


def test_limit_banner_ships_with_the_planted_lift_inside_its_interval(outcomes: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    _, out = outcomes
    res = out["limit-banner-experiment/experiment_readout"]
    assert res["status"] == "ok", res.get("error")
    assert res["decision"] == "ship"
    m = res["metrics"]
    truth = PLANTED["experiments"]["limit-banner"]["lift_rel"]
    assert m["apply_rate.treatment.ci_low"] < truth < m["apply_rate.treatment.ci_high"]
    assert m["apply_rate.treatment.ci_low"] > 0 and m["apply_rate.treatment.p_value_adj"] < 0.05
    assert m["apply_rate.treatment.chance_to_win"] > 0.95
    assert m["srm.p_value"] > 0.001
    guards = [c for c in res["details"]["comparisons"] if c["role"] == "guardrail"]
    assert {g["metric"] for g in guards} == {"approval_rate", "loan_size"}
    assert all(g["guardrail"] == "pass" for g in guards)
    for key in ("lift_abs", "lift_rel", "ci_low", "ci_high", "p_value", "p_value_adj", "chance_to_win"):
        assert f"approval_rate.treatment.{key}" in m
    assert "apply_rate" in res["headline"] and "CI" in res["headline"]


def test_readout_counts_match_the_parquet_files(outcomes: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    root, out = outcomes
    a = pd.read_parquet(root / "data" / "sample" / "assignments.parquet")
    lb = a[a.experiment == "limit-banner"]
    m = out["limit-banner-experiment/experiment_readout"]["metrics"]
    assert m["users.control"] == (lb.variant == "control").sum()
    assert m["users.treatment"] == (lb.variant == "treatment").sum()
    ev = pd.read_parquet(root / "data" / "sample" / "events.parquet", columns=["user_id", "ts", "event"])
    ev = ev[ev.event == "apply"].merge(lb, on="user_id")
    ev = ev[(ev.ts >= ev.assigned_ts) & (ev.ts < ev.assigned_ts + pd.Timedelta(days=14))]
    rate = ev.groupby("variant").user_id.nunique() / lb.groupby("variant").size()
    comp = next(c for c in out["limit-banner-experiment/experiment_readout"]["details"]["comparisons"]
                if c["metric"] == "apply_rate")
    assert comp["control_mean"] == pytest.approx(rate["control"], abs=1e-12)
    assert comp["arm_mean"] == pytest.approx(rate["treatment"], abs=1e-12)


def test_onboarding_copy_is_invalid_on_its_planted_srm(outcomes: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    _, out = outcomes
    res = out["onboarding-copy-experiment/experiment_readout"]
    assert res["status"] == "ok", res.get("error")
    assert res["decision"] == "invalid"
    assert res["metrics"]["srm.p_value"] < 0.001
    assert "sample ratio mismatch" in res["headline"]


def test_design_agrees_with_the_power_engine(outcomes: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    _, out = outcomes
    res = out["limit-banner-experiment/experiment_design"]
    assert res["status"] == "ok", res.get("error")
    m = res["metrics"]
    assert m["mde_rel"] == pytest.approx(0.08)
    ref = sample_size(MetricSpec.proportion(m["baseline"]), m["mde_rel"], variance_reduction=m["variance_reduction"])
    assert m["sample_size_per_arm"] == ref.units_control
    assert m["duration_days"] == duration_days(ref.units_total, m["daily_traffic"])
    assert 0.3 < m["rho"] < 0.7  # the planted pre-period correlation is ~0.5
    assert res["decision"] == "feasible"
    assert "Showing verified users" in res["details"]["hypothesis"]


def test_the_archive_shows_the_readouts_as_stakeholders_read_them(
        outcomes: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    """Published through the CLI: the limit banner's lift with its label and interval (from the
    outcome's metric_info) on the index and the campaign page; the invalid onboarding readout's
    numbers are withheld."""
    root, out = outcomes
    info = out["limit-banner-experiment/experiment_readout"]["metric_info"]
    assert info["apply_rate.treatment.lift_rel"]["kind"] == "lift"
    result = run_cli(root, "publish")
    assert result.exit_code == 0, result.output
    archive = root / "outputs" / "archive"
    line = ('<span class="metric-name" title="apply_rate.treatment.lift_rel">Apply rate, treatment vs control'
            '</span> <span class="metric-value">+9.0% (95% CI +5.8% to +12.4%)</span>')
    key_metrics = [line,
                   '>Apply rate p-value (corrected)</span> <span class="metric-value">p &lt; 0.001</span>',
                   '>Chance that treatment beats control on apply rate</span> <span class="metric-value">'
                   '&gt; 99.9%</span>',
                   '>Sample ratio mismatch p-value</span> <span class="metric-value">p = 0.639</span>']
    index = (archive / "index.html").read_text(encoding="utf-8")
    campaign = (archive / "campaigns" / "limit-banner-experiment.html").read_text(encoding="utf-8")
    for text in key_metrics:
        assert text in index and text in campaign, text
    history = campaign.split("Metrics across runs")[1]
    assert '<th class="num" title="apply_rate.treatment.lift_rel">Apply rate, treatment vs control<' in history
    assert '<td class="num">+9.0% (95% CI +5.8% to +12.4%)</td>' in history
    assert ">Users per arm</span> <span class=\"metric-value\">539<" in index
    assert ">Duration</span> <span class=\"metric-value\">33 days<" in index
    onboarding = index.split("onboarding-copy-experiment/")[-1].split("</tr>")[0]
    assert "Numbers withheld: the result is invalid; see the report." in onboarding
    assert "metric-value" not in onboarding
