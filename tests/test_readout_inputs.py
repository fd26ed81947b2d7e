"""experiment readout on data it has not seen: metrics checked against the data, NaN and nulls,
SRM weights keyed by arm name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.test_readout import BINARY, MEAN, RATIO, make_warehouse

from playbook.analyses.experiment.readout import analyze_experiment
from playbook.errors import DataError
from playbook.sources import Warehouse
from playbook.stats import srm_test


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    root = tmp_path_factory.mktemp("inputs")
    make_warehouse(root, n=(60, 60))
    return Warehouse(root)


def test_an_event_that_never_occurs_names_the_metric_column_and_the_events_present(small: Warehouse) -> None:
    # before: "ok, treatment lowers conv by +0.0% (no interval: zero_variance)", decision keep-running
    with pytest.raises(DataError) as exc:
        analyze_experiment(small, "exp", [{**BINARY, "event": "aply"}], cuped=False)
    msg = str(exc.value)
    assert msg.startswith("metric 'conv': ") and "events.parquet" in msg
    assert "column 'event' of table 'events' has no event 'aply'" in msg
    assert "(events present: apply, approve, disburse)" in msg
    with pytest.raises(DataError, match=r"metric 'approval': .*has no event 'approved' \(events present: apply"):
        analyze_experiment(small, "exp", [BINARY, {**RATIO, "numerator_event": "approved"}])


def test_an_empty_metric_table_is_named(small: Warehouse, tmp_path: Path) -> None:
    root = Path(str(small.data_dir))
    for name in ("assignments", "events", "metrics_pre", "users"):
        (tmp_path / f"{name}.parquet").write_bytes((root / f"{name}.parquet").read_bytes())
    pd.DataFrame({"user_id": pd.Series([], dtype="int64"), "paid": pd.Series([], dtype="float64")}).to_parquet(
        tmp_path / "outcomes.parquet")
    per_user = {"name": "paid", "kind": "binary", "table": "outcomes", "ts": "", "value": "paid", "role": "primary"}
    with pytest.raises(DataError, match=r"metric 'paid': .*outcomes\.parquet: table 'outcomes' has no rows"):
        analyze_experiment(Warehouse(tmp_path), "exp", [per_user], cuped=False)


def test_no_event_in_the_window_reads_as_no_test_not_as_a_lowered_metric(small: Warehouse) -> None:
    # the event exists, but never within 6 hours of assignment: a documented degenerate result
    res = analyze_experiment(small, "exp", [{**MEAN, "role": "primary", "window_days": 0.25}], cuped=False)
    assert "no test possible (zero_variance" in res.headline()
    assert "lowers" not in res.headline() and "+0.0%" not in res.headline()


def test_a_nan_value_is_an_error_naming_the_column(tmp_path: Path) -> None:
    make_warehouse(tmp_path, n=(60, 60))
    ev = pd.read_parquet(tmp_path / "events.parquet")
    ev.loc[ev.index[ev.event == "disburse"][:3], "revenue"] = np.nan
    table = pa.Table.from_pandas(ev.drop(columns="revenue"), preserve_index=False)
    table = table.append_column("revenue", pa.array(ev.revenue.to_numpy()))  # from numpy: NaN stays NaN
    pq.write_table(table, tmp_path / "events.parquet")
    assert pq.read_table(tmp_path / "events.parquet").column("revenue").null_count == 0  # NaN, not null
    with pytest.raises(DataError, match=r"metric 'rev': .*events\.parquet: column 'revenue' of table 'events' holds "
                                        r"3 NaN or infinite values in rows with event 'disburse'"):
        analyze_experiment(Warehouse(tmp_path), "exp", [BINARY, MEAN], cuped=False)
    pre = pd.read_parquet(tmp_path / "metrics_pre.parquet")
    pre.loc[:1, "pre_value"] = np.inf  # infinity survives pandas' writer
    pre.to_parquet(tmp_path / "metrics_pre.parquet")
    with pytest.raises(DataError, match=r"CUPED pre-period: .*column 'pre_value' holds 2 NaN or infinite"):
        analyze_experiment(Warehouse(tmp_path), "exp", [BINARY])


def test_nulls_counted_as_zero_are_counted_and_said(tmp_path: Path) -> None:
    truth = make_warehouse(tmp_path, n=(60, 60))
    ev = pd.read_parquet(tmp_path / "events.parquet")
    ev["revenue"] = ev["revenue"].astype(object)
    rows = ev.index[ev.event == "disburse"]
    ev.loc[rows[:5], "revenue"] = None
    ev["revenue"] = ev["revenue"].astype("float64")
    pq.write_table(pa.Table.from_pandas(ev, preserve_index=False), tmp_path / "events.parquet")
    assert pq.read_table(tmp_path / "events.parquet").column("revenue").null_count == 5  # pandas None -> null
    res = analyze_experiment(Warehouse(tmp_path), "exp", [BINARY, MEAN], cuped=False)
    (count,) = [c for c in res.details()["null_counts"] if c["metric"] == "rev"]
    assert count == {"metric": "rev", "table": "events", "column": "revenue", "event": "disburse",
                     "rows": len(rows), "nulls": 5}
    assert (f"Missing values counted as 0: 5 of {len(rows)} rows with event 'disburse' in table 'events' have no "
            "'revenue' (metric rev).") in res.summary()
    assert np.isfinite(res.comparisons.set_index("metric").loc["rev", "lift_rel"])
    assert len(truth)


def _split(tmp_path: Path, control: int, treatment: int) -> Warehouse:
    make_warehouse(tmp_path, n=(control, treatment), seed=4)
    return Warehouse(tmp_path)


def test_srm_weights_follow_the_arms_parameter_not_the_position(tmp_path: Path) -> None:
    wh = _split(tmp_path, 300, 700)  # a true 30/70 split, control 30%
    # arms listed treatment first, weights in that order: the split is exactly the plan
    listed = analyze_experiment(wh, "exp", [BINARY], arms=["treatment", "control"], weights=[0.7, 0.3])
    assert listed.srm.p_value == pytest.approx(1.0) and listed.decision != "invalid"  # before: p 1e-30, invalid
    assert listed.settings["weights"] == {"treatment": 0.7, "control": 0.3}
    named = analyze_experiment(wh, "exp", [BINARY], weights={"treatment": 0.7, "control": 0.3})
    assert named.srm.p_value == pytest.approx(1.0)
    control_first = analyze_experiment(wh, "exp", [BINARY], weights=[0.3, 0.7])  # no arms: control first
    assert control_first.srm.p_value == pytest.approx(1.0)
    # the reverse: a plan of treatment 30% / control 70% against the same 30/70 data is a real mismatch,
    # which position-applied weights hid (0.3 went to control)
    wrong = analyze_experiment(wh, "exp", [BINARY], arms=["treatment", "control"], weights=[0.3, 0.7])
    assert wrong.decision == "invalid"
    assert wrong.srm.p_value == pytest.approx(srm_test([300, 700], [0.7, 0.3]).p_value)
    assert "against a planned 70%/30%" in wrong.headline()  # shown in the readout's arm order, control first


def test_srm_weights_errors_name_the_arms(tmp_path: Path) -> None:
    wh = _split(tmp_path, 40, 40)
    with pytest.raises(DataError, match=r"weights: 3 weights for 2 arms \(control, treatment\).*control first"):
        analyze_experiment(wh, "exp", [BINARY], weights=[0.3, 0.3, 0.4])
    with pytest.raises(DataError, match=r"weights: give one weight per arm by name \(control, treatment\); "
                                        r"missing: treatment; not an arm of the experiment: b"):
        analyze_experiment(wh, "exp", [BINARY], weights={"control": 0.5, "b": 0.5})
    with pytest.raises(DataError, match=r"weights: each arm's planned share must be a positive number"):
        analyze_experiment(wh, "exp", [BINARY], weights=[0.5, -0.5])
