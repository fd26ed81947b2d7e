"""funnel and process called directly with out-of-range parameters or an all-null timestamp
column: a named PlaybookError naming the parameter or column, never a raw KeyError,
OverflowError or TypeError."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
from tests.conftest import ROOT

from playbook.analyses.funnel import analysis as funnel
from playbook.analyses.funnel.analysis import analyze_funnel
from playbook.analyses.process.analysis import analyze_process
from playbook.errors import DataError, ParameterError
from playbook.runner.templates import load_template
from playbook.sources import Warehouse

T0 = pd.Timestamp("2026-03-02")


def events_warehouse(tmp_path: Path, null_ts: bool = False) -> Warehouse:
    ev = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "event": ["visit", "register", "visit",
                                                             "register", "visit"],
                       "h": [0, 1, 0, 5, 0]})
    ev["ts"] = (T0 + pd.to_timedelta(ev["h"], unit="h")).astype("datetime64[us]")
    if null_ts:
        ev["ts"] = pd.Series([pd.NaT] * len(ev), dtype="datetime64[us]")
    ev[["user_id", "ts", "event"]].to_parquet(tmp_path / "events.parquet")
    pd.DataFrame({"user_id": [1, 2, 3], "device": ["ios", "web", "ios"]}).to_parquet(
        tmp_path / "users.parquet")
    return Warehouse(tmp_path)


def process_warehouse(tmp_path: Path, null_start: bool = False) -> Warehouse:
    start = pd.Series([T0, T0 + pd.Timedelta(hours=2), T0, T0 + pd.Timedelta(hours=3)],
                      dtype="datetime64[us]")
    log = pd.DataFrame({"case_id": [1, 1, 2, 2], "step": ["a", "b", "a", "b"],
                        "start_ts": start, "end_ts": start + pd.Timedelta(hours=1)})
    if null_start:
        log["start_ts"] = pd.Series([pd.NaT] * 4, dtype="datetime64[us]")
    log.to_parquet(tmp_path / "process_log.parquet")
    return Warehouse(tmp_path)


def test_funnel_all_null_ts_is_a_data_error_naming_the_column(tmp_path: Path) -> None:
    wh = events_warehouse(tmp_path, null_ts=True)
    for kwargs in ({}, {"breakdowns": ["device"]}, {"entry_start": "2026-03-01",
                                                     "entry_end": "2026-03-05"}):
        with pytest.raises(DataError, match=r"events.parquet: column 'ts' of table 'events' is null "
                                            r"in all 5 rows"):
            analyze_funnel(wh, ["visit", "register"], **kwargs)


def test_empty_period_segments_keep_their_columns(tmp_path: Path) -> None:
    """No entrant in the period: the segment table is empty but typed, so selecting its
    significant rows keeps the columns (the template read sig["diff"]: KeyError)."""
    wh = events_warehouse(tmp_path)
    r = analyze_funnel(wh, ["visit", "register"], breakdowns=["device"],
                       entry_start="2027-01-01", entry_end="2027-01-31")
    assert r.entrants == 0
    sig = r.segments[r.segments.significant]
    assert "diff" in sig.columns and len(sig) == 0
    assert r.segments["significant"].dtype == bool


@pytest.mark.parametrize("kwargs, match", [
    ({"window_hours": 1.0e12}, r"window_hours=1000000000000.0: give at most 87600 hours \(10 years\)"),
    ({"window_hours": math.inf}, r"window_hours=inf: give a positive number of hours"),
    ({"window_hours": "720"}, r"window_hours='720': give a positive number of hours"),
    ({"step_windows_hours": [1.0e12]}, r"step_windows_hours: 1000000000000.0 is not a number of hours "
                                       r"between 0 and 87600"),
    ({"min_segment_users": -5}, r"min_segment_users=-5: give a whole number of users >= 1"),
    ({"min_segment_users": 2.5}, r"min_segment_users=2.5: give a whole number of users >= 1"),
    ({"alpha": 1.5}, r"alpha=1.5: give a significance level between 0 and 1"),
    ({"entry_start": 20260301}, r"entry_start=20260301 is not an ISO date"),
])
def test_funnel_parameters_out_of_range_are_named(tmp_path: Path, kwargs: dict[str, Any],
                                                  match: str) -> None:
    wh = events_warehouse(tmp_path)
    with pytest.raises(ParameterError, match=match):
        analyze_funnel(wh, ["visit", "register"], **kwargs)


def test_funnel_steps_must_be_names(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=r"steps=\['visit', 2\]: give event names"):
        analyze_funnel(events_warehouse(tmp_path), ["visit", 2])  # type: ignore[list-item]


def test_parameter_error_is_still_a_value_error() -> None:
    assert issubclass(ParameterError, ValueError)


def test_funnel_notebook_bounds_match_the_analysis() -> None:
    """The template's bounds accept what analyze_funnel accepts (one list of each)."""
    from playbook.stats.corrections import CORRECTIONS

    p = load_template(ROOT / "notebooks" / "funnel_diagnosis.ipynb").parameters
    assert p["order"].bound is not None and p["order"].bound.choices == funnel.ORDERS
    assert p["entry"].bound is not None and p["entry"].bound.choices == funnel.ENTRIES
    assert p["correction"].bound is not None and set(p["correction"].bound.choices) == set(CORRECTIONS)
    assert p["window_hours"].bound is not None
    assert ("value", "max", funnel.MAX_WINDOW_HOURS) in p["window_hours"].bound.conditions


def test_process_all_null_start_is_a_data_error_naming_the_column(tmp_path: Path) -> None:
    wh = process_warehouse(tmp_path, null_start=True)
    for sla in (None, {"a": 1.0}):
        with pytest.raises(DataError, match=r"process_log.parquet: column 'start_ts' of table "
                                            r"'process_log' is null in all 4 rows"):
            analyze_process(wh, sla_hours=sla)


@pytest.mark.parametrize("kwargs, match", [
    ({"sla_hours": {"a": -1.0}}, r"sla_hours\['a'\] = -1.0: give a positive number of hours"),
    ({"sla_hours": {"a": "fast"}}, r"sla_hours\['a'\] = 'fast': give a positive number of hours"),
    ({"sla_hours": {"a": math.nan}}, r"sla_hours\['a'\] = nan: give a positive number of hours"),
    ({"min_week_rows": 0}, r"min_week_rows=0: give a whole number of rows >= 1"),
    ({"min_week_rows": -3}, r"min_week_rows=-3: give a whole number of rows >= 1"),
])
def test_process_parameters_out_of_range_are_named(tmp_path: Path, kwargs: dict[str, Any],
                                                   match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        analyze_process(process_warehouse(tmp_path), **kwargs)


def test_templates_stay_clean_after_the_bounds_were_added() -> None:
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1
        assert all(c.outputs == [] for c in nb.cells if c.cell_type == "code")
