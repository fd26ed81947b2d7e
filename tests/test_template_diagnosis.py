"""funnel_diagnosis and process_efficiency end to end on the generated sample warehouse.

The planted truths (playbook.sample.PLANTED) must be named in the outcomes, and the
figures must match an independent plain-pandas computation on the same Parquet files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.conftest import make_demo_project, run_cli

SPEC = "playbooks/loan-journey-diagnosis.yml"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, Any]]]:
    root = make_demo_project(tmp_path_factory, "diagnosis")
    result = run_cli(root, "run", "--quiet", SPEC)
    assert result.exit_code == 0, result.output
    assert run_cli(root, "publish").exit_code == 0
    (run_dir,) = (root / "outputs" / "runs" / "loan-journey-diagnosis").iterdir()
    out = {p.name.split(".")[0]: json.loads(p.read_text()) for p in run_dir.glob("*.outcome.json")}
    return root, out


def test_process_names_the_planted_slow_step(outcomes: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    root, out = outcomes
    proc = out["process_efficiency"]
    assert proc["status"] == "ok"
    assert proc["details"]["step_to_fix"] == "manual_review"
    assert proc["details"]["slowest_step"] == "manual_review"
    assert "manual_review" in proc["headline"]
    # independent figures from the Parquet file
    log = pd.read_parquet(root / "data" / "sample" / "process_log.parquet")
    done = log.dropna(subset=["end_ts"])
    hours = (done.end_ts - done.start_ts).dt.total_seconds() / 3600
    for step in ("manual_review", "document_check"):
        h = hours[done.step == step]
        assert proc["metrics"][f"step.{step}.p50_h"] == pytest.approx(np.quantile(h, 0.5), rel=1e-5)
        assert proc["metrics"][f"step.{step}.p90_h"] == pytest.approx(np.quantile(h, 0.9), rel=1e-5)
    review = hours[done.step == "manual_review"]
    assert proc["metrics"]["step.manual_review.sla_breach"] == pytest.approx((review > 24).mean(), abs=1e-6)
    assert proc["metrics"]["overall.cycle_p50_h"] > proc["metrics"]["step.manual_review.p50_h"]
    # the archive's key metrics (the first four): hours at stake at the step to fix first
    assert list(proc["metrics"])[:4] == ["fix.hours_at_stake", "overall.sla_breach", "overall.cycle_p50_h",
                                         "overall.cases"]


def test_funnel_names_the_planted_bottleneck_and_segment(outcomes: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    root, out = outcomes
    fun = out["funnel_diagnosis"]
    assert fun["status"] == "ok", fun.get("error")
    assert fun["details"]["bottleneck_loss"] == "verify_identity"
    weakest = fun["details"]["weakest"]
    assert (weakest["breakdown"], weakest["segment"]) == ("device", "web")
    assert "verify_identity" in fun["headline"] and "web" in fun["headline"]
    # independent figures: new users whose first visit falls in the entry period
    ev = pd.read_parquet(root / "data" / "sample" / "events.parquet")
    first_visit = ev[ev.event == "visit"].groupby("user_id").ts.min()
    cohort = first_visit[(first_visit >= "2026-09-01") & (first_visit < "2026-10-16")]
    assert fun["metrics"]["entrants"] == len(cohort)
    reg = ev[(ev.event == "register") & ev.user_id.isin(cohort.index)].groupby("user_id").ts.min()
    reg = reg[(reg >= cohort.reindex(reg.index)) & (reg <= cohort.reindex(reg.index) + pd.Timedelta(hours=720))]
    assert fun["metrics"]["step.register.users"] == len(reg)
    lo, hi = fun["metrics"]["overall.conv_ci_low"], fun["metrics"]["overall.conv_ci_high"]
    assert lo < fun["metrics"]["overall.conv"] < hi
    assert list(fun["metrics"])[:4] == ["overall.conv", "entrants", "bottleneck.loss_users", "bottleneck.loss_share"]
    # the slowest step's time is named for it, not filed under the loss bottleneck
    slowest = fun["details"]["slowest_step"]
    row = next(r for r in fun["details"]["funnel"] if r["step"] == slowest)
    assert fun["metrics"]["slowest_step.median_h"] == pytest.approx(row["median_h"], abs=1e-6)
    assert not any(k.startswith("bottleneck.") and "median" in k for k in fun["metrics"])


def test_both_reports_in_the_archive(outcomes: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    root, out = outcomes
    index = (root / "outputs" / "archive" / "index.html").read_text()
    for name in ("funnel_diagnosis", "process_efficiency"):
        assert name in index
        (page,) = (root / "outputs" / "archive" / "reports" / "loan-journey-diagnosis").glob(f"*/{name}.html")
        html = page.read_text()
        assert "analyze_" not in html and "<img" in html


def test_funnel_over_all_history(outcomes: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    """entry_start and entry_end empty are documented as "all history": no previous period."""
    import yaml

    root, _ = outcomes
    spec = yaml.safe_load((root / SPEC).read_text())
    spec["campaign"] = "all-history"
    spec["runs"] = [{"template": "funnel_diagnosis", "parameters": {"entry_start": "", "entry_end": ""}}]
    (root / "playbooks" / "all-history.yml").write_text(yaml.safe_dump(spec))
    result = run_cli(root, "run", "--quiet", "playbooks/all-history.yml")
    assert result.exit_code == 0, result.output
    (run_dir,) = (root / "outputs" / "runs" / "all-history").iterdir()
    out = json.loads((run_dir / "funnel_diagnosis.outcome.json").read_text())
    assert out["status"] == "ok", out.get("error")
    assert out["details"]["previous"] is None
    users = pd.read_parquet(root / "data" / "sample" / "events.parquet", columns=["user_id", "event"])
    assert out["metrics"]["entrants"] == users.loc[users.event == "visit", "user_id"].nunique()
