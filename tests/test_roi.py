"""channel_roi's arithmetic on hand-made warehouses (numbers computed by hand in the comments),
the response-curve fit on data drawn from a known curve, its fallbacks, and the budget shift's
limits."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from playbook.analyses.roi import RoiDecision, analyze_roi
from playbook.analyses.roi.curves import FLAT, TOO_FEW, fit_curve
from playbook.analyses.roi.measures import mean_ci, metric_keys, payback_month
from playbook.analyses.roi.realloc import reallocate
from playbook.errors import DataError, ParameterError
from playbook.sources import Warehouse

AS_OF = "2026-07-01T00:00:00Z"


def _warehouse(tmp_path: Path) -> Warehouse:
    """Two channels, signups on 2026-01-01 and 2026-01-02, spend on both days.

    ads: spend 50 + 50 = 100, 4 users (u1..u4) -> CAC 25. Values within 30 days: u1 30 + 10
    (day 0 and day 20), u2 20 (day 40: outside 30, inside 90), u3 nothing, u4 -5 (a refund).
    seo: spend 5 + 5 = 10, 2 users -> CAC 5; u5 12 on day 1, u6 12 on day 50.
    """
    d = tmp_path / "wh"
    d.mkdir()
    t = pd.Timestamp
    pd.DataFrame({"user_id": [1, 2, 3, 4, 5, 6],
                  "signup_ts": [t("2026-01-01"), t("2026-01-01"), t("2026-01-02"), t("2026-01-02"),
                                t("2026-01-01"), t("2026-01-02")],
                  "channel": ["ads", "ads", "ads", "ads", "seo", "seo"]}).to_parquet(d / "users.parquet")
    pd.DataFrame({"date": [t("2026-01-01").date(), t("2026-01-02").date()] * 2,
                  "channel": ["ads", "ads", "seo", "seo"], "spend": [50.0, 50.0, 5.0, 5.0],
                  "impressions": [1, 1, 1, 1], "clicks": [1, 1, 1, 1]}).to_parquet(d / "spend.parquet")
    pd.DataFrame({"order_id": [1, 2, 3, 4, 5, 6],
                  "user_id": [1, 1, 2, 4, 5, 6],
                  "ts": [t("2026-01-01 01:00"), t("2026-01-21"), t("2026-02-10"), t("2026-01-05"),
                         t("2026-01-02"), t("2026-02-21")],
                  "amount": [30.0, 10.0, 20.0, -5.0, 12.0, 12.0]}).to_parquet(d / "orders.parquet")
    return Warehouse(d, {"snapshot": AS_OF})


def test_cac_ltv_payback_by_hand(tmp_path: Path) -> None:
    r = analyze_roi(_warehouse(tmp_path), margin=0.5, min_users=1, min_periods=8)
    c = r.channels.set_index("channel")
    assert c.loc["ads", "cac"] == 25.0 and c.loc["seo", "cac"] == 5.0
    # ads at 30 days: values 40, 0, 0, -5 -> mean 8.75, margin 0.5 -> 4.375
    assert c.loc["ads", "ltv_30"] == pytest.approx(4.375)
    x = np.array([40.0, 0, 0, -5]) * 0.5
    se = x.std(ddof=1) / 2
    assert c.loc["ads", "ltv_30_low"] == pytest.approx(x.mean() - 1.959963984540054 * se)
    # at 90 days u2's 20 counts: (40 + 20 - 5) / 4 * 0.5 = 6.875
    assert c.loc["ads", "ltv_90"] == pytest.approx(6.875)
    assert c.loc["ads", "ltv_cac"] == pytest.approx(6.875 / 25)
    # seo: month 1 (30 days): 12 / 2 * 0.5 = 3 < CAC 5; month 2 (60 days): 24 / 2 * 0.5 = 6 >= 5
    assert c.loc["seo", "payback_months"] == 2.0
    assert c.loc["seo", "ltv_cac"] == pytest.approx(6 / 5)  # pays back: 1.2 at 90 days
    assert math.isnan(c.loc["ads", "payback_months"])  # 6.875 at most, never 25
    # conversion within 90 days: ads u1, u2 (u4's only row is -5: no purchase) -> 2 / 4
    assert c.loc["ads", "conversion"] == 0.5
    # repeat within 90 days of the first purchase: only u1 of ads' buyers
    assert c.loc["ads", "retention"] == 0.5
    assert r.decision is RoiDecision.REALLOCATE and r.flagged == ["ads"]
    # two days only: no curve, the average stands
    assert set(r.channels["curve"]) == {TOO_FEW}
    # the shift: ads gives up to half its 30-day budget (100 x 30 / 2 x 0.5 = 750), seo takes at most
    # half of its own (10 x 15 x 0.5 = 75); 75 moved at seo's average CAC 5 -> +15 users there
    assert r.shift.moved == pytest.approx(75.0)
    t = r.shift.table.set_index("channel")
    assert t.loc["seo", "d_users"] == pytest.approx(15.0) and t.loc["ads", "d_users"] == pytest.approx(-3.0)
    assert r.metrics()["channel.ads.cac"] == 25.0
    assert "channel.ads.cac_marginal" not in r.metrics()
    assert r.settings.as_of == pd.Timestamp("2026-07-01").to_pydatetime()


def test_sufficient_statistics_and_payback() -> None:
    m, se, lo, hi = mean_ci(4, 10.0, 30.0)  # values 1, 2, 3, 4
    assert m == 2.5 and se == pytest.approx(np.std([1, 2, 3, 4], ddof=1) / 2)
    assert lo == pytest.approx(m - 1.959963984540054 * se) and hi == pytest.approx(m + 1.959963984540054 * se)
    assert math.isnan(mean_ci(0, 0, 0)[0])
    assert payback_month(pd.Series([1.0, 2.0, 3.0], index=[1, 2, 3]), 2.0) == 2.0
    assert math.isnan(payback_month(pd.Series([1.0], index=[1]), 2.0))


def test_metric_keys_from_channel_names() -> None:
    keys = metric_keys(["Paid Search/EU", "paid_search_eu", "<b>", "display"])
    assert keys == {"<b>": "b", "Paid Search/EU": "paid_search_eu", "display": "display",
                    "paid_search_eu": "paid_search_eu_2"}


def test_curve_recovers_a_known_exponent() -> None:
    rng = np.random.default_rng(3)
    spend = rng.uniform(20, 200, 120)
    new = rng.poisson(30 * spend ** 0.6)
    fit = fit_curve(spend, new, min_points=8)
    assert fit.fitted and fit.diminishing
    assert fit.b_low < 0.6 < fit.b_high
    assert fit.b_high - fit.b_low < 0.05


def test_curve_falls_back_and_says_why() -> None:
    assert fit_curve(np.array([10.0, 20.0]), np.array([1, 2]), min_points=8).reason == TOO_FEW
    flat = fit_curve(np.full(30, 100.0), np.arange(30), min_points=8)
    assert flat.reason == FLAT and not flat.fitted


def test_shift_keeps_the_limits() -> None:
    ch = pd.DataFrame({"channel": ["bad", "good", "best"], "budget": [1000.0, 100.0, 400.0],
                       "users": [100.0, 50.0, 100.0], "ratio": [0.5, 2.0, 3.0], "ltv": [5.0, 8.0, 12.0],
                       "ltv_se": [0.5, 0.5, 0.5], "counted": [600.0, 300.0, 600.0], "b": [math.nan] * 3, "b_se": [math.nan] * 3})
    s = reallocate(ch, max_cut=0.5, max_add=0.5)
    t = s.table.set_index("channel")
    # pool 500, room 0.5 x (100 + 400) = 250: best takes 200, good 50, bad gives 250
    assert s.moved == 250.0
    assert t.loc["best", "change"] == 200.0 and t.loc["good", "change"] == 50.0
    assert t.loc["bad", "change"] == -250.0
    # linear (no curve): best +200 / CAC 4 = +50 users, good +50 / 2 = +25, bad -250 / 10 = -25
    assert s.d_users[0] == pytest.approx(50.0)
    assert s.d_value[0] == pytest.approx(50 * 12 + 25 * 8 - 25 * 5)
    assert s.d_value[1] < s.d_value[0] < s.d_value[2]


def test_bad_parameters_name_the_fix(tmp_path: Path) -> None:
    wh = _warehouse(tmp_path)
    with pytest.raises(ParameterError, match="margin=0: give a number above 0"):
        analyze_roi(wh, margin=0)
    with pytest.raises(DataError, match="no row of table 'orders' has order_id = 'buy'; set value_event"):
        analyze_roi(wh, value_event="buy", columns={"event_col": "order_id"})
    with pytest.raises(DataError, match="has no column 'revenue'"):
        analyze_roi(wh, value_col="revenue")


def test_the_result_keeps_the_contract_with_hostile_channel_names(tmp_path: Path) -> None:
    """Channel names from data: metric keys stay plain, labels and headline carry the name,
    the summary escapes it."""
    from playbook.analyses.base import Metric, Result

    wh = _warehouse(tmp_path)
    users = pd.read_parquet(Path(wh.data_dir) / "users.parquet")
    spend = pd.read_parquet(Path(wh.data_dir) / "spend.parquet")
    bad = "<script>alert(1)</script> *Ads*.v2"
    users["channel"] = users["channel"].replace({"ads": bad})
    spend["channel"] = spend["channel"].replace({"ads": bad})
    users.to_parquet(Path(wh.data_dir) / "users.parquet")
    spend.to_parquet(Path(wh.data_dir) / "spend.parquet")
    r = analyze_roi(Warehouse(wh.data_dir, {"snapshot": AS_OF}), margin=0.5, min_users=1)
    assert isinstance(r, Result)
    info = {m.name: m for m in r.metric_info()}
    assert not set(r.metrics()) - set(info)
    assert all(isinstance(m, Metric) and m.label and (m.low is None or (m.high is not None and m.low <= m.high)) for m in info.values())
    key = "channel.script_alert_1_script_ads_v2.cac"
    assert r.metrics()[key] == 25.0 and info[key].label == f"CAC of {bad}"
    assert all(k.count(".") <= 2 for k in r.metrics())
    assert bad in r.headline() and r.flagged == [bad]
    assert "<script" not in r.summary() and "&lt;script&gt;" in r.summary()


def test_insufficient_data_when_nobody_is_observed_long_enough(tmp_path: Path) -> None:
    r = analyze_roi(_warehouse(tmp_path), min_users=1000)
    assert r.decision is RoiDecision.INSUFFICIENT
    assert "at least 1,000 per channel" in r.headline()
    assert r.shift.moved == 0


def test_the_shift_follows_a_fitted_curve() -> None:
    ch = pd.DataFrame({"channel": ["bad", "good"], "budget": [100.0, 100.0], "users": [10.0, 100.0],
                       "counted": [60.0, 600.0], "ratio": [0.5, 2.0], "ltv": [5.0, 8.0], "ltv_se": [0.1, 0.1],
                       "b": [math.nan, 0.5], "b_se": [math.nan, 0.05]})
    s = reallocate(ch, max_cut=1.0, max_add=0.5)
    t = s.table.set_index("channel")
    assert s.moved == 50.0 and t.loc["bad", "change"] == -50.0
    # good: 100 x (150 / 100) ** 0.5 - 100 = 22.47 more users; bad: -50 / CAC 10 = -5
    assert t.loc["good", "d_users"] == pytest.approx(100 * 1.5 ** 0.5 - 100)
    assert t.loc["bad", "d_users"] == pytest.approx(-5.0)
    assert t.loc["good", "d_users_low"] < t.loc["good", "d_users"] < t.loc["good", "d_users_high"]


def test_the_analysis_recovers_a_known_curve(tmp_path: Path) -> None:
    """Daily spend from 20 to 200 and new users ~ Poisson(5 * spend ** 0.6): the fitted
    elasticity's interval holds 0.6, and the marginal CAC is the average over 0.6."""
    rng = np.random.default_rng(11)
    days = pd.date_range("2026-01-01", periods=120, freq="D")
    spend = rng.uniform(20, 200, len(days)).round(2)
    new = rng.poisson(5 * spend ** 0.6)
    d = tmp_path / "curve"
    d.mkdir()
    signup = np.repeat(days.to_numpy(), new) + np.timedelta64(3, "h")
    pd.DataFrame({"user_id": np.arange(len(signup)), "signup_ts": signup, "channel": "paid"}).to_parquet(d / "users.parquet")
    pd.DataFrame({"date": days.date, "channel": "paid", "spend": spend}).to_parquet(d / "spend.parquet")
    pd.DataFrame({"order_id": [1], "user_id": [0], "ts": [pd.Timestamp("2026-01-02")],
                  "amount": [10.0]}).to_parquet(d / "orders.parquet")
    r = analyze_roi(Warehouse(d, {"snapshot": "2026-05-01T00:00:00Z"}), curve_period="day", min_users=1)
    row = r.channels.iloc[0]
    assert row["curve"] == "fitted" and row["periods"] == 120 and bool(row["diminishing"])
    assert row["b_low"] < 0.6 < row["b_high"]
    assert row["cac"] == pytest.approx(spend.sum() / new.sum())
    assert row["cac_marginal"] == pytest.approx(row["cac"] / row["b"])
    assert row["cac_marginal_low"] < row["cac"] / 0.6 < row["cac_marginal_high"]


def test_columns_are_parameters(tmp_path: Path) -> None:
    wh = _warehouse(tmp_path)
    for table, renames in (("users", {"channel": "source", "signup_ts": "created"}),
                           ("spend", {"channel": "source", "spend": "cost"}), ("orders", {"amount": "fee"})):
        path = Path(wh.data_dir) / f"{table}.parquet"
        pd.read_parquet(path).rename(columns=renames).to_parquet(path)
    with pytest.raises(DataError, match="table 'users' has no column 'signup_ts'"):
        analyze_roi(wh, value_col="fee")
    r = analyze_roi(wh, value_col="fee", min_users=1,
                    columns={"channel_col": "source", "signup_col": "created", "spend_col": "cost"})
    assert r.channels.set_index("channel").loc["ads", "cac"] == 25.0
    with pytest.raises(ParameterError, match="columns: unknown key 'chanel_col'"):
        analyze_roi(wh, columns={"chanel_col": "source"})
    with pytest.raises(ParameterError, match="columns: unknown key 'value_col'"):
        analyze_roi(wh, columns={"value_col": "fee"})
