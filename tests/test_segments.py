"""segmentation on hand-made warehouses: the tie rule, users without a purchase, excluded
orders, the YAML mapping (first match wins, errors naming file and segment), value tiers and
the migration against a previous tag snapshot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from playbook.analyses.segments import (
    NO_PURCHASE,
    OTHER,
    Columns,
    SegmentationResult,
    SegmentDecision,
    analyze_segments,
    load_segment_rules,
    parse_segment_rules,
    write_segment_tags,
)
from playbook.errors import DataError, ParameterError
from playbook.sources import Warehouse
from playbook.tags import TagStore, write_tag_set

AS_OF = "2026-03-01T00:00:00Z"
SNAP = pd.Timestamp("2026-03-01")


def make_warehouse(folder: Path, orders: list[tuple[int, str, float]], users: list[int],
                   as_of: str | None = AS_OF) -> Warehouse:
    """users (ids, channel 'a'/'b' alternating) and orders (user, ts, amount)."""
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"user_id": users, "signup_ts": pd.Timestamp("2025-01-01"),
                  "channel": ["a" if i % 2 else "b" for i in range(len(users))]}).to_parquet(folder / "users.parquet")
    pd.DataFrame({"order_id": range(len(orders)), "user_id": [o[0] for o in orders],
                  "ts": pd.to_datetime([o[1] for o in orders]), "amount": [o[2] for o in orders]}
                 ).to_parquet(folder / "orders.parquet")
    if as_of:
        (folder / "_warehouse.json").write_text(json.dumps({"as_of": as_of}))
    return Warehouse(folder)


def expected_score(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """1 + floor(5 x (buyers with a strictly worse value) / buyers): pandas' min rank."""
    worse = (values if higher_is_better else -values).rank(method="min") - 1
    return (1 + (5 * worse) // len(values)).astype(int)


def scored(tmp_path: Path, **kw: Any) -> tuple[pd.DataFrame, SegmentationResult]:
    # 12 buyers with heavy ties in spend and frequency, 3 users without a purchase
    orders = [(1, "2026-02-28", 100.0), (2, "2026-02-28", 100.0), (3, "2026-02-20", 100.0),
              (4, "2026-02-10", 50.0), (5, "2026-01-15", 50.0), (6, "2026-01-15", 20.0),
              (7, "2025-12-01", 20.0), (8, "2025-11-01", 20.0), (9, "2025-10-01", 10.0),
              (10, "2025-09-01", 10.0), (11, "2025-08-01", 5.0), (12, "2025-07-01", 5.0),
              (1, "2026-01-01", 40.0), (2, "2026-01-02", 40.0), (3, "2025-12-01", 10.0),
              (1, "2026-03-05", 999.0),  # after the snapshot: left out
              (4, "2026-02-01", -30.0),  # refund: left out
              (99, "2026-02-01", 10.0)]  # a user the users table does not know: left out
    wh = make_warehouse(tmp_path / "wh", orders, users=list(range(1, 16)))
    kw.setdefault("tag_store", TagStore(tmp_path / "store"))
    result = analyze_segments(wh, columns=Columns(channel_col="channel", signup_col="signup_ts"),
                              min_buyers=5, **kw)
    return result.users.set_index("user_id"), result


def test_equal_values_get_equal_scores_ties_to_the_lower_score(tmp_path: Path) -> None:
    users, _ = scored(tmp_path)
    buyers = users[users["segment"] != NO_PURCHASE]
    assert len(buyers) == 12
    for col, score, better in (("monetary", "m", True), ("frequency", "f", True), ("recency_days", "r", False)):
        assert (buyers[score] == expected_score(buyers[col], better)).all(), col
        for _value, group in buyers.groupby(col):
            assert group[score].nunique() == 1  # equal values, equal score
    # hand-checked: frequency 2 for users 1-3, 1 for the other nine -> worse = 9 of 12 -> F = 1 + 45 // 12 = 4
    assert set(buyers.loc[[1, 2, 3], "f"]) == {4} and set(buyers.drop([1, 2, 3])["f"]) == {1}
    # spend 140 (users 1, 2) beats everyone else: worse = 10 -> M = 1 + 50 // 12 = 5
    assert list(buyers.loc[[1, 2], "monetary"]) == [140.0, 140.0] and set(buyers.loc[[1, 2], "m"]) == {5}
    # recency: users 1 and 2 bought the day before the snapshot (1 whole day)
    assert list(buyers.loc[[1, 2], "recency_days"]) == [1, 1] and set(buyers.loc[[1, 2], "r"]) == {5}


def test_users_without_a_purchase_are_their_own_segment(tmp_path: Path) -> None:
    users, result = scored(tmp_path)
    none = users.loc[[13, 14, 15]]
    assert set(none["segment"]) == {NO_PURCHASE} and set(none["tier"]) == {NO_PURCHASE}
    assert none[["r", "f", "m"]].isna().all().all()  # never scored as R=1/F=1
    assert (none["monetary"] == 0).all()
    seg = result.segments.set_index("name")
    assert seg.loc[NO_PURCHASE, "users"] == 3 and seg.loc[NO_PURCHASE, "revenue"] == 0
    assert result.user_count == 15 and result.buyers == 12


def test_excluded_orders_are_counted_by_reason(tmp_path: Path) -> None:
    users, result = scored(tmp_path)
    assert result.excluded_rows("after_snapshot") == 1
    assert result.excluded_rows("non_positive_amount") == 1
    assert result.excluded_rows("unknown_user") == 1
    assert users.loc[4, "frequency"] == 1 and users.loc[4, "monetary"] == 50.0  # the refund is not an order
    assert "1 after the snapshot" in result.summary()
    assert result.metrics()["excluded.non_positive_amount"] == 1


def test_segment_profiles_add_up_and_carry_intervals(tmp_path: Path) -> None:
    users, result = scored(tmp_path)
    seg = result.segments
    assert seg["users"].sum() == 15 and seg["share"].sum() == pytest.approx(1.0)
    assert seg["revenue_share"].sum() == pytest.approx(1.0)
    counts = users["segment"].value_counts()
    for row in seg.itertuples():
        assert row.users == counts.get(row.name, 0)
        if row.users:
            assert row.share_ci_low <= row.share <= row.share_ci_high
            assert row.revenue_share_ci_low <= row.revenue_share <= row.revenue_share_ci_high
    # mean spend t interval of the champions-or-whoever biggest buyer segment, against scipy
    from scipy import stats

    big = seg[seg["buyers"] > 1].iloc[0]
    spend = users.loc[users["segment"] == big["name"], "monetary"]
    lo, hi = stats.t.interval(0.95, len(spend) - 1, loc=spend.mean(), scale=stats.sem(spend))
    assert (big["mean_monetary_ci_low"], big["mean_monetary_ci_high"]) == (pytest.approx(lo), pytest.approx(hi))


def test_the_first_matching_rule_wins_and_unmatched_buyers_are_other(tmp_path: Path) -> None:
    rules = tmp_path / "mine.yaml"
    rules.write_text("segments:\n"
                     "  - {name: big, meaning: spend most, m: [5, 5]}\n"
                     "  - {name: recent, meaning: bought lately, r: [4, 5]}\n"
                     "  - {name: also_big, meaning: never reached for M=5, m: [4, 5]}\n")
    users, result = scored(tmp_path, segments_file=str(rules), watch_segments=["recent"])
    buyers = users[users["segment"] != NO_PURCHASE]
    parsed = load_segment_rules(rules)
    for row in buyers.itertuples():
        assert row.segment == parsed.assign(int(row.r), int(row.f), int(row.m))
    assert set(buyers.loc[buyers["m"] == 5, "segment"]) == {"big"}  # even when also recent
    assert not ((buyers["m"] == 5) & (buyers["segment"] != "big")).any()
    rest = buyers[(buyers["m"] < 4) & (buyers["r"] < 4)]
    assert len(rest) and set(rest["segment"]) == {OTHER}


@pytest.mark.parametrize(("text", "message"), [
    ("segments:\n  - {name: champions, r: [4, 6]}\n",
     "segment 'champions': r must be [low, high] with whole scores from 1 to 5"),
    ("segments:\n  - {name: loyal, f: [4, 2]}\n", "segment 'loyal': f must be [low, high]"),
    ("segments:\n  - {name: loyal, r: [4, 5], rr: [1, 2]}\n", "segment 'loyal': unknown key 'rr'"),
    ("segments:\n  - {name: other, r: [4, 5]}\n", "segment 'other': the name 'other' is reserved"),
    ("segments:\n  - {name: a, r: [1, 1]}\n  - {name: a, r: [2, 2]}\n", "segment 'a': defined twice"),
    ("segments:\n  - {name: quiet, meaning: nothing}\n", "segment 'quiet': no score range"),
    ("segments: []\n", "expected a mapping with 'segments'"),
])
def test_a_bad_rule_names_the_file_and_the_segment(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "team-segments.yaml"
    path.write_text(text)
    with pytest.raises(DataError, match=str(path).replace("\\", "\\\\")) as err:
        load_segment_rules(path)
    assert message in str(err.value)


def test_the_packaged_mapping_is_valid_and_its_segments_reachable() -> None:
    rules = load_segment_rules()
    assert rules.names[:2] == ["champions", "loyal"] and "at_risk" in rules.names
    assert rules.assign(5, 5, 5) == "champions" and rules.assign(1, 5, 5) == "cannot_lose"
    assert rules.assign(1, 1, 3) == "lost" and rules.assign(5, 1, 1) == "new"
    with pytest.raises(DataError, match="segments.yaml: segment 'x': r must be"):
        parse_segment_rules({"segments": [{"name": "x", "r": [0, 2]}]}, "segments.yaml")


def test_value_tiers_rank_by_spend_with_ties_to_the_higher_tier(tmp_path: Path) -> None:
    # 200 buyers spending 1..200, except that users 197-200 spent the same 197
    orders = [(i, "2026-02-01", float(min(i, 197))) for i in range(1, 201)]
    wh = make_warehouse(tmp_path / "wh", orders, users=list(range(1, 201)))
    result = analyze_segments(wh, columns=Columns(), tag_store=TagStore(tmp_path / "s"))
    tier = result.users.set_index("user_id")["tier"]
    # top 1% = fewer than 2 buyers spent more: the four users tied at 197 (nobody spent more)
    assert set(tier[tier == "top_1pct"].index) == {197, 198, 199, 200}
    # next: fewer than 20 spent more -> 196 down to 181 (users 177-180: 20 spent more -> next tier)
    assert set(tier[tier == "top_1_10pct"].index) == set(range(181, 197))
    assert set(tier[tier == "top_10_50pct"].index) == set(range(101, 181))
    assert set(tier[tier == "rest"].index) == set(range(1, 101))
    tiers = result.tiers.set_index("name")
    assert tiers.loc["top_1pct", "revenue"] == 4 * 197


def test_migration_against_the_previous_snapshot(tmp_path: Path) -> None:
    store = TagStore(tmp_path / "store")
    first, _ = scored(tmp_path / "one")
    # a previous snapshot a month earlier: users 1-6 were 'lost', 7-12 were 'champions', 20 gone since
    previous = pd.DataFrame({"user_id": [*range(1, 13), 20],
                             "tag": ["lost"] * 6 + ["champions"] * 6 + ["lost"]})
    write_tag_set(previous, tag_set="rfm", as_of="2026-02-01", root=store.root,
                  tags={"lost": {"meaning": "m", "rule": "r"}, "champions": {"meaning": "m", "rule": "r"}},
                  description="d", computed="c", owner="o", run={"campaign": "c", "run_id": "r1"})
    write_tag_set(previous.assign(tag="lost"), tag_set="rfm", as_of="2026-04-01", root=store.root,  # later: ignored
                  tags={"lost": {"meaning": "m", "rule": "r"}}, description="d", computed="c", owner="o")
    users, result = scored(tmp_path / "two", tag_store=store)
    assert result.previous is not None and str(result.previous.as_of) == "2026-02-01"
    mig = result.migration.set_index(["previous", "current"])["users"]
    now = users["segment"]
    for seg in now.loc[1:6].unique():
        assert mig[("lost", seg)] == (now.loc[1:6] == seg).sum()
    assert mig[("lost", "(not tagged)")] == 1  # user 20
    assert mig[("(not tagged)", NO_PURCHASE)] == 3  # users 13-15, new to the tag set
    assert mig.sum() == 16
    shares = result.migration.groupby("previous")["share"].sum()
    assert np.allclose(shares, 1.0)
    w = result.watch_change
    assert w["before"] == 0.0 and w["now"] == pytest.approx(now.isin(["at_risk", "cannot_lose"]).sum() / 12)
    assert result.decision in (SegmentDecision.STEADY, SegmentDecision.AT_RISK_UP)
    assert first is not None


def test_tag_sets_are_written_with_definitions(tmp_path: Path) -> None:
    users, result = scored(tmp_path)
    written = write_segment_tags(result, root=tmp_path / "run" / "tags", owner="crm",
                                 run={"campaign": "c", "run_id": "r", "template": "segmentation"})
    assert [t.name for t in written] == ["rfm", "value_tier"]
    back = pd.read_parquet(tmp_path / "run" / "tags" / "rfm" / "as_of=2026-03-01.parquet").set_index("user_id")
    assert (back["tag"] == users["segment"]).all() and len(back) == 15
    tiers = TagStore(tmp_path / "run" / "tags").get("value_tier")
    assert "top_1pct" in tiers.tags and tiers.owner == "crm" and tiers.latest is not None
    assert tiers.latest.run["template"] == "segmentation"


def test_first_run_decision_and_bad_parameters(tmp_path: Path) -> None:
    _, result = scored(tmp_path)
    assert result.decision is SegmentDecision.BASELINE
    assert "no previous run" in result.headline()
    wh = Warehouse(tmp_path / "wh")
    with pytest.raises(ParameterError, match="watch_segments: 'sleepy' not in"):
        analyze_segments(wh, watch_segments=["sleepy"], tag_store=TagStore(tmp_path / "s"))
    with pytest.raises(ParameterError, match="tier_cuts="):
        analyze_segments(wh, tier_cuts=[0.5, 0.1], tag_store=TagStore(tmp_path / "s"))
    few = analyze_segments(wh, min_buyers=100, tag_store=TagStore(tmp_path / "s"))
    assert few.decision is SegmentDecision.TOO_FEW_BUYERS and "too few" in few.headline()


def test_no_snapshot_time_is_an_error_naming_what_to_set(tmp_path: Path) -> None:
    wh = make_warehouse(tmp_path / "wh", [(1, "2026-01-01", 5.0)], users=[1], as_of=None)
    with pytest.raises(DataError, match="set data.snapshot in the spec"):
        analyze_segments(wh, tag_store=TagStore(tmp_path / "s"))
    with pytest.raises(DataError, match="column 'spend'"):
        analyze_segments(wh, columns=Columns(amount_col="spend"), as_of=AS_OF, tag_store=TagStore(tmp_path / "s"))
