"""From per-arm sums to every comparison of the readout, with :mod:`playbook.stats` doing the maths.

:func:`compare_metrics` gives one row per metric and treatment arm (against control):
fixed-horizon Welch test (CUPED where the metric uses it), Bayesian chance to win, the
confidence sequence, the guardrail non-inferiority test, and the multiple-testing correction
with intervals at the corrected levels (so interval and adjusted p-value agree).
:func:`compare_segments` does the same for the primary metric inside each segment, with its
own correction and an SRM test per segment; :func:`cumulative` gives the lift among users
assigned up to each day. Nothing here reads data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as st

from playbook.analyses.experiment.spec import MetricDef
from playbook.errors import DataError
from playbook.stats import (
    ArmStats,
    NormalPrior,
    ProportionStats,
    RatioStats,
    RegressionAdjustedStats,
    SampleMeanStats,
    correct,
    cuped_theta,
    estimate_effect,
    srm_test,
    variance_reduction,
)
from playbook.stats.bayesian import evaluate_posterior
from playbook.stats.corrections import correction_method
from playbook.stats.effects import EffectEstimate
from playbook.stats.fieller import RelativeMethod
from playbook.stats.frequentist import FrequentistResult, evaluate_estimate
from playbook.stats.sequential import evaluate_sequence

# Relative intervals and p-values by Fieller's method at every size (playbook.stats.fieller): the
# delta method's type-I error is 0.060 at 200 users per arm on a 10% rate, Fieller's is the
# absolute test's 0.050, and the two agree to the fourth decimal at growth-experiment sizes.
RELATIVE_METHOD: RelativeMethod = "fieller"

SCOPES = ("primary", "all")


def arm_stats(row: pd.Series | dict[str, Any], i: int, metric: MetricDef, cuped: bool) -> ArmStats:
    """The sufficient statistics of metric ``i`` in one aggregate row (see experiment.sql)."""
    n = int(row["n"])
    s, ss = float(row[f"m{i}_s"]), float(row[f"m{i}_ss"])
    if cuped:
        return RegressionAdjustedStats(n, s, ss, float(row["p"]), float(row["pp"]), float(row[f"m{i}_p"]))
    if metric.kind == "binary":
        return ProportionStats(n, s)
    if metric.kind == "ratio":
        return RatioStats(n, s, ss, float(row[f"d{i}_s"]), float(row[f"d{i}_ss"]), float(row[f"m{i}_d"]))
    return SampleMeanStats(n, s, ss)


@dataclass(frozen=True)
class PrimaryMetric:
    """The primary metric as the aggregate rows hold it: its definition, its position ``index``
    among the metrics (the ``m<index>_*`` columns) and whether CUPED adjusts it."""

    metric: MetricDef
    index: int
    cuped: bool

    def stats(self, row: pd.Series | dict[str, Any]) -> ArmStats:
        return arm_stats(row, self.index, self.metric, self.cuped)


@dataclass(frozen=True)
class Inference:
    """How the readout tests: the level ``alpha``, whether the confidence sequence governs
    (``sequential``), its ``tuning`` and the multiple-testing ``correction``."""

    alpha: float
    sequential: bool
    tuning: float
    correction: str = "holm"


def _test(est: EffectEstimate, alpha: float, sequential: bool, tuning: float, relative: bool = True
          ) -> FrequentistResult:
    if sequential:
        return evaluate_sequence(est, relative=relative, alpha=alpha, tuning=tuning, relative_method=RELATIVE_METHOD)
    return evaluate_estimate(est, relative=relative, alpha=alpha, relative_method=RELATIVE_METHOD)


def _finite(x: float) -> float:
    return x if math.isfinite(x) else math.nan


def _one(metric: MetricDef, arm: str, est: EffectEstimate, raw: EffectEstimate | None, *, inference: Inference,
         prior: NormalPrior | None, vr: float | None) -> dict[str, Any]:
    alpha, sequential, tuning = inference.alpha, inference.sequential, inference.tuning
    fixed = evaluate_estimate(est, relative=True, alpha=alpha, relative_method=RELATIVE_METHOD)
    seq = evaluate_sequence(est, relative=True, alpha=alpha, tuning=tuning, relative_method=RELATIVE_METHOD)
    gov = seq if sequential else fixed
    absolute = _test(est, alpha, sequential, tuning, relative=False)
    bayes = evaluate_posterior(est, relative=True, prior=prior, alpha=alpha,
                               higher_is_better=metric.higher_is_better)
    row: dict[str, Any] = {
        "metric": metric.name, "role": metric.role, "kind": metric.kind, "arm": arm,
        "higher_is_better": metric.higher_is_better,
        "n_control": est.n_control, "n_arm": est.n_treatment,
        "control_mean": est.control_mean, "arm_mean": est.treatment_mean,
        "lift_abs": absolute.effect, "lift_abs_ci_low": _finite(absolute.ci_low),
        "lift_abs_ci_high": _finite(absolute.ci_high),
        "lift_rel": gov.effect, "p_value": gov.p_value,
        "fixed_ci_low": _finite(fixed.ci_low), "fixed_ci_high": _finite(fixed.ci_high), "fixed_p": fixed.p_value,
        "seq_ci_low": _finite(seq.ci_low), "seq_ci_high": _finite(seq.ci_high), "seq_p": seq.p_value,
        "chance_to_win": bayes.chance_to_win, "risk_control": bayes.risk_control,
        "risk_arm": bayes.risk_treatment,
        "cuped": raw is not None, "variance_reduction": vr if vr is not None else math.nan,
        "degenerate": gov.degenerate or est.degenerate,
    }
    if raw is not None:
        unadj = _test(raw, alpha, sequential, tuning)
        row.update(unadjusted_lift_rel=unadj.effect, unadjusted_ci_low=_finite(unadj.ci_low),
                   unadjusted_ci_high=_finite(unadj.ci_high))
    if metric.role == "guardrail":
        # non-inferiority at the relative margin: one-sided at alpha (the bound of the 1 - 2 alpha interval)
        m = metric.margin
        if sequential:
            two = evaluate_sequence(est, relative=True, alpha=min(2 * alpha, 0.999), tuning=tuning,
                                    relative_method=RELATIVE_METHOD)
            bound = two.ci_low if metric.higher_is_better else two.ci_high
        else:
            ni = evaluate_estimate(est, relative=True, alpha=alpha,
                                   alternative="greater" if metric.higher_is_better else "less",
                                   null_value=-m if metric.higher_is_better else m, test="non-inferiority",
                                   relative_method=RELATIVE_METHOD)
            bound = ni.ci_low if metric.higher_is_better else ni.ci_high
        ok = (bound > -m) if metric.higher_is_better else (bound < m)
        row.update(margin=m, ni_bound=_finite(bound),
                   guardrail="pass" if (ok and math.isfinite(bound)) else "fail")
    return row


def compare_metrics(aggs: pd.DataFrame, metrics: Sequence[MetricDef], arms: Sequence[str], control: str, *,
                    cuped: Sequence[str], inference: Inference, prior: NormalPrior | None,
                    scope: str) -> pd.DataFrame:
    """One row per (metric, treatment arm); see the module docstring. ``aggs``: overall rows by arm."""
    by_arm = {str(r["arm"]): r for _, r in aggs.iterrows()}
    rows = []
    for i, metric in enumerate(metrics):
        use_cuped = metric.name in cuped
        stats = {a: arm_stats(by_arm[a], i, metric, use_cuped) for a in arms}
        theta = vr = None
        if use_cuped:
            adj = [s for s in stats.values() if isinstance(s, RegressionAdjustedStats)]
            theta, vr = cuped_theta(*adj), variance_reduction(*adj)
        for arm in arms:
            if arm == control:
                continue
            est = estimate_effect(stats[control], stats[arm], theta=theta)
            raw = None
            if use_cuped:
                plain = {a: arm_stats(by_arm[a], i, metric, False) for a in (control, arm)}
                raw = estimate_effect(plain[control], plain[arm])
            rows.append(_one(metric, arm, est, raw, inference=inference, prior=prior, vr=vr))
            rows[-1]["_est"] = est
    table = pd.DataFrame(rows)
    for col in ("margin", "ni_bound", "unadjusted_lift_rel", "unadjusted_ci_low", "unadjusted_ci_high"):
        if col not in table:
            table[col] = math.nan
    if "guardrail" not in table:
        table["guardrail"] = None
    return apply_correction(table, inference, scope)


def apply_correction(table: pd.DataFrame, inference: Inference, scope: str,
                     family: pd.Series | None = None) -> pd.DataFrame:
    """Adjusted p-values and intervals at the matching levels (``ci_low``/``ci_high``, relative).

    The family is the primary metric's rows (``scope="primary"``) or every row (``"all"``), unless
    ``family`` (a boolean mask) is given; rows outside it keep their p-value and level ``alpha``.
    """
    correction, alpha = inference.correction, inference.alpha
    if scope not in SCOPES:
        raise DataError(f"correction_scope must be 'primary' (the primary metric across arms) or 'all' "
                        f"(every metric and arm), got {scope!r}")
    table = table.copy()
    if family is None:
        family = table["role"].eq("primary") if scope == "primary" else pd.Series(True, index=table.index)
    levels = np.full(len(table), alpha)
    adjusted = table["p_value"].to_numpy(dtype=float).copy()
    method = correction_method(correction)
    idx = np.flatnonzero(family.to_numpy())
    if method and len(idx):
        res = correct(adjusted[idx], method=method, alpha=alpha)
        adjusted[idx] = res.adjusted
        levels[idx] = res.alphas
    table["p_value_adj"] = adjusted
    table["ci_level"] = 1 - levels
    table["in_family"] = family.to_numpy()
    lows, highs = [], []
    for est, level in zip(table["_est"], levels, strict=True):
        interval = _test(est, float(level), inference.sequential, inference.tuning)
        lows.append(_finite(interval.ci_low))
        highs.append(_finite(interval.ci_high))
    table["ci_low"], table["ci_high"] = lows, highs
    ok = table["degenerate"].isna()
    table["significant"] = ok & (table["p_value_adj"] < alpha)
    return table


def srm(counts: Sequence[int], weights: Sequence[float] | None, alpha: float) -> Any:
    """SRM test of unit counts per arm (arm order) against the planned weights."""
    return srm_test(list(counts), weights, alpha)


def compare_segments(aggs: pd.DataFrame, segments: Sequence[str], primary: PrimaryMetric, arms: Sequence[str],
                     control: str, *, inference: Inference, min_users: int, weights: Sequence[float] | None,
                     srm_alpha: float) -> pd.DataFrame:
    """The primary metric's lift per segment level and arm, corrected across all segment tests."""
    rows = []
    for seg in segments:
        part = aggs[aggs["set"] == seg]
        for level, grp in part.groupby("level", sort=True):
            by_arm = {str(r["arm"]): r for _, r in grp.iterrows() if r["arm"] is not None and r["arm"] == r["arm"]}
            counts = [int(by_arm[a]["n"]) if a in by_arm else 0 for a in arms]
            srm_p = srm_test(counts, weights, srm_alpha).p_value if sum(counts) and all(counts) else math.nan
            for arm in arms:
                if arm == control:
                    continue
                base: dict[str, Any] = {"segment": seg, "level": level, "arm": arm, "users_control": counts[
                    list(arms).index(control)], "users_arm": counts[list(arms).index(arm)], "srm_p": srm_p,
                    "role": "primary"}
                if min(base["users_control"], base["users_arm"]) < max(min_users, 2):
                    continue
                est = estimate_effect(primary.stats(by_arm[control]), primary.stats(by_arm[arm]))
                res = _test(est, inference.alpha, inference.sequential, inference.tuning)
                rows.append(base | {"control_mean": est.control_mean, "arm_mean": est.treatment_mean,
                                    "lift_rel": res.effect, "lift_se": est.on_scale(True)[1] if not res.degenerate
                                    else math.nan, "p_value": res.p_value,
                                    "degenerate": res.degenerate, "_est": est})
    cols = ["segment", "level", "arm", "users_control", "users_arm", "srm_p", "control_mean", "arm_mean",
            "lift_rel", "lift_se", "p_value", "p_value_adj", "ci_low", "ci_high", "significant"]
    if not rows:
        return pd.DataFrame(columns=cols)
    table = pd.DataFrame(rows)
    table = apply_correction(table, inference, "all")
    return table[cols]


HETEROGENEITY_COLUMNS = ["segment", "arm", "levels", "q", "df", "i2", "p_value", "p_value_adj", "differs",
                         "lift_min", "level_min", "lift_max", "level_max"]


def heterogeneity(segments: pd.DataFrame, alpha: float, correction: str) -> pd.DataFrame:
    """Does the effect differ between the levels of a breakdown? Cochran's Q per segment column and arm.

    Over the levels tested (non-degenerate, at least ``min_segment_users`` per arm), with the
    relative lift theta_i of each level and its delta-method variance v_i as weights w_i = 1/v_i:
    Q = sum w_i (theta_i - theta_w)^2 with theta_w the weighted mean, chi-square with k - 1 df
    under "the same effect in every level" (the fixed-effect meta-analysis test, as statsmodels'
    ``combine_effects``); I^2 = max(0, (Q - df) / Q) is the share of the spread beyond chance. The
    p-values are corrected with ``correction`` across breakdowns and arms; ``differs`` when the
    corrected p is below ``alpha``. A breakdown with fewer than 2 levels tested gets no test (NaN).
    This, not "a level whose lift differs from zero", answers "does the effect depend on the
    segment": with a uniform lift some level is often significant on its own and another not.
    """
    rows = []
    for (seg, arm), grp in segments.groupby(["segment", "arm"], sort=False):
        ok = grp[np.isfinite(grp["lift_se"].astype(float)) & (grp["lift_se"].astype(float) > 0)]
        theta = ok["lift_rel"].to_numpy(dtype=float)
        w = 1.0 / ok["lift_se"].to_numpy(dtype=float) ** 2
        row: dict[str, Any] = {"segment": seg, "arm": arm, "levels": len(ok), "q": math.nan, "df": len(ok) - 1,
                               "i2": math.nan, "p_value": math.nan, "lift_min": math.nan, "level_min": None,
                               "lift_max": math.nan, "level_max": None}
        if len(ok) >= 2:
            q = float(np.sum(w * (theta - np.sum(w * theta) / np.sum(w)) ** 2))
            lo, hi = int(np.argmin(theta)), int(np.argmax(theta))
            row.update(q=q, i2=max(0.0, (q - (len(ok) - 1)) / q) if q > 0 else 0.0,
                       p_value=float(st.chi2.sf(q, len(ok) - 1)), lift_min=float(theta[lo]),
                       level_min=ok["level"].iloc[lo], lift_max=float(theta[hi]), level_max=ok["level"].iloc[hi])
        rows.append(row)
    table = pd.DataFrame(rows, columns=[c for c in HETEROGENEITY_COLUMNS if c not in ("p_value_adj", "differs")])
    p = table["p_value"].to_numpy(dtype=float)
    adjusted = p.copy()
    tested = np.flatnonzero(np.isfinite(p))
    method = correction_method(correction)
    if method and len(tested):
        adjusted[tested] = correct(p[tested], method=method, alpha=alpha).adjusted
    table["p_value_adj"] = adjusted
    table["differs"] = np.isfinite(adjusted) & (adjusted < alpha)
    return table[HETEROGENEITY_COLUMNS]


def cumulative(aggs: pd.DataFrame, primary: PrimaryMetric, arms: Sequence[str], control: str, *,
               inference: Inference) -> pd.DataFrame:
    """Lift of the primary metric among users assigned up to each day (fixed CI and sequence)."""
    alpha, tuning = inference.alpha, inference.tuning
    days = aggs[aggs["set"] == "day"].copy()
    cols = [c for c in days.columns if c not in ("set", "level", "arm")]
    out = []
    wide = {a: days[days["arm"] == a].set_index("level")[cols].sort_index() for a in arms}
    all_days = sorted(set().union(*[set(w.index) for w in wide.values()]))
    cum = {a: w.reindex(all_days, fill_value=0).cumsum() for a, w in wide.items()}
    for arm in arms:
        if arm == control:
            continue
        for day in all_days:
            rc, rt = cum[control].loc[day], cum[arm].loc[day]
            if min(rc["n"], rt["n"]) < 2:
                continue
            est = estimate_effect(primary.stats(rc), primary.stats(rt))
            fixed = evaluate_estimate(est, relative=True, alpha=alpha, relative_method=RELATIVE_METHOD)
            seq = evaluate_sequence(est, relative=True, alpha=alpha, tuning=tuning, relative_method=RELATIVE_METHOD)
            out.append({"day": pd.Timestamp(day), "arm": arm, "users": int(rc["n"] + rt["n"]),
                        "lift_rel": fixed.effect, "ci_low": _finite(fixed.ci_low),
                        "ci_high": _finite(fixed.ci_high), "cs_low": _finite(seq.ci_low),
                        "cs_high": _finite(seq.ci_high)})
    return pd.DataFrame(out, columns=["day", "arm", "users", "lift_rel", "ci_low", "ci_high", "cs_low",
                                      "cs_high"])
