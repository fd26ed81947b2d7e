"""The cohort engine in DuckDB SQL: anchors (who is in which cohort, from when), activity rows,
and the counts every retention figure is made of.

Times are microseconds since the epoch (``epoch_us`` of the warehouse's wall clock), so a
period is an integer division: ``(t - t0) // (period_days * 86400e6)``. Two temp tables hold
the inputs of one analysis:

    anchors   user_id, t0 (the anchor: signup or first purchase), cohort (DATE: its day, week
              or month), eligible horizon checks read ``t0``
    acts      user_id, t of every activity row at or before as_of (events, optionally only
              some event names, or valid orders; ``repeat``: orders after each user's first)

Every count is returned per (group, window) with ``members`` (users of the group),
``eligible`` (members observed for the whole window before as_of: ``t0 + end <= as_of``) and
``retained`` (eligible members with at least ``min_actions`` activity rows in the window).
A cell is complete when ``eligible == members``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pandas as pd

from playbook.sql import quote_ident as qi
from playbook.sql import quote_string

DAY_US = 86_400_000_000


@dataclass(frozen=True)
class Source:
    """Where anchors or activity come from: a table's view and its columns (already checked)."""

    view: str
    user: str
    ts: str
    event: str | None = None  # events: the event-name column
    events: tuple[str, ...] = ()  # only these event names (empty: every row)
    amount: str | None = None  # orders: rows with a negative amount are left out


def truncate(ts: str, grain: str, week_start: int) -> str:
    """SQL for the first day (DATE) of the day, week (starting on ``week_start``, 0 = Monday)
    or month holding timestamp ``ts``."""
    if grain == "day":
        return f"CAST({ts} AS DATE)"
    if grain == "month":
        return f"date_trunc('month', {ts})::DATE"
    shift = (7 - week_start) % 7  # DuckDB's weeks start on Monday
    if not shift:
        return f"date_trunc('week', {ts})::DATE"
    return f"(date_trunc('week', {ts} + INTERVAL ({shift}) DAY) - INTERVAL ({shift}) DAY)::DATE"


def step(grain: str) -> str:
    """The SQL interval of one calendar period of ``grain``."""
    return {"day": "INTERVAL 1 DAY", "week": "INTERVAL 7 DAY", "month": "INTERVAL 1 MONTH"}[grain]


def valid_rows(src: Source, as_of_us: int) -> str:
    """SELECT user_id, t FROM the source: timestamps not null and at or before as_of, events
    filtered by name, orders with a negative amount left out."""
    t = f"epoch_us(CAST({qi(src.ts)} AS TIMESTAMP))"
    where = [f"{qi(src.user)} IS NOT NULL", f"{qi(src.ts)} IS NOT NULL", f"{t} <= {as_of_us}"]
    if src.event and src.events:
        names = ", ".join(quote_string(e) for e in src.events)
        where.append(f"CAST({qi(src.event)} AS VARCHAR) IN ({names})")
    if src.amount:
        where.append(f"coalesce({qi(src.amount)} >= 0, true)")
    return (f"SELECT {qi(src.user)} AS user_id, {t} AS t FROM {src.view} "
            f"WHERE {' AND '.join(where)}")


class CohortSQL:
    """The temp tables of one analysis on ``con`` and the queries over them (module docstring)."""

    def __init__(self, con: Any, as_of_us: int, grain: str, week_start: int) -> None:
        self.con, self.as_of, self.grain, self.week_start = con, int(as_of_us), grain, week_start
        tag = uuid.uuid4().hex[:8]
        self.anchors, self.acts = f"_rt_anchor_{tag}", f"_rt_acts_{tag}"

    def q(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()

    # -- inputs ---------------------------------------------------------------------------------
    def create_anchors(self, src: Source, first_of: bool,
                       segment: tuple[str, str, str] | None = None) -> None:
        """Anchors from ``src``: each user's earliest timestamp (``first_of``: first purchase;
        else the signup column, its earliest if a user appears twice). ``segment``: (view,
        user column, column) of the users table to attach as ``seg`` (text, ``(missing)`` for null)."""
        rows = valid_rows(src, self.as_of) if first_of else valid_rows(
            Source(src.view, src.user, src.ts), self.as_of)
        cohort = truncate("make_timestamp(t0)", self.grain, self.week_start)
        seg_sel, seg_join = "NULL::VARCHAR AS seg", ""
        if segment is not None:
            view, user, col = segment
            seg_sel = "coalesce(s.seg, '(missing)') AS seg"
            seg_join = (f"LEFT JOIN (SELECT {qi(user)} AS user_id, any_value(CAST({qi(col)} AS VARCHAR)) "
                        f"AS seg FROM {view} GROUP BY ALL) s USING (user_id)")
        self.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {self.anchors} AS
            SELECT a.user_id, a.t0, {cohort} AS cohort, {seg_sel}
            FROM (SELECT user_id, min(t) AS t0 FROM ({rows}) GROUP BY user_id) a {seg_join}""")

    def create_acts(self, src: Source, repeat: bool = False) -> None:
        """Activity rows of ``src`` (``repeat``: every row after each user's first)."""
        rows = valid_rows(src, self.as_of)
        if repeat:
            rows = (f"SELECT user_id, t FROM ({rows}) "
                    "QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY t) > 1")
        # a view: DuckDB scans the Parquet columns again faster than it writes a 10M-row table
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {self.acts} AS {rows}")

    def drop(self) -> None:
        self.con.execute(f"DROP VIEW IF EXISTS {self.acts}")
        self.con.execute(f"DROP TABLE IF EXISTS {self.anchors}")

    # -- sizes ----------------------------------------------------------------------------------
    def sizes(self, group: str = "cohort") -> pd.DataFrame:
        """group, members, first and last anchor (us) of each group."""
        return self.q(f"SELECT {group} AS grp, count(*) AS members, min(t0) AS t0_min, "
                      f"max(t0) AS t0_max FROM {self.anchors} GROUP BY ALL ORDER BY grp")

    def eligible(self, ends_us: list[int], group: str = "cohort") -> pd.DataFrame:
        """grp, j, eligible: members observed to ``t0 + ends_us[j]`` by as_of."""
        ends = ", ".join(str(int(e)) for e in ends_us)
        return self.q(f"""
            SELECT {group} AS grp, j - 1 AS j, count(*) FILTER (WHERE t0 + e <= {self.as_of}) AS eligible
            FROM {self.anchors}, (SELECT unnest([{ends}]) AS e, generate_subscripts([{ends}], 1) AS j)
            GROUP BY ALL""")

    # -- the cohort matrix ------------------------------------------------------------------------
    def n_day(self, period_us: int, periods: int, min_actions: int) -> pd.DataFrame:
        """grp (cohort), j (period), retained: eligible members with at least ``min_actions``
        rows in period j (``t0 + j P <= t < t0 + (j + 1) P``), j < ``periods``."""
        p = int(period_us)
        if int(min_actions) == 1:  # one row is enough: distinct (user, period), filtered per row
            return self.q(f"""
                SELECT cohort AS grp, k AS j, count(*) AS retained FROM (
                    SELECT DISTINCT a.user_id, (e.t - a.t0) // {p} AS k, a.cohort
                    FROM {self.acts} e JOIN {self.anchors} a USING (user_id)
                    WHERE e.t >= a.t0 AND e.t < a.t0 + {p * int(periods)}
                      AND a.t0 + ((e.t - a.t0) // {p} + 1) * {p} <= {self.as_of})
                GROUP BY ALL""")
        return self.q(f"""
            SELECT cohort AS grp, k AS j, count(*) AS retained FROM (
                SELECT a.cohort, a.t0, (e.t - a.t0) // {p} AS k, count(*) AS n
                FROM {self.acts} e JOIN {self.anchors} a USING (user_id)
                WHERE e.t >= a.t0 AND e.t < a.t0 + {p * int(periods)}
                GROUP BY a.user_id, a.cohort, a.t0, k)
            WHERE n >= {int(min_actions)} AND t0 + (k + 1) * {p} <= {self.as_of}
            GROUP BY ALL""")

    def unbounded(self, period_us: int, periods: int, min_actions: int) -> pd.DataFrame:
        """grp, j, retained: eligible members with at least ``min_actions`` rows in period j or
        later (up to as_of). Per user, the last period k from which on the rows still reach
        ``min_actions``; a user counts in every period up to it."""
        p = int(period_us)
        per_user = self.q(f"""
            SELECT cohort AS grp, least(kmax, {int(periods) - 1}) AS kmax, t0 FROM (
                SELECT user_id, any_value(cohort) AS cohort, any_value(t0) AS t0,
                       max(k) FILTER (WHERE s >= {int(min_actions)}) AS kmax
                FROM (SELECT user_id, cohort, t0, k,
                             sum(n) OVER (PARTITION BY user_id ORDER BY k DESC) AS s
                      FROM (SELECT a.user_id, a.cohort, a.t0, (e.t - a.t0) // {p} AS k, count(*) AS n
                            FROM {self.acts} e JOIN {self.anchors} a USING (user_id)
                            WHERE e.t >= a.t0 GROUP BY ALL))
                GROUP BY user_id)
            WHERE kmax IS NOT NULL""")
        rows = []
        for k in range(int(periods)):
            ok = (per_user["kmax"] >= k) & (per_user["t0"] + (k + 1) * p <= self.as_of)
            rows.append(per_user[ok].groupby("grp").size().rename("retained").reset_index().assign(j=k))
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["grp", "j", "retained"])

    def windows(self, bounds: list[tuple[int, int]], min_actions: int,
                group: str = "cohort") -> pd.DataFrame:
        """grp, j, retained: eligible members with at least ``min_actions`` rows in day window j,
        days ``lo..hi`` after the anchor (day d: ``t0 + d days <= t < t0 + (d + 1) days``)."""
        lo = ", ".join(str(int(a)) for a, _ in bounds)
        hi = ", ".join(str(int(b)) for _, b in bounds)
        top = max(int(b) for _, b in bounds)
        return self.q(f"""
            WITH per AS (
                SELECT a.user_id, any_value(a.{group}) AS grp, any_value(a.t0) AS t0,
                       (e.t - a.t0) // {DAY_US} AS d, count(*) AS n
                FROM {self.acts} e JOIN {self.anchors} a USING (user_id)
                WHERE e.t >= a.t0 AND e.t < a.t0 + {(top + 1) * DAY_US} GROUP BY a.user_id, d),
            w AS (SELECT generate_subscripts([{lo}], 1) - 1 AS j, unnest([{lo}]) AS lo,
                         unnest([{hi}]) AS hi)
            SELECT grp, j, count(*) AS retained FROM (
                SELECT per.user_id, any_value(grp) AS grp, j, sum(n) AS s, any_value(t0) AS t0,
                       any_value(hi) AS hi
                FROM per JOIN w ON per.d BETWEEN w.lo AND w.hi GROUP BY per.user_id, j)
            WHERE s >= {int(min_actions)} AND t0 + (hi + 1) * {DAY_US} <= {self.as_of}
            GROUP BY ALL""")

    # -- revenue, purchases -----------------------------------------------------------------------
    def revenue(self, rows: str, period_us: int, periods: int) -> pd.DataFrame:
        """grp (cohort), j (period), revenue of the members' ``rows`` (user_id, t, amount)."""
        p = int(period_us)
        return self.q(f"""
            SELECT a.cohort AS grp, (r.t - a.t0) // {p} AS j, sum(r.amount) AS revenue
            FROM ({rows}) r JOIN {self.anchors} a USING (user_id)
            WHERE r.t >= a.t0 AND r.t < a.t0 + {p * int(periods)} GROUP BY ALL""")

    def lifecycle(self) -> pd.DataFrame:
        """period, new, returning, resurrecting, dormant: members by their activity in each
        calendar period (day, week or month of the cohorts)."""
        trunc = truncate("make_timestamp(t)", self.grain, self.week_start)
        nxt = step(self.grain)
        return self.q(f"""
            WITH act AS (SELECT DISTINCT e.user_id, {trunc} AS p
                         FROM {self.acts} e SEMI JOIN {self.anchors} a USING (user_id)),
            x AS (SELECT user_id, p, lag(p) OVER w AS prev, lead(p) OVER w AS nxt FROM act
                  WINDOW w AS (PARTITION BY user_id ORDER BY p)),
            counts AS (
                SELECT p AS period, count(*) FILTER (WHERE prev IS NULL) AS new,
                       count(*) FILTER (WHERE prev = (p - {nxt})::DATE) AS returning,
                       count(*) FILTER (WHERE prev < (p - {nxt})::DATE) AS resurrecting
                FROM x GROUP BY p),
            gone AS (SELECT (p + {nxt})::DATE AS period, count(*) AS dormant FROM x
                     WHERE nxt IS NULL OR nxt > (p + {nxt})::DATE GROUP BY ALL)
            SELECT c.period, c.new, c.returning, c.resurrecting, coalesce(g.dormant, 0) AS dormant
            FROM counts c LEFT JOIN gone g USING (period) ORDER BY c.period""")

    def usage(self) -> pd.DataFrame:
        """month, users (active in the month), mean, sd, p50, p90 of active days, and the
        users with 1, 2, 3, 4-7, 8-14 and 15+ active days."""
        return self.q(f"""
            SELECT month, count(*) AS users, avg(days) AS mean, stddev_samp(days) AS sd,
                   quantile_cont(days, 0.5) AS p50, quantile_cont(days, 0.9) AS p90,
                   count(*) FILTER (WHERE days = 1) AS "1", count(*) FILTER (WHERE days = 2) AS "2",
                   count(*) FILTER (WHERE days = 3) AS "3",
                   count(*) FILTER (WHERE days BETWEEN 4 AND 7) AS "4-7",
                   count(*) FILTER (WHERE days BETWEEN 8 AND 14) AS "8-14",
                   count(*) FILTER (WHERE days >= 15) AS "15+"
            FROM (SELECT user_id, date_trunc('month', make_timestamp(t))::DATE AS month,
                         count(DISTINCT t // {DAY_US}) AS days
                  FROM {self.acts} GROUP BY ALL)
            GROUP BY month ORDER BY month""")
