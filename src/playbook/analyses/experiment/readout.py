"""Did it work? The experiment readout: SRM, lifts with intervals, guardrails, decision.

:func:`analyze_experiment` reads assignments (``user_id, experiment, variant, assigned_ts``),
the tables the metrics read (events, orders, or a per-user table), the pre-period covariate
(``metrics_pre``) and the users' segment columns, all aggregated by one DuckDB query
(:mod:`~playbook.analyses.experiment.sql`); pandas sees per-arm sums only. Metrics are data
(:mod:`~playbook.analyses.experiment.spec`), the statistics are :mod:`playbook.stats`.

What is computed:

units
    Every user assigned to the experiment (optionally inside ``[start, end)`` of assignment
    time), at their first assignment. A user found in two arms is an error naming the table and
    column (``multiple_arms="exclude"`` leaves such users out and reports how many). Each metric
    counts rows in ``[assigned_ts, assigned_ts + window_days)``; a window that runs past the end
    of the data is truncated (the same in every arm).
inputs
    Before anything is computed, every metric's table, columns and events are checked against
    the data: an event that never occurs in its column (a typo, or the sample warehouse's event
    names left in the parameters) is an error naming the metric, the table, the column and the
    events present, never a silent lift of 0. A NaN or infinite value in a value column (or in
    the CUPED covariate) is an error naming the column; a null counts as 0, and the readout says
    how many rows that was per metric (``null_counts``).
SRM
    Chi-square test of users per arm against ``weights`` (default equal) at ``srm_alpha``
    (0.001), overall and inside each segment level (there at ``srm_alpha`` divided by the
    number of levels tested, Bonferroni). ``weights`` are keyed by arm name: a mapping
    ``{arm: weight}``, or a list in the order of ``arms`` (without ``arms``: control first,
    then the other arms by name, the order the readout reports them).
lifts
    Per metric and treatment arm against ``control``: relative lift with Fieller's interval
    (:mod:`playbook.stats.fieller`; calibrated at small samples, its test of no lift is the
    absolute one) and the absolute lift with the Welch t interval, CUPED-adjusted with the pre-period covariate for the primary metric by
    default (``cuped_metrics``), the Bayesian chance to win (flat prior, or normal with
    ``prior_sd``) and the confidence sequence (always valid under daily peeking).
    ``sequential=True`` makes the confidence sequence govern: its p-value and interval are the
    ones reported, corrected and decided on. Otherwise the fixed-horizon test governs.
correction
    ``correction`` (holm, bh, bonferroni, none) over the family ``correction_scope``:
    ``primary`` = the primary metric across treatment arms, ``all`` = every metric and arm.
    ``ci_low``/``ci_high`` are recomputed at the corrected levels, so an interval excludes 0
    exactly when the adjusted p-value is below alpha. Segment results are corrected across all
    segment levels and arms.
heterogeneity
    Whether the effect differs between the levels of a breakdown (``segments``): Cochran's Q
    over the levels' relative lifts and their variances, per breakdown and arm, corrected with
    ``correction`` across them (:func:`~playbook.analyses.experiment.arms.heterogeneity`). The
    prose says "no evidence that the effect differs by <breakdown>" unless it does.
guardrails
    Non-inferiority at the metric's relative ``margin``: one-sided at alpha, the guardrail
    passes when the bound of the effect stays above -margin (below +margin when lower is better).
planned sample
    ``planned_users_per_arm``, or (0) the sample size that detects ``mde_rel`` on the primary
    metric with ``power``, at the observed control baseline and CUPED variance reduction; the
    readout also reports the power the running experiment has for ``mde_rel`` from the
    variances both arms show (:func:`playbook.stats.power.running_power`), and how many more
    users reach ``power``: the summary says so when the decision is ``keep-running``.

Decision (first rule that applies, per treatment arm; overall: ``ship`` if an arm ships (the
one with the largest lift), else ``keep-running`` if an arm may still run, else ``no-ship``):

1. ``invalid``: SRM overall or in a segment. Nothing else is read.
2. ``no-ship``: the primary metric is significantly worse, or a guardrail is significantly
   worse (two-sided test) while failing its non-inferiority margin.
3. guardrail not shown non-inferior: ``keep-running`` before the planned sample is reached,
   ``no-ship`` after.
4. ``ship``: the primary metric is significantly better (after correction) and guardrails pass.
5. not significant: ``keep-running`` before the planned sample is reached, ``no-ship`` after.

Degenerate data (zero variance, an arm without units for a metric) give documented
results (p 1, no interval, ``degenerate`` set) that are left out of the outcome metrics and
named in the prose, never NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd

from playbook.analyses.base import ReadoutDecision
from playbook.analyses.experiment.arms import (
    HETEROGENEITY_COLUMNS,
    SCOPES,
    Inference,
    PrimaryMetric,
    compare_metrics,
    compare_segments,
    cumulative,
    heterogeneity,
)
from playbook.analyses.experiment.decide import decide
from playbook.analyses.experiment.query import Columns, Query
from playbook.analyses.experiment.readout_result import ReadoutResult
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
from playbook.stats import (
    MetricSpec,
    NormalPrior,
    power_at,
    running_power,
    sample_size,
    srm_test,
    variance_reduction,
)
from playbook.stats.corrections import correction_method
from playbook.stats.suffstats import RegressionAdjustedStats
from playbook.zones import parse_day

MULTIPLE_ARMS = ("error", "exclude")


def _check(*, alpha: float, srm_alpha: float, window_days: float, power: float, mde_rel: float,
           correction: str, scope: str, multiple_arms: str, prior_sd: float) -> None:
    for name, v in (("alpha", alpha), ("srm_alpha", srm_alpha), ("power", power)):
        if not 0 < v < 1:
            raise DataError(f"{name} must be between 0 and 1, got {v!r}")
    if not window_days > 0:
        raise DataError(f"window_days must be > 0 (days after assignment a metric counts), got {window_days!r}")
    if not mde_rel > 0:
        raise DataError(f"mde_rel must be > 0 (the smallest relative lift worth detecting), got {mde_rel!r}")
    correction_method(correction)
    if scope not in SCOPES:
        raise DataError(f"correction_scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    if multiple_arms not in MULTIPLE_ARMS:
        raise DataError(f"multiple_arms must be 'error' or 'exclude', got {multiple_arms!r}")
    if prior_sd < 0:
        raise DataError(f"prior_sd must be >= 0 (0 = flat prior), got {prior_sd!r}")


def _cuped_names(metrics: Sequence[MetricDef], cuped: bool, cuped_metrics: Sequence[str] | None) -> list[str]:
    if not cuped:
        return []
    by_name = {m.name: m for m in metrics}
    if cuped_metrics:
        for name in cuped_metrics:
            if name not in by_name:
                raise DataError(f"cuped_metrics: no metric named '{name}' (metrics: {', '.join(by_name)})")
            if by_name[name].kind == "ratio":
                raise DataError(f"cuped_metrics: '{name}' is a ratio metric; CUPED applies to binary and mean "
                                "metrics here (one pre-period value per user)")
        return list(cuped_metrics)
    return [m.name for m in metrics
            if m.cuped or (m.cuped is None and m.role == "primary" and m.kind != "ratio")]


def _arms(overall: pd.DataFrame, experiment: str, control: str, expected: Sequence[str] | None,
          where: str) -> list[str]:
    found = [str(a) for a in overall["arm"]]
    if expected:
        missing = [a for a in expected if a not in found]
        if missing:
            raise DataError(f"{where}: arm '{missing[0]}' of experiment '{experiment}' has no users in column "
                            f"'variant' (found {', '.join(found)}); check the assignment log or the arms parameter")
        extra = [a for a in found if a not in expected]
        if extra:
            raise DataError(f"{where}: experiment '{experiment}' has users in arm '{extra[0]}' that the arms "
                            f"parameter ({', '.join(expected)}) does not list; add it or fix the log")
    if control not in found:
        raise DataError(f"{where}: experiment '{experiment}' has no control arm '{control}' in column 'variant' "
                        f"(arms: {', '.join(found)}); set the control parameter to one of them")
    if len(found) < 2:
        raise DataError(f"{where}: experiment '{experiment}' has a single arm '{found[0]}' in column 'variant'; "
                        "a readout compares arms, so there is nothing to compare yet")
    order = list(expected) if expected else sorted(found)
    return [control] + [a for a in order if a != control]


def _planning(overall: pd.DataFrame, primary: PrimaryMetric, arms: list[str], *, mde_rel: float, alpha: float,
              power: float, planned: int, sequential: bool) -> dict[str, Any]:
    by_arm = {str(r["arm"]): r for _, r in overall.iterrows()}
    ctrl = primary.stats(by_arm[arms[0]])
    vr = 0.0
    if primary.cuped:
        adj = [primary.stats(by_arm[a]) for a in arms]
        vr = min(max(variance_reduction(*[s for s in adj if isinstance(s, RegressionAdjustedStats)]), 0.0), 0.99)
    n_c = int(by_arm[arms[0]]["n"])
    n_t = sum(int(by_arm[a]["n"]) for a in arms[1:]) / (len(arms) - 1)
    out: dict[str, Any] = {"planned_users_per_arm": planned or None, "power_now": None, "variance_reduction": vr,
                           "tuning": float(sum(int(r["n"]) for r in by_arm.values()))}
    try:
        spec = MetricSpec.from_stats(ctrl)
        if not planned:
            planned = sample_size(spec, mde_rel, power=power, alpha=alpha, arms=len(arms),
                                  variance_reduction=vr).units_control
            out["planned_users_per_arm"] = planned
        out["tuning"] = float(planned * len(arms))
        out["power_now"] = power_at(spec, mde_rel, n_c, ratio=n_t / n_c if n_c else 1.0, alpha=alpha,
                                    arms=len(arms), variance_reduction=vr,
                                    sequential="confidence_sequence" if sequential else None, tuning=out["tuning"])
    except DataError as exc:  # a constant baseline: no power to speak of; say so in the prose
        out["planning_note"] = str(exc)
    out["reached"] = bool(out["planned_users_per_arm"]) and n_c >= (out["planned_users_per_arm"] or math.inf)
    return out


def analyze_experiment(  # noqa: PLR0913 - the template's parameters, keyword-only
    warehouse: Warehouse,
    experiment: str,
    metrics: list[dict[str, Any]],
    *,
    control: str = "control",
    arms: Sequence[str] | None = None,
    weights: Sequence[float] | Mapping[str, float] | None = None,
    window_days: float = 14.0,
    start: str | date | datetime | None = None,
    end: str | date | datetime | None = None,
    alpha: float = 0.05,
    srm_alpha: float = 0.001,
    correction: str = "holm",
    correction_scope: str = "primary",
    cuped: bool = True,
    cuped_metrics: Sequence[str] | None = None,
    sequential: bool = False,
    prior_sd: float = 0.0,
    mde_rel: float = 0.05,
    power: float = 0.8,
    planned_users_per_arm: int = 0,
    segments: Sequence[str] = (),
    min_segment_users: int = 100,
    multiple_arms: str = "error",
    assignments_table: str = "assignments",
    pre_table: str = "metrics_pre",
    users_table: str = "users",
    columns: Columns | None = None,
) -> ReadoutResult:
    """Read out ``experiment`` (see the module docstring for every rule)."""
    _check(alpha=alpha, srm_alpha=srm_alpha, window_days=window_days, power=power, mde_rel=mde_rel,
           correction=correction, scope=correction_scope, multiple_arms=multiple_arms, prior_sd=prior_sd)
    defs = parse_metrics(metrics)
    cols = columns or Columns()
    use_cuped = _cuped_names(defs, cuped, cuped_metrics)
    segments = list(segments or [])
    check_inputs(warehouse, defs, cols, assignments=assignments_table, pre_table=pre_table if use_cuped else None,
                 users_table=users_table if segments else None, segments=segments)
    present = experiments_in(warehouse, assignments_table, cols)
    if experiment not in present:  # first: a default left at another warehouse's name
        raise DataError(f"{warehouse.source(assignments_table).location}: no experiment '{experiment}' in "
                        f"column '{cols.experiment}' (experiments: {', '.join(present) or 'none'}); set "
                        "the readout's experiment parameter")
    null_counts = check_metric_data(warehouse, defs)
    if use_cuped and pre_table:
        check_covariate(warehouse, pre_table, cols, experiment)
    aggs = arm_aggregates(warehouse, Query(defs, cols, experiment, assignments=assignments_table,
                                           window_days=window_days, start=parse_day(start, "start"),
                                           end=parse_day(end, "end"), pre_table=pre_table, cuped=use_cuped,
                                           users_table=users_table, segments=segments))
    where = warehouse.source(assignments_table).location
    overall = aggs[aggs["set"] == "overall"]
    if overall.empty:
        found = experiments_in(warehouse, assignments_table, cols)
        raise DataError(f"{where}: no assignments for experiment '{experiment}' in column '{cols.experiment}'"
                        f"{' in the chosen period' if start or end else ''} (experiments: {', '.join(found) or 'none'})")
    multi = overall[overall["arm"].isna()]
    n_multi = int(multi["n"].sum()) if len(multi) else 0
    if n_multi and multiple_arms == "error":
        raise DataError(f"{where}: {n_multi} users of experiment '{experiment}' appear in more than one arm "
                        f"(column '{cols.arm}'); fix the assignment log, or pass multiple_arms='exclude' to "
                        "leave them out of the readout")
    aggs = aggs[aggs["arm"].notna()].reset_index(drop=True)
    overall = aggs[aggs["set"] == "overall"]
    arm_list = _arms(overall, experiment, control, arms, where)
    counts = [int(overall.loc[overall["arm"] == a, "n"].iloc[0]) for a in arm_list]
    named = _named_weights(weights, arm_list, arms)
    w = [named[a] for a in arm_list] if named else None
    srm = srm_test(counts, w, srm_alpha)
    pi = next(i for i, m in enumerate(defs) if m.role == "primary")
    primary = PrimaryMetric(defs[pi], pi, defs[pi].name in use_cuped)
    plan = _planning(overall, primary, arm_list, mde_rel=mde_rel, alpha=alpha, power=power,
                     planned=planned_users_per_arm, sequential=sequential)
    prior = NormalPrior(0.0, prior_sd**2) if prior_sd > 0 else None
    inference = Inference(alpha, sequential, plan["tuning"], correction)
    comparisons = compare_metrics(overall, defs, arm_list, control, cuped=use_cuped, inference=inference,
                                  prior=prior, scope=correction_scope)
    seg = compare_segments(aggs, segments, primary, arm_list, control, inference=inference,
                           min_users=min_segment_users, weights=w, srm_alpha=srm_alpha)
    het = heterogeneity(seg, alpha, correction) if len(seg) else pd.DataFrame(columns=HETEROGENEITY_COLUMNS)
    seg_srm = _segment_srm(aggs, segments, arm_list, w, srm_alpha)
    cum = cumulative(aggs, primary, arm_list, control, inference=inference)
    invalid = srm.mismatch or bool(len(seg_srm) and seg_srm["mismatch"].any())
    decision, arm, reasons = decide(comparisons, invalid, plan["reached"], alpha)
    plan["running"] = _running(comparisons, mde_rel=mde_rel, power=power, alpha=alpha, arms=len(arm_list),
                               sequential=sequential, tuning=plan["tuning"])
    settings = dict(control=control, weights=named, window_days=window_days,
                    start=str(start or ""), end=str(end or ""), alpha=alpha, srm_alpha=srm_alpha,
                    correction=correction, correction_scope=correction_scope, cuped_metrics=use_cuped,
                    sequential=sequential, prior_sd=prior_sd, mde_rel=mde_rel, power=power,
                    segments=segments, min_segment_users=min_segment_users, multiple_arms=multiple_arms)
    return ReadoutResult(
        experiment=experiment, arms=tuple(arm_list), control=control, counts=tuple(counts), srm=srm,
        segment_srm=seg_srm, metric_defs=tuple(defs), comparisons=comparisons.drop(columns=["_est"]),
        segments=seg, cumulative=cum, decision=ReadoutDecision(decision), decision_arm=arm, reasons=tuple(reasons),
        plan=plan, excluded_multi_arm=n_multi, settings=settings, null_counts=tuple(null_counts),
        heterogeneity=het,
    )


def _named_weights(weights: Sequence[float] | Mapping[str, float] | None, arm_list: list[str],
                   expected: Sequence[str] | None) -> dict[str, float] | None:
    """The planned split keyed by arm name (see the module docstring); None for equal weights."""
    if weights is None or len(weights) == 0:
        return None
    if isinstance(weights, Mapping):
        missing = [a for a in arm_list if a not in weights]
        unknown = [str(k) for k in weights if k not in arm_list]
        if missing or unknown:
            raise DataError(f"weights: give one weight per arm by name ({', '.join(arm_list)})"
                            + (f"; missing: {', '.join(missing)}" if missing else "")
                            + (f"; not an arm of the experiment: {', '.join(unknown)}" if unknown else ""))
        named = {a: weights[a] for a in arm_list}
    else:
        order = list(expected) if expected else arm_list
        if len(weights) != len(order):
            raise DataError(f"weights: {len(weights)} weights for {len(order)} arms ({', '.join(order)}); give one "
                            "per arm in the order of the arms parameter" + (
                                "" if expected else " (without it: control first, then the other arms by name)"))
        named = dict(zip(order, weights, strict=True))
    bad = {a: v for a, v in named.items()
           if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < float(v) < math.inf}
    if bad:
        raise DataError(f"weights: each arm's planned share must be a positive number, got {bad}")
    return {a: float(v) for a, v in named.items()}


def _running(comparisons: pd.DataFrame, *, mde_rel: float, power: float, alpha: float, arms: int,
             sequential: bool, tuning: float) -> dict[str, dict[str, Any]]:
    """Per treatment arm: power now for ``mde_rel`` on the primary metric from both arms' observed
    variances, and the users still needed to reach ``power`` (or the reason there is no figure)."""
    out: dict[str, dict[str, Any]] = {}
    for _, row in comparisons[comparisons["role"] == "primary"].iterrows():
        try:
            r = running_power(row["_est"], mde_rel, power=power, alpha=alpha, arms=arms,
                              sequential="confidence_sequence" if sequential else None, tuning=tuning)
        except DataError as exc:
            out[str(row["arm"])] = {"note": str(exc)}
            continue
        out[str(row["arm"])] = {"power": r.power, "users_per_arm": r.users_per_arm,
                                "more_users_per_arm": r.more_users_per_arm, "more_users_total": r.more_users_total}
    return out


def _segment_srm(aggs: pd.DataFrame, segments: Sequence[str], arms: list[str], weights: Sequence[float] | None,
                 srm_alpha: float) -> pd.DataFrame:
    rows = []
    for seg in segments:
        part = aggs[aggs["set"] == seg]
        for level, grp in part.groupby("level", sort=True):
            n = dict(zip(grp["arm"].astype(str), grp["n"].astype(int), strict=True))
            counts = [n.get(a, 0) for a in arms]
            if sum(counts) == 0:
                continue
            rows.append({"segment": seg, "level": level, **{f"users_{a}": c for a, c in zip(arms, counts, strict=True)},
                         "p_value": srm_test(counts, weights, srm_alpha).p_value})
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=["segment", "level", "p_value", "mismatch"])
    table["mismatch"] = table["p_value"] < srm_alpha / len(table)
    return table

__all__ = ["MULTIPLE_ARMS", "ReadoutResult", "analyze_experiment", "decide"]
