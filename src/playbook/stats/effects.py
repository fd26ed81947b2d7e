"""From two arms' sufficient statistics to an effect estimate: lift, standard error, df.

Every test (frequentist, Bayesian, sequential) starts from :func:`estimate_effect`, so the
variance model is the same everywhere, including in :mod:`playbook.stats.power`:

* **Unpooled variances.** Var(mean_b - mean_a) = v_b / n_b + v_a / n_a with each arm's own
  per-unit variance v (see :mod:`~playbook.stats.suffstats` for v). This is the Welch test;
  gbstats and Spotify confidence do the same. A pooled variance (classic Student t, or the
  pooled z test of statsmodels' ``proportions_ztest``) assumes equal variances, which a
  treatment that changes the metric breaks; the difference in p is small (14/28 vs 16/30:
  p 0.807 unpooled t vs 0.800 pooled z) but the unpooled one stays valid under unequal
  variances and unequal allocation.
* **Relative lift by the delta method.** rel = (mean_b - mean_a) / mean_a with
  Var(rel) ~ Var(diff)/mean_a^2 - 2 diff Cov(diff, mean_a)/mean_a^3 + diff^2 Var(mean_a)/mean_a^4,
  which for plain means reduces to gbstats' v_b/(n_b m_a^2) + v_a m_b^2/(n_a m_a^4).
* **Fieller's interval** (:mod:`playbook.stats.fieller`) is the alternative to the delta
  method for the relative lift at small samples; the estimate carries what it needs.
* **Welch-Satterthwaite degrees of freedom**, df = (s_a + s_b)^2 / (s_a^2/(n_a-1) + s_b^2/(n_b-1))
  with s = v / n, used by t-based tests for both the absolute and the relative lift.

Degenerate inputs give a named result, never NaN (:class:`Degenerate`):

    empty_arm          an arm has no units
    too_few_units      an arm has 1 unit of a mean/ratio metric: its variance cannot be estimated
    zero_variance      both arms are constant: the standard error is 0
    zero_denominator   a ratio metric's denominator sums to 0 in an arm
    zero_control_mean  the relative lift was asked for and the control mean is 0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from playbook.errors import DataError
from playbook.stats.cuped import AdjustedArm, adjusted_arm, cuped_theta
from playbook.stats.suffstats import (
    ArmStats,
    ProportionStats,
    RatioRegressionAdjustedStats,
    RatioStats,
    RegressionAdjustedStats,
    SampleMeanStats,
)

__all__ = ["Degenerate", "EffectEstimate", "estimate_effect"]


class Degenerate(StrEnum):
    """Why an effect could not be estimated; the value is what result dataclasses carry."""

    EMPTY_ARM = "empty_arm"
    TOO_FEW_UNITS = "too_few_units"
    ZERO_VARIANCE = "zero_variance"
    ZERO_DENOMINATOR = "zero_denominator"
    ZERO_CONTROL_MEAN = "zero_control_mean"


@dataclass(frozen=True)
class EffectEstimate:
    """Treatment minus control, on both scales, with standard errors.

    ``control_mean``/``treatment_mean`` are the unadjusted arm means (rates, ratios);
    ``absolute``/``relative`` the (CUPED-adjusted, if ``theta`` is set) lift;
    ``df`` the Welch-Satterthwaite degrees of freedom; ``degenerate`` names why the absolute
    lift could not be estimated (relative: see :meth:`on_scale`). ``control_mean_se`` is the
    standard error of ``control_mean`` (the relative lift's denominator) and
    ``cov_absolute_control`` the covariance of ``absolute`` with it: what Fieller's interval of
    the relative lift needs (:mod:`playbook.stats.fieller`); NaN where no estimate exists.
    """

    control_mean: float
    treatment_mean: float
    n_control: int
    n_treatment: int
    absolute: float
    absolute_se: float
    relative: float
    relative_se: float
    df: float
    degenerate: str | None = None
    theta: float | None = None
    control_mean_se: float = math.nan
    cov_absolute_control: float = 0.0

    def on_scale(self, relative: bool) -> tuple[float, float, str | None]:
        """(effect, standard error, degenerate reason) on the relative or absolute scale."""
        if relative:
            reason = self.degenerate
            if reason is None and self.control_mean == 0:
                reason = Degenerate.ZERO_CONTROL_MEAN.value
            return self.relative, self.relative_se, reason
        return self.absolute, self.absolute_se, self.degenerate

    def for_test(self, relative: bool) -> tuple[float, float, str | None]:
        """:meth:`on_scale`, with a standard error that is not positive and finite reported as
        ``zero_variance``: what every test reads before it computes anything."""
        effect, se, reason = self.on_scale(relative)
        if reason is None and not 0 < se < math.inf:
            reason = Degenerate.ZERO_VARIANCE.value
        return effect, se, reason

    @property
    def arms(self) -> dict[str, Any]:
        """The arms' means and sizes, as the result dataclasses of every test carry them."""
        return {
            "control_mean": self.control_mean,
            "treatment_mean": self.treatment_mean,
            "n_control": self.n_control,
            "n_treatment": self.n_treatment,
        }


def _plain(arm: ProportionStats | SampleMeanStats | RatioStats) -> AdjustedArm:
    v = arm.variance
    return AdjustedArm(arm.n, arm.mean, v, arm.mean, v, v)


def _welch_df(a: AdjustedArm, b: AdjustedArm) -> float:
    sa, sb = a.variance / a.n, b.variance / b.n
    den = 0.0
    if a.n > 1:
        den += sa * sa / (a.n - 1)
    if b.n > 1:
        den += sb * sb / (b.n - 1)
    if den <= 0:
        return math.inf
    return (sa + sb) ** 2 / den


def _degenerate(control: ArmStats, treatment: ArmStats) -> str | None:
    if control.n == 0 or treatment.n == 0:
        return Degenerate.EMPTY_ARM.value
    if not isinstance(control, ProportionStats) and min(control.n, treatment.n) < 2:
        return Degenerate.TOO_FEW_UNITS.value
    for arm in (control, treatment):
        if isinstance(arm, RatioStats) and arm.d_sum == 0:
            return Degenerate.ZERO_DENOMINATOR.value
        if isinstance(arm, RatioRegressionAdjustedStats) and (arm.sums[1] == 0 or arm.sums[3] == 0):
            return Degenerate.ZERO_DENOMINATOR.value
    return None


def estimate_effect(control: ArmStats, treatment: ArmStats, theta: float | None = None) -> EffectEstimate:
    """Estimate treatment minus control (absolute and relative) from two arms' statistics.

    Both arms must be the same kind. For regression-adjusted kinds (CUPED) ``theta`` defaults
    to the pooled within-arm slope of the two arms (:func:`playbook.stats.cuped.cuped_theta`);
    pass one to use a theta fitted on more arms. A degenerate pair gives effect 0 (or the point
    estimate where defined), standard error ``inf`` and ``degenerate`` set.
    """
    if type(control) is not type(treatment):
        raise DataError(
            f"control is {type(control).__name__} but treatment is {type(treatment).__name__}; "
            "compare the same metric kind in both arms"
        )
    reason = _degenerate(control, treatment)
    if reason is not None:
        return EffectEstimate(
            control_mean=control.mean,
            treatment_mean=treatment.mean,
            n_control=control.n,
            n_treatment=treatment.n,
            absolute=treatment.mean - control.mean if reason == Degenerate.TOO_FEW_UNITS else 0.0,
            absolute_se=math.inf,
            relative=0.0,
            relative_se=math.inf,
            df=math.inf,
            degenerate=reason,
        )
    if isinstance(control, RegressionAdjustedStats | RatioRegressionAdjustedStats):
        assert isinstance(treatment, RegressionAdjustedStats | RatioRegressionAdjustedStats)
        if theta is None:
            theta = cuped_theta(control, treatment)
        a, b = adjusted_arm(control, theta), adjusted_arm(treatment, theta)
    else:
        assert not isinstance(treatment, RegressionAdjustedStats | RatioRegressionAdjustedStats)
        theta = None
        a, b = _plain(control), _plain(treatment)

    diff = b.estimate - a.estimate
    var_diff = b.variance / b.n + a.variance / a.n
    arms: dict[str, Any] = {"control_mean": a.mean, "treatment_mean": b.mean, "n_control": a.n, "n_treatment": b.n}
    if var_diff <= 0:
        return EffectEstimate(
            **arms,
            absolute=diff,
            absolute_se=0.0,
            relative=diff / a.mean if a.mean else 0.0,
            relative_se=0.0,
            df=math.inf,
            degenerate=Degenerate.ZERO_VARIANCE.value,
            theta=theta,
        )
    if a.mean != 0:
        m = a.mean
        rel = diff / m
        var_rel = (
            var_diff / m**2
            + 2.0 * diff * (a.cov_estimate_mean / a.n) / m**3
            + diff**2 * (a.mean_variance / a.n) / m**4
        )
        rel_se = math.sqrt(max(var_rel, 0.0))
    else:
        rel, rel_se = 0.0, math.inf
    return EffectEstimate(
        **arms,
        absolute=diff,
        absolute_se=math.sqrt(var_diff),
        relative=rel,
        relative_se=rel_se,
        df=_welch_df(a, b),
        theta=theta,
        control_mean_se=math.sqrt(max(a.mean_variance, 0.0) / a.n),
        cov_absolute_control=-a.cov_estimate_mean / a.n,
    )
