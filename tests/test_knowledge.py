"""playbook.knowledge.read_archive: the published archive (catalog.json) as one table of reports
and metrics, with the idea and area each campaign's own run tested."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from tests.test_publish import make_run, ok_notebook

from playbook.errors import DataError
from playbook.knowledge import COLUMNS, read_archive
from playbook.publish import publish

READOUT = {
    "status": "ok", "headline": "B lifts applications by +8.0%", "decision": "ship", "tone": "good",
    "metrics": {"apply_rate.treatment.lift_rel": 0.08, "apply_rate.treatment.p_value": 0.001},
    "metric_info": {"apply_rate.treatment.lift_rel": {"label": "Apply rate, treatment vs control", "kind": "lift",
                                                      "low": 0.05, "high": 0.11, "level": 0.95},
                    "apply_rate.treatment.p_value": {"label": "p-value", "kind": "p_value"}},
}


def test_the_archive_reads_as_one_row_per_report_and_metric(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    make_run(runs, "limit-banner", "20261110T0600Z",
             [{"name": "experiment_readout", "status": "ok", "notebook": ok_notebook(), "outcome": READOUT}],
             spec_extra={"idea": "IDEA-007", "area": "activation", "tags": ["experiment"]})
    make_run(runs, "broken", "20261111T0600Z", [{"name": "data_quality", "status": "failed",
                                                  "error": {"ename": "DataError", "evalue": "x", "traceback": ""}}])
    publish(runs, tmp_path / "archive")
    frame = read_archive(tmp_path / "archive")
    assert list(frame.columns) == COLUMNS and len(frame) == 3
    lift = frame[frame.metric == "apply_rate.treatment.lift_rel"].iloc[0]
    assert (lift.campaign, lift.template, lift.decision, lift.tone, lift.idea, lift.area) == (
        "limit-banner", "experiment_readout", "ship", "good", "IDEA-007", "activation")
    assert (lift.value, lift.ci_low, lift.ci_high, lift.kind, bool(lift.key)) == (0.08, 0.05, 0.11, "lift", True)
    assert lift.label == "Apply rate, treatment vs control" and lift.tags == ("experiment",)
    assert lift.run_date == pd.Timestamp("2026-11-10T06:00:00", tz="UTC")
    p = frame[frame.metric == "apply_rate.treatment.p_value"].iloc[0]
    assert math.isnan(p.ci_low) and not p.key
    failed = frame[frame.campaign == "broken"].iloc[0]  # a report without metrics keeps one row
    assert failed.status == "failed" and pd.isna(failed.metric) and pd.isna(failed.idea)


def test_an_archive_that_is_not_there_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"catalog.json: no archive yet; run `playbook publish`"):
        read_archive(tmp_path)
    (tmp_path / "catalog.json").write_text("{")
    with pytest.raises(DataError, match="not valid JSON"):
        read_archive(tmp_path)
