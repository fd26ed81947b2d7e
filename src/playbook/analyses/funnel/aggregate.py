"""The aggregate queries of the funnel: from the per-user table to small frames (DuckDB)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd

import playbook.analyses.funnel.sql as fs
from playbook.analyses.funnel.tables import histogram_edges
from playbook.errors import DataError
from playbook.sources import Warehouse
from playbook.sql import quote_ident as q
from playbook.stats.proportions import quantile_ci_probs


def us(d: datetime) -> int:
    """Microseconds since the epoch of a naive datetime."""
    return int((d - datetime(1970, 1, 1)) / timedelta(microseconds=1))


def check_events(warehouse: Warehouse, view: str, event_col: str, names: list[str], *,
                 counts: dict[str, int], table: str) -> None:
    """Raise if a step or exclusion has no rows at all in the table (not just in the period)."""
    absent = [s for s in names if not counts.get(s)]
    if not absent:
        return
    present = warehouse.sql(f"SELECT DISTINCT CAST({q(event_col)} AS VARCHAR) AS e FROM {view} "
                            "ORDER BY e")["e"].dropna().tolist()
    unknown = [s for s in absent if s not in present]
    if unknown:
        raise DataError(f"{warehouse.source(table).location}: column '{event_col}' of table "
                        f"'{table}' has no event {', '.join(repr(s) for s in unknown)}; events "
                        f"present: {', '.join(present)}. Fix the step name in the parameters")



def bin_sql(edges: list[float], lo: int, hi: int) -> str:
    """The bin of ``x`` among bins lo..hi by bisection: bin i holds edges[i] <= x < edges[i+1],
    the last bin everything from its lower edge up (a CASE ladder tests ~10 conditions a row)."""
    if lo == hi:
        return str(lo)
    mid = (lo + hi + 1) // 2
    return (f"CASE WHEN x < {edges[mid]} THEN {bin_sql(edges, lo, mid - 1)} "
            f"ELSE {bin_sql(edges, mid, hi)} END")


#: What :func:`summarize` returns: counts per period, the histogram, segments, step times, data end.
Summary = tuple[dict[int, Any], pd.DataFrame, pd.DataFrame | None, pd.DataFrame, datetime | None]


def summarize(warehouse: Warehouse, users: str, view: str, spec: fs.FunnelSpec, *, log: fs.EventLog,
              steps: list[str], exclusions: list[str], names: list[str], breakdowns: list[str]
              ) -> Summary:
    """Aggregate the per-user table: counts per period, step times, histograms, segments."""
    ts_col, event_col, events_table = log.ts_col, log.event_col, log.events_table
    n, con = len(steps), warehouse.con
    row = con.execute(f"SELECT max({q(ts_col)})::TIMESTAMP FROM {view}").fetchone()
    data_end = row[0] if row else None
    if data_end is None:  # no timestamp at all: an empty table, or a column null in every row
        total = con.execute(f"SELECT count(*) FROM {view}").fetchone()
        if total and total[0]:
            raise DataError(f"{warehouse.source(events_table).location}: column '{ts_col}' of "
                            f"table '{events_table}' is null in all {total[0]:,} rows; fix the "
                            "export, or pass the column that holds the event time as ts_col")
    end_us = us(data_end) if data_end is not None else 0
    ok = "NOT excluded"
    cnt = ", ".join(f"count(t{k}) FILTER (WHERE {ok}) AS n{k}" for k in range(n))
    rows = warehouse.sql(
        f"SELECT period, {cnt}, count(*) FILTER (WHERE excluded) AS excluded, "
        f"count(*) FILTER (WHERE {ok} AND t0 + {spec.window_us} > {end_us}) AS censored "
        f"FROM {users} GROUP BY period")
    counts = {int(r["period"]): r for _, r in rows.iterrows()}
    current: Any = counts.get(0, {"n0": 0})
    if not current["n0"] or any(not current[f"n{k}"] for k in range(n)):
        # a step nobody reached may be a typo: check the names against the whole table
        have = warehouse.sql(f"SELECT CAST({q(event_col)} AS VARCHAR) AS e, count(*) AS c FROM "
                             f"{view} WHERE {q(event_col)} IN ({', '.join(names)}) GROUP BY e")
        check_events(warehouse, view, event_col, steps + exclusions,
                     counts=dict(zip(have["e"], have["c"], strict=True)), table=events_table)
    h = float(fs.HOUR_US)
    qs = []
    for k in range(1, n):
        qs.append(f"quantile_cont((t{k} - t{k - 1}) / {h}, [0.5, 0.9]) AS q{k}")
        qs.append(f"quantile_cont((t{k} - t0) / {h}, [0.5, 0.9]) AS e{k}")
        # the median's order-statistic interval (funnel.py): the n{k} users at step k (t{k} set
        # implies t{k-1} set) fix the ranks, so it is one more aggregate in the same pass
        probs = quantile_ci_probs(int(current.get(f"n{k}", 0) or 0), 0.5)
        if probs is not None:
            qs.append(f"quantile_disc((t{k} - t{k - 1}) / {h}, [{probs[0]!r}, {probs[1]!r}]) "
                      f"AS m{k}")
    times = warehouse.sql(f"SELECT {', '.join(qs)} FROM {users} WHERE period = 0 AND {ok}")
    edges = histogram_edges(spec.window_us / h)
    bin_of_x = bin_sql(edges, 0, len(edges) - 2)
    parts = []
    for k in range(1, n):
        for basis, start in (("from_previous", f"t{k - 1}"), ("from_entry", "t0")):
            parts.append(f"SELECT {k} AS k, '{basis}' AS basis, {bin_of_x} AS bin, "
                         f"count(*) AS users FROM (SELECT "
                         f"(t{k} - {start}) / {h} AS x FROM {users} WHERE period = 0 AND {ok} "
                         f"AND t{k} IS NOT NULL) GROUP BY ALL")
    raw = warehouse.sql(" UNION ALL ".join(parts))
    hist = pd.DataFrame([{"step": steps[k], "basis": b, "bin_lo_h": edges[i],
                          "bin_hi_h": edges[i + 1], "users": 0}
                         for k in range(1, n) for b in ("from_previous", "from_entry")
                         for i in range(len(edges) - 1)])
    if len(raw):
        key = {(steps[int(r.k)], r.basis, edges[int(r.bin)]): int(r.users) for r in raw.itertuples()}
        hist["users"] = [key.get(t, 0) for t in zip(hist["step"], hist["basis"], hist["bin_lo_h"],
                                                      strict=True)]
    segs = None
    if breakdowns:
        uview = warehouse.view(log.users_table)
        cols = ", ".join(f"coalesce(CAST(s.{q(b)} AS VARCHAR), '(missing)') AS b{i}"
                         for i, b in enumerate(breakdowns))
        bs = ", ".join(f"b{i}" for i in range(len(breakdowns)))
        sets = ", ".join(f"(b{i})" for i in range(len(breakdowns)))
        # t<k> is set only if t<k-1> is, so a user counts at steps 0..level-1: join users by
        # (u, level) only, count per (segment, level), then sum per segment (no per-user FILTER)
        level = "CASE WHEN excluded THEN 0 ELSE " + " + ".join(
            f"(t{k} IS NOT NULL)::INT" for k in range(n)) + " END"
        per_level = (f"SELECT {cols}, level, count(*) AS c FROM (SELECT u, {level} AS level "
                     f"FROM {users} WHERE period = 0) f LEFT JOIN {uview} s "
                     f"ON f.u = s.{q(log.users_user_col)} GROUP BY ALL")
        sums = ", ".join(f"coalesce(sum(c) FILTER (WHERE level > {k}), 0)::BIGINT AS n{k}"
                         for k in range(n))
        segs = warehouse.sql(f"SELECT {bs}, {sums} FROM ({per_level}) "
                             f"GROUP BY GROUPING SETS ({sets})")
    return counts, hist, segs, times, data_end
