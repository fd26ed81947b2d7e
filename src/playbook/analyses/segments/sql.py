"""The DuckDB SQL of segmentation: one per-user table (RFM, scores, segment, tier), then small
aggregates over it. Every identifier from a parameter goes through :func:`quote_ident`, every
value through :mod:`playbook.sql`; the scores and cut points are whole numbers written by code.

Definitions (the analysis module's docstring says them for a stakeholder):

valid order
    ``user_id`` and ``ts`` not null, ``ts`` at or before the snapshot, ``amount > 0``, and the user
    in the users table; every other row is counted under the first reason that excludes it
    (:data:`REASONS`).
recency, frequency, monetary
    whole days from the last valid order to the snapshot (the time between them in
    microseconds, floored to days), the number of valid orders and the sum of their amounts.
score (1..5)
    ``1 + floor(5 * worse / n)`` where ``n`` is the number of buyers and ``worse`` the number
    of buyers with a strictly worse value (more days since the last order; fewer orders; less
    money): SQL's ``rank()`` minus one, computed over the distinct values. Equal values always get the same score, ties go to the
    lower score, and with heavy ties some scores do not occur (every buyer with one order has
    F = 1, and the next F is the one their share reaches).
tier
    ``better`` = buyers who spent strictly more; a buyer is in tier ``i`` when
    ``cut[i-1] <= better / n < cut[i]`` (exact integer arithmetic in parts per million): equal
    spending, equal tier, ties to the higher tier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from playbook.analyses.segments.rules import NO_PURCHASE, SegmentRules
from playbook.sql import quote_ident, quote_string, quote_timestamp

#: Why an order row is left out, in the order the reasons are tried.
REASONS = ("after_snapshot", "no_time", "non_positive_amount", "no_user_id", "unknown_user")
PPM = 1_000_000


@dataclass(frozen=True)
class Columns:
    """The tables and columns segmentation reads (all parameters of the template)."""

    orders: str = "orders"
    users: str = "users"
    user_col: str = "user_id"
    ts_col: str = "ts"
    amount_col: str = "amount"
    channel_col: str = ""  # a users column for the channel mix; empty: none
    signup_col: str = ""  # a users column; users who signed up after the snapshot are left out


@dataclass(frozen=True)
class Snapshot:
    """The snapshot as a literal of each kind of time column: a TIMESTAMPTZ column is compared
    with the instant, a naive TIMESTAMP or DATE column (wall-clock times in the warehouse's zone,
    :mod:`playbook.sources`) with the snapshot's wall-clock time in that zone, so that no row
    is cast (a cast to TIMESTAMPTZ costs a time-zone lookup per row)."""

    zoned: str
    naive: str

    @classmethod
    def of(cls, as_of: pd.Timestamp, timezone: str) -> Snapshot:
        ts = as_of if as_of.tzinfo is not None else as_of.tz_localize("UTC")
        wall = ts.tz_convert(timezone).tz_localize(None).to_pydatetime()
        return cls(f"CAST({quote_string(ts.isoformat())} AS TIMESTAMPTZ)", quote_timestamp(wall))

    def column(self, expr: str, column_type: str) -> tuple[str, str]:
        """``expr`` as a timestamp of its own kind, and the snapshot literal to compare it with."""
        if "TIME ZONE" in column_type.upper() or column_type.upper() == "TIMESTAMPTZ":
            return f"CAST({expr} AS TIMESTAMPTZ)", self.zoned
        return f"CAST({expr} AS TIMESTAMP)", self.naive


def _orders(c: Columns, orders_view: str, population: str, at: tuple[str, str]) -> str:
    """Per user and reason (NULL: valid orders): the last time, rows and amount. The rows are
    grouped by user and reason code first, so that only the groups, not every order, are looked
    up in the population to find the unknown users."""
    u, t, a = quote_ident(c.user_col), quote_ident(c.ts_col), quote_ident(c.amount_col)
    ts, as_of = at
    code = (f"CAST(CASE WHEN {ts} > {as_of} THEN 1 WHEN o.{t} IS NULL THEN 2 "
            f"WHEN NOT coalesce(o.{a} > 0, FALSE) THEN 3 WHEN o.{u} IS NULL THEN 4 ELSE 0 END AS UTINYINT)")
    grouped = (f"SELECT uid, code, max(ts) AS last_ts, count(*) AS rows, sum(amount) AS amount FROM ("
               f"SELECT o.{u} AS uid, {ts} AS ts, CAST(o.{a} AS DOUBLE) AS amount, {code} AS code "
               f"FROM {orders_view} o) GROUP BY uid, code")
    named = "[" + ", ".join(quote_string(r) for r in REASONS[:4]) + "]"
    return (f"SELECT g.uid, CASE WHEN g.code = 0 THEN CASE WHEN p.uid IS NULL THEN "
            f"{quote_string(REASONS[4])} END ELSE {named}[g.code] END AS reason, g.last_ts, g.rows, g.amount "
            f"FROM ({grouped}) g LEFT JOIN {population} p ON p.uid = g.uid")


def _population(c: Columns, users_view: str, at: tuple[str, str] | None) -> str:
    """One row per user id of the users table (signed up by the snapshot, if signup_col)."""
    u = quote_ident(c.user_col)
    channel = f"min(CAST({quote_ident(c.channel_col)} AS VARCHAR))" if c.channel_col else "NULL"
    where = f"{u} IS NOT NULL"
    if at is not None:
        where += f" AND ({quote_ident(c.signup_col)} IS NULL OR {at[0]} <= {at[1]})"
    return f"SELECT {u} AS uid, {channel} AS channel FROM {users_view} WHERE {where} GROUP BY {u}"


def _ranks(column: str, worse_first: str, name: str) -> str:
    """Per distinct value of ``column``: ``worse`` (buyers with a strictly worse value), from the
    value counts in order (a window over the distinct values, not over every buyer)."""
    return (f"{name} AS (SELECT {column}, sum(count(*)) OVER (ORDER BY {column} {worse_first}) - count(*) AS worse "
            f"FROM b GROUP BY {column})")


def _score(name: str) -> str:
    """``1 + floor(5 * worse / n)`` (module docstring)."""
    return f"CAST(1 + (5 * {name}.worse) // n.n AS INTEGER)"


def _tier(names: list[str], cuts: list[float]) -> str:
    """``better`` (buyers who spent strictly more) is the ``worse`` of a descending order."""
    whens = " ".join(f"WHEN tb.worse * {PPM} < {round(c * PPM):d} * n.n THEN {quote_string(t)}"
                     for t, c in zip(names, cuts, strict=False))
    return f"CASE {whens} ELSE {quote_string(names[-1])} END"


class SegmentSQL:
    """The per-user table of one analysis (a temporary table, dropped by :meth:`drop`)."""

    def __init__(self, con: Any, tag: str) -> None:
        self.con = con
        self.pop, self.orders, self.rfm = f"_sg_pop_{tag}", f"_sg_ord_{tag}", f"_sg_rfm_{tag}"

    def _df(self, query: str) -> pd.DataFrame:
        frame: pd.DataFrame = self.con.execute(query).df()
        return frame

    def create(self, c: Columns, views: tuple[str, str], snapshot: Snapshot, *, types: tuple[str, str],
               rules: SegmentRules, tiers: tuple[list[str], list[float]]) -> None:
        """Build the population, the orders with their reasons, and the per-user table
        (``types``: the SQL types of the order time and signup columns)."""
        users_view, orders_view = views
        at = snapshot.column(f"o.{quote_ident(c.ts_col)}", types[0])
        signup = snapshot.column(quote_ident(c.signup_col), types[1]) if c.signup_col else None
        self.con.execute(f"CREATE TEMP TABLE {self.pop} AS {_population(c, users_view, signup)}")
        # one pass over the orders: per user and reason (NULL: valid), so that the excluded rows
        # are counted from this small table
        self.con.execute(f"CREATE TEMP TABLE {self.orders} AS {_orders(c, orders_view, self.pop, at)}")
        buyers = (f"b AS (SELECT uid, (epoch_us({at[1]}) - epoch_us(last_ts)) // 86400000000 AS recency_days, "
                  f"rows AS frequency, amount AS monetary FROM {self.orders} WHERE reason IS NULL)")
        ranks = ", ".join([buyers, "n AS (SELECT count(*) AS n FROM b)", _ranks("recency_days", "DESC", "tr"),
                           _ranks("frequency", "ASC", "tf"), _ranks("monetary", "ASC", "tm")])
        scored = (f"WITH {ranks}, tb AS (SELECT monetary, sum(count(*)) OVER (ORDER BY monetary DESC) - count(*) "
                  "AS worse FROM b GROUP BY monetary) "
                  f"SELECT b.*, {_score('tr')} AS r, {_score('tf')} AS f, {_score('tm')} AS m, {_tier(*tiers)} AS tier "
                  "FROM b CROSS JOIN n JOIN tr USING (recency_days) JOIN tf USING (frequency) "
                  "JOIN tm USING (monetary) JOIN tb USING (monetary)")
        self.con.execute(
            f"CREATE TEMP TABLE {self.rfm} AS SELECT p.uid, p.channel, s.uid IS NOT NULL AS buyer, "
            "s.recency_days, s.frequency, coalesce(s.monetary, 0) AS monetary, s.r, s.f, s.m, "
            f"CASE WHEN s.uid IS NULL THEN {quote_string(NO_PURCHASE)} ELSE ({rules.case_sql()}) END AS segment, "
            f"coalesce(s.tier, {quote_string(NO_PURCHASE)}) AS tier "
            f"FROM {self.pop} p LEFT JOIN ({scored}) s ON s.uid = p.uid")

    def excluded(self) -> pd.DataFrame:
        """Order rows left out, by reason (reason, rows, amount)."""
        return self._df(f"SELECT reason, sum(rows)::BIGINT AS rows, sum(amount) AS amount FROM {self.orders} "
                        "WHERE reason IS NOT NULL GROUP BY reason")

    def order_rows(self) -> int:
        row = self.con.execute(f"SELECT coalesce(sum(rows), 0)::BIGINT FROM {self.orders}").fetchone()
        return int(row[0]) if row else 0

    def profile(self, by: str) -> pd.DataFrame:
        """Per segment (``by='segment'``) or tier: users, revenue and its square sum, the spend
        spread of buyers, users active in the last 30 and 90 days, repeat buyers, mean scores."""
        col = quote_ident(by)
        return self._df(
            f"SELECT {col} AS name, count(*) AS users, count(*) FILTER (WHERE buyer) AS buyers, "
            "sum(monetary) AS revenue, sum(monetary * monetary) AS revenue_sq, "
            "var_samp(monetary) FILTER (WHERE buyer) AS var_monetary, "
            "count(*) FILTER (WHERE recency_days < 30) AS active_30, "
            "count(*) FILTER (WHERE recency_days < 90) AS active_90, "
            "count(*) FILTER (WHERE frequency >= 2) AS repeaters, "
            "avg(r) AS mean_r, avg(f) AS mean_f, avg(m) AS mean_m, "
            "min(recency_days) AS min_recency, max(recency_days) AS max_recency "
            f"FROM {self.rfm} GROUP BY {col}")

    def channel_mix(self) -> pd.DataFrame:
        return self._df(f"SELECT segment, coalesce(channel, '(none)') AS channel, count(*) AS users "
                        f"FROM {self.rfm} GROUP BY ALL ORDER BY segment, users DESC, channel")

    def grid(self) -> pd.DataFrame:
        """Buyers per R x F cell: users, revenue, mean monetary."""
        return self._df(f"SELECT r, f, count(*) AS users, sum(monetary) AS revenue, avg(monetary) AS mean_monetary "
                        f"FROM {self.rfm} WHERE buyer GROUP BY r, f ORDER BY r, f")

    def score_counts(self) -> pd.DataFrame:
        """Buyers per score of each of R, F and M (score, users), to show which scores occur."""
        parts = [f"SELECT '{k}' AS score, {k} AS value, count(*) AS users FROM {self.rfm} WHERE buyer GROUP BY {k}"
                 for k in ("r", "f", "m")]
        return self._df(" UNION ALL ".join(parts) + " ORDER BY score, value")

    def users(self) -> pd.DataFrame:
        """The per-user table for the tag sets (user_id, segment, tier, scores and values)."""
        return self._df(f"SELECT uid AS user_id, segment, tier, r, f, m, recency_days, frequency, monetary "
                        f"FROM {self.rfm} ORDER BY uid")

    def migration(self, previous: pd.DataFrame) -> pd.DataFrame:
        """Users by previous tag and current segment (``(not tagged)`` on either side)."""
        view = f"{self.rfm}_prev"
        self.con.register(view, previous[["user_id", "tag"]])
        try:
            return self._df(
                "SELECT coalesce(p.tag, '(not tagged)') AS previous, coalesce(c.segment, '(not tagged)') AS current, "
                f"count(*) AS users FROM {view} p FULL OUTER JOIN {self.rfm} c "
                "ON CAST(p.user_id AS VARCHAR) = CAST(c.uid AS VARCHAR) GROUP BY ALL ORDER BY previous, current")
        finally:
            self.con.unregister(view)

    def drop(self) -> None:
        for name in (self.rfm, self.orders, self.pop):
            self.con.execute(f"DROP TABLE IF EXISTS {name}")
