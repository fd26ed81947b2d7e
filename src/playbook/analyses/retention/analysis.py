"""Do users stay and come back? The entry point of retention_cohorts.

:func:`analyze_retention` forms cohorts, counts their activity with the engine of
:mod:`playbook.analyses.retention.sql` (definitions of windows, modes and complete cells:
:mod:`playbook.analyses.retention.cells`; purchases: :mod:`playbook.analyses.retention.purchases`)
and returns a :class:`~playbook.analyses.retention.result.RetentionResult`.

as_of
    The snapshot time of the warehouse (the spec's ``data.snapshot`` or the folder's marker),
    or the ``as_of`` parameter; never the wall clock. Without either the analysis stops and
    names both. Activity and orders after it are left out.
cohorts
    ``cohort_by``: ``signup`` (``users.<signup_col>``) or ``first_purchase`` (each user's first
    valid order); grouped by ``cohort_period``: ``day``, ``week`` (starting on the warehouse's
    ``week_start``, else the report language's first day) or ``month``.
day-n retention (D1, D7, D30: ``day_marks``)
    Members active on day n after the anchor (``[t0 + n, t0 + n + 1)`` days) with at least
    ``min_actions`` rows; per cohort (complete cells only) with Wilson intervals; the trend
    across cohorts (:func:`playbook.analyses.retention.models.trend`, per cohort step) and the
    pooled rate of the ``latest_cohorts`` most recent complete cohorts.
revenue retention
    Revenue (``amount_col`` of valid orders) of a cohort's members in period k over period 0.
usage frequency
    Per calendar month: active days of each user active that month (mean with a t interval,
    median, p90 and the distribution).
lifecycle
    Per calendar period (of ``cohort_period``), members active in it that are new (first
    active period), returning (active in the previous period too), resurrecting (active before,
    not in the previous period); dormant: active in the previous period, not in this one.
breakdown
    Day-n retention by a column of the users table, over users observed for the whole day,
    with Wilson intervals and a chi-square test of equal rates.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from playbook.analyses.retention.cells import matrix, shown
from playbook.analyses.retention.checks import Options, as_of_us, check_options, sources
from playbook.analyses.retention.models import mean_ci, pooled_latest, segment_test, trend
from playbook.analyses.retention.purchases import excluded, repeat_decay, repurchase
from playbook.analyses.retention.result import DayMark, RetentionResult
from playbook.analyses.retention.sql import CohortSQL, Source, valid_rows
from playbook.i18n import current
from playbook.i18n.formats import first_week_day
from playbook.sources import Warehouse
from playbook.sql import quote_ident as qi
from playbook.stats.proportions import wilson_interval


def analyze_retention(warehouse: Warehouse, **parameters: Any) -> RetentionResult:
    """Cohort retention, day-n rates and their trend, revenue retention, repurchase, repeat
    decay, usage frequency, lifecycle and a breakdown (module docstring). ``parameters`` are
    the fields of :class:`~playbook.analyses.retention.checks.Options`; a bad one is a
    :class:`~playbook.errors.ParameterError`, a missing table or column a
    :class:`~playbook.errors.DataError` naming it."""
    opt = check_options(Options(**parameters))
    users, activity, orders = sources(warehouse, opt)
    when = as_of_us(warehouse, opt.as_of)
    week_start = first_week_day(current(), warehouse.week_start)
    engine = CohortSQL(warehouse.con, when, opt.cohort_period, week_start)
    anchor = users if opt.cohort_by == "signup" else orders
    segment = (users.view, users.user, opt.breakdown) if opt.breakdown else None
    try:
        engine.create_anchors(anchor, first_of=opt.cohort_by == "first_purchase", segment=segment)
        engine.create_acts(activity)
        cells = matrix(engine, opt.mode, period_days=opt.period_days, periods=opt.periods,
                       min_actions=opt.min_actions, brackets=opt.bracket_list())
        marks = matrix(engine, "bracket", period_days=1, periods=0, min_actions=opt.min_actions,
                       brackets=[(d, d) for d in opt.day_marks])
        day = [_mark(marks, d, j, opt.latest_cohorts) for j, d in enumerate(opt.day_marks)]
        segments = _breakdown(engine, opt) if opt.breakdown else None
        revenue = _revenue(engine, cells, orders, when, opt)
        life = _complete(engine.lifecycle(), opt.cohort_period, when)
        usage = _usage(engine.usage(), when)
        sizes = engine.sizes()
    finally:
        engine.drop()
    rep = repurchase(warehouse.con, orders, when, opt.horizon_days)
    decay, decay_cells = repeat_decay(warehouse.con, orders, when, grain=opt.cohort_period,
                                      week_start=week_start, months=opt.decay_months)
    return RetentionResult(
        options=opt, as_of=pd.Timestamp(when, unit="us"), cells=shown(cells),
        marks=shown(marks), day=day, revenue=revenue, repurchase=rep, decay=decay,
        decay_cells=shown(decay_cells), usage=usage, lifecycle=life, segments=segments,
        excluded_orders=excluded(warehouse.con, orders, when), cohorts=len(sizes),
        users=int(sizes["members"].sum()) if len(sizes) else 0)


def _mark(marks: pd.DataFrame, day: int, j: int, latest: int) -> DayMark:
    cells = marks[marks["j"] == j]
    done = cells[cells["complete"]]
    tr = trend(done["retained"].to_numpy(), done["eligible"].to_numpy())
    rate, lo, hi, x, n, names = pooled_latest(cells, latest)
    return DayMark(day=day, rate=rate, ci_low=lo, ci_high=hi, retained=x, users=n,
                   latest=names, trend=tr)


def _breakdown(engine: CohortSQL, opt: Options) -> pd.DataFrame:
    """segment, day, users (observed for the whole day), retained, rate, ci, and per day the
    chi-square test across segments."""
    bounds = [(d, d) for d in opt.day_marks]
    got = matrix(engine, "bracket", period_days=1, periods=0, min_actions=opt.min_actions,
                 brackets=bounds, group="seg")
    got["day"] = [opt.day_marks[j] for j in got["j"]]
    ok = got["eligible"] > 0
    lo, hi = wilson_interval(got["retained"], got["eligible"])
    got = got.assign(rate=(got["retained"] / got["eligible"]).where(ok), ci_low=lo, ci_high=hi)
    tests = {}
    for d, part in got.groupby("day"):
        tests[d] = segment_test(part["retained"].to_numpy(), part["eligible"].to_numpy())
    got["chi2"] = [tests[d][0] for d in got["day"]]
    got["p_value"] = [tests[d][1] for d in got["day"]]
    return (got.rename(columns={"grp": "segment", "eligible": "users"})
            [["segment", "day", "users", "retained", "rate", "ci_low", "ci_high", "chi2", "p_value"]]
            .sort_values(["day", "segment"], ignore_index=True))


def _revenue(engine: CohortSQL, cells: pd.DataFrame, orders: Source, when: int,
             opt: Options) -> pd.DataFrame:
    """cohort, period, label, revenue, ratio (to period 0), complete; periods of the matrix
    (for a bracket matrix: periods of ``period_days``)."""
    rows = valid_rows(orders, when).replace(" AS t FROM", f" AS t, {qi(opt.amount_col)} AS amount FROM", 1)
    periods = opt.periods if opt.mode != "bracket" else max(1, opt.periods)
    p_us = opt.period_days * 86_400_000_000
    got = engine.revenue(rows, p_us, periods)
    base = (matrix(engine, "n_day", period_days=opt.period_days, periods=periods, min_actions=opt.min_actions)
            if opt.mode != "n_day" else None)
    grid = (cells if base is None else base)[["grp", "j", "label", "complete"]]
    out = grid.merge(got, on=["grp", "j"], how="left").fillna({"revenue": 0.0})
    first = out[out["j"] == 0].set_index("grp")["revenue"]
    zero = out["grp"].map(first)
    out["ratio"] = (out["revenue"] / zero).where(out["complete"] & (zero > 0))
    out["revenue"] = out["revenue"].where(out["complete"])
    return out.rename(columns={"grp": "cohort", "j": "period"})


def _complete(life: pd.DataFrame, grain: str, when: int) -> pd.DataFrame:
    """``life`` with ``complete``: the calendar period ended by as_of."""
    step = {"day": pd.DateOffset(days=1), "week": pd.DateOffset(days=7), "month": pd.DateOffset(months=1)}[grain]
    end = pd.to_datetime(life["period"]) + step
    return life.assign(complete=(end <= pd.Timestamp(when, unit="us")).to_numpy(bool))


def _usage(usage: pd.DataFrame, when: int) -> pd.DataFrame:
    """The monthly usage with its interval and whether the month is complete."""
    lo, hi = zip(*(mean_ci(m, s, int(n)) for m, s, n in
                   zip(usage["mean"], usage["sd"].fillna(math.nan), usage["users"], strict=True)),
                 strict=True) if len(usage) else ((), ())
    end = pd.to_datetime(usage["month"]) + pd.offsets.MonthBegin(1)
    complete = end <= pd.Timestamp(when, unit="us")
    return usage.assign(ci_low=list(lo), ci_high=list(hi), complete=complete.to_numpy(bool))
