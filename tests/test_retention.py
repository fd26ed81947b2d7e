"""retention_cohorts on tiny hand-made warehouses: every number below is counted by hand.

The warehouse: as_of 2026-03-01 00:00; day d of a user is [signup + d days, signup + d + 1 days).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from playbook.analyses.retention import analyze_retention
from playbook.analyses.retention.models import decay_ratio, trend
from playbook.errors import DataError, ParameterError
from playbook.sources import Warehouse
from playbook.stats.proportions import wilson_interval

AS_OF = "2026-03-01T00:00:00Z"
T0 = pd.Timestamp("2026-01-05 10:00")  # a Monday
DAY = pd.Timedelta(days=1)


def _write(root: Path, users: list[tuple[int, pd.Timestamp]], events: list[tuple[int, pd.Timestamp]],
           orders: list[tuple[int, pd.Timestamp, float]] | None = None) -> Warehouse:
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(users, columns=["user_id", "signup_ts"]).assign(
        channel=lambda d: np.where(d.user_id % 2 == 0, "even", "odd")).to_parquet(root / "users.parquet")
    pd.DataFrame([(u, t, "open") for u, t in events], columns=["user_id", "ts", "event"]).to_parquet(
        root / "events.parquet")
    o = orders or [(1, T0, 10.0)]
    pd.DataFrame([(i, u, t, a) for i, (u, t, a) in enumerate(o)],
                 columns=["order_id", "user_id", "ts", "amount"]).to_parquet(root / "orders.parquet")
    return Warehouse(root, {"snapshot": AS_OF})


@pytest.fixture
def small(tmp_path: Path) -> Warehouse:
    """Cohort of week 2026-01-05: users 1-4 sign up on Monday 10:00; cohort 2026-02-23: user 5
    signs up 2026-02-27 (observed for 1.6 days only)."""
    users = [(1, T0), (2, T0), (3, T0), (4, T0), (5, pd.Timestamp("2026-02-27 10:00"))]
    events = [
        (1, T0 + 1 * DAY), (1, T0 + 8 * DAY), (1, T0 + 8 * DAY + pd.Timedelta(hours=1)),  # W0 1, W1 2
        (2, T0 + 2 * DAY), (2, T0 + 20 * DAY),  # W0, W2
        (3, T0 + 7 * DAY),  # day 7: W1
        (4, T0 - DAY),  # before signup: never counts
        (5, pd.Timestamp("2026-02-28 11:00")),  # day 1 of user 5
    ]
    return _write(tmp_path / "small", users, events)


def _cells(result, cohort: str) -> pd.DataFrame:
    c = result.cells
    return c[c["cohort"] == pd.Timestamp(cohort)].set_index("label")


def test_n_day_counts_activity_in_each_period(small: Warehouse) -> None:
    r = analyze_retention(small, periods=4)
    c = _cells(r, "2026-01-05")
    # W0: users 1, 2 (days 1, 2); W1: users 1 (day 8), 3 (day 7); W2: user 2 (day 20); W3: none
    assert c["retained"].tolist() == [2, 2, 1, 0]
    assert c["rate"].tolist() == [0.5, 0.5, 0.25, 0.0]
    lo, hi = wilson_interval(2, 4)
    assert (c.loc["W0", "ci_low"], c.loc["W0", "ci_high"]) == pytest.approx((float(lo), float(hi)))
    assert c["complete"].all()


def test_unbounded_counts_a_user_up_to_the_last_active_period(small: Warehouse) -> None:
    c = _cells(analyze_retention(small, periods=4, mode="unbounded"), "2026-01-05")
    # user 1: last active W1 -> W0, W1; user 2: W2 -> W0..W2; user 3: W1 -> W0, W1
    assert c["retained"].tolist() == [3, 3, 1, 0]


def test_bracket_counts_activity_anywhere_in_the_days(small: Warehouse) -> None:
    c = _cells(analyze_retention(small, mode="bracket", brackets=[[1, 7], [8, 30], [0, 0]]), "2026-01-05")
    # days 1-7: users 1 (d1), 2 (d2), 3 (d7); days 8-30: 1 (d8), 2 (d20); day 0: nobody
    assert c["retained"].tolist() == [3, 2, 0]
    assert c.index.tolist() == ["D1-7", "D8-30", "D0"]


def test_min_actions_needs_that_many_rows_in_the_period(small: Warehouse) -> None:
    c = _cells(analyze_retention(small, periods=3, min_actions=2), "2026-01-05")
    assert c["retained"].tolist() == [0, 1, 0]  # only user 1's two rows on day 8
    u = _cells(analyze_retention(small, periods=3, min_actions=2, mode="unbounded"), "2026-01-05")
    # from W0 on: user 1 has 3 rows, user 2 has 2; from W1 on: user 1 has 2; from W2: user 2 has 1
    assert u["retained"].tolist() == [2, 1, 0]


def test_incomplete_cells_are_masked_not_drops(small: Warehouse) -> None:
    r = analyze_retention(small, periods=2, period_days=1, cohort_period="week")
    late = _cells(r, "2026-02-23")  # user 5 observed 1.58 days: D0 complete, D1 not (ends 3-1 10:00)
    assert late.loc["D0", "complete"] and late.loc["D0", "rate"] == 0.0
    assert not late.loc["D1", "complete"] and math.isnan(late.loc["D1", "rate"])
    assert late.loc["D1", "retained"] == 0  # user 5's day-1 row is not counted before the day is over
    # day marks: D30 of the last cohort is masked, and the latest complete D1 is the January cohort
    d1 = r.day[0]
    assert d1.latest == ["2026-01-05"] and d1.rate == pytest.approx(1 / 4)


def test_first_purchase_cohorts_and_repurchase(tmp_path: Path) -> None:
    """Orders (days after 2026-01-05 10:00): user 1 at 0, 10, 40; user 2 at 0, 45; user 3 at 0;
    user 4 at 50 (and a refund at 0, left out); user 6 after as_of (left out)."""
    d = lambda k: T0 + k * DAY  # noqa: E731
    orders = [(1, d(0), 5.0), (1, d(10), 7.0), (1, d(40), 1.0), (2, d(0), 2.0), (2, d(45), 3.0),
              (3, d(0), 4.0), (4, d(0), -4.0), (4, d(50), 9.0), (6, pd.Timestamp("2026-03-05"), 1.0)]
    users = [(u, T0) for u in (1, 2, 3, 4, 6)]
    wh = _write(tmp_path / "orders", users, [(1, d(1))], orders)
    r = analyze_retention(wh, cohort_by="first_purchase", activity="orders", period_days=7, periods=8,
                          cohort_period="month", horizon_days=30)
    # first valid orders: users 1, 2, 3 on day 0 (January), user 4 on day 50 (February);
    # as_of is day 54.6 of January's cohort: weeks W0..W6 are complete, W7 (days 49-55) is not
    jan = _cells(r, "2026-01-01")
    assert jan["members"].tolist() == [3] * 8
    assert jan["retained"].tolist() == [3, 1, 0, 0, 0, 1, 1, 0]  # W1: user 1 day 10, W5: day 40, W6: user 2
    assert jan["complete"].tolist() == [True] * 7 + [False]
    assert r.cells[r.cells["cohort"] == pd.Timestamp("2026-02-01")]["complete"].tolist() == [False] * 8
    # repurchase within 30 days among purchasers observed 30 days (users 1, 2, 3; user 4 from Feb 24: no)
    rp = r.repurchase
    assert (rp.purchasers, rp.repeaters) == (3, 1)
    # intervals: 10, 30 (user 1), 45 (user 2): median 30
    assert rp.intervals == 3 and rp.p50_days == pytest.approx(30.0)
    assert rp.p90_days == pytest.approx(np.quantile([10, 30, 45], 0.9))
    assert r.excluded_orders == {"after_as_of": 1, "negative_amount": 1, "missing": 0, "rows": 9}
    # revenue retention: January cohort 5+2+4 in W0, 7 in W1, 1 in W5, 3 in W6; W7 masked
    rev = r.revenue[r.revenue["cohort"] == pd.Timestamp("2026-01-01")]
    assert rev["revenue"].tolist()[:7] == [11.0, 7.0, 0.0, 0.0, 0.0, 1.0, 3.0]
    assert rev["ratio"].tolist()[:2] == pytest.approx([1.0, 7 / 11]) and math.isnan(rev["ratio"].iloc[7])


def test_breakdown_and_its_test(small: Warehouse) -> None:
    r = analyze_retention(small, breakdown="channel", day_marks=[1, 7])
    assert r.segments is not None
    s = r.segments.set_index(["day", "segment"])
    # day 1: user 1 (odd) active, users 2, 4 (even) and 3 (odd) not; user 5 (odd) not observed
    assert (s.loc[(1, "odd"), "users"], s.loc[(1, "odd"), "retained"]) == (2, 1)
    assert (s.loc[(1, "even"), "users"], s.loc[(1, "even"), "retained"]) == (2, 0)
    chi2, p, _, _ = stats.chi2_contingency([[1, 1], [0, 2]], correction=False)
    assert s.loc[(1, "odd"), "p_value"] == pytest.approx(p)


def test_lifecycle_counts(small: Warehouse) -> None:
    life = analyze_retention(small).lifecycle.set_index("period")
    wk = pd.Timestamp
    # week 01-05: users 1, 2 new (user 4's row is before its signup but is its first activity)
    # week 12-12: user 1 returning, user 3 new; dormant: user 2
    row = life.loc[wk("2026-01-12")]
    assert (row["new"], row["returning"], row["resurrecting"], row["dormant"]) == (1, 1, 0, 1)
    row = life.loc[wk("2026-01-19")]  # user 2 back after a week away
    assert (row["new"], row["returning"], row["resurrecting"], row["dormant"]) == (0, 0, 1, 2)


def test_trend_is_a_weighted_logistic_fit() -> None:
    import statsmodels.api as sm

    x, n = np.array([40, 45, 52, 60, 61]), np.array([200, 200, 210, 220, 200])
    t = trend(x, n)
    fit = sm.GLM(np.column_stack([x, n - x]), sm.add_constant(np.arange(5.0)), family=sm.families.Binomial()).fit()
    assert t.slope == pytest.approx(fit.params[1])
    assert t.ci_low < t.slope < t.ci_high and t.p_value < 0.05
    assert math.isnan(trend(x[:2], n[:2]).p_value)


def test_decay_ratio_recovers_a_known_ratio() -> None:
    rng = np.random.default_rng(3)
    rows = []
    for c in range(8):
        n = 4000
        for k in range(5):
            rows.append({"grp": f"c{c}", "j": k, "eligible": n, "retained": rng.binomial(n, 0.4 * 0.6 ** k),
                         "complete": True})
    d = decay_ratio(pd.DataFrame(rows))
    assert d.ci_low < 0.6 < d.ci_high and d.family == "binomial"
    assert d.ci_high - d.ci_low < 0.05


def test_bad_parameters_and_missing_snapshot(small: Warehouse, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="mode='weekly'"):
        analyze_retention(small, mode="weekly")
    with pytest.raises(ParameterError, match="brackets"):
        analyze_retention(small, mode="bracket")
    with pytest.raises(DataError, match="signup_col"):
        analyze_retention(small, signup_col="created_at")
    with pytest.raises(DataError, match="activity_events"):
        analyze_retention(small, activity_events=["login"])
    nosnap = Warehouse(small.data_dir)
    with pytest.raises(DataError, match="data.snapshot"):
        analyze_retention(nosnap)
