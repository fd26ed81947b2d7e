"""SQL that turns an event log into one row per user and period: entry time and step times.

Used by :mod:`playbook.analyses.funnel.analysis`; the semantics are documented there. Times are integer
microseconds since the epoch throughout (``epoch_us``), so windows are integer comparisons.

Two passes, both single scans of the event table:

1. **Summary pass.** One ``GROUP BY user`` keeps the first entry event in each period, the
   first time ``m`` of each other event code (a funnel step or an exclusion event) and the
   number of events, so ``rep`` tells whether any code occurs more than once. For almost every
   user this determines the funnel exactly: "the first occurrence at or after time t" is ``m``
   if ``m >= t``, and none if ``m < t`` and no code repeats. A user with a repeat for whom the
   answer depends on a later occurrence is flagged ``amb``. (Each aggregate costs about as much
   as the scan itself, so the summary keeps as few as it can: no per-code max or count.)
2. **Exact pass**, only if some user is ambiguous: the events of the flagged users (a semi-join)
   are collected into one sorted list per code and the same funnel logic runs on the lists.

Both passes share the funnel logic below, written against two primitives
(:class:`SummaryOps`, :class:`ListOps`): the first occurrence at or after a time, and whether an
occurrence lies inside an interval.

``strict`` has its own single pass (:func:`sequence_per_user_sql`): repeated steps (return
visits) make most users ambiguous for the summary, and checking "no other funnel event in
between" per code pair costs O(steps²) list scans. Instead one ``GROUP BY user`` collects the
user's events as one sorted, de-duplicated list of ``t * 64 + k``; a strict funnel is then the
run of list elements right after the entry event whose codes are 1, 2, ... in turn (the next
funnel event after step k-1 must be step k), read by position.
"""

from __future__ import annotations

from dataclasses import dataclass

HOUR_US = 3_600_000_000


@dataclass(frozen=True)
class FunnelSpec:
    """What the per-user SQL needs: step/exclusion counts, the mode and the windows (in µs)."""

    n_steps: int
    n_exclusions: int
    order: str  # "ordered" | "strict" | "any"
    window_us: int
    step_windows_us: tuple[int | None, ...]  # index k = window from step k-1 to step k; [0] unused

    @property
    def codes(self) -> range:
        """Event codes: 0..n_steps-1 the steps, then the exclusion events."""
        return range(self.n_steps + self.n_exclusions)

    def summary_codes(self) -> list[int]:
        """Codes whose first time the summary pass keeps (entry repeats matter only for strict)."""
        first = 0 if self.order == "strict" else 1
        return list(range(first, self.n_steps + self.n_exclusions))


@dataclass(frozen=True)
class EventLog:
    """Where the funnel reads: the event table and its user, time and event columns; the users
    table (breakdowns) and its user column."""

    events_table: str = "events"
    users_table: str = "users"
    user_col: str = "user_id"
    ts_col: str = "ts"
    event_col: str = "event"
    users_user_col: str = "user_id"


class SummaryOps:
    """Primitives over the first time ``m<i>`` per code and the flag ``rep`` (the user has a
    repeated code): exact except where they also return an ambiguity flag."""

    @staticmethod
    def first_ge(i: int, thr: str) -> tuple[str, str]:
        return (f"CASE WHEN m{i} >= {thr} THEN m{i} END",
                f"coalesce(rep AND m{i} < {thr}, false)")

    @staticmethod
    def exists(i: int, lo: str, lo_incl: bool, hi: str, hi_incl: bool) -> tuple[str, str]:
        ge, le = (">=" if lo_incl else ">"), ("<=" if hi_incl else "<")
        inside = f"(m{i} {ge} {lo} AND m{i} {le} {hi})"
        return (f"coalesce({inside}, false)",
                f"coalesce(rep AND NOT {inside} AND m{i} <= {hi}, false)")


class ListOps:
    """Primitives over the full per-code lists ``l<i>``: always exact."""

    @staticmethod
    def first_ge(i: int, thr: str) -> tuple[str, str]:
        return f"list_min(list_filter(l{i}, lambda y: y >= {thr}))", "false"

    @staticmethod
    def exists(i: int, lo: str, lo_incl: bool, hi: str, hi_incl: bool) -> tuple[str, str]:
        ge, le = (">=" if lo_incl else ">"), ("<=" if hi_incl else "<")
        expr = f"coalesce(len(list_filter(l{i}, lambda y: y {ge} {lo} AND y {le} {hi})) > 0, false)"
        return expr, "false"


def _any_of(exprs: list[str]) -> str:
    return "(" + " OR ".join(exprs) + ")" if exprs else "false"


Ops = type[SummaryOps] | type[ListOps]


def _any_order(spec: FunnelSpec, ops: Ops, sql: str, end: str) -> str:
    """Reach time of step k: when the user has done steps 1..k, each first at/after entry."""
    n = spec.n_steps
    cols, ambs = [], []
    for k in range(1, n):
        first, amb = ops.first_ge(k, "t0")
        cols.append(f"CASE WHEN f{k} <= {end} THEN f{k} END AS g{k}")
        ambs.append(amb)
        sql = f"SELECT *, {first} AS f{k} FROM ({sql})"
    reach = ["t0"]
    for k in range(1, n):
        prev = reach[-1]
        reach.append(f"CASE WHEN ({prev}) IS NOT NULL AND g{k} IS NOT NULL "
                     f"THEN greatest({prev}, g{k}) END")
    sql = f"SELECT *, {', '.join(cols)} FROM ({sql})"
    return (f"SELECT * REPLACE ({_any_of(ambs)} AS amb), "
            + ", ".join(f"{reach[k]} AS t{k}" for k in range(1, n)) + f" FROM ({sql})")


def _strict_gap(spec: FunnelSpec, ops: Ops, k: int, prev: str) -> tuple[list[str], list[str]]:
    """The next funnel event after (t_{k-1}, k-1) in (ts, step) order must be (r_k, k): the
    events of any step strictly between the two, and their ambiguity flags."""
    breaks, gap_ambs = [], []
    for i in range(spec.n_steps):
        if i == k:
            continue  # r_k is the first step-k event at/after t_{k-1}
        e, a = ops.exists(i, prev, i >= k, f"r{k}", i < k)
        breaks.append(e)
        gap_ambs.append(a)
    return breaks, gap_ambs


def _in_order(spec: FunnelSpec, ops: Ops, sql: str, end: str) -> str:
    """Step k at the first step-k event at or after step k-1, inside the windows (ordered, strict)."""
    for k in range(1, spec.n_steps):
        prev = f"t{k - 1}"
        raw, amb_first = ops.first_ge(k, prev)
        sql = f"SELECT *, {raw} AS r{k} FROM ({sql})"
        ok = [f"{prev} IS NOT NULL", f"r{k} IS NOT NULL", f"r{k} <= {end}"]
        if spec.step_windows_us[k] is not None:
            ok.append(f"r{k} - {prev} <= {spec.step_windows_us[k]}")
        base = " AND ".join(ok)
        ambs = [f"({prev} IS NOT NULL AND {amb_first})"]
        if spec.order == "strict":
            breaks, gap_ambs = _strict_gap(spec, ops, k, prev)
            ambs.append(f"({base} AND NOT {_any_of(breaks)} AND {_any_of(gap_ambs)})")
            base = f"{base} AND NOT {_any_of(breaks)}"
        sql = (f"SELECT * REPLACE (amb OR coalesce({' OR '.join(ambs)}, false) AS amb), "
               f"CASE WHEN {base} THEN r{k} END AS t{k} FROM ({sql})")
    return sql


def _exclusions(spec: FunnelSpec, ops: Ops, sql: str, end: str) -> str:
    """An exclusion event between entry and conversion (or the window's end)."""
    if not spec.n_exclusions:
        return f"SELECT *, false AS excluded FROM ({sql})"
    n = spec.n_steps
    t_end = f"coalesce(t{n - 1}, {end})"
    ex, ex_amb = [], []
    for j in range(spec.n_exclusions):
        e, a = ops.exists(n + j, "t0", True, t_end, True)
        ex.append(e)
        ex_amb.append(a)
    return (f"SELECT * REPLACE (amb OR ({_any_of(ex_amb)} AND NOT {_any_of(ex)}) AS amb), "
            f"{_any_of(ex)} AS excluded FROM ({sql})")


def per_user_sql(spec: FunnelSpec, ops: Ops, source: str, entry_col: str, period: int) -> str:
    """Per-user funnel of one period: ``u, period, t0, t1..t<n-1>, excluded, amb``.

    ``source`` has one row per user with ``u``, ``entry_col`` (first entry in the period) and
    the primitives' columns. ``t<k>`` is the time the user reached step k (NULL if not).
    """
    sql = (f"SELECT *, {entry_col} AS t0, {period} AS period, false AS amb "
           f"FROM {source} WHERE {entry_col} IS NOT NULL")
    end = f"(t0 + {spec.window_us})"
    sql = (_any_order if spec.order == "any" else _in_order)(spec, ops, sql, end)
    sql = _exclusions(spec, ops, sql, end)
    times = ", ".join(f"t{k}" for k in range(spec.n_steps))
    return f"SELECT u, period, {times}, excluded, amb FROM ({sql})"


def sequence_per_user_sql(spec: FunnelSpec, source: str, entry_col: str, period: int) -> str:
    """Per-user strict funnel of one period from ``seq``/``ex`` (see :func:`summary_sql`).

    The columns are those of :func:`per_user_sql`. ``p`` is the entry's position in ``seq``;
    ``c<k>`` the k-th funnel event after it, which must be step k, within the windows.
    """
    n, w = spec.n_steps, spec.window_us
    nxt = ", ".join(f"seq[p + {k}] AS c{k}" for k in range(1, n))
    ex = "ex, " if spec.n_exclusions else ""
    sql = (f"SELECT u, {ex}{entry_col} AS t0, {period} AS period, {nxt} FROM (SELECT *, "
           f"list_position(seq, {entry_col} * 64) AS p FROM {source} "
           f"WHERE {entry_col} IS NOT NULL)")
    for k in range(1, n):
        prev = f"t{k - 1}"
        ok = [f"{prev} IS NOT NULL", f"c{k} % 64 = {k}", f"c{k} // 64 <= t0 + {w}"]
        if spec.step_windows_us[k] is not None:
            ok.append(f"c{k} // 64 - {prev} <= {spec.step_windows_us[k]}")
        sql = f"SELECT *, CASE WHEN {' AND '.join(ok)} THEN c{k} // 64 END AS t{k} FROM ({sql})"
    times = ", ".join(f"t{k}" for k in range(n))
    if spec.n_exclusions:
        sql = (f"SELECT *, coalesce(len(list_filter(ex, lambda y: y >= t0 AND "
               f"y <= coalesce(t{n - 1}, t0 + {w}))) > 0, false) AS excluded "
               f"FROM ({sql})")
    else:
        sql = f"SELECT *, false AS excluded FROM ({sql})"
    return f"SELECT u, period, {times}, excluded, false AS amb FROM ({sql})"


def event_scan_sql(table: str, names: list[str], *, user_col: str, ts_col: str, event_col: str,
                   lo: str | None, hi: str | None, entries_before: bool = False) -> str:
    """Funnel and exclusion events in [lo, hi) as ``u, t (µs), k (code)``; names are quoted.

    ``entries_before`` also keeps the entry events (``names[0]``) before ``lo``.
    """
    # the code is the name's position: list_position is evaluated once per dictionary entry of
    # a Parquet column and pushed into the scan, unlike a CASE ladder plus an IN filter
    # (whose IN list DuckDB plans as a join)
    code = f"list_position([{', '.join(names)}], CAST({event_col} AS VARCHAR))"
    where = [f"{code} IS NOT NULL"]
    if lo is not None and entries_before:
        where.append(f"({ts_col} >= {lo} OR {code} = 1)")
    elif lo is not None:
        where.append(f"{ts_col} >= {lo}")
    if hi is not None:
        where.append(f"{ts_col} < {hi}")
    return (f"SELECT {user_col} AS u, epoch_us({ts_col}) AS t, "
            f"({code} - 1)::SMALLINT AS k FROM {table} "
            f"WHERE {' AND '.join(where)}")


def summary_sql(spec: FunnelSpec, events: str, periods: list[tuple[str, str | None, str | None]], *,
                lists: bool = False, first_ever: bool = False, sequence: bool = False) -> str:
    """One row per user with an entry in some period: ``u, e<p>`` and ``m<i>, rep`` or lists.

    ``periods`` holds (column, lo_us, hi_us) for each period's first entry column. With
    ``first_ever`` the entry is the user's first entry event in ``events`` (which must then hold
    every entry event before the periods), kept only if it falls inside the period.
    ``sequence``: instead of per-code columns, ``seq`` (the sorted, de-duplicated funnel-step
    events as ``t * 64 + k``) and ``ex`` (exclusion event times), for
    :func:`sequence_per_user_sql`.
    """
    aggs = []
    if first_ever:
        aggs.append("min(t) FILTER (WHERE k = 0) AS e_first")
    else:  # the first entry event inside each period
        for col, lo, hi in periods:
            cond = ["k = 0"] + ([f"t >= {lo}"] if lo is not None else []) + (
                [f"t < {hi}"] if hi is not None else [])
            aggs.append(f"min(t) FILTER (WHERE {' AND '.join(cond)}) AS {col}")
    codes = list(spec.codes) if lists else spec.summary_codes()
    if sequence:
        aggs.append("list(t * 64 + k ORDER BY t * 64 + k) AS packed")
    elif lists:  # one list of t * 64 + k (one aggregate state is far cheaper than one per code)
        aggs.append("list(t * 64 + k) AS packed")
    else:
        aggs += [f"min(t) FILTER (WHERE k = {i}) AS m{i}" for i in codes]
        aggs.append(f"count(*) FILTER (WHERE k >= {codes[0]}) AS n_events")
    if first_ever:
        bounds = [" AND ".join([f"e_first >= {lo}"] * (lo is not None)
                               + [f"e_first < {hi}"] * (hi is not None)) or "e_first IS NOT NULL"
                  for _, lo, hi in periods]
        keep = " OR ".join(f"({b})" for b in bounds)
        ents = ", ".join(f"CASE WHEN {b} THEN e_first END AS {col}"
                         for b, (col, _, _) in zip(bounds, periods, strict=True))
        sql = (f"SELECT u, {ents}, * EXCLUDE (u, e_first) FROM (SELECT u, {', '.join(aggs)} "
               f"FROM ({events}) GROUP BY u) WHERE {keep}")
    else:
        having = " OR ".join(f"{col} IS NOT NULL" for col, _, _ in periods)
        sql = f"SELECT u, {', '.join(aggs)} FROM ({events}) GROUP BY u HAVING {having}"
    if sequence:
        n = spec.n_steps
        dedup = "list_filter(packed, lambda y, i: i = 1 OR y != packed[i - 1])"
        if not spec.n_exclusions:
            return f"SELECT * EXCLUDE (packed), {dedup} AS seq FROM ({sql})"
        return (f"SELECT * EXCLUDE (packed), list_filter({dedup}, lambda y: y % 64 < {n}) AS seq, "
                f"list_transform(list_filter(packed, lambda y: y % 64 >= {n}), "
                f"lambda y: y // 64) AS ex FROM ({sql})")
    if lists:
        unpack = ", ".join(f"list_transform(list_filter(packed, lambda y: y % 64 = {i}), "
                           f"lambda y: y // 64) AS l{i}" for i in codes)
        return f"SELECT * EXCLUDE (packed), {unpack} FROM ({sql})"
    present = " + ".join(f"(m{i} IS NOT NULL)::INT" for i in codes)
    return f"SELECT *, n_events > {present} AS rep FROM ({sql})"
