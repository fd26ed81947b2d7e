"""Which channels pay? Spend, CAC, conversion, retention, cohort LTV, payback and a budget shift.

:func:`analyze_roi` reads ``users`` (user_id, signup_ts, channel), ``spend`` (date, channel,
spend) and a value table (default ``orders``' ``amount``; or e.g. ``events``' ``revenue`` with
``value_event``) through DuckDB. Definitions:

snapshot (``as_of``)
    The warehouse's snapshot time (the spec's ``data.snapshot`` or the folder's marker), else
    the latest signup in ``users``; never the wall clock. Value rows after it are left out.
window
    The days on which both spend and complete days of signups exist: from the later of the first
    spend day and the first signup day to the earlier of the last spend day and the day before
    the snapshot (``start``/``end`` narrow it). Spend that ends earlier than signups (a stale
    spend table) shortens the window; the report says so.
CAC
    Spend over the window / users who signed up in it, per channel (``users.channel`` and
    ``spend.channel`` name the same channels).
value, margin
    A user's value within ``h`` days = the sum of the value column over their rows from signup to
    signup + ``h`` days, times ``margin`` (the share of value that is margin).
LTV at ``h`` days
    The mean value per acquired user within ``h`` days, over the window's users observed for
    ``h`` full days before the snapshot (at least ``min_users`` of them, else not shown), with a
    95% interval from the count, sum and sum of squares (normal approximation).
conversion, retention
    Conversion: share of users observed ``conversion_days`` with a first purchase (a value row
    above 0) within that time. Retention: share of buyers whose first purchase is at least
    ``repeat_days`` before the snapshot with a second within ``repeat_days`` of it. Wilson 95%.
payback
    The first month (30 days) whose cumulative margin per user reaches the CAC, over the users
    observed for that month; none within the observed horizon otherwise.
curves, marginal CAC, shift
    :mod:`playbook.analyses.roi.curves` and :mod:`playbook.analyses.roi.realloc`.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from playbook.analyses.roi.curves import CurveFit, fit_curve, periods
from playbook.analyses.roi.measures import cac, mean_ci, payback_month, ratio_ci
from playbook.analyses.roi.realloc import reallocate
from playbook.analyses.roi.result import RoiResult
from playbook.analyses.roi.settings import Settings
from playbook.analyses.roi.sql import Columns, RoiSQL
from playbook.errors import DataError, ParameterError
from playbook.sources import Warehouse
from playbook.stats.proportions import wilson_interval

LTV_HORIZONS = (30, 90, 180)
#: The column names ``columns`` may set (the tables and the value column have their own parameters).
COLUMN_KEYS = {"user_col", "signup_col", "channel_col", "ts_col", "event_col", "date_col", "spend_col"}


def _share(name: str, v: Any, *, low: float = 0.0, high: float = 1.0, open_low: bool = True) -> float:
    ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    if not ok or v > high or v < low or (open_low and v == low):
        raise ParameterError(f"{name}={v!r}: give a number {'above' if open_low else 'from'} {low:g} "
                             f"and at most {high:g}")
    return float(v)


def _whole(name: str, v: Any, low: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise ParameterError(f"{name}={v!r}: give a whole number >= {low}")
    return v


def _as_of(warehouse: Warehouse, as_of: str | None, latest: datetime | None) -> tuple[datetime, str]:
    given = as_of or warehouse.snapshot
    if given:
        try:
            ts = pd.Timestamp(given)
        except ValueError as exc:
            raise DataError(f"as_of: {given!r} is not an ISO 8601 time ({exc})") from None
        if ts.tzinfo is not None:
            ts = ts.tz_convert(warehouse.timezone or "UTC").tz_localize(None)
        return ts.to_pydatetime(), "parameter" if as_of else "snapshot"
    if latest is None:
        raise DataError("users: no signup time in the table; nothing to measure (check signup_col)")
    return latest, "latest signup"


def _day_param(name: str, v: str | None) -> date | None:
    if not v:
        return None
    try:
        day: date = pd.Timestamp(v).date()
        return day
    except ValueError as exc:
        raise ParameterError(f"{name}={v!r}: give a date as YYYY-MM-DD ({exc})") from None


def _check(warehouse: Warehouse, c: Columns) -> None:
    warehouse.require(c.users, [c.user_col, c.signup_col, c.channel_col])
    warehouse.require(c.spend, [c.date_col, c.channel_col, c.spend_col])
    needed = [c.user_col, c.ts_col, c.value_col] + ([c.event_col] if c.value_event is not None else [])
    warehouse.require(c.value_table, needed)
    kind = warehouse.columns(c.value_table)[c.value_col].upper()
    if not any(t in kind for t in ("INT", "DOUBLE", "FLOAT", "DECIMAL", "REAL", "NUMERIC", "HUGEINT")):
        raise DataError(f"{warehouse.source(c.value_table).location}: column '{c.value_col}' of table "
                        f"'{c.value_table}' is {kind}, not a number; set value_col to the column that holds "
                        "each row's value (e.g. an amount or revenue)")


def analyze_roi(  # noqa: PLR0913 - the template's parameters, keyword-only
    warehouse: Warehouse, *, value_table: str = "orders", value_col: str = "amount",
    value_event: str | None = None, margin: float = 1.0, horizon_days: int = 90,
    conversion_days: int = 90, repeat_days: int = 90, curve_period: str = "week",
    min_periods: int = 8, min_spend_variation: float = 0.05, min_users: int = 100,
    threshold: float = 1.0, max_cut: float = 0.5, max_add: float = 0.5,
    start: str | None = None, end: str | None = None, as_of: str | None = None,
    users: str = "users", spend: str = "spend", currency: str | None = None, seed: int = 0,
    columns: dict[str, str] | None = None,
) -> RoiResult:
    """Per channel spend, CAC, conversion, retention, LTV, LTV/CAC, payback, response curves
    and the budget shift (module docstring). ``columns`` renames columns (keys of
    :class:`Columns`: user_col, signup_col, channel_col, ts_col, event_col, date_col, spend_col).
    Raises :class:`ParameterError` for a bad setting and :class:`DataError` for missing tables,
    columns, an empty window or a value event that matches no row."""
    margin = _share("margin", margin)
    max_cut, max_add = _share("max_cut", max_cut, open_low=False), _share("max_add", max_add, open_low=False)
    threshold = _share("threshold", threshold, high=math.inf)
    for name, v in (("horizon_days", horizon_days), ("conversion_days", conversion_days),
                    ("repeat_days", repeat_days), ("min_periods", min_periods), ("min_users", min_users)):
        _whole(name, v, 1)
    if curve_period not in ("day", "week"):
        raise ParameterError(f"curve_period={curve_period!r}: give 'day' or 'week'")
    unknown = sorted(set(columns or {}) - COLUMN_KEYS)
    if unknown:
        raise ParameterError(f"columns: unknown key {unknown[0]!r}; keys: user_col, signup_col, channel_col, "
                             "ts_col, event_col, date_col, spend_col")
    c = Columns(users=users, spend=spend, value_table=value_table, value_col=value_col,
                value_event=value_event or None, **(columns or {}))
    _check(warehouse, c)
    db = RoiSQL(warehouse, c)
    if c.value_event is not None and db.value_rows() == 0:
        raise DataError(f"{warehouse.source(c.value_table).location}: no row of table '{c.value_table}' has "
                        f"{c.event_col} = '{c.value_event}'; set value_event to an event that carries value "
                        "(or leave it empty to count every row)")
    s_lo, s_hi, n_spend = db.spend_range()
    u_lo, u_hi = db.signup_range()
    snap, snap_source = _as_of(warehouse, as_of, u_hi)
    if s_lo is None or s_hi is None or not n_spend:
        raise DataError(f"{warehouse.source(c.spend).location}: table '{c.spend}' has no spend row; "
                        "nothing to compute a CAC from")
    if u_lo is None:
        raise DataError(f"{warehouse.source(c.users).location}: table '{c.users}' has no signup")
    last_full = snap.date() - timedelta(days=1)
    lo, hi = max(s_lo, u_lo.date()), min(s_hi, last_full)
    lo, hi = max(lo, _day_param("start", start) or lo), min(hi, _day_param("end", end) or hi)
    if hi < lo:
        raise DataError(f"no day with both spend ({s_lo} to {s_hi}) and signups ({u_lo.date()} to "
                        f"{last_full}) in the window; check start/end and the two tables' dates")
    settings = Settings(
        margin=margin, horizon_days=horizon_days, conversion_days=conversion_days, repeat_days=repeat_days,
        curve_period=curve_period, min_users=min_users, threshold=threshold, max_cut=max_cut,
        max_add=max_add, start=lo, end=hi, as_of=snap, as_of_source=snap_source, spend_first=s_lo,
        spend_last=s_hi, last_signup_day=last_full, currency=currency or warehouse.currency,
        value=db.value_sql())
    try:
        db.create(lo, hi, snap)
        months = max(1, int((snap.date() - lo).days // 30))
        hs = sorted({*LTV_HORIZONS, horizon_days, *(30 * m for m in range(1, months + 1))})
        return _summarize(db, settings, hs, min_periods=min_periods,
                          min_spend_variation=min_spend_variation, seed=seed)
    finally:
        db.drop()


def _summarize(db: RoiSQL, st: Settings, hs: list[int], *, min_periods: int,
               min_spend_variation: float, seed: int) -> RoiResult:
    daily = db.daily(st.start, st.end)
    hz = db.horizons(hs)
    buys = db.purchases(st.conversion_days, st.repeat_days).set_index("channel")
    days = (st.end - st.start).days + 1
    rows, curves, cum = [], {}, []
    for ch in sorted(set(daily["channel"]) | set(buys.index), key=str):
        d = daily[daily["channel"] == ch]
        spent, new = float(d["spend"].sum()), float(d["new_users"].sum())
        per = periods(d[d["has_spend"]], st.curve_period)
        fit = fit_curve(per["spend"].to_numpy(), per["new_users"].to_numpy(), min_points=min_periods,
                        min_variation=min_spend_variation)
        curves[ch] = (fit, per)
        row: dict[str, Any] = {"channel": ch, "spend": spent, "new_users": new, "cac": cac(spent, new)}
        h = hz[hz["channel"] == ch].set_index("h")
        for hor in sorted({*LTV_HORIZONS, st.horizon_days}):
            n, s, ss = (float(h.loc[hor, k]) if hor in h.index else 0.0 for k in ("n", "s", "ss"))
            m, se, lo, hi = mean_ci(n, s, ss) if n >= st.min_users else (math.nan,) * 4
            row |= {f"ltv_{hor}": st.margin * m, f"ltv_{hor}_se": st.margin * se,
                    f"ltv_{hor}_low": st.margin * lo, f"ltv_{hor}_high": st.margin * hi, f"ltv_{hor}_users": n}
        monthly = h[(h.index % 30 == 0) & (h["n"] >= st.min_users)]
        per_user = pd.Series(st.margin * monthly["s"].to_numpy() / monthly["n"].to_numpy(),
                             index=(monthly.index // 30).astype(int))
        cum += [{"channel": ch, "month": int(k), "margin_per_user": float(v), "users": float(monthly.loc[k * 30, "n"])}
                for k, v in per_user.items()]
        row["payback_months"] = payback_month(per_user, row["cac"])
        row["observed_months"] = float(per_user.index.max()) if len(per_user) else math.nan
        row |= _rates(buys, ch)
        row |= _curve_columns(fit, row["cac"])
        ltv, ltv_se = row[f"ltv_{st.horizon_days}"], row[f"ltv_{st.horizon_days}_se"]
        r, r_lo, r_hi = ratio_ci(ltv, ltv_se, row["cac"])
        row |= {"ltv_cac": r, "ltv_cac_low": r_lo, "ltv_cac_high": r_hi}
        mr = ratio_ci(ltv, ltv_se, row["cac"], fit.b, fit.b_se) if fit.fitted else (math.nan,) * 3
        row |= {"ltv_cac_marginal": mr[0], "ltv_cac_marginal_low": mr[1], "ltv_cac_marginal_high": mr[2]}
        row["ratio"] = mr[0] if fit.diminishing else r  # the average stands without diminishing returns
        row["budget"], row["users_30d"] = spent * 30 / days, new * 30 / days
        rows.append(row)
    table = pd.DataFrame(rows)
    table["b_used"] = table["b"].where(table["diminishing"].astype(bool))
    shift = reallocate(table.assign(b=table["b_used"], ltv=table[f"ltv_{st.horizon_days}"], ltv_se=table[f"ltv_{st.horizon_days}_se"],
                                    users=table["users_30d"], counted=table["new_users"]),
                       threshold=st.threshold, max_cut=st.max_cut, max_add=st.max_add, seed=seed)
    table["flagged"] = (table["spend"] > 0) & np.isfinite(table["ratio"]) & (table["ratio"] < st.threshold)
    return RoiResult(channels=table, cumulative=pd.DataFrame(cum, columns=["channel", "month", "margin_per_user",
                                                                           "users"]),
                     curves=curves, shift=shift, settings=st, window_days=days)


def _rates(buys: pd.DataFrame, ch: str) -> dict[str, float]:
    if ch not in buys.index:
        return {"conversion": math.nan, "conversion_low": math.nan, "conversion_high": math.nan,
                "retention": math.nan, "retention_low": math.nan, "retention_high": math.nan, "buyers": 0.0}
    b = buys.loc[ch]
    out: dict[str, float] = {"buyers": float(b["rep_n"])}
    for name, x, n in (("conversion", b["conv_x"], b["conv_n"]), ("retention", b["rep_x"], b["rep_n"])):
        lo, hi = wilson_interval(np.array([float(x)]), np.array([float(n)]))
        out |= {name: float(x) / float(n) if n else math.nan, f"{name}_low": float(lo[0]) if n else math.nan,
                f"{name}_high": float(hi[0]) if n else math.nan}
    return out


def _curve_columns(fit: CurveFit, avg: float) -> dict[str, Any]:
    ok = fit.fitted and math.isfinite(avg)
    return {"curve": "fitted" if fit.fitted else fit.reason, "periods": fit.points, "b": fit.b,
            "b_low": fit.b_low, "b_high": fit.b_high, "b_se": fit.b_se,
            "diminishing": fit.diminishing,
            "cac_marginal": avg / fit.b if ok else math.nan,
            "cac_marginal_low": avg / fit.b_high if ok else math.nan,
            "cac_marginal_high": avg / fit.b_low if ok else math.nan}
