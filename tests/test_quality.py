"""Data-quality rules: planted defects found, clean tables clean, every rule kind by hand."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from playbook.analyses.quality.analysis import (
    QualityResult,
    check_warehouse,
    daily_volume,
    load_rules,
    pandera_schema,
    validate_rules,
)
from playbook.errors import DataError
from playbook.sample import AS_OF, PLANTED, read_table
from playbook.sources import Warehouse

DEFECTS = {("users", "completeness", "region"), ("orders", "min", "amount"),
           ("orders", "uniqueness", "order_id"), ("orders", "not_future", "ts"),
           ("spend", "freshness", "date")}


@pytest.fixture(scope="session")
def result(sample: Path) -> QualityResult:
    return check_warehouse(Warehouse(sample))


def _rule(res: QualityResult, table: str, rule: str, column: str) -> pd.Series:
    r = res.rules
    hit = r[(r["table"] == table) & (r["rule"] == rule) & (r["column"] == column)]
    assert len(hit) == 1, (table, rule, column)
    return hit.iloc[0]


# -- the sample warehouse ----------------------------------------------------------------------------
def test_exactly_the_planted_defects_fail(result: QualityResult) -> None:
    failing = {tuple(x) for x in result.failing[["table", "rule", "column"]].to_numpy()}
    assert failing == DEFECTS
    assert {f"{t}.{r}.{c}" for t, r, c in DEFECTS} == set(PLANTED["defects"])
    clean = result.rules[result.rules["table"].isin(PLANTED["clean_tables"])]
    assert (clean["verdict"] == "pass").all() and len(clean) > 50
    assert not result.daily_volume["anomaly"].any()
    assert result.as_of == AS_OF  # read from _warehouse.json


def test_defect_counts_match_the_generator_and_pandas(sample: Path, result: QualityResult) -> None:
    planted = json.loads((sample / "_warehouse.json").read_text())["planted_defects"]
    users, orders = read_table(sample, "users"), read_table(sample, "orders")
    region = _rule(result, "users", "completeness", "region")
    assert region["failed"] == planted["users.region.missing"] == users["region"].isna().sum()
    assert region["checked"] == len(users) and region["threshold"] == 0.99
    amount = _rule(result, "orders", "min", "amount")
    assert amount["failed"] == planted["orders.amount.negative"] == (orders["amount"] < 0).sum()
    dup = _rule(result, "orders", "uniqueness", "order_id")
    assert dup["failed"] == planted["orders.order_id.duplicate_rows"]
    assert dup["failed"] == orders["order_id"].duplicated(keep=False).sum()
    fut = _rule(result, "orders", "not_future", "ts")
    assert fut["failed"] == planted["orders.ts.future"] == (orders["ts"] > AS_OF).sum()
    for n in (region["failed"], amount["failed"], dup["failed"], fut["failed"]):
        assert n >= 10  # dozens at scale 1, so the checks have something to find
    assert math.isclose(region["pass_pct"], 1 - users["region"].isna().mean())


def test_freshness_of_the_stale_spend_table(result: QualityResult) -> None:
    sample = result.failing_samples["spend.freshness.date"]
    newest = AS_OF.date() - timedelta(days=5)
    assert sample["newest"].iloc[0].date() == newest
    # a date is fresh until the end of its day: 2026-11-20 00:00 -> 2026-11-24 06:00 = 102 h
    assert sample["age_hours"].iloc[0] == 102.0 and sample["sla_hours"].iloc[0] == 24.0


def test_counts_agree_with_pandera(sample: Path, result: QualityResult) -> None:
    rules = load_rules()
    for table in ("orders", "users", "tickets", "process_log"):
        df = read_table(sample, table)
        schema = pandera_schema(rules[table], AS_OF)
        try:
            schema.validate(df, lazy=True)
            pandera_failed = 0
        except pa.errors.SchemaErrors as exc:
            pandera_failed = len(exc.failure_cases)
        ours = result.rules[(result.rules["table"] == table)
                            & ~result.rules["rule"].isin(["freshness", "volume", "type"])]
        assert ours["failed"].sum() == pandera_failed, table


def test_summary_metrics_and_headline(result: QualityResult) -> None:
    r = result.rules
    assert list(r.columns)[:9] == ["table", "rule", "column", "checked", "passed", "failed",
                                   "pass_pct", "threshold", "severity"]
    assert result.pass_rate == pytest.approx(r["pass_pct"].mean())
    comp = r[r["rule"] == "completeness"]
    assert result.coverage == pytest.approx(comp["passed"].sum() / comp["checked"].sum())
    assert result.decision == "fail"  # error-severity rules fail although both targets are met
    assert result.coverage >= 0.90 and result.pass_rate >= 0.95
    m = result.metrics()
    assert m["rules.failed"] == 5 and m["rules.total"] == len(r)
    assert m["fail.spend.freshness.date"] == 1.0
    assert m["fail.orders.min.amount"] == pytest.approx(
        _rule(result, "orders", "min", "amount")["failed"]
        / _rule(result, "orders", "min", "amount")["checked"], abs=1e-6)
    assert all(isinstance(v, float) for v in m.values())
    assert result.headline() == (
        f"Data is not fit to decide on: 5 rules marked error fail (5 of {len(r)} rules fail), though "
        f"the targets are met (pass rate {result.pass_rate:.1%} against 95% target; coverage "
        f"{result.coverage:.1%} against 90%)")  # why it fails, though both targets are met
    for key, frame in result.failing_samples.items():
        assert 0 < len(frame) <= 5, key
    dup = result.failing_samples["orders.uniqueness.order_id"]
    assert dup["order_id"].iloc[:4].duplicated(keep=False).all()  # pairs, sorted


def test_subset_of_tables_and_clean_decision(sample: Path) -> None:
    res = check_warehouse(Warehouse(sample), tables=["events", "tickets"])
    assert res.table_names == ["events", "tickets"] and res.decision == "pass"
    assert res.headline().startswith("Data is fit to decide on: all ")


# -- hand-made tables, answers worked out by hand ---------------------------------------------------
AS_OF_TINY = datetime(2026, 1, 31, 12, 0)


def _tiny(tmp_path: Path, name: str, df: pd.DataFrame, rules: dict[str, Any], **kw: Any) -> QualityResult:
    df.to_parquet(tmp_path / f"{name}.parquet", index=False)
    return check_warehouse(Warehouse(tmp_path), tables=[name], rules=validate_rules(rules),
                           as_of=AS_OF_TINY, **kw)


def test_completeness_threshold_and_coverage(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": [1, None, 3, 4, 5, 6, 7, 8, None, 10],
                       "b": ["x"] * 10, "c": [None] * 10})
    res = _tiny(tmp_path, "t", df, {"t": {"columns": {
        "a": {"required": True, "completeness": 0.9}, "b": {"required": True},
        "c": {"required": False}}}})
    a = _rule(res, "t", "completeness", "a")
    assert (a["checked"], a["passed"], a["failed"], a["pass_pct"]) == (10, 8, 2, 0.8)
    assert a["verdict"] == "fail"  # 80% < 90%
    assert _rule(res, "t", "completeness", "b")["verdict"] == "pass"
    assert not (res.rules["column"] == "c").any()  # not required: no completeness rule
    assert res.coverage == pytest.approx(18 / 20)  # a: 8 of 10, b: 10 of 10
    assert res.pass_rate == pytest.approx((0.8 + 1.0) / 2)
    assert res.decision == "fail"
    assert list(res.failing_samples["t.completeness.a"]["b"]) == ["x", "x"]


def test_range_allowed_pattern_and_type(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text(
        "n,k,code,i\n1,a,AB-12,1\n5,b,AB-1x,2\n10,c,xAB-12,x\n11,a,AB-7,4\n-1,,,5\n,b,AB-3,6\n")
    rules = validate_rules({"t": {"columns": {
        "n": {"dtype": "float", "min": 0, "max": 10},
        "k": {"dtype": "str", "allowed": ["a", "b"]},
        "code": {"pattern": "AB-[0-9]+"},
        "i": {"dtype": "int", "min": 2}}}})
    res = check_warehouse(Warehouse(tmp_path), tables=["t"], rules=rules, as_of=AS_OF_TINY)
    got = {(r.rule, r.column): (r.checked, r.failed) for r in res.rules.itertuples()}
    assert got[("min", "n")] == (5, 1)  # -1; the empty value is not checked
    assert got[("max", "n")] == (5, 1)  # 11
    assert got[("allowed", "k")] == (5, 1)  # c
    assert got[("pattern", "code")] == (5, 2)  # AB-1x, xAB-12: the whole value must match
    assert got[("type", "i")] == (6, 1)  # "x" is not an integer
    assert got[("min", "i")] == (5, 1)  # 1 < 2; "x" is counted under type only
    assert set(res.failing_samples["t.pattern.code"]["code"]) == {"AB-1x", "xAB-12"}


def test_uniqueness_single_and_composite_keys(tmp_path: Path) -> None:
    df = pd.DataFrame({"id": [1, 2, 2, 3, 3, 3, 4], "g": ["a", "a", "b", "a", "a", "b", None]})
    res = _tiny(tmp_path, "t", df, {"t": {"key": ["id"], "columns": {}}})
    single = _rule(res, "t", "uniqueness", "id")
    assert (single["checked"], single["failed"]) == (7, 5)  # every row of ids 2 and 3
    res = _tiny(tmp_path, "t", df, {"t": {"key": ["id", "g"], "columns": {}}})
    both = _rule(res, "t", "uniqueness", "id+g")
    assert (both["checked"], both["failed"]) == (6, 2)  # (3, a) twice; (4, None) unchecked
    assert len(res.failing_samples["t.uniqueness.id+g"]) == 2


def test_not_future_and_freshness(tmp_path: Path) -> None:
    ts = [AS_OF_TINY - timedelta(hours=h) for h in (50, 40, 30)] + [AS_OF_TINY
                                                                    + timedelta(hours=1)]
    df = pd.DataFrame({"ts": ts})
    spec = {"t": {"timestamp": "ts", "volume": False, "freshness_sla_hours": 24,
                  "columns": {"ts": {"not_future": True}}}}
    res = _tiny(tmp_path, "t", df, spec)
    assert tuple(_rule(res, "t", "not_future", "ts")[["checked", "failed"]]) == (4, 1)
    fresh = _rule(res, "t", "freshness", "ts")  # newest past value 30 h old > 24 h
    assert (fresh["checked"], fresh["failed"], fresh["verdict"]) == (1, 1, "fail")
    assert res.failing_samples["t.freshness.ts"]["age_hours"].iloc[0] == 30.0
    spec["t"]["freshness_sla_hours"] = 36
    assert _rule(_tiny(tmp_path, "t", df, spec), "t", "freshness", "ts")["verdict"] == "pass"
    # a date column is fresh until the end of its day: 2026-01-30 ends 12 h before as_of
    dates = pd.DataFrame({"d": [datetime(2026, 1, 29).date(), datetime(2026, 1, 30).date()]})
    spec = {"t": {"timestamp": "d", "volume": False, "freshness_sla_hours": 12,
                  "columns": {"d": {"dtype": "date"}}}}
    assert _rule(_tiny(tmp_path, "t", dates, spec), "t", "freshness", "d")["verdict"] == "pass"
    spec["t"]["freshness_sla_hours"] = 11
    assert _rule(_tiny(tmp_path, "t", dates, spec), "t", "freshness", "d")["verdict"] == "fail"


def _spiky_days() -> tuple[pd.DatetimeIndex, np.ndarray]:
    days = pd.date_range("2025-12-01", periods=60, freq="D")
    rows = np.full(60, 100)
    rows[45] = 300
    return days, rows


def test_daily_volume_finds_a_planted_spike_by_hand() -> None:
    days, rows = _spiky_days()
    vol = daily_volume(days, rows)
    assert vol["anomaly"].sum() == 1
    hit = vol[vol["anomaly"]].iloc[0]
    assert hit["day"] == days[45].date() and hit["rows"] == 300
    # Anscombe scale: 2*sqrt(300.375) - 2*sqrt(100.375); the spread is the Poisson floor 1
    assert hit["z"] == pytest.approx(2 * math.sqrt(300.375) - 2 * math.sqrt(100.375), abs=1e-9)
    assert hit["expected"] == pytest.approx(100.0)
    assert vol["z"].iloc[:29].isna().all()  # first day + 28 days of history are not scored
    assert math.isnan(vol["z"].iloc[-1])  # the last (partial) day is never scored
    weekly = np.tile([100, 100, 100, 100, 100, 60, 60], 9)  # weekends are not anomalies
    assert not daily_volume(pd.date_range("2025-12-01", periods=63), weekly)["anomaly"].any()
    drop = np.full(60, 1000)
    drop[40] = 400  # a lost load: 60% of a day missing
    assert daily_volume(days, drop)["anomaly"].sum() == 1


def test_volume_rule_through_the_warehouse(tmp_path: Path) -> None:
    days, rows = _spiky_days()
    ts = np.concatenate([d + pd.to_timedelta(np.linspace(0, 86_000, n), unit="s")
                         for d, n in zip(days, rows, strict=True)])
    res = _tiny(tmp_path, "t", pd.DataFrame({"ts": ts}),
                {"t": {"timestamp": "ts", "columns": {}}})
    vol = _rule(res, "t", "volume", "ts")
    assert (vol["checked"], vol["failed"], vol["severity"]) == (30, 1, "warn")
    assert res.decision == "pass"  # a warning alone does not fail the data
    assert "1 warning" in res.headline()
    assert len(res.failing_samples["t.volume.ts"]) == 1


# -- errors ----------------------------------------------------------------------------------------
def test_bad_rules_files(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("users:\n  columns:\n    region: {requird: true}\n")
    with pytest.raises(DataError, match=r"rules\.yaml: users\.columns\.region: unknown key "
                                        r"'requird' \(did you mean 'required'\?\)"):
        load_rules(bad)
    bad.write_text("users:\n  freshness: 24\n  columns: {}\n")
    with pytest.raises(DataError, match=r"rules\.yaml: users: unknown key 'freshness'"):
        load_rules(bad)
    bad.write_text("users:\n  columns:\n    id: {dtype: integer}\n")
    with pytest.raises(DataError, match=r"users\.columns\.id\.dtype: unknown type 'integer'"):
        load_rules(bad)
    bad.write_text("users:\n  columns:\n    id: {pattern: '['}\n")
    with pytest.raises(DataError, match=r"users\.columns\.id\.pattern: invalid regex"):
        load_rules(bad)
    with pytest.raises(DataError, match=r"nope\.yaml: rules file not found"):
        load_rules(tmp_path / "nope.yaml")
    assert "orders" in load_rules()  # the packaged rules load


def test_missing_column_and_table_errors(tmp_path: Path) -> None:
    pd.DataFrame({"id": [1]}).to_parquet(tmp_path / "t.parquet")
    rules = validate_rules({"t": {"columns": {"id": {}, "amount": {"min": 0}}}}, "my_rules.yaml")
    with pytest.raises(DataError) as err:
        check_warehouse(Warehouse(tmp_path), tables=["t"], rules=rules, as_of=AS_OF_TINY)
    msg = str(err.value)
    assert "t.parquet: table 't' has no column 'amount' (it has id)" in msg
    assert "my_rules.yaml" in msg
    with pytest.raises(DataError, match=r"my_rules\.yaml: no rules for table 'other'"):
        check_warehouse(Warehouse(tmp_path), tables=["other"], rules=rules, as_of=AS_OF_TINY)
    rules = validate_rules({"u": {"columns": {}}}, "my_rules.yaml")
    with pytest.raises(DataError, match=r"u\.parquet: table 'u' not found"):
        check_warehouse(Warehouse(tmp_path), tables=["u"], rules=rules, as_of=AS_OF_TINY)


def test_as_of_as_iso_string_with_zone(tmp_path: Path) -> None:
    pd.DataFrame({"ts": [datetime(2026, 1, 31, 11, 0)]}).to_parquet(tmp_path / "t.parquet")
    rules = validate_rules({"t": {"columns": {"ts": {"not_future": True}}}})
    res = check_warehouse(Warehouse(tmp_path), tables=["t"], rules=rules,
                          as_of="2026-01-31T12:00:00+01:00")  # 11:00 UTC: not in the future
    assert res.as_of == datetime(2026, 1, 31, 11, 0) and res.decision == "pass"
