"""SQL of :func:`playbook.analyses.process.analysis.analyze_process`: few passes over the case log.

Used by :mod:`playbook.analyses.process.analysis`; the definitions are documented there. Times are integer
microseconds (``epoch_us``) until one last division by ``HOUR_US``, written as in the
definitions, so every duration, wait and offset is the same double as ``(e - s) / HOUR_US``.

The log is a view ``src``: ``case_id, step, s, e, seg`` and ``c``, the step's code (its index in
the sorted step names, a NULL step last). Passes:

1. **Step names**: ``SELECT DISTINCT step`` (one dictionary-encoded Parquet column).
2. **Case pass**, the one ``GROUP BY case`` over the log, into a temp table: with at most
   ``MAX_SLOTS`` steps, the row count and one slot per step, ``max(s * 2^64 + e')`` of the
   step's rows (a HUGEINT that orders like ``(s, e)``; ``e' = e + 2^63``, an open end the
   largest). If no case repeats a step (row count = filled slots) the slots hold every row, and
   the first start and last end (cycle time, work in progress) are read from them. Otherwise, or
   with more steps, a plainer ``GROUP BY case`` keeps only those two.
3. **Weekly pass**: per step and week the count and median duration of the closed rows (read
   from the slots if there are: a narrower scan than the log). The counts summed per step are
   the n that fix the ranks of every duration order statistic (quantiles and intervals).
4. **Step pass**: per step the counts, sums, SLA breaches, wait quantiles, median offset and one
   ``quantile_disc`` for exactly those ranks (:func:`order_stats`), over one row per log row
   with the end of the row before it in its case (``pe``) and the case's first start (``s0``).
   From the slots, the row before step k is the filled slot with the greatest ``(s, e, code)``
   below k's: a few comparisons per case, no sort (one aggregate per step). Without slots a
   window sorts the log (``PARTITION BY case ORDER BY s, e, code``; one ``GROUP BY step``).
   Both break ties in ``(s, e)`` by step code, so the result does not depend on the path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from playbook.sql import quote_string as literal
from playbook.stats.proportions import quantile_ci_ranks

HOUR_US = 3_600_000_000.0
DAY_US = 86_400_000_000
QUANTILES = (0.5, 0.75, 0.9, 0.95, 0.99)
CI_QUANTILES = {"p50": 0.5, "p90": 0.9}  # quantiles reported with a 95% interval
MAX_SLOTS = 12  # more steps: the window (one slot aggregate per step would cost more)
_P64, _BIAS, _OPEN = 1 << 64, 1 << 63, (1 << 63) - 1  # slot = s * _P64 + (coalesce(e, _OPEN) + _BIAS)


def order_ranks(n: int) -> list[int]:
    """0-based ranks whose values give the ``QUANTILES`` (as ``quantile_cont``) and the
    ``CI_QUANTILES`` intervals of n values."""
    ranks: set[int] = set()
    for q in QUANTILES:
        rn = float(n - 1) * q
        ranks |= {math.floor(rn), math.ceil(rn)}
    for q in CI_QUANTILES.values():
        lo, hi = quantile_ci_ranks(n, q)
        ranks |= {int(lo) - 1, int(hi) - 1}
    return sorted(ranks)


def order_stats(n: int, values: Sequence[Any] | None) -> tuple[list[Any], list[float]]:
    """(``QUANTILES``, interval bounds low/high per ``CI_QUANTILES``) from the values at
    :func:`order_ranks` (NaN without values). A quantile between two ranks is left as
    ``(lo, hi, d)``: ``quantile_cont`` at rank ``(n - 1) q`` interpolates between the values at
    its floor and ceiling by ``d``, the rank's fraction (:meth:`ProcessSQL.interpolate`)."""
    if n < 1 or values is None:
        return [np.nan] * len(QUANTILES), [np.nan] * (2 * len(CI_QUANTILES))
    at = {r: float(v) for r, v in zip(order_ranks(n), values, strict=True)}
    qs: list[Any] = []
    for q in QUANTILES:
        rn = float(n - 1) * q
        lo, hi = math.floor(rn), math.ceil(rn)
        qs.append(at[lo] if lo == hi else (at[lo], at[hi], rn - lo))
    ci = []
    for q in CI_QUANTILES.values():
        low, high = quantile_ci_ranks(n, q)
        ci += [at[int(low) - 1], at[int(high) - 1]]
    return qs, ci


def _values(v: Any) -> list[Any] | None:
    """A LIST cell as a list (None for NULL)."""
    return list(v) if isinstance(v, list | np.ndarray) else None


class ProcessSQL:
    """The temp objects of one :func:`analyze_process` call on ``con`` and the queries on them."""

    def __init__(self, con: duckdb.DuckDBPyConnection, tag: str, week_start: int = 0) -> None:
        self.con = con
        self.week_start = int(week_start)  # the first day of a week, 0 = Monday ... 6 = Sunday
        self.src, self.cases, self.weeks = (f"_pr_{x}_{tag}" for x in ("src", "cases", "weeks"))
        self.steps: list[str | None] = []
        self.slots = False

    def create_source(self, rows: str) -> list[str | None]:
        """The view ``src`` over ``rows`` (case_id, step, s, e, seg); returns the step names,
        sorted, a NULL step last, whose indices are the codes ``c``."""
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {self.src} AS SELECT * FROM ({rows})")
        names = [r[0] for r in self.con.execute(f"SELECT DISTINCT step FROM {self.src}").fetchall()]
        self.steps = sorted(s for s in names if s is not None) + [None] * (None in names)
        whens = " ".join(f"WHEN {literal(s)} THEN {i}" for i, s in enumerate(self.steps) if s)
        code = f"CASE step {whens} ELSE {len(self.steps) - 1} END" if whens else "0"  # ELSE: NULL
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {self.src} AS "
                         f"SELECT *, ({code})::INTEGER AS c FROM ({rows})")
        return self.steps

    def drop(self) -> None:
        for table in (self.cases, self.weeks):
            self.con.execute(f"DROP TABLE IF EXISTS {table}")
        self.con.execute(f"DROP VIEW IF EXISTS {self.src}")

    def sla_case(self, sla: dict[str, float], col: str = "step") -> str:
        """``sla_h`` of a row from its step name (``col = "step"``) or code (``"c"``)."""
        whens = " ".join(f"WHEN {literal(k) if col == 'step' else self.steps.index(k)} THEN {v}"
                         for k, v in sla.items())
        return f"CASE {col} {whens or 'WHEN NULL THEN NULL'} END::DOUBLE"

    def create_weekly(self) -> dict[str | None, int]:
        """The weekly pass into a temp table (every week; read from the slots if there are,
        a smaller scan than the log); returns each step's closed rows."""
        rows = " UNION ALL ".join(
            f"SELECT {literal(name) if name is not None else 'NULL::VARCHAR'} AS step, "
            f"(k{k} >> 64)::BIGINT AS s, {self._end(f'k{k}')} AS e "
            f"FROM {self.cases} WHERE k{k} IS NOT NULL"
            for k, name in enumerate(self.steps)) if self.slots else f"SELECT * FROM {self.src}"
        self.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {self.weeks} AS
            SELECT step, {self._week('make_timestamp(s)')} AS week, count(*) AS rows,
                   median((e - s) / {HOUR_US}) AS median_h
            FROM ({rows}) WHERE (e - s) / {HOUR_US} >= 0 GROUP BY ALL""")
        got = self.con.execute(f"SELECT step, sum(rows) FROM {self.weeks} GROUP BY step")
        return {step: int(n) for step, n in got.fetchall()}

    def _week(self, ts: str) -> str:
        """The first day (DATE) of the week of timestamp ``ts``, weeks starting on
        ``week_start``: DuckDB's ``date_trunc('week', ...)`` starts on Monday, so the timestamp
        is shifted forward by the days from the first day to the next Monday and back after."""
        shift = (7 - self.week_start) % 7
        if not shift:
            return f"date_trunc('week', {ts})::DATE"
        return f"(date_trunc('week', {ts} + INTERVAL ({shift}) DAY) - INTERVAL ({shift}) DAY)::DATE"

    def weekly(self, min_rows: int) -> pd.DataFrame:
        """step, week, rows, median_h of the weeks with at least ``min_rows`` closed rows."""
        return self.con.execute(f"SELECT * FROM {self.weeks} WHERE rows >= {int(min_rows)} "
                                "ORDER BY step, week").df()

    def create_cases(self) -> None:
        """The case pass (module docstring) into a temp table: n, smin, eend and, while no case
        repeats a step, the slots ``k<code>``. First start and last end are read from the slots
        then (a GROUP BY with fewer aggregates); else one more GROUP BY computes them."""
        codes = range(len(self.steps))
        self.slots = 0 < len(codes) <= MAX_SLOTS and not self._repeats_early()
        if self.slots:
            key = f"s::HUGEINT * {_P64} + (coalesce(e, {_OPEN})::HUGEINT + {_BIAS})"
            slots = ", ".join(f"max({key}) FILTER (WHERE c = {k}) AS k{k}" for k in codes)
            closed = " AND ".join(f"coalesce((k{k} & {_P64 - 1}) <> {_P64 - 1}, true)"
                                  for k in codes)
            self.con.execute(f"""
                CREATE OR REPLACE TEMP TABLE {self.cases} AS
                SELECT *, least({', '.join(f'(k{k} >> 64)::BIGINT' for k in codes)}) AS smin,
                       CASE WHEN {closed} THEN greatest({', '.join(self._end(f'k{k}')
                                                                for k in codes)}) END AS eend
                FROM (SELECT count(*) AS n, {slots} FROM {self.src} GROUP BY case_id)""")
            filled = " + ".join(f"(k{k} IS NOT NULL)::BIGINT" for k in codes)
            got = self.con.execute(f"SELECT count(*) FROM {self.cases} WHERE n <> {filled}")
            self.slots = got.fetchone() == (0,)
        if not self.slots:
            self.con.execute(f"""
                CREATE OR REPLACE TEMP TABLE {self.cases} AS
                SELECT min(s) AS smin, CASE WHEN count(e) = count(*) THEN max(e) END AS eend
                FROM {self.src} GROUP BY case_id""")

    def _repeats_early(self, rows: int = 100_000) -> bool:
        """Whether the log's first rows already repeat a step within a case (a rework loop):
        then the slots would be built for nothing. Only a shortcut; the slots are checked."""
        got = self.con.execute(f"""
            SELECT count(*) FROM (SELECT case_id, c FROM (SELECT case_id, c FROM {self.src}
                                                          LIMIT {rows})
                                  GROUP BY ALL HAVING count(*) > 1)""").fetchone()
        return bool(got and got[0])

    @staticmethod
    def _end(slot: str) -> str:
        """The end (NULL: open) held by a slot."""
        return f"nullif((({slot} & {_P64 - 1}) - {_BIAS})::BIGINT, {_OPEN})"

    def _slot_rows(self) -> list[str]:
        """Per step code, its rows (c, s, e, pe, s0) read from the slots."""
        codes = range(len(self.steps))
        parts = []
        for k in codes:
            # the slots before k in (s, e, code) order: smaller key, or an equal key and code
            before = [f"CASE WHEN k{j} {'<=' if j < k else '<'} k{k} THEN k{j} END"
                      for j in codes if j != k]
            pe = self._end(f"greatest({', '.join(before)})") if before else "NULL::BIGINT"
            parts.append(f"SELECT {k} AS c, (k{k} >> 64)::BIGINT AS s, {self._end(f'k{k}')} "
                         f"AS e, {pe} AS pe, smin AS s0 FROM {self.cases} WHERE k{k} IS NOT NULL")
        return parts

    def _window_rows(self) -> str:
        """Rows (c, s, e, pe, s0) from a window over the log: the general path."""
        return (f"SELECT c, s, e, lag(e) OVER w AS pe, min(s) OVER w AS s0 FROM {self.src} "
                "WINDOW w AS (PARTITION BY case_id ORDER BY s, e, c)")

    def _step_sql(self, rows: str, sla: dict[str, float], disc: str, offsets: bool) -> str:
        """The step aggregates over ``rows`` (c, s, e, pe, s0); ``disc``: the duration order
        statistics (``quantile_disc``), as ``d``; ``offsets``: whether to compute the median
        offset (it only orders the steps)."""
        ok = "dur_h >= 0"
        return f"""
            count(*) FILTER (WHERE {ok}) AS rows, count(*) FILTER (WHERE e IS NULL) AS open_rows,
            count(*) FILTER (WHERE dur_h < 0) AS invalid, avg(dur_h) FILTER (WHERE {ok}) AS mean_h,
            coalesce(sum(dur_h) FILTER (WHERE {ok}), 0) AS total_h,
            quantile_cont(wait_h, [0.5, 0.9]) AS wq, coalesce(sum(wait_h), 0) AS wait_total_h,
            any_value(sla_h) AS sla_h, count(*) FILTER (WHERE {ok} AND dur_h > sla_h) AS breaches,
            sum(dur_h - sla_h) FILTER (WHERE {ok} AND dur_h > sla_h) AS hours_at_stake,
            {'median(offset_h)' if offsets else 'NULL::DOUBLE'} AS offset_h, {disc} AS d
            FROM (SELECT c, e, (e - s) / {HOUR_US} AS dur_h, (s - pe) / {HOUR_US} AS wait_h,
                         (s - s0) / {HOUR_US} AS offset_h, {self.sla_case(sla, 'c')} AS sla_h
                  FROM ({rows}))"""

    def step_stats(self, sla: dict[str, float], closed: dict[str | None, int],
                   offsets: bool = True) -> pd.DataFrame:
        """The step pass: one row per step (in code order) with step, rows, open_rows,
        invalid, mean_h, total_h, wq, wait_total_h, sla_h, breaches, hours_at_stake, offset_h
        and the duration order statistics ``qs`` (``QUANTILES``) and ``ci`` (interval bounds).
        ``closed``: each step's number of closed rows (the weekly counts); ``offsets``: as in
        :meth:`_step_sql`."""
        n = [int(closed.get(s, 0)) for s in self.steps]

        def disc(k: int, where: str = "") -> str:
            probs = ", ".join(repr((r + 0.5) / n[k]) for r in order_ranks(n[k]))
            return f"quantile_disc(dur_h, [{probs}]) FILTER (WHERE {where}dur_h >= 0)"

        if self.slots:  # one aggregate per step over its slots
            query = " UNION ALL ".join(
                f"SELECT {k} AS c, "
                f"{self._step_sql(rows, sla, disc(k) if n[k] else 'NULL', offsets)}"
                for k, rows in enumerate(self._slot_rows()))
        else:  # one GROUP BY step over the window
            whens = " ".join(f"WHEN {k} THEN {disc(k, f'c = {k} AND ')}"
                             for k in range(len(n)) if n[k])
            disc_w = f"CASE c {whens} END" if whens else "NULL"
            query = (f"SELECT c, {self._step_sql(self._window_rows(), sla, disc_w, offsets)} "
                     "GROUP BY c")
        names = " ".join(f"WHEN {k} THEN {literal(s)}" for k, s in enumerate(self.steps) if s)
        step = f"CASE c {names} END" if names else "NULL::VARCHAR"
        st = self.con.execute(f"SELECT {step} AS step, * FROM ({query}) ORDER BY c").df()
        stats = [order_stats(n[c], _values(d)) for c, d in zip(st["c"], st["d"], strict=True)]
        done = iter(self.interpolate([q for qs, _ in stats for q in qs if isinstance(q, tuple)]))
        st["qs"] = [[next(done) if isinstance(q, tuple) else q for q in qs] for qs, _ in stats]
        st["ci"] = [ci for _, ci in stats]
        return st.drop(columns=["c", "d"])

    def interpolate(self, terms: list[tuple[float, float, float]]) -> list[float]:
        """``quantile_cont`` between two values ``lo <= hi`` at fraction ``d`` for each term, by
        DuckDB itself: the quantile d of the pair, so the rounding is exactly the build's
        (``lo * (1 - d) + hi * d``, which a compiler may fuse into one multiply-add)."""
        if not terms:
            return []
        aggs = ", ".join(f"quantile_cont(v, CAST('{d!r}' AS DOUBLE)) FILTER (WHERE g = {i})"
                         for i, (_, _, d) in enumerate(terms))
        got = self.con.execute(
            f"SELECT {aggs} FROM (SELECT unnest(?::INTEGER[]) AS g, unnest(?::DOUBLE[]) AS v)",
            [[i for i in range(len(terms)) for _ in (0, 1)],
             [x for lo, hi, _ in terms for x in (lo, hi)]]).fetchone()
        assert got is not None
        return [float(x) for x in got]

    def case_stats(self) -> tuple[int, int, list[float]]:
        """(cases, closed cases, cycle time p50 and p90 in hours)."""
        got = self.con.execute(f"""
            SELECT count(*), count(eend), quantile_cont((eend - smin) / {HOUR_US}, [0.5, 0.9])
            FROM {self.cases}""").fetchone()
        assert got is not None
        cq = got[2] if got[2] is not None else [np.nan, np.nan]
        return int(got[0]), int(got[1]), [np.nan if v is None else float(v) for v in cq]

    def wip(self) -> pd.DataFrame:
        """day, open_cases: cases started by the end of the day and not yet finished."""
        return self.con.execute(f"""
            WITH d AS (SELECT (smin // {DAY_US}) AS day, 1 AS delta FROM {self.cases}
                  UNION ALL SELECT (eend // {DAY_US}), -1 FROM {self.cases} WHERE eend IS NOT NULL),
            per AS (SELECT day, sum(delta) AS delta FROM d GROUP BY day),
            span AS (SELECT range AS day FROM range((SELECT min(day) FROM per),
                                                    (SELECT max(day) FROM per) + 1))
            SELECT make_date(1970, 1, 1) + span.day::INT AS day,
                   sum(coalesce(per.delta, 0)) OVER (ORDER BY span.day) AS open_cases
            FROM span LEFT JOIN per USING (day) ORDER BY span.day""").df()

    def segments(self, sla: dict[str, float]) -> pd.DataFrame:
        """segment, step, rows, p50_h, p90_h, breaches, sla_breach of the closed rows."""
        return self.con.execute(f"""
            SELECT coalesce(seg, '(missing)') AS segment, step, count(*) AS rows,
                   quantile_cont(dur_h, 0.5) AS p50_h, quantile_cont(dur_h, 0.9) AS p90_h,
                   count(*) FILTER (WHERE dur_h > sla_h) AS breaches,
                   CASE WHEN any_value(sla_h) IS NOT NULL THEN
                        count(*) FILTER (WHERE dur_h > sla_h) / count(*) END AS sla_breach
            FROM (SELECT seg, step, (e - s) / {HOUR_US} AS dur_h, {self.sla_case(sla)} AS sla_h
                  FROM {self.src})
            WHERE dur_h >= 0 GROUP BY ALL ORDER BY segment, step""").df()
