"""Where do users drop? An ordered funnel inside a conversion window, computed by DuckDB.

:func:`analyze_funnel` reads the event log (``user_id, ts, event``) once or twice, never per user
in Python: about 0.8-1.1 s for 10M events and 4-6 s for 50M on 2 cores, under 2 GB of memory
(bench/DIAGNOSIS.md; funnel_sql.py describes the passes). It returns a
:class:`~playbook.analyses.funnel.result.FunnelResult`.

Definitions (the numbers a stakeholder reads):

entry
    ``entry="first_ever"`` (the default): a user enters at their **first-ever** ``steps[0]``
    event, and belongs to the funnel of the entry period ``[entry_start, entry_end]`` only if
    that first-ever event falls inside it: a new-user cohort, the usual definition of an
    acquisition funnel. A returning user (first seen before the period) is not an entrant, so
    their return visit cannot count as a drop at the next step. ``entry="first_in_period"``: a
    user enters with their first ``steps[0]`` event inside the period, whenever they were first
    seen (for funnels that users may run through again, e.g. repeat purchases). Without an
    entry period both are the same. Dates are whole days: ``entry_end = "2026-06-30"``
    includes that day; a datetime is an exclusive end; ``None`` leaves that side open. Events
    are ordered by (ts, position of the step in ``steps``); an exact duplicate (same user, ts
    and event) counts once.
window
    Every step must happen within ``window_hours`` after entry. ``step_windows_hours[k-1]``
    optionally bounds the time from step k-1 to step k (``None`` = no bound). A user entering
    near the end of the data has not had a full window: they are counted as entered (and
    reported as ``censored_users``), so choose an entry period that ends a window before the data.
order
    ``ordered``: step k is reached at the user's first step-k event at or after the time step
    k-1 was reached (greedy; the windows are checked on that event). ``strict``: as ordered, and
    the next funnel event (any event named in ``steps``) after step k-1 must be that step-k event:
    a repeated or out-of-order step in between breaks the funnel there (other events do not).
    ``any``: step k is reached once steps 1..k have each happened at/after entry inside the
    window, in any order; its time is the latest of their first occurrences (per-step windows
    are not defined for ``any``).
exclusions
    A user with an exclusion event between entry and conversion (the last step), or between
    entry and the window's end if they did not convert, is **removed from the funnel** (from
    every count, including entrants) and counted in ``excluded_users``.
conversion
    ``conv`` = users at step k / users at step k-1; ``conv_overall`` = users at step k /
    entrants; Wilson 95% intervals. Abandonment at step k = users at k-1 who did not reach k.
bottlenecks
    ``bottleneck_loss``: the step (k >= 1) losing the most users from the step before (ties: the
    earlier step), reported as ``bottleneck.*`` (its users lost, share lost, conversion);
    ``slowest_step``: the step with the slowest median time from the step before, reported as
    ``slowest_step.median_h`` with its interval. They are often different steps.
step times
    Hours from the previous step (and from entry) of the users reaching a step: median and p90
    (``quantile_cont``, linear interpolation). The median from the previous step carries a
    distribution-free 95% interval ``median_ci_low/high``: the order-statistic (binomial)
    interval ``[x_(l), x_(u)]`` over the n users at the step, ``l = floor(n/2 - 1.96 sqrt(n)/2)``,
    ``u = ceil(n/2 + 1.96 sqrt(n)/2) + 1``, clipped to 1..n (Hahn & Meeker's normal
    approximation rounded outwards; ``playbook.stats.proportions.quantile_ci_ranks``). At least 95% coverage
    from 6 users; n = 1 gives the single value, n = 2 the whole range, n = 0 no interval (NaN in
    the table, left out of the metrics).
segments (``breakdowns``: columns of the users table, first-touch attribution)
    For each value of each breakdown, the segment's conversion against all other users, at the
    loss bottleneck (users at step k among users at step k-1) and overall (last step among
    entrants), by a pooled two-proportion z test; p-values adjusted by ``correction`` (Holm by
    default, or BH) across all segments of all breakdowns, per scope. Segments with fewer than
    ``min_segment_users`` users at the base are not tested. Users missing from the users table or
    with a null value form the segment ``(missing)``. The weakest segment is the significant one
    below the rest with the lowest conversion at the bottleneck, else overall, else none.
previous period
    The period of the same length immediately before ``[entry_start, entry_end]`` (both needed),
    computed the same way; each step's overall conversion is compared by a two-proportion z test.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

import playbook.analyses.funnel.sql as fs
from playbook.analyses.funnel.aggregate import Summary, summarize
from playbook.analyses.funnel.aggregate import us as _us
from playbook.analyses.funnel.result import FunnelResult
from playbook.analyses.funnel.tables import (
    previous_table,
    segment_table,
    step_table,
    weakest_segment,
)
from playbook.errors import DataError, ParameterError
from playbook.sources import Warehouse
from playbook.sql import quote_ident as _q
from playbook.sql import quote_string, quote_timestamp
from playbook.stats.corrections import correction_method
from playbook.zones import parse_day

ORDERS = ("ordered", "strict", "any")
ENTRIES = ("first_ever", "first_in_period")
ATTRIBUTIONS = ("first_touch",)
#: The longest conversion window (10 years): microseconds of a longer one overflow timestamps.
MAX_WINDOW_HOURS = 87_600.0


# -- parameters ---------------------------------------------------------------------------------
def _check_steps(steps: list[str], exclusions: list[str]) -> None:
    if not all(isinstance(s, str) and s for s in steps + exclusions):
        raise ParameterError(f"steps={steps!r}: give event names (strings), in order"
                             + (f"; exclusions={exclusions!r}" if exclusions else ""))
    if len(steps) < 2:
        raise ParameterError(f"steps={steps!r}: a funnel needs at least two steps")
    if len(set(steps)) != len(steps):
        raise ParameterError(f"steps={steps!r}: each step may appear once")
    overlap = set(steps) & set(exclusions)
    if overlap:
        raise ParameterError(f"exclusions: {sorted(overlap)} are also funnel steps; remove them")


def _check_params(steps: list[str], exclusions: list[str], *, order: str, attribution: str,
                  window_hours: float, step_windows_hours: Any) -> tuple[int | None, ...]:
    """The funnel's definition checked; returns the per-step windows in µs (see :func:`_step_windows`)."""
    _check_steps(steps, exclusions)
    if order not in ORDERS:
        raise ParameterError(f"order={order!r} is not one of {', '.join(ORDERS)}")
    if attribution not in ATTRIBUTIONS:
        raise ParameterError(f"attribution={attribution!r}: only 'first_touch' (the users table's "
                         "columns) is supported")
    if not _is_number(window_hours) or not 0 < window_hours < math.inf:
        raise ParameterError(f"window_hours={window_hours!r}: give a positive number of hours")
    if window_hours > MAX_WINDOW_HOURS:
        raise ParameterError(f"window_hours={window_hours!r}: give at most {MAX_WINDOW_HOURS:g} "
                             "hours (10 years)")
    return _step_windows(step_windows_hours, steps, order)


def _step_windows(step_windows_hours: Any, steps: list[str], order: str) -> tuple[int | None, ...]:
    """Index k: the bound in µs on the time from step k-1 to step k (None: no bound; [0] unused)."""
    if step_windows_hours is None:
        return (None,) * len(steps)
    if order == "any":
        raise ParameterError("step_windows_hours needs order 'ordered' or 'strict'; with 'any' the "
                         "steps have no previous step")
    if len(step_windows_hours) != len(steps) - 1:
        raise ParameterError(f"step_windows_hours has {len(step_windows_hours)} values; give one per "
                         f"step after the first ({len(steps) - 1}), None for no limit")
    out: list[int | None] = [None]
    for w in step_windows_hours:
        if w is not None and not (_is_number(w) and 0 < w <= MAX_WINDOW_HOURS):
            raise ParameterError(f"step_windows_hours: {w!r} is not a number of hours between 0 "
                                 f"and {MAX_WINDOW_HOURS:g} (None for no limit)")
        out.append(None if w is None else round(w * fs.HOUR_US))
    return tuple(out)


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and not math.isnan(x)


def _check_test_params(*, entry: str, correction: str, alpha: Any, min_segment_users: Any) -> None:
    if entry not in ENTRIES:
        raise ParameterError(f"entry={entry!r} is not one of {', '.join(ENTRIES)}")
    correction_method(correction)
    if not _is_number(alpha) or not 0 < alpha < 1:
        raise ParameterError(f"alpha={alpha!r}: give a significance level between 0 and 1 "
                             "(e.g. 0.05)")
    if isinstance(min_segment_users, bool) or not isinstance(min_segment_users, int) \
            or min_segment_users < 1:
        raise ParameterError(f"min_segment_users={min_segment_users!r}: give a whole number of "
                             "users >= 1 (segments smaller than it are not tested)")


def _check_columns(warehouse: Warehouse, table: str, cols: list[str], ts_col: str) -> None:
    warehouse.require(table, cols)
    kind = warehouse.columns(table)[ts_col].upper()
    if not (kind.startswith("TIMESTAMP") or kind == "DATE"):
        raise DataError(f"{warehouse.source(table).location}: column '{ts_col}' of table "
                        f"'{table}' is {kind}, not a timestamp; cast it to a timestamp or pass "
                        "the right column as ts_col")


# -- the analysis -------------------------------------------------------------------------------
def _with(name: str, source: str, per: list[str]) -> str:
    """``per`` (per-period queries over the table ``name``) with ``name`` defined as ``source``:
    no separate temp table for the summary; materialized once when several periods read it."""
    mat = " MATERIALIZED" if len(per) > 1 else ""
    return f"SELECT * FROM (WITH {name} AS{mat} ({source}) {' UNION ALL '.join(per)})"


@dataclass(frozen=True)
class _Period:
    """The entry period ``[lo, hi)`` (either side open) and, when compared, the one before it."""

    lo: datetime | None
    hi: datetime | None
    prev: tuple[datetime, datetime] | None

    @classmethod
    def of(cls, entry_start: str | date | datetime | None, entry_end: str | date | datetime | None,
           compare_previous: bool) -> _Period:
        lo, hi = parse_day(entry_start, "entry_start"), parse_day(entry_end, "entry_end", end=True)
        if lo is not None and hi is not None and hi <= lo:
            raise ParameterError(f"entry_end={entry_end!r} is before entry_start={entry_start!r}")
        prev = (lo - (hi - lo), lo) if compare_previous and lo is not None and hi is not None else None
        return cls(lo, hi, prev)

    def columns(self) -> list[tuple[str, str | None, str | None]]:
        """(entry column, lo µs, hi µs) of each period, as :func:`~playbook.analyses.funnel.sql.summary_sql` takes them."""
        periods: list[tuple[str, str | None, str | None]] = [
            ("e0", str(_us(self.lo)) if self.lo else None, str(_us(self.hi)) if self.hi else None)]
        if self.prev:
            periods.append(("e1", str(_us(self.prev[0])), str(_us(self.prev[1]))))
        return periods

    def scan(self, window_us: int) -> tuple[str | None, str | None]:
        """The bounds of the event scan: from the first period's start to a window past the end."""
        scan_lo = self.prev[0] if self.prev else self.lo
        scan_hi = self.hi + timedelta(microseconds=window_us) if self.hi is not None else None
        return (quote_timestamp(scan_lo) if scan_lo else None,
                quote_timestamp(scan_hi) if scan_hi else None)


@dataclass(frozen=True)
class _Temp:
    """Names of the temporary tables of one run: the summary, the per-user table, the ambiguous users."""

    summary: str
    users: str
    amb: str

    @classmethod
    def new(cls) -> _Temp:
        tag = uuid.uuid4().hex[:8]
        return cls(f"_fn_sum_{tag}", f"_fn_users_{tag}", f"_fn_amb_{tag}")


def _per_user_tables(con: Any, spec: fs.FunnelSpec, events: str,
                     periods: list[tuple[str, str | None, str | None]], *, first_ever: bool,
                     exact: bool, temp: _Temp) -> None:
    """The per-user table ``temp.users``: one sorted pass for ``strict``; else the summary pass,
    then the exact pass for ambiguous users (or the exact pass for everyone with ``exact``); see
    funnel/sql.py."""
    summary, users, amb = temp.summary, temp.users, temp.amb
    if spec.order == "strict" and not exact:  # one sorted pass (funnel_sql.py)
        seq = fs.summary_sql(spec, events, periods, first_ever=first_ever, sequence=True)
        per = [fs.sequence_per_user_sql(spec, summary, col, p) for p, (col, _, _) in enumerate(periods)]
        con.execute(f"CREATE TEMP TABLE {users} AS {_with(summary, seq, per)}")
        return
    n_amb = 0
    if not exact:
        per = [fs.per_user_sql(spec, fs.SummaryOps, summary, col, p)
               for p, (col, _, _) in enumerate(periods)]
        source = fs.summary_sql(spec, events, periods, first_ever=first_ever)
        con.execute(f"CREATE TEMP TABLE {users} AS {_with(summary, source, per)}")
        n_amb = con.execute(f"SELECT count(*) FROM {users} WHERE amb").fetchone()[0]
        if n_amb:
            con.execute(f"CREATE TEMP TABLE {amb} AS SELECT DISTINCT u FROM {users} WHERE amb")
    if exact or n_amb:
        only = events if exact else f"SELECT * FROM ({events}) WHERE u IN (SELECT u FROM {amb})"
        per = [fs.per_user_sql(spec, fs.ListOps, summary, col, p)
               for p, (col, _, _) in enumerate(periods)]
        source = fs.summary_sql(spec, only, periods, lists=True, first_ever=first_ever)
        if exact:
            con.execute(f"CREATE TEMP TABLE {users} AS {_with(summary, source, per)}")
        else:
            con.execute(f"DELETE FROM {users} WHERE amb")
            con.execute(f"INSERT INTO {users} {_with(summary, source, per)}")


def _scan(warehouse: Warehouse, spec: fs.FunnelSpec, log: fs.EventLog, period: _Period, *, steps: list[str],
          exclusions: list[str], breakdowns: list[str], first_ever: bool, exact: bool) -> Summary:
    """The per-user table of every period from one or two scans of the events, summarized
    (:func:`~playbook.analyses.funnel.aggregate.summarize`); the temporary tables are dropped."""
    view = warehouse.view(log.events_table)
    con = warehouse.con
    names = [quote_string(s) for s in steps + exclusions]
    scan_lo, scan_hi = period.scan(spec.window_us)
    events = fs.event_scan_sql(view, names, user_col=_q(log.user_col), ts_col=f"CAST({_q(log.ts_col)} AS TIMESTAMP)",
                               event_col=_q(log.event_col), lo=scan_lo, hi=scan_hi, entries_before=first_ever)
    temp = _Temp.new()
    try:
        _per_user_tables(con, spec, events, period.columns(), first_ever=first_ever, exact=exact, temp=temp)
        return summarize(warehouse, temp.users, view, spec, log=log, steps=steps, exclusions=exclusions,
                         names=names, breakdowns=breakdowns)
    finally:
        for t in (temp.users, temp.amb):
            con.execute(f"DROP TABLE IF EXISTS {t}")


def analyze_funnel(  # noqa: PLR0913 - the template's parameters, keyword-only
    warehouse: Warehouse,
    steps: list[str],
    *,
    window_hours: float = 720.0,
    step_windows_hours: list[float | None] | None = None,
    order: str = "ordered",
    exclusions: list[str] | None = None,
    entry_start: str | date | datetime | None = None,
    entry_end: str | date | datetime | None = None,
    entry: str = "first_ever",
    breakdowns: list[str] | None = None,
    attribution: str = "first_touch",
    compare_previous: bool = True,
    alpha: float = 0.05,
    correction: str = "holm",
    min_segment_users: int = 30,
    events_table: str = "events",
    users_table: str = "users",
    user_col: str = "user_id",
    ts_col: str = "ts",
    event_col: str = "event",
    users_user_col: str = "user_id",
    exact: bool = False,
) -> FunnelResult:
    """Funnel conversion, abandonment, bottlenecks, segments and the previous period.

    Definitions are in the module docstring. ``exact=True`` skips the summary pass and computes
    every user from full event lists (slower; the result is identical). Raises
    :class:`ParameterError` (a ``ValueError``) for a parameter outside its range and
    :class:`DataError` for a missing table, column or event name, or a ``ts_col`` that is null in
    every row.
    """
    exclusions = list(exclusions or [])
    breakdowns = list(breakdowns or [])
    steps = list(steps)
    step_w = _check_params(steps, exclusions, order=order, attribution=attribution, window_hours=window_hours,
                           step_windows_hours=step_windows_hours)
    _check_test_params(entry=entry, correction=correction, alpha=alpha, min_segment_users=min_segment_users)
    _check_columns(warehouse, events_table, [user_col, ts_col, event_col], ts_col)
    if breakdowns:
        warehouse.require(users_table, [users_user_col, *breakdowns])
    period = _Period.of(entry_start, entry_end, compare_previous)
    lo, hi, prev = period.lo, period.hi, period.prev
    spec = fs.FunnelSpec(len(steps), len(exclusions), order, round(window_hours * fs.HOUR_US), step_w)
    log = fs.EventLog(events_table, users_table, user_col, ts_col, event_col, users_user_col)
    counts, hist, segs_raw, times, _ = _scan(warehouse, spec, log, period, steps=steps, exclusions=exclusions,
                                             breakdowns=breakdowns, first_ever=entry == "first_ever", exact=exact)
    n = len(steps)
    cur = counts.get(0)
    entrants = int(cur["n0"]) if cur is not None else 0
    reached = [int(cur[f"n{k}"]) if cur is not None else 0 for k in range(n)]
    funnel = step_table(steps, reached, times)
    loss_i = int(np.argmax(funnel["abandoned_users"].to_numpy()[1:])) + 1 if entrants else None
    med = funnel["median_h"].to_numpy()[1:]
    slow_i = int(np.nanargmax(med)) + 1 if np.isfinite(med).any() else None
    segments = segment_table(segs_raw, breakdowns, loss_i, steps, min_users=min_segment_users,
                             correction=correction, alpha=alpha)
    previous, prev_entrants = None, None
    if prev:
        p = counts.get(1)
        prev_reached = [int(p[f"n{k}"]) if p is not None else 0 for k in range(n)]
        previous, prev_entrants = previous_table(steps, reached, prev_reached), prev_reached[0]
    return FunnelResult(
        steps=tuple(steps), order=order, window_hours=float(window_hours), entry=entry,
        period=(lo.isoformat() if lo else None, hi.isoformat() if hi else None),
        previous_period=(prev[0].isoformat(), prev[1].isoformat()) if prev else None,
        entrants=entrants, excluded_users=int(cur["excluded"]) if cur is not None else 0,
        censored_users=int(cur["censored"]) if cur is not None else 0,
        funnel=funnel, time_histogram=hist, segments=segments, previous=previous,
        prev_entrants=prev_entrants,
        bottleneck_loss=steps[loss_i] if loss_i else None,
        slowest_step=steps[slow_i] if slow_i else None,
        weakest=weakest_segment(segments), alpha=alpha, correction=correction)
