"""How big and how long? Experiment design from historical data, with :mod:`playbook.stats.power`.

:func:`design_experiment` measures, with one DuckDB query over the event log, what the
experiment will see:

history
    The users who would have been eligible: everyone whose first ``eligible_event`` (the event
    at which the experiment assigns, e.g. ``verify_identity``) falls in the ``lookback_days``
    before ``before`` (usually the planned start). Each is followed for ``window_days`` from
    that event, exactly as the readout follows an assigned user, so the baseline is the
    control value the readout will compare against.
baseline
    The primary metric's mean (rate, per-user mean or ratio) and per-user variance over that
    history (the readout's variance model: p(1-p) for a rate, the delta method for a ratio).
traffic
    Eligible users per day = history users / lookback days, times ``traffic_share`` (the share
    of eligible traffic the experiment gets).
CUPED
    With ``cuped``, the variance reduction is rho^2 of the pre-period covariate: measured in
    the control arm of ``rho_experiment`` (a past experiment on the same population whose
    ``metrics_pre`` covariate is available), or given as ``rho``. 0 without either, and 0 marked
    "not measured" (with the reason, in ``rho_source`` and the summary) when that experiment
    has no pre-period rows or a constant covariate. An experiment that does not exist, or has no
    ``control`` arm, is an error listing what exists.

Every metric's event is checked against the event log first (as the readout does), and a
primary metric that is constant over the history (a rate of 0 or 1) is an error naming it.

Then, for the primary metric: users per arm to detect ``mde_rel`` (relative) with ``power``
at ``alpha`` (two-sided; Bonferroni over ``arms - 1`` comparisons; ``allocation`` gives unequal
splits; ``sequential`` sizes for daily peeking with a confidence sequence or for planned looks
with alpha spending), the duration in days, the MDE reachable after each day up to
``max_days`` (with and without CUPED), a table of sample sizes for nearby MDEs, the MDE of
every other metric at the planned duration and, for guardrails, the power of their
non-inferiority test at their margin. The recommendation is ``feasible`` when the duration is
at most ``max_days``, else ``too-long`` with the MDE that ``max_days`` would reach instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from playbook.analyses.experiment.arms import arm_stats
from playbook.analyses.experiment.design_result import DesignResult, spec_hypothesis
from playbook.analyses.experiment.query import Columns, Query, build_query
from playbook.analyses.experiment.spec import MetricDef, parse_metrics
from playbook.analyses.experiment.sql import (
    arm_aggregates,
    check_covariate,
    check_inputs,
    check_metric_data,
    experiments_in,
)
from playbook.errors import DataError
from playbook.sources import Warehouse
from playbook.sql import quote_ident as q
from playbook.sql import quote_string as lit
from playbook.stats import (
    ArmStats,
    MetricSpec,
    RegressionAdjustedStats,
    SampleSizeResult,
    duration_days,
    minimum_detectable_effect,
    power_at,
    sample_size,
)
from playbook.zones import parse_day

SEQUENTIAL = ("", "confidence_sequence", "obrien_fleming", "pocock")


def _history(wh: Warehouse, defs: Sequence[MetricDef], cols: Columns, *, events_table: str, eligible_event: str,
             start: datetime, end: datetime, window_days: float) -> pd.Series:
    """Per-arm-style sums over the history users (one pseudo-arm)."""
    wh.require(events_table, [cols.user, "ts", "event"])
    views = {t: wh.view(t) for t in sorted({events_table, *(p.table for m in defs for p in m.parts)})}
    for m in defs:
        for p in m.parts:
            need = [cols.user, p.ts or "", p.value or ""] + ([p.event_col] if p.event else [])
            try:
                wh.require(p.table, [c for c in dict.fromkeys(need) if c])
            except DataError as exc:
                raise DataError(f"metric '{m.name}': {exc}") from None
    check_metric_data(wh, defs)
    units = (f"(SELECT {q(cols.user)}, 'history' AS {q(cols.experiment)}, 'history' AS {q(cols.arm)}, "
             f"first_ts AS {q(cols.assigned_ts)} FROM (SELECT {q(cols.user)}, MIN(ts) AS first_ts "
             f"FROM {views[events_table]} WHERE event = {lit(eligible_event)} GROUP BY 1) "
             f"WHERE first_ts >= TIMESTAMP {lit(start.isoformat(sep=' '))} "
             f"AND first_ts < TIMESTAMP {lit(end.isoformat(sep=' '))})")
    views["__units__"] = units
    query = Query(defs, cols, "history", assignments="__units__", window_days=window_days, pre_table=None,
                  users_table=None)
    df = wh.sql(build_query(query, views=views, arm_values=["history"]))
    overall = df[(df["g_day"] == 1) & df["arm"].notna()]
    if overall.empty or int(overall["n"].iloc[0]) == 0:
        present = [r[0] for r in wh.con.execute(f"SELECT DISTINCT CAST(event AS VARCHAR) AS e FROM "
                                                f"{views[events_table]} WHERE event IS NOT NULL ORDER BY e").fetchall()]
        if eligible_event not in present:
            raise DataError(f"{wh.source(events_table).location}: column 'event' of table '{events_table}' has no "
                            f"event '{eligible_event}' (events present: {', '.join(present) or 'none'}); set "
                            "eligible_event to the event at which the experiment assigns users")
        raise DataError(f"{wh.source(events_table).location}: no user had a first '{eligible_event}' event between "
                        f"{start.date()} and {end.date()}; choose another eligible_event, before or lookback_days")
    return overall.iloc[0]


def _rho(wh: Warehouse, metric: MetricDef, cols: Columns, *, experiment: str, control: str, window_days: float,
         pre_table: str = "metrics_pre", assignments: str = "assignments") -> tuple[float, str]:
    """(rho, where it comes from): measured in the control arm of ``experiment``, or 0 with the
    reason it could not be measured (no pre-period rows, a constant covariate)."""
    check_inputs(wh, [metric], cols, assignments=assignments, pre_table=pre_table, users_table=None, segments=())
    found = experiments_in(wh, assignments, cols)
    where = wh.source(assignments).location
    if experiment not in found:
        raise DataError(f"rho_experiment: {where}: no experiment '{experiment}' in column '{cols.experiment}' "
                        f"(experiments: {', '.join(found) or 'none'}); name a past experiment on the same "
                        "population, or give rho")
    pre_rows = check_covariate(wh, pre_table, cols, experiment)
    if not pre_rows:
        return 0.0, (f"not measured: {wh.source(pre_table).location} has no pre-period rows for experiment "
                     f"'{experiment}'")
    aggs = arm_aggregates(wh, Query([metric], cols, experiment, window_days=window_days, cuped=[metric.name],
                                    pre_table=pre_table, assignments=assignments))
    overall = aggs[(aggs["set"] == "overall") & aggs["arm"].notna()]
    row = overall[overall["arm"] == control]
    if row.empty:
        raise DataError(f"rho_experiment: {where}: experiment '{experiment}' has no arm '{control}' in column "
                        f"'{cols.arm}' (arms: {', '.join(map(str, overall['arm']))}); set control to its control "
                        "arm, or give rho")
    stats = arm_stats(row.iloc[0], 0, metric, True)
    assert isinstance(stats, RegressionAdjustedStats)
    if stats.pre.variance <= 0:
        return 0.0, f"not measured: the pre-period covariate is constant in the {control} arm of {experiment}"
    if stats.post.variance <= 0:
        return 0.0, f"not measured: {metric.name} is constant in the {control} arm of {experiment}"
    return stats.correlation, f"measured in the {control} arm of {experiment}"


def _check_options(*, sequential: str, lookback_days: int, max_days: int, arms: int,
                   allocation: Sequence[float] | None, rho: float | None) -> float:
    """The options that need no data, checked; returns the allocation ratio (treatment / control)."""
    if sequential not in SEQUENTIAL:
        raise DataError(f"sequential must be '' (fixed horizon), 'confidence_sequence', 'obrien_fleming' or "
                        f"'pocock', got {sequential!r}")
    if not isinstance(lookback_days, int) or lookback_days < 1:
        raise DataError(f"lookback_days must be a whole number of days >= 1, got {lookback_days!r}")
    if not isinstance(max_days, int) or max_days < 1:
        raise DataError(f"max_days must be a whole number of days >= 1, got {max_days!r}")
    if not isinstance(arms, int) or arms < 2:
        raise DataError(f"arms must be an integer >= 2 (control plus treatments), got {arms!r}")
    ratio = 1.0
    if allocation:
        if len(allocation) != arms or min(allocation) <= 0:
            raise DataError(f"allocation: give {arms} positive shares, control first (e.g. [0.5, 0.5]), "
                            f"got {list(allocation)!r}")
        ratio = sum(allocation[1:]) / (arms - 1) / allocation[0]
    if rho is not None and not -1 < rho < 1:
        raise DataError(f"rho must be strictly between -1 and 1, got {rho!r}")
    return ratio


def _baseline(row: pd.Series, primary: MetricDef, stats: ArmStats, *, start: datetime, end: datetime) -> MetricSpec:
    try:
        return MetricSpec.from_stats(stats)
    except DataError as exc:  # a constant baseline: say which metric, over which users
        raise DataError(f"metric '{primary.name}' (primary): over the {int(row['n']):,} users eligible between "
                        f"{start.date()} and {(end - timedelta(days=1)).date()}, {exc}; check the metric's event and "
                        "window against the history, or choose another primary metric") from None


@dataclass(frozen=True)
class _Sizing:
    """The power functions' options of one design: ``power``, CUPED's ``variance_reduction`` on
    the primary metric, and ``common`` (alpha, arms, ratio, sequential, looks)."""

    power: float
    variance_reduction: float
    common: dict[str, Any]

    def sample_size(self, spec: MetricSpec, mde_rel: float) -> SampleSizeResult:
        return sample_size(spec, mde_rel, power=self.power, variance_reduction=self.variance_reduction, **self.common)

    def mde(self, spec: MetricSpec, n_control: float, variance_reduction: float) -> float:
        return minimum_detectable_effect(spec, n_control, power=self.power, variance_reduction=variance_reduction,
                                         **self.common)


def _curve(sizing: _Sizing, spec: MetricSpec, *, daily: float, share_c: float, days: int, max_days: int
           ) -> pd.DataFrame:
    """The MDE reachable after each day (with and without CUPED), up to ``max_days`` or beyond."""
    curve = []
    upper = max(max_days, min(days, 4 * max_days))
    grid = sorted(set(range(1, min(upper, 60) + 1)) | set(range(60, upper + 1, 7)) | {upper, max_days, days, max(days - 1, 1)})
    for d in (d for d in grid if d <= upper):
        n_c = daily * d * share_c
        if n_c <= 2:
            continue
        row_c = {"day": d, "users_per_arm": n_c}
        for key, v in (("mde_rel", sizing.variance_reduction), ("mde_rel_no_cuped", 0.0)):
            try:
                row_c[key] = sizing.mde(spec, n_c, v)
            except DataError:
                row_c[key] = math.nan
        curve.append(row_c)
    return pd.DataFrame(curve, columns=["day", "users_per_arm", "mde_rel", "mde_rel_no_cuped"])


def _options(sizing: _Sizing, spec: MetricSpec, *, mde_rel: float, daily: float) -> pd.DataFrame:
    """Sample sizes and durations for MDEs around ``mde_rel``."""
    options = []
    for f in (0.5, 0.75, 1.0, 1.5, 2.0):
        try:
            o = sizing.sample_size(spec, mde_rel * f)
        except DataError:
            continue
        options.append({"mde_rel": mde_rel * f, "users_per_arm": o.units_control, "users_total": o.units_total,
                        "days": duration_days(o.units_total, daily)})
    return pd.DataFrame(options)


def _metric_rows(sizing: _Sizing, row: pd.Series, defs: Sequence[MetricDef], *, pi: int, n_plan: int) -> pd.DataFrame:
    """Every metric's baseline and MDE at the planned size; guardrails' non-inferiority power."""
    common = sizing.common
    metric_rows = []
    for i, m in enumerate(defs):
        s = arm_stats(row, i, m, False)
        entry: dict[str, Any] = {"metric": m.name, "role": m.role, "kind": m.kind, "baseline": s.mean,
                                 "sd": math.sqrt(s.variance), "mde_rel": math.nan, "ni_power": math.nan,
                                 "margin": m.margin if m.role == "guardrail" else math.nan}
        try:
            ms = MetricSpec.from_stats(s)
            entry["mde_rel"] = sizing.mde(ms, n_plan, sizing.variance_reduction if i == pi else 0.0)
            if m.role == "guardrail" and m.margin > 0:  # symmetric in the direction when the truth is 0
                entry["ni_power"] = power_at(ms, 0.0, n_plan, margin=m.margin, alpha=common["alpha"],
                                             arms=common["arms"], ratio=common["ratio"])
        except DataError:
            pass
        metric_rows.append(entry)
    return pd.DataFrame(metric_rows)


def _cuped_rho(warehouse: Warehouse, primary: MetricDef, cols: Columns, *,
               cuped: bool, rho: float | None, rho_experiment: str, control: str, window_days: float
               ) -> tuple[float, str]:
    """(rho, its source): given, measured in ``rho_experiment``, or 0 ("none")."""
    if cuped and rho is not None:
        return float(rho), "given"
    if cuped and rho_experiment:
        if primary.kind == "ratio":
            raise DataError(f"rho_experiment: the primary metric '{primary.name}' is a ratio; CUPED here adjusts "
                            "binary and mean metrics, so set cuped to false or give rho")
        return _rho(warehouse, primary, cols, experiment=rho_experiment, control=control, window_days=window_days)
    return 0.0, "none"


def design_experiment(  # noqa: PLR0913 - the template's parameters, keyword-only
    warehouse: Warehouse,
    metrics: list[dict[str, Any]],
    *,
    eligible_event: str = "verify_identity",
    before: str | date | datetime = "2026-08-17",
    lookback_days: int = 56,
    window_days: float = 14.0,
    mde_rel: float = 0.05,
    alpha: float = 0.05,
    power: float = 0.8,
    arms: int = 2,
    allocation: Sequence[float] | None = None,
    traffic_share: float = 1.0,
    cuped: bool = True,
    rho_experiment: str = "",
    rho: float | None = None,
    control: str = "control",
    sequential: str = "",
    looks: int = 4,
    max_days: int = 56,
    events_table: str = "events",
    columns: Columns | None = None,
) -> DesignResult:
    """Size an experiment on the primary metric of ``metrics`` (see the module docstring)."""
    defs = parse_metrics(metrics)
    cols = columns or Columns()
    ratio = _check_options(sequential=sequential, lookback_days=lookback_days, max_days=max_days, arms=arms,
                           allocation=allocation, rho=rho)
    end = parse_day(before, "before")
    if end is None:
        raise DataError("before: give the planned start date of the experiment, e.g. 2026-08-17")
    start = end - timedelta(days=lookback_days)
    row = _history(warehouse, defs, cols, events_table=events_table, eligible_event=eligible_event,
                   start=start, end=end, window_days=window_days)
    pi = next(i for i, m in enumerate(defs) if m.role == "primary")
    primary = defs[pi]
    spec = _baseline(row, primary, arm_stats(row, pi, primary, False), start=start, end=end)
    r, source = _cuped_rho(warehouse, primary, cols, cuped=cuped, rho=rho, rho_experiment=rho_experiment,
                           control=control, window_days=window_days)
    vr = min(r * r, 0.99)
    sizing = _Sizing(power, vr, dict(alpha=alpha, arms=arms, ratio=ratio, sequential=sequential or None, looks=looks))
    n_users = int(row["n"])
    daily = n_users / lookback_days * traffic_share
    if not 0 < traffic_share <= 1:
        raise DataError(f"traffic_share must be in (0, 1], got {traffic_share!r}")
    res = sizing.sample_size(spec, mde_rel)
    days = duration_days(res.units_total, daily)
    curve_df = _curve(sizing, spec, daily=daily, share_c=1 / (1 + (arms - 1) * ratio), days=days, max_days=max_days)
    at_max = curve_df.loc[curve_df["day"] == max_days, "mde_rel"]
    return DesignResult(
        primary=primary.name, kind=primary.kind, baseline=spec.mean, variance=spec.variance, history_users=n_users,
        history_period=(str(start.date()), str((end - timedelta(days=1)).date())), daily_traffic=daily,
        traffic_share=traffic_share, rho=r, variance_reduction=vr, rho_source=source, mde_rel=mde_rel, alpha=alpha,
        power=power, arms=arms, ratio=ratio, sequential=sequential, sample_size_per_arm=res.units_control,
        users_total=res.units_total, duration_days=days, max_days=max_days,
        mde_at_max_days=float(at_max.iloc[0]) if len(at_max) else math.nan, curve=curve_df,
        options=_options(sizing, spec, mde_rel=mde_rel, daily=daily),
        metrics_table=_metric_rows(sizing, row, defs, pi=pi, n_plan=res.units_control), unit=primary.unit,
    )

__all__ = ["SEQUENTIAL", "DesignResult", "design_experiment", "spec_hypothesis"]
