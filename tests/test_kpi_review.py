"""kpi_review end to end: the notebook through papermill on the sample warehouse, its outcome
checked; and the analysis on its own. Made by `playbook template new kpi_review`: check the numbers
your analysis should find instead (the sample warehouse's planted effects: data/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import papermill as pm
import pytest
from tests.conftest import ROOT

from playbook.analyses.kpi_review import KpiReviewDecision, analyze
from playbook.errors import ParameterError
from playbook.runner.execute import KERNEL_NAME
from playbook.runner.kernels import engine_options
from playbook.sources import Warehouse


def test_the_notebook_records_its_outcome(sample: Path, tmp_path: Path) -> None:
    pm.execute_notebook(
        str(ROOT / "notebooks" / "kpi_review.ipynb"), str(tmp_path / "kpi_review.ipynb"),
        parameters={"data_dir": str(sample), "output_dir": str(tmp_path), "campaign": "test",
                    "run_id": "test", "report_name": "kpi_review"},
        kernel_name=KERNEL_NAME, progress_bar=False, resources={"metadata": {"path": str(ROOT)}},
        **engine_options())
    outcome = json.loads((tmp_path / "kpi_review.outcome.json").read_text(encoding="utf-8"))
    rows = len(pd.read_parquet(sample / "events.parquet"))
    assert outcome["language"] == "en"
    assert outcome["status"] == "ok" and outcome["template"] == "kpi_review"
    assert outcome["headline"] == f"events holds {rows:,} rows"
    assert (outcome["decision"], outcome["tone"]) == ("enough", "good")
    assert outcome["metrics"] == {"rows": rows}


def test_too_few_rows(sample: Path) -> None:
    result = analyze(Warehouse(sample), table="events", min_rows=10**12)
    assert result.decision is KpiReviewDecision.TOO_FEW


def test_a_negative_minimum_is_refused(sample: Path) -> None:
    with pytest.raises(ParameterError, match="min_rows: must be a whole number of rows, 0 or more; got -1"):
        analyze(Warehouse(sample), min_rows=-1)
