"""The sample-warehouse generator: shape, determinism, scaling and the planted effects."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from tests.conftest import run_cli

from playbook.errors import DataError
from playbook.sample import (
    AS_OF,
    EVENTS_PER_SCALE,
    PLANTED,
    SCHEMAS,
    TABLES,
    expected_events,
    generate,
    read_table,
)

COLUMNS = {  # DESIGN.md, "Sample warehouse"
    "users": ["user_id", "signup_ts", "channel", "region", "device", "age_band"],
    "events": ["user_id", "ts", "event", "revenue"],
    "orders": ["order_id", "user_id", "ts", "amount"],
    "spend": ["date", "channel", "spend", "impressions", "clicks"],
    "assignments": ["user_id", "experiment", "variant", "assigned_ts"],
    "metrics_pre": ["user_id", "experiment", "pre_value"],
    "process_log": ["case_id", "step", "start_ts", "end_ts"],
    "tickets": ["ticket_id", "user_id", "opened_ts", "resolved_ts", "category", "csat"],
    "campaigns": ["campaign", "channel", "start", "end", "budget", "audience", "participants",
                  "conversions"],
    "backlog": ["idea_id", "idea", "owner", "area", "impact", "confidence", "ease", "reach", "status", "created"],
}


@pytest.fixture(scope="session")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wh_small")
    generate(out, scale=0.1, seed=7, progress=False)
    return out


@pytest.fixture(scope="session")
def t(sample: Path) -> dict[str, pd.DataFrame]:
    return {name: read_table(sample, name) for name in TABLES}


def test_every_table_and_column_of_the_design(small: Path) -> None:
    assert set(COLUMNS) == set(TABLES)
    for table, cols in COLUMNS.items():
        assert (small / f"{table}.parquet").is_file()
        assert list(read_table(small, table).columns) == cols
        assert SCHEMAS[table].names == cols
    assert not list(small.glob(".*.tmp"))


def test_metadata_file(small: Path) -> None:
    meta = json.loads((small / "_warehouse.json").read_text())
    assert meta["seed"] == 7 and meta["scale"] == 0.1
    assert meta["as_of"] == "2026-11-24T06:00:00Z"
    assert meta["generator_version"]
    for table in TABLES:
        assert meta["rows"][table] == len(read_table(small, table))


def test_timestamps_are_naive_utc_and_before_as_of(small: Path) -> None:
    for table, cols in (("users", ["signup_ts"]), ("events", ["ts"]),
                        ("assignments", ["assigned_ts"]), ("process_log", ["start_ts", "end_ts"]),
                        ("tickets", ["opened_ts", "resolved_ts"])):
        df = read_table(small, table)
        for c in cols:
            assert str(df[c].dtype) == "datetime64[us]"
            assert (df[c].dropna() < pd.Timestamp(AS_OF)).all(), (table, c)
    orders = read_table(small, "orders")
    meta = json.loads((small / "_warehouse.json").read_text())
    assert (orders["ts"] > pd.Timestamp(AS_OF)).sum() == meta["planted_defects"]["orders.ts.future"]


def test_same_seed_same_bytes_other_chunking_same_frames(small: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(again, scale=0.1, seed=7, progress=False)
    for table in TABLES:
        assert (again / f"{table}.parquet").read_bytes() == (small / f"{table}.parquet").read_bytes()
    chunked = tmp_path / "chunked"
    generate(chunked, scale=0.1, seed=7, progress=False, chunk_users=1_000)
    for table in TABLES:
        pd.testing.assert_frame_equal(read_table(chunked, table), read_table(small, table))


def test_other_seed_other_data(small: Path, tmp_path: Path) -> None:
    generate(tmp_path, scale=0.1, seed=8, progress=False)
    assert not read_table(tmp_path, "users").equals(read_table(small, "users"))
    assert not read_table(tmp_path, "events").equals(read_table(small, "events"))


def test_rows_scale_linearly(small: Path, sample: Path) -> None:
    a = json.loads((small / "_warehouse.json").read_text())["rows"]
    b = json.loads((sample / "_warehouse.json").read_text())["rows"]
    assert (a["users"], b["users"]) == (2_000, 20_000)
    for table in ("events", "orders", "process_log", "tickets"):
        assert 8 < b[table] / a[table] < 12, table
    assert abs(b["events"] / expected_events(1.0) - 1) < 0.1
    assert expected_events(50) == 50 * EVENTS_PER_SCALE >= 10_000_000
    assert a["campaigns"] == b["campaigns"] == 30 and a["backlog"] == b["backlog"] == 25


def test_bad_scale(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="--scale: must be above 0, got 0"):
        generate(tmp_path / "unused", scale=0)
    result = run_cli(tmp_path, "demo-data", "--scale", "0", "--out", "wh")
    assert result.exit_code == 2 and not (tmp_path / "wh").exists()
    assert result.output == ("error: --scale: must be above 0, got 0.0; 1 is the demo's size "
                             "(20,000 users)\n")


# -- planted effects, checked with plain pandas --------------------------------------------------
def _reached(events: pd.DataFrame) -> dict[str, set[int]]:
    return {s: set(events.loc[events["event"] == s, "user_id"])
            for s in PLANTED["funnel"]["steps"]}


def test_verify_identity_is_the_bottleneck(t: dict[str, pd.DataFrame]) -> None:
    reached = _reached(t["events"])
    steps = PLANTED["funnel"]["steps"]
    n = [len(reached[s]) for s in steps]
    drop_abs = {steps[i]: n[i - 1] - n[i] for i in range(1, len(steps))}
    rate = {steps[i]: n[i] / n[i - 1] for i in range(1, len(steps))}
    assert max(drop_abs, key=drop_abs.__getitem__) == "verify_identity"
    assert min(rate, key=rate.__getitem__) == "verify_identity"
    assert 0.40 < rate["verify_identity"] < 0.50
    assert all(0.6 <= r <= 0.9 for s, r in rate.items() if s != "verify_identity")


def test_web_verifies_at_half_the_rate(t: dict[str, pd.DataFrame]) -> None:
    reached, users = _reached(t["events"]), t["users"]
    rate = {}
    for web in (True, False):
        ids = set(users.loc[(users["device"] == "web") == web, "user_id"])
        rate[web] = len(reached["verify_identity"] & ids) / len(reached["register"] & ids)
    assert 0.4 < rate[True] / rate[False] < 0.6


def test_display_loses_money(t: dict[str, pd.DataFrame]) -> None:
    disb = t["events"][t["events"]["event"] == "disburse"].merge(t["users"][["user_id", "channel"]])
    by = pd.DataFrame({"revenue": disb.groupby("channel")["revenue"].sum(),
                       "customers": disb.groupby("channel")["user_id"].nunique(),
                       "spend": t["spend"].groupby("channel")["spend"].sum()})
    ltv, cac = by["revenue"] / by["customers"], by["spend"] / by["customers"]
    assert ltv.idxmin() == "display" and cac.idxmax() == "display"
    ratio = ltv / cac
    assert ratio["display"] < 1 and (ratio.drop("display") > 1.5).all()


def _outcome(t: dict[str, pd.DataFrame], experiment: str, event: str) -> pd.DataFrame:
    a = t["assignments"][t["assignments"]["experiment"] == experiment]
    ev = t["events"][t["events"]["event"] == event].merge(a[["user_id", "assigned_ts"]])
    done = set(ev.loc[ev["ts"] >= ev["assigned_ts"], "user_id"])
    return a.assign(y=a["user_id"].isin(done))


def test_limit_banner_lifts_apply_rate(t: dict[str, pd.DataFrame]) -> None:
    a = _outcome(t, "limit-banner", "apply")
    rate = a.groupby("variant")["y"].mean()
    lift = rate["treatment"] / rate["control"] - 1
    assert 0.03 < lift < 0.13  # planted +8%
    share = (a["variant"] == "control").mean()
    assert abs(share - 0.5) < 0.02  # no SRM here
    m = a.merge(t["metrics_pre"][t["metrics_pre"]["experiment"] == "limit-banner"])
    assert 0.4 < np.corrcoef(m["pre_value"], m["y"])[0, 1] < 0.6


def test_onboarding_copy_has_srm_and_no_effect(t: dict[str, pd.DataFrame]) -> None:
    a = _outcome(t, "onboarding-copy", "verify_identity")
    n = a["variant"].value_counts()
    assert 0.51 < n["control"] / n.sum() < 0.55
    assert stats.chisquare([n["control"], n["treatment"]]).pvalue < 0.001
    rate = a.groupby("variant")["y"].mean()
    assert abs(rate["treatment"] / rate["control"] - 1) < 0.06


def test_manual_review_is_the_slow_step(t: dict[str, pd.DataFrame]) -> None:
    p = t["process_log"]
    hours = ((p["end_ts"] - p["start_ts"]).dt.total_seconds() / 3600).groupby(p["step"]).median()
    assert hours.idxmax() == "manual_review"
    assert 24 < hours["manual_review"] < 28
    assert (hours.drop("manual_review") < 3).all()
    assert list(p.drop_duplicates("step")["step"]) == PLANTED["process"]["steps"]


def test_repeat_loans_decay(t: dict[str, pd.DataFrame]) -> None:
    d = t["events"][t["events"]["event"] == "disburse"].sort_values(["user_id", "ts"])
    first = d.groupby("user_id")["ts"].transform("min")
    early = d[first < pd.Timestamp("2026-07-01")]
    month = ((early["ts"] - first[early.index]).dt.days // 30)
    counts = month[month > 0].value_counts().sort_index()
    assert counts[1] > counts[2] > counts[3] > counts[4]


def test_campaigns_and_backlog(t: dict[str, pd.DataFrame]) -> None:
    c = t["campaigns"]
    assert c["campaign"].is_unique and (c["end"] < pd.Timestamp(AS_OF).date()).all()
    rate = (c["participants"] / c["audience"]).groupby(c["channel"]).mean()
    for ch, r in rate.items():
        assert abs(r / PLANTED["campaigns"][ch]["participation"] - 1) < 0.2
    b = t["backlog"]
    assert len(b) == 25 and b[["impact", "confidence", "ease"]].isin(range(1, 11)).all().all()
    assert set(b["status"]) <= {"idea", "running", "done", "dropped"}
    assert b["idea_id"].is_unique and (b["created"] < pd.Timestamp(AS_OF).date()).all()


def test_tickets_have_legitimately_open_ones(t: dict[str, pd.DataFrame]) -> None:
    k = t["tickets"]
    assert k["ticket_id"].is_unique
    assert 0 < k["resolved_ts"].isna().mean() < 0.1
    assert k["csat"].dropna().between(1, 5).all()
    assert (k["resolved_ts"].dropna() >= k.loc[k["resolved_ts"].notna(), "opened_ts"]).all()
