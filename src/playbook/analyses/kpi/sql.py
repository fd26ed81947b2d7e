"""The weekly unit panel of each KPI kind, in one DuckDB query per KPI.

Weeks are whole 7-day spans counted from the campaign start (week 0 starts at it; week -1 is
the 7 days before). Each query returns ``unit, week, num, den`` for the units of the groups
(``units``: the users table's group column, cast to text) and the weeks ``lo .. hi - 1``;
the KPI of a unit-week is ``num / den``. Kinds:

repeat_orders
    Orders placed in the week by users whose first order was before the week started, per such
    user (repeat loans per existing customer and week: "repurchase"). Orders after the snapshot
    are left out.
event_rate
    Users with ``event`` in the week, per user active in the week (any event; or users with
    ``base_event`` when it is set).
revenue_per_user
    Sum of the events' revenue column in the week, per user active in the week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from playbook.sql import quote_ident as ident
from playbook.sql import quote_string as text
from playbook.sql import quote_timestamp as ts

KINDS = ("repeat_orders", "event_rate", "revenue_per_user")
WEEK_US = 7 * 86_400_000_000


@dataclass(frozen=True)
class Tables:
    """The (quoted) views and column names the queries read."""

    users: str
    events: str
    orders: str
    user_col: str = "user_id"
    group_col: str = "region"
    ts_col: str = "ts"
    event_col: str = "event"
    revenue_col: str = "revenue"


def _units(t: Tables, values: list[str]) -> str:
    listed = ", ".join(text(v) for v in values)
    return (f"SELECT {ident(t.user_col)} AS uid, CAST({ident(t.group_col)} AS VARCHAR) AS unit "
            f"FROM {t.users} WHERE CAST({ident(t.group_col)} AS VARCHAR) IN ({listed})")


def _week(col: str, start: datetime) -> str:
    return f"CAST(floor((epoch_us({col}) - epoch_us({ts(start)})) / {WEEK_US}) AS BIGINT)"


def _window(col: str, start: datetime, weeks: tuple[int, int], as_of: datetime) -> str:
    lo, hi = weeks
    return (f"{col} >= {ts(start)} + INTERVAL ({lo * 7}) DAY AND {col} < {ts(start)} "
            f"+ INTERVAL ({hi * 7}) DAY AND {col} <= {ts(as_of)}")


def panel_query(kind: str, t: Tables, *, units: list[str], start: datetime, weeks: tuple[int, int],
                as_of: datetime, event: str = "", base_event: str = "") -> str:
    """The query of one KPI (module docstring); ``weeks`` is ``(lo, hi)``, hi exclusive."""
    lo, hi = weeks
    u = _units(t, units)
    tcol = ident(t.ts_col)
    if kind == "repeat_orders":
        week_start = f"{ts(start)} + to_days(CAST({_week('o.ts', start)} * 7 AS INTEGER))"
        return f"""
WITH u AS ({u}),
o AS (SELECT {ident(t.user_col)} AS uid, CAST({tcol} AS TIMESTAMP) AS ts FROM {t.orders}
      WHERE {tcol} <= {ts(as_of)}),
f AS (SELECT uid, min(ts) AS first_ts FROM o GROUP BY uid),
w AS (SELECT range AS week FROM range({lo}, {hi})),
den AS (SELECT u.unit, w.week, count(*) AS den FROM f JOIN u USING (uid) JOIN w
        ON f.first_ts < {ts(start)} + to_days(CAST(w.week * 7 AS INTEGER)) GROUP BY ALL),
num AS (SELECT u.unit, {_week('o.ts', start)} AS week, count(*) AS num
        FROM o JOIN f USING (uid) JOIN u USING (uid)
        WHERE f.first_ts < {week_start} AND {_window('o.ts', start, weeks, as_of)} GROUP BY ALL)
SELECT den.unit, den.week, coalesce(num.num, 0) AS num, den.den FROM den LEFT JOIN num USING (unit, week)
ORDER BY 1, 2"""
    if kind == "event_rate":
        num = f"count(DISTINCT uid) FILTER (WHERE ev = {text(event)})"
        den = (f"count(DISTINCT uid) FILTER (WHERE ev = {text(base_event)})"
               if base_event else "count(DISTINCT uid)")
        extra = f"CAST({ident(t.event_col)} AS VARCHAR) AS ev"
    else:
        num, den = "coalesce(sum(rev), 0)", "count(DISTINCT uid)"
        extra = f"CAST({ident(t.revenue_col)} AS DOUBLE) AS rev"
    return f"""
WITH u AS ({u}),
e AS (SELECT {ident(t.user_col)} AS uid, CAST({tcol} AS TIMESTAMP) AS ts, {extra} FROM {t.events})
SELECT u.unit, {_week('e.ts', start)} AS week, {num} AS num, {den} AS den
FROM e JOIN u USING (uid) WHERE {_window('e.ts', start, weeks, as_of)}
GROUP BY ALL ORDER BY 1, 2"""
