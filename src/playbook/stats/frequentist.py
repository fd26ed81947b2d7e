"""Frequentist two-sample tests: treatment vs control on sufficient statistics.

    ttest(control, treatment, relative=True, alternative="two-sided")   the readout's test
    non_inferiority_test(..., margin)       guardrail: "not worse than -margin"
    superiority_test(..., margin)           "better by more than margin"
    equivalence_test(..., margin)           TOST: "within +-margin"
    proportion_ztest(...)                   the pooled z test as statsmodels/textbooks define it

Conventions, and why (other tools differ; see also :mod:`playbook.stats.effects`):

* **Unpooled variances with Welch-Satterthwaite df and the t distribution** (gbstats). The
  readout never assumes equal variances in the arms. With the t distribution the tests are
  slightly more conservative than z at small n and identical at growth-experiment sizes; pass
  ``distribution="z"`` to reproduce z-based tools (Spotify confidence, statsmodels'
  ``ztest``). Binomial metrics use the same test with per-arm variance p(1-p): 14/28 vs 16/30
  gives relative lift 0.06667, p 0.80707 (gbstats), where statsmodels' pooled
  ``proportions_ztest`` gives 0.7996 (available here as :func:`proportion_ztest`).
* **Relative lift** (``relative=True``, the default, as in gbstats) is (b - a) / a with a
  delta-method standard error; ``relative=False`` gives the absolute difference b - a.
* **Fieller's interval** (``relative_method="fieller"``, :mod:`playbook.stats.fieller`) replaces
  the delta method for the relative lift's interval and p-value; its test of "no lift" is the
  absolute test. The default stays ``"delta"`` (gbstats' numbers); the readout uses Fieller.
* **Margins** (non-inferiority, superiority, equivalence) are relative to the control mean
  by default (``relative_margin=True``: margin 0.02 means 2% of the control mean, as in
  Spotify confidence) whatever the scale of the reported effect; ``relative_margin=False``
  reads the margin in the metric's units.
* **One-sided intervals** go with one-sided tests: ``greater`` gives (low, inf), ``less``
  (-inf, high), so that "interval excludes the null" and "p < alpha" always agree.

Degenerate inputs (empty arm, one unit, zero variance, zero control mean for a relative lift)
return a result with ``degenerate`` set to the reason (see
:class:`playbook.stats.effects.Degenerate`), p_value 1.0, se inf and CI (-inf, inf): the
honest "no information", never NaN and never significant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

from scipy import stats as st

from playbook.errors import DataError
from playbook.stats.effects import EffectEstimate, estimate_effect
from playbook.stats.fieller import (
    RelativeMethod,
    fieller_interval,
    fieller_statistic,
    supports_fieller,
)
from playbook.stats.proportions import two_proportion_ztest, z_statistic
from playbook.stats.suffstats import ArmStats, ProportionStats

__all__ = [
    "Alternative",
    "FrequentistResult",
    "equivalence_test",
    "non_inferiority_test",
    "proportion_ztest",
    "superiority_test",
    "ttest",
]

Alternative = Literal["two-sided", "greater", "less"]
Distribution = Literal["t", "z"]
Direction = Literal["increase", "decrease"]


@dataclass(frozen=True)
class FrequentistResult:
    """A test of treatment vs control.

    ``effect`` is on ``scale`` ("relative" or "absolute"); ``ci_low``/``ci_high`` is the
    (1 - alpha) interval matching the test (one-sided tests give an infinite side); ``se`` the
    standard error of the effect; ``p_value`` against ``null_value`` (for equivalence, the
    larger TOST p-value against +-``null_value``); ``statistic`` the t or z value; ``df`` the
    degrees of freedom (inf for z); ``test`` one of two-sided, greater, less, non-inferiority,
    superiority, equivalence, sequential, group-sequential. ``alpha`` is the level that
    ``p_value`` is compared with (for group-sequential: the nominal level of this look).
    """

    test: str
    scale: str
    effect: float
    ci_low: float
    ci_high: float
    se: float
    p_value: float
    alpha: float
    statistic: float
    df: float
    null_value: float
    control_mean: float
    treatment_mean: float
    n_control: int
    n_treatment: int
    distribution: str
    degenerate: str | None = None

    @property
    def significant(self) -> bool:
        """p_value < alpha on a non-degenerate result."""
        return self.degenerate is None and self.p_value < self.alpha


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise DataError(f"alpha must be between 0 and 1 (e.g. 0.05), got {alpha!r}")


def _dist(distribution: str, df: float) -> st.rv_continuous | st.rv_frozen:
    if distribution == "z" or math.isinf(df):
        return st.norm()
    if distribution == "t":
        return st.t(df)
    raise DataError(f"distribution must be 't' or 'z', got {distribution!r}")


def frequentist_result(
    est: EffectEstimate,
    *,
    relative: bool,
    test: str,
    alpha: float,
    null_value: float,
    distribution: str,
    df: float,
    readout: tuple[float, float, float, float, float] | None = None,
    reason: str | None = None,
) -> FrequentistResult:
    """The result of a test of ``est`` (shared by the fixed-horizon and the sequential tests).

    ``readout`` is (ci_low, ci_high, se, p_value, statistic). Without one the result is the
    honest "no information" of a degenerate estimate (``reason``, from
    :meth:`~playbook.stats.effects.EffectEstimate.for_test`): interval (-inf, inf), se inf, p 1.
    """
    effect = est.on_scale(relative)[0]
    low, high, se, p, stat = readout if readout is not None else (-math.inf, math.inf, math.inf, 1.0, 0.0)
    return FrequentistResult(
        test=test,
        scale="relative" if relative else "absolute",
        effect=effect,
        ci_low=low,
        ci_high=high,
        se=se,
        p_value=p,
        alpha=alpha,
        statistic=stat,
        df=df,
        null_value=null_value,
        distribution=distribution,
        degenerate=reason,
        **est.arms,
    )


def evaluate_estimate(
    est: EffectEstimate,
    *,
    relative: bool = True,
    alternative: Alternative = "two-sided",
    alpha: float = 0.05,
    null_value: float = 0.0,
    distribution: Distribution = "t",
    test: str | None = None,
    relative_method: RelativeMethod = "delta",
) -> FrequentistResult:
    """Test an :class:`~playbook.stats.effects.EffectEstimate` (what :func:`ttest` does after estimating).

    ``relative_method="fieller"`` gives the relative lift Fieller's interval and test
    (:mod:`playbook.stats.fieller`); the absolute scale is the same either way.
    """
    _check_alpha(alpha)
    if relative_method not in ("delta", "fieller"):
        raise DataError(f"relative_method must be 'delta' or 'fieller', got {relative_method!r}")
    if alternative not in ("two-sided", "greater", "less"):
        raise DataError(f"alternative must be 'two-sided', 'greater' or 'less', got {alternative!r}")
    effect, se, reason = est.for_test(relative)
    design: dict[str, Any] = {
        "relative": relative, "test": test or alternative, "alpha": alpha, "null_value": null_value,
        "distribution": distribution,
    }
    if reason is not None:
        return frequentist_result(est, df=est.df, reason=reason, **design)
    dist = _dist(distribution, est.df)
    df = math.inf if distribution == "z" else est.df
    if relative and relative_method == "fieller" and supports_fieller(est):
        stat = fieller_statistic(est, null_value)
        if alternative == "two-sided":
            p = 2.0 * float(dist.sf(abs(stat)))
            low, high = fieller_interval(est, float(dist.ppf(1.0 - alpha / 2.0)))
        elif alternative == "greater":
            p = float(dist.sf(stat))
            low, high = fieller_interval(est, float(dist.ppf(1.0 - alpha)))[0], math.inf
        else:
            p = float(dist.cdf(stat))
            low, high = -math.inf, fieller_interval(est, float(dist.ppf(1.0 - alpha)))[1]
        return frequentist_result(est, df=df, readout=(low, high, se, min(max(p, 0.0), 1.0), stat), **design)
    stat = (effect - null_value) / se
    if alternative == "two-sided":
        p = 2.0 * float(dist.sf(abs(stat)))
        q = float(dist.ppf(1.0 - alpha / 2.0))
        low, high = effect - q * se, effect + q * se
    elif alternative == "greater":
        p = float(dist.sf(stat))
        low, high = effect - float(dist.ppf(1.0 - alpha)) * se, math.inf
    else:
        p = float(dist.cdf(stat))
        low, high = -math.inf, effect + float(dist.ppf(1.0 - alpha)) * se
    return frequentist_result(est, df=df, readout=(low, high, se, min(max(p, 0.0), 1.0), stat), **design)

def ttest(
    control: ArmStats,
    treatment: ArmStats,
    *,
    relative: bool = True,
    alternative: Alternative = "two-sided",
    alpha: float = 0.05,
    null_value: float = 0.0,
    distribution: Distribution = "t",
    theta: float | None = None,
    relative_method: RelativeMethod = "delta",
) -> FrequentistResult:
    """Welch test of treatment vs control (any metric kind, CUPED if the stats carry a pre-period).

    ``alternative="greater"`` tests "treatment raises the metric". ``null_value`` is on the
    scale of the effect. ``theta`` overrides the CUPED slope (regression-adjusted stats only).
    ``relative_method``: ``"delta"`` (gbstats) or ``"fieller"`` (calibrated at small n).
    """
    est = estimate_effect(control, treatment, theta=theta)
    return evaluate_estimate(
        est, relative=relative, alternative=alternative, alpha=alpha, null_value=null_value, distribution=distribution,
        relative_method=relative_method,
    )


def _margin_on_scale(est: EffectEstimate, margin: float, relative: bool, relative_margin: bool) -> float:
    if margin < 0:
        raise DataError(f"margin must be >= 0 (a distance from no effect), got {margin!r}")
    if relative == relative_margin:
        return margin
    if relative_margin:  # margin is a share of the control mean, effect is absolute
        return margin * abs(est.control_mean)
    if est.control_mean == 0:  # absolute margin, relative effect
        return math.inf
    return margin / abs(est.control_mean)


def _margin_test(
    kind: str,
    control: ArmStats,
    treatment: ArmStats,
    *,
    margin: float,
    direction: Direction,
    relative: bool,
    relative_margin: bool,
    alpha: float,
    distribution: Distribution,
) -> FrequentistResult:
    if direction not in ("increase", "decrease"):
        raise DataError(f"direction must be 'increase' or 'decrease' (the preferred direction), got {direction!r}")
    est = estimate_effect(control, treatment)
    m = _margin_on_scale(est, margin, relative, relative_margin)
    # non-inferiority: H0 effect <= -m (increase preferred); superiority: H0 effect <= +m
    sign = 1.0 if direction == "increase" else -1.0
    null = sign * (-m if kind == "non-inferiority" else m)
    return evaluate_estimate(
        est,
        relative=relative,
        alternative="greater" if direction == "increase" else "less",
        alpha=alpha,
        null_value=null,
        distribution=distribution,
        test=kind,
    )


def non_inferiority_test(
    control: ArmStats,
    treatment: ArmStats,
    *,
    margin: float,
    direction: Direction = "increase",
    relative: bool = True,
    relative_margin: bool = True,
    alpha: float = 0.05,
    distribution: Distribution = "t",
) -> FrequentistResult:
    """Guardrail test: is the treatment no worse than ``margin`` in the non-preferred direction?

    With ``direction="increase"`` (higher is better) H0 is effect <= -margin; a significant
    result means the metric did not drop by the margin or more. The interval is one-sided
    (low, inf) at level 1 - alpha.
    """
    return _margin_test(
        "non-inferiority", control, treatment, margin=margin, direction=direction, relative=relative,
        relative_margin=relative_margin, alpha=alpha, distribution=distribution,
    )


def superiority_test(
    control: ArmStats,
    treatment: ArmStats,
    *,
    margin: float,
    direction: Direction = "increase",
    relative: bool = True,
    relative_margin: bool = True,
    alpha: float = 0.05,
    distribution: Distribution = "t",
) -> FrequentistResult:
    """Is the treatment better than control by more than ``margin`` in the preferred direction?"""
    return _margin_test(
        "superiority", control, treatment, margin=margin, direction=direction, relative=relative,
        relative_margin=relative_margin, alpha=alpha, distribution=distribution,
    )


def equivalence_test(
    control: ArmStats,
    treatment: ArmStats,
    *,
    margin: float,
    relative: bool = True,
    relative_margin: bool = True,
    alpha: float = 0.05,
    distribution: Distribution = "t",
) -> FrequentistResult:
    """TOST: is the effect inside (-margin, +margin)?

    ``p_value`` is the larger of the two one-sided p-values; the interval is the two-sided
    (1 - 2 alpha) interval, which lies inside +-margin exactly when p_value < alpha.
    ``null_value`` holds the margin on the effect's scale.
    """
    _check_alpha(alpha)
    est = estimate_effect(control, treatment)
    m = _margin_on_scale(est, margin, relative, relative_margin)
    lower = evaluate_estimate(est, relative=relative, alternative="greater", alpha=alpha, null_value=-m, distribution=distribution)
    upper = evaluate_estimate(est, relative=relative, alternative="less", alpha=alpha, null_value=m, distribution=distribution)
    two = evaluate_estimate(est, relative=relative, alpha=2 * alpha, distribution=distribution)
    return replace(
        two,
        test="equivalence",
        p_value=max(lower.p_value, upper.p_value),
        alpha=alpha,
        statistic=min(lower.statistic, -upper.statistic),
        null_value=m,
    )


def proportion_ztest(
    control: ProportionStats,
    treatment: ProportionStats | None = None,
    *,
    value: float = 0.0,
    alternative: Alternative = "two-sided",
    pooled: bool = True,
) -> tuple[float, float]:
    """The z test for proportions as statsmodels' ``proportions_ztest`` computes it: (z, p).

    One sample (``treatment=None``): H0 p = ``value``, variance from the sample proportion.
    Two samples: H0 p_b - p_a = ``value``, with the pooled proportion in the variance when
    ``pooled`` (statsmodels' default; the readout's :func:`ttest` is unpooled), computed by the
    vectorized :func:`playbook.stats.proportions.two_proportion_ztest`. A zero variance (all or
    no successes) follows :func:`playbook.stats.proportions.z_statistic`: z = 0 when the
    difference is the null value (p = 1), else +-inf. An empty sample raises DataError.
    """
    if treatment is None:
        if control.n == 0:
            raise DataError("proportion_ztest: the sample is empty; there is nothing to test")
        p = control.mean
        z = float(z_statistic(p - value, math.sqrt(p * (1 - p) / control.n)))
    else:
        if control.n == 0 or treatment.n == 0:
            raise DataError("proportion_ztest: an arm is empty; both arms need units")
        zs, _ = two_proportion_ztest(treatment.successes, treatment.n, control.successes,
                                     control.n, pooled=pooled, value=value)
        z = float(zs)
    if alternative == "two-sided":
        p_value = 2 * float(st.norm.sf(abs(z)))
    elif alternative == "greater":
        p_value = float(st.norm.sf(z))
    elif alternative == "less":
        p_value = float(st.norm.cdf(z))
    else:
        raise DataError(f"alternative must be 'two-sided', 'greater' or 'less', got {alternative!r}")
    return z, p_value
