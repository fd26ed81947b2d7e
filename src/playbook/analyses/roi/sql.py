"""The DuckDB side of channel_roi: every pass over users, value rows and spend.

:class:`RoiSQL` builds two temporary tables and reads small aggregates from them:

``acq``   one row per acquired user in the window: ``uid``, ``channel``, ``t0`` (signup), ``obs``
          (days observed: snapshot minus signup)
``val``   one row per value row of an acquired user between signup and the snapshot: ``uid``,
          ``d`` (days since signup), ``val`` (the value column, before the margin)

Aggregates (per channel): the daily spend and new users of the window; for each horizon ``h``
days the sufficient statistics (count, sum, sum of squares) of the value per user within ``h``
days over the users observed for ``h`` full days; the first-purchase and repeat counts.
Identifiers and values from parameters reach SQL only through :mod:`playbook.sql`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from playbook.sources import Warehouse
from playbook.sql import quote_ident as q
from playbook.sql import quote_string, quote_timestamp


@dataclass(frozen=True)
class Columns:
    """The tables and columns the analysis reads (every name a parameter)."""

    users: str = "users"
    spend: str = "spend"
    value_table: str = "orders"
    value_col: str = "amount"
    value_event: str | None = None
    user_col: str = "user_id"
    signup_col: str = "signup_ts"
    channel_col: str = "channel"
    ts_col: str = "ts"
    event_col: str = "event"
    date_col: str = "date"
    spend_col: str = "spend"


def _day(d: date) -> str:
    return "DATE " + quote_string(d.isoformat())


class RoiSQL:
    """The temporary tables of one analysis and the queries over them (module docstring)."""

    def __init__(self, warehouse: Warehouse, cols: Columns) -> None:
        self.wh, self.c = warehouse, cols
        tag = uuid.uuid4().hex[:8]
        self.acq, self.val = f"_roi_acq_{tag}", f"_roi_val_{tag}"

    def _df(self, query: str) -> pd.DataFrame:
        return self.wh.sql(query)

    # -- ranges ------------------------------------------------------------------------------
    def spend_range(self) -> tuple[date | None, date | None, int]:
        """First and last day with spend, and the number of spend rows."""
        c, view = self.c, self.wh.view(self.c.spend)
        row = self._df(f"SELECT min(CAST({q(c.date_col)} AS DATE)) AS lo, max(CAST({q(c.date_col)} AS DATE)) "
                       f"AS hi, count(*) AS n FROM {view} WHERE {q(c.spend_col)} IS NOT NULL").iloc[0]
        return _date(row["lo"]), _date(row["hi"]), int(row["n"])

    def signup_range(self) -> tuple[datetime | None, datetime | None]:
        c, view = self.c, self.wh.view(self.c.users)
        row = self._df(f"SELECT min(CAST({q(c.signup_col)} AS TIMESTAMP)) AS lo, "
                       f"max(CAST({q(c.signup_col)} AS TIMESTAMP)) AS hi FROM {view}").iloc[0]
        return _moment(row["lo"]), _moment(row["hi"])

    # -- the two tables ------------------------------------------------------------------------
    def create(self, start: date, end: date, as_of: datetime) -> None:
        """``acq`` (users who signed up on days ``start`` .. ``end``) and ``val`` (their value rows)."""
        c, users, values = self.c, self.wh.view(self.c.users), self.wh.view(self.c.value_table)
        t0 = f"CAST(u.{q(c.signup_col)} AS TIMESTAMP)"
        snap = quote_timestamp(as_of)
        self.wh.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {self.acq} AS SELECT u.{q(c.user_col)} AS uid, "
            f"CAST(u.{q(c.channel_col)} AS VARCHAR) AS channel, {t0} AS t0, "
            f"date_diff('second', {t0}, {snap}) / 86400.0 AS obs FROM {users} u "
            f"WHERE u.{q(c.user_col)} IS NOT NULL AND u.{q(c.channel_col)} IS NOT NULL "
            f"AND CAST({t0} AS DATE) BETWEEN {_day(start)} AND {_day(end)} AND {t0} <= {snap}")
        ts = f"CAST(v.{q(c.ts_col)} AS TIMESTAMP)"
        event = (f" AND CAST(v.{q(c.event_col)} AS VARCHAR) = {quote_string(c.value_event)}"
                 if c.value_event is not None else "")
        self.wh.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {self.val} AS SELECT a.uid, "
            f"date_diff('second', a.t0, {ts}) / 86400.0 AS d, CAST(v.{q(c.value_col)} AS DOUBLE) AS val "
            f"FROM {self.acq} a JOIN {values} v ON v.{q(c.user_col)} = a.uid "
            f"WHERE {ts} >= a.t0 AND {ts} <= {snap} AND v.{q(c.value_col)} IS NOT NULL{event}")

    def drop(self) -> None:
        for name in (self.acq, self.val):
            self.wh.con.execute(f"DROP TABLE IF EXISTS {name}")

    def value_rows(self) -> int:
        """Value rows of the value table (after the event filter), whoever they belong to."""
        c, view = self.c, self.wh.view(self.c.value_table)
        event = (f" WHERE CAST({q(c.event_col)} AS VARCHAR) = {quote_string(c.value_event)}"
                 if c.value_event is not None else "")
        return int(self._df(f"SELECT count(*) AS n FROM {view}{event}")["n"].iloc[0])

    # -- aggregates ------------------------------------------------------------------------------
    def daily(self, start: date, end: date) -> pd.DataFrame:
        """channel, day, spend, new_users: every day of the window with spend or signups."""
        c, spend = self.c, self.wh.view(self.c.spend)
        return self._df(
            f"WITH s AS (SELECT CAST({q(c.channel_col)} AS VARCHAR) AS channel, CAST({q(c.date_col)} AS DATE) "
            f"AS day, sum(CAST({q(c.spend_col)} AS DOUBLE)) AS spend FROM {spend} "
            f"WHERE CAST({q(c.date_col)} AS DATE) BETWEEN {_day(start)} AND {_day(end)} "
            f"AND {q(c.channel_col)} IS NOT NULL GROUP BY ALL), "
            f"n AS (SELECT channel, CAST(t0 AS DATE) AS day, count(*) AS new_users FROM {self.acq} GROUP BY ALL) "
            "SELECT coalesce(s.channel, n.channel) AS channel, coalesce(s.day, n.day) AS day, "
            "coalesce(s.spend, 0.0) AS spend, coalesce(n.new_users, 0) AS new_users, s.spend IS NOT NULL AS has_spend "
            "FROM s FULL OUTER JOIN n ON s.channel = n.channel AND s.day = n.day ORDER BY channel, day")

    def horizons(self, days: list[int]) -> pd.DataFrame:
        """channel, h, n, s, ss: per horizon ``h`` (days), the users observed for ``h`` full days
        and the count, sum and sum of squares of their value within ``h`` days of signup."""
        grid = ", ".join(f"({int(h)})" for h in days)
        return self._df(
            f"WITH g AS (SELECT a.uid, a.channel, h.h FROM {self.acq} a JOIN (VALUES {grid}) h(h) "
            "ON a.obs >= h.h), "
            f"c AS (SELECT g.channel, g.h, g.uid, coalesce(sum(v.val), 0.0) AS x FROM g LEFT JOIN {self.val} v "
            "ON v.uid = g.uid AND v.d < g.h GROUP BY g.channel, g.h, g.uid) "
            "SELECT channel, h, count(*) AS n, sum(x) AS s, sum(x * x) AS ss FROM c GROUP BY ALL "
            "ORDER BY channel, h")

    def purchases(self, conversion_days: int, repeat_days: int) -> pd.DataFrame:
        """channel, users, conv_n, conv_x, rep_n, rep_x: acquired users; users observed for
        ``conversion_days`` and those of them with a first purchase (a row of value > 0) within
        it; buyers whose first purchase is ``repeat_days`` before the snapshot and those of them
        with a second purchase within ``repeat_days`` of the first."""
        return self._df(
            f"WITH p AS (SELECT uid, d, row_number() OVER (PARTITION BY uid ORDER BY d) AS k FROM {self.val} "
            "WHERE val > 0), "
            "f AS (SELECT uid, min(d) FILTER (WHERE k = 1) AS f1, min(d) FILTER (WHERE k = 2) AS f2 FROM p "
            "GROUP BY uid), "
            f"u AS (SELECT a.channel, a.obs, f.f1, f.f2 FROM {self.acq} a LEFT JOIN f ON f.uid = a.uid) "
            f"SELECT channel, count(*) AS users, count(*) FILTER (WHERE obs >= {int(conversion_days)}) AS conv_n, "
            f"count(*) FILTER (WHERE obs >= {int(conversion_days)} AND f1 < {int(conversion_days)}) AS conv_x, "
            f"count(*) FILTER (WHERE f1 IS NOT NULL AND obs - f1 >= {int(repeat_days)}) AS rep_n, "
            f"count(*) FILTER (WHERE f1 IS NOT NULL AND obs - f1 >= {int(repeat_days)} "
            f"AND f2 - f1 < {int(repeat_days)}) AS rep_x FROM u GROUP BY channel ORDER BY channel")

    def value_sql(self) -> dict[str, Any]:
        """What the value is, for the report: table, column, event filter."""
        return {"table": self.c.value_table, "column": self.c.value_col, "event": self.c.value_event}


def _date(v: Any) -> date | None:
    if v is None or pd.isna(v):
        return None
    day: date = pd.Timestamp(v).date()
    return day


def _moment(v: Any) -> datetime | None:
    if v is None or pd.isna(v):
        return None
    moment: datetime = pd.Timestamp(v).to_pydatetime()
    return moment
