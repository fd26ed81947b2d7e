"""Where does work wait? Step durations, waits, SLA breaches, work in progress and trends.

:func:`analyze_process` reads a case log (``case_id, step, start_ts, end_ts``: one row per step a
case went through) with DuckDB and returns small tables. Definitions:

duration
    ``end_ts - start_ts`` of a row, in hours; quantiles are DuckDB's ``quantile_cont`` (linear
    interpolation, as numpy's default). Rows without ``end_ts`` are still open: they count in
    work in progress, not in durations. Rows ending before they start are left out and counted
    in ``invalid_rows``.
duration intervals
    ``p50_ci_low/high`` and ``p90_ci_low/high``: distribution-free 95% confidence intervals
    for the median and p90 duration of each step: the order-statistic (binomial) interval
    ``[x_(l), x_(u)]`` of the n closed rows with ``l = floor(n q - 1.96 sqrt(n q (1-q)))`` and
    ``u = ceil(n q + 1.96 sqrt(n q (1-q))) + 1`` clipped to 1..n (Hahn & Meeker's normal
    approximation, rounded outwards; ``playbook.stats.proportions.quantile_ci_ranks``). The bounds are
    observed durations. Coverage is at least 95% from 6 rows (median) and 31 rows (p90); with
    fewer rows the interval is as wide as the data allow (n = 1: the single value) and covers
    less. Read with the quantiles from one ``quantile_disc`` per step (n is known by then).
wait
    Within a case, rows ordered by start (then end, open rows last, then step name for exact
    ties): the wait before a step is its start minus the end of the case's previous row
    (negative if steps overlap). It is reported for the later step.
SLA
    ``sla_hours[step]``: a row breaches when its duration exceeds the SLA. Breach share with a
    Wilson 95% interval; **hours at stake** = total hours above the SLA (sum of duration - SLA
    over breaching rows): the time the team would win back by meeting the SLA.
slowest step, step to fix
    ``slowest_step``: the highest median duration. ``step_to_fix``: the most hours at stake;
    without SLAs it is the step with the most total hours (duration plus the wait before it).
cycle time
    Per case whose rows are all closed: last end minus first start.
work in progress
    Cases open at the end of each day: started by then and not yet finished (a case is finished
    at its last row's end once all its rows are closed).
trend
    Per step, the median duration per week (weeks with at least ``min_week_rows`` rows,
    by row start; a week starts on the warehouse's ``week_start``, else on the first day of
    the report language's week: Monday in en and zh-CN); the Mann-Kendall trend test (Kendall's tau of the weekly medians against the
    week order, ``scipy.stats.kendalltau``) with the Theil-Sen slope in hours per week. Fewer
    than 4 weeks: no test (NaN). One test per step is a family: ``p_value`` is each step's raw
    p-value, ``p_adjusted`` the p-value corrected across the steps with a test by
    ``trend_correction`` (Holm by default; bh, bonferroni or none), and a step has a trend
    (``significant``; ``trend`` slower or faster) when ``p_adjusted <= alpha``
    (:func:`playbook.analyses.process.trend.trend_tests`). Uncorrected, five trendless steps show a
    "trend" in 23% of periods.
segments
    ``segment_col`` (a column of the log) or ``segments`` (a DataFrame with ``case_id`` and
    ``segment``): per segment and step the count, median and p90 duration and SLA breach share.

The queries and their passes over the log are in :mod:`playbook.analyses.process.sql`.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import numpy as np
import pandas as pd

from playbook.analyses.process.result import Q_NAMES, ProcessResult
from playbook.analyses.process.sql import CI_QUANTILES, ProcessSQL
from playbook.analyses.process.trend import trend_tests
from playbook.errors import DataError, ParameterError
from playbook.i18n import current
from playbook.i18n.formats import first_week_day
from playbook.sources import Warehouse
from playbook.sql import quote_ident as quote
from playbook.stats.corrections import correction_method
from playbook.stats.proportions import wilson_interval

CI_COLUMNS = tuple(f"{c}_ci_{s}" for c in CI_QUANTILES for s in ("low", "high"))


def analyze_process(  # noqa: PLR0913 - the template's parameters, keyword-only after the first three
    warehouse: Warehouse,
    table: str = "process_log",
    sla_hours: dict[str, float] | None = None,
    *,
    steps: list[str] | None = None,
    segment_col: str | None = None,
    segments: pd.DataFrame | None = None,
    min_week_rows: int = 5,
    alpha: float = 0.05,
    trend_correction: str = "holm",
    case_col: str = "case_id",
    step_col: str = "step",
    start_col: str = "start_ts",
    end_col: str = "end_ts",
) -> ProcessResult:
    """Durations, waits, SLA breaches, WIP, weekly trends and segments of a case log.

    ``steps`` orders the steps (default: by the median time from the case's start). Raises
    :class:`ParameterError` (a ``ValueError``) for an SLA that is not a positive number of hours
    or ``min_week_rows`` below 1, and :class:`DataError` for a missing table or column, a start
    column null in every row, or an SLA for a step that is not in the log.
    """
    sla = _check_sla(sla_hours)
    _check_options(trend_correction=trend_correction, alpha=alpha, min_week_rows=min_week_rows)
    cols = [case_col, step_col, start_col, end_col] + ([segment_col] if segment_col else [])
    warehouse.require(table, cols)
    where = warehouse.source(table).location
    _check_times(warehouse, table, (start_col, end_col), where)
    if segments is not None and not {"case_id", "segment"} <= set(segments.columns):
        raise DataError("segments: expected a DataFrame with columns 'case_id' and 'segment' "
                        f"(it has {', '.join(map(str, segments.columns))})")
    view, con = warehouse.view(table), warehouse.con
    tag = uuid.uuid4().hex[:8]
    seg_view = f"_pr_seg_{tag}"
    seg_expr, seg_join = "NULL", ""
    if segment_col:
        seg_expr = f"CAST(l.{quote(segment_col)} AS VARCHAR)"
    elif segments is not None:
        con.register(seg_view, segments[["case_id", "segment"]])
        seg_expr = "CAST(sg.segment AS VARCHAR)"
        seg_join = f"LEFT JOIN {seg_view} sg ON sg.case_id = l.{quote(case_col)}"
    rows = (f"SELECT l.{quote(case_col)} AS case_id, CAST(l.{quote(step_col)} AS VARCHAR) AS step, "
            f"epoch_us(CAST(l.{quote(start_col)} AS TIMESTAMP)) AS s, "
            f"epoch_us(CAST(l.{quote(end_col)} AS TIMESTAMP)) AS e, {seg_expr} AS seg "
            f"FROM {view} l {seg_join} WHERE l.{quote(start_col)} IS NOT NULL")
    log = ProcessSQL(con, tag, week_start=first_week_day(current(), warehouse.week_start))
    try:
        present = log.create_source(rows)
        if not present:
            _check_start(con, view, where, table, start_col)
        _check_steps(present, sla, steps, where=where, table=table, step_col=step_col)
        return _summarize(log, sla, steps, min_week_rows=min_week_rows, alpha=alpha,
                          trend_correction=trend_correction, has_segments=bool(segment_col) or segments is not None)
    finally:
        log.drop()
        if segments is not None and not segment_col:
            con.unregister(seg_view)


def _check_options(*, trend_correction: str, alpha: float, min_week_rows: int) -> None:
    correction_method(trend_correction, "trend_correction")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise ParameterError(f"alpha={alpha!r}: give a significance level between 0 and 1")
    if isinstance(min_week_rows, bool) or not isinstance(min_week_rows, int) or min_week_rows < 1:
        raise ParameterError(f"min_week_rows={min_week_rows!r}: give a whole number of rows >= 1 "
                             "(weeks with fewer rows of a step are left out of its trend)")


def _check_times(warehouse: Warehouse, table: str, columns: tuple[str, ...], where: str) -> None:
    types = warehouse.columns(table)
    for c in columns:
        if not (types[c].upper().startswith("TIMESTAMP") or types[c].upper() == "DATE"):
            raise DataError(f"{where}: column '{c}' of table '{table}' is {types[c]}, not a "
                            "timestamp; cast it or pass the right column")


def _check_steps(present: list[str | None], sla: dict[str, float], steps: list[str] | None, *, where: str,
                 table: str, step_col: str) -> None:
    """Every step named in ``sla`` and ``steps`` is in the log."""
    names = ", ".join(s for s in present if s is not None)  # sorted
    unknown = sorted(set(sla) - set(present))
    if unknown:
        raise DataError(f"{where}: column '{step_col}' of table '{table}' has no step "
                        f"{', '.join(repr(s) for s in unknown)} named in sla_hours; steps "
                        f"present: {names}. Fix the SLA's step name")
    if steps:
        missing = [s for s in steps if s not in set(present)]
        if missing:
            raise DataError(f"{where}: column '{step_col}' of table '{table}' has no step "
                            f"{', '.join(map(repr, missing))}; steps present: {names}")


def _check_sla(sla_hours: dict[str, float] | None) -> dict[str, float]:
    out = {}
    for name, v in (sla_hours or {}).items():
        ok = isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < math.inf
        if not ok:
            raise ParameterError(f"sla_hours['{name}'] = {v!r}: give a positive number of hours")
        out[str(name)] = float(v)
    return out


def _check_start(con: Any, view: str, where: str, table: str, start_col: str) -> None:
    """No row with a start: an empty log is fine (no step), a start column null in every row
    is not."""
    row = con.execute(f"SELECT count(*) FROM {view}").fetchone()
    if row and row[0]:
        raise DataError(f"{where}: column '{start_col}' of table '{table}' is null in all "
                        f"{row[0]:,} rows; fix the export, or pass the column that holds each "
                        "step's start as start_col")


def _summarize(log: ProcessSQL, sla: dict[str, float], order: list[str] | None, *,
               min_week_rows: int, alpha: float, trend_correction: str,
               has_segments: bool) -> ProcessResult:
    log.create_cases()
    closed = log.create_weekly()  # each step's closed rows fix its duration ranks
    st = log.step_stats(sla, closed, offsets=not order)
    invalid = int(st["invalid"].sum())
    if order:
        rank = {s: i for i, s in enumerate(order)}
        st = st[st["step"].isin(rank)].assign(_o=st["step"].map(rank))
    else:
        st = st.assign(_o=st["offset_h"])
    st = st.sort_values(["_o", "step"], kind="stable", ignore_index=True)
    for i, name in enumerate(Q_NAMES):
        st[name] = [float(v[i]) for v in st["qs"]]
    for j, col in enumerate(CI_COLUMNS):
        st[col] = [float(v[j]) for v in st["ci"]]
    st["wait_p50_h"] = [float(v[0]) if isinstance(v, list | np.ndarray) and v[0] is not None
                        else np.nan for v in st["wq"]]
    st["wait_p90_h"] = [float(v[1]) if isinstance(v, list | np.ndarray) and v[1] is not None
                        else np.nan for v in st["wq"]]
    has_sla = st["sla_h"].notna().to_numpy()
    rows = st["rows"].to_numpy(float)
    breaches = st["breaches"].to_numpy(float)
    lo, hi = wilson_interval(breaches, rows)
    st["sla_h"] = st["sla_h"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        st["sla_breach"] = np.where(has_sla & (rows > 0), breaches / rows, np.nan)
    st["sla_breach_ci_low"] = np.where(has_sla, lo, np.nan)
    st["sla_breach_ci_high"] = np.where(has_sla, hi, np.nan)
    st["hours_at_stake"] = np.where(has_sla, st["hours_at_stake"].astype(float).fillna(0.0),
                                    np.nan)
    st["breaches"] = np.where(has_sla, breaches, np.nan)
    st = st[["step", "rows", "open_rows", "mean_h", *Q_NAMES, *CI_COLUMNS, "total_h",
             "wait_p50_h", "wait_p90_h", "wait_total_h", "sla_h", "breaches", "sla_breach",
             "sla_breach_ci_low", "sla_breach_ci_high", "hours_at_stake"]]
    st = st.astype({c: float for c in st.columns if c not in ("step", "rows", "open_rows")})

    med = st["p50_h"].to_numpy()
    slowest = str(st["step"].iloc[int(np.nanargmax(med))]) if np.isfinite(med).any() else None
    stake = st["hours_at_stake"].to_numpy()
    fix: str | None
    if sla and np.nansum(stake) > 0:
        fix = str(st["step"].iloc[int(np.nanargmax(stake))])
    else:
        load = st["total_h"].to_numpy() + np.nan_to_num(st["wait_total_h"].to_numpy())
        fix = str(st["step"].iloc[int(np.argmax(load))]) if len(st) and rows.sum() else None

    cases, closed_cases, cq = log.case_stats()
    wip = log.wip()
    wip["open_cases"] = wip["open_cases"].astype(int)
    weekly = log.weekly(min_week_rows)
    trend = trend_tests({name: weekly.loc[weekly["step"] == name, "median_h"].to_numpy()
                         for name in st["step"]}, alpha=alpha, correction=trend_correction)
    segs = (log.segments(sla) if has_segments else
            pd.DataFrame(columns=["segment", "step", "rows", "p50_h", "p90_h", "breaches",
                                  "sla_breach"]))
    return ProcessResult(
        steps=st, wip=wip, weekly=weekly, trend=trend, segments=segs,
        cases=cases, closed_cases=closed_cases, cycle_p50_h=cq[0], cycle_p90_h=cq[1],
        invalid_rows=invalid, slowest_step=slowest, step_to_fix=fix, sla_hours=sla, alpha=alpha,
        trend_correction=trend_correction)
