"""CUPED: regression adjustment with a pre-period covariate (Deng, Xu, Kohavi & Walker, 2013).

For each unit we know the metric in the experiment (post, y) and the same metric before
assignment (pre, x). Because x is fixed before randomization, ``y - theta * (x - mean(x))``
has the same expectation in every arm but a smaller variance, by the factor ``1 - rho**2``
where rho is the correlation of x and y. The lift estimate is

    (mean_y_b - mean_y_a) - theta * (mean_x_b - mean_x_a)

Choice of theta: the **pooled within-arm slope**
``theta = sum_k S_xy,k / sum_k S_xx,k`` (S = centered sums of products inside arm k). With
this theta the estimate equals, to floating-point precision, the OLS coefficient of the
treatment dummy in ``post ~ treatment + (pre - mean(pre))`` (Frisch-Waugh-Lovell), so an
analyst can check it with statsmodels. gbstats pools the covariance over both arms ignoring the
arm (the total slope); the two differ by terms of order (effect x covariate imbalance) and agree
as n grows. The standard error treats theta as known (as gbstats and Deng et al. do); it agrees
with the heteroskedasticity-robust OLS standard error to O(1/n) (tests pin the tolerance).

Binary metrics are handled by the same formulas (post values 0/1). Ratio metrics
(sum m / sum d) are first **linearized** by the delta method: unit i contributes
(m_i - R d_i) / mean(d) to the post ratio R and (m'_i - R' d'_i) / mean(d') to the pre ratio R',
and CUPED is applied to those linearized contributions; every needed (co)variance comes from
the 4x4 cross-product matrix in :class:`~playbook.stats.suffstats.RatioRegressionAdjustedStats`.

Functions here return per-arm building blocks; :func:`playbook.stats.effects.estimate_effect`
turns a pair of arms into lift, standard error and degrees of freedom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from playbook.errors import DataError
from playbook.stats.suffstats import RatioRegressionAdjustedStats, RegressionAdjustedStats

__all__ = [
    "AdjustedArm",
    "adjusted_arm",
    "cuped_theta",
    "variance_reduction",
]


@dataclass(frozen=True)
class AdjustedArm:
    """One arm after regression adjustment.

    ``estimate`` is the adjusted mean (up to a constant common to all arms), ``variance`` its
    per-unit variance, ``mean`` and ``mean_variance`` the unadjusted post mean and per-unit
    variance, and ``cov_estimate_mean`` the per-unit covariance of the two (for the delta method
    of the relative lift).
    """

    n: int
    mean: float
    mean_variance: float
    estimate: float
    variance: float
    cov_estimate_mean: float


def _moments(arm: RegressionAdjustedStats | RatioRegressionAdjustedStats) -> tuple[float, float, float, float, float]:
    """(post mean, pre mean, var post, var pre, cov post-pre) per unit, after linearization for ratios."""
    if isinstance(arm, RegressionAdjustedStats):
        return arm.post.mean, arm.pre.mean, arm.post.variance, arm.pre.variance, arm.covariance
    if isinstance(arm, RatioRegressionAdjustedStats):
        mu = arm.means
        if mu[1] == 0 or mu[3] == 0:
            raise DataError(
                "ratio CUPED: a denominator sums to 0 in an arm (post or pre); the ratio is undefined there. "
                "Drop the arm or use the unadjusted ratio."
            )
        r, rp = mu[0] / mu[1], mu[2] / mu[3]
        g = np.array([1.0 / mu[1], -r / mu[1], 0.0, 0.0])
        gp = np.array([0.0, 0.0, 1.0 / mu[3], -rp / mu[3]])
        cov = arm.cov_matrix
        return float(r), float(rp), float(g @ cov @ g), float(gp @ cov @ gp), float(g @ cov @ gp)
    raise DataError(f"CUPED needs RegressionAdjustedStats or RatioRegressionAdjustedStats, got {type(arm).__name__}")


def cuped_theta(*arms: RegressionAdjustedStats | RatioRegressionAdjustedStats) -> float:
    """The pooled within-arm slope of post on pre (see module docstring); 0.0 without pre variance."""
    sxx = sxy = 0.0
    for arm in arms:
        if arm.n < 2:
            continue
        _, _, _, vx, cxy = _moments(arm)
        sxx += (arm.n - 1) * vx
        sxy += (arm.n - 1) * cxy
    return sxy / sxx if sxx > 0 else 0.0


def adjusted_arm(
    arm: RegressionAdjustedStats | RatioRegressionAdjustedStats, theta: float
) -> AdjustedArm:
    """Apply the adjustment with a given theta to one arm."""
    my, mx, vy, vx, cxy = _moments(arm)
    return AdjustedArm(
        n=arm.n,
        mean=my,
        mean_variance=vy,
        estimate=my - theta * mx,
        variance=max(vy + theta * theta * vx - 2.0 * theta * cxy, 0.0),
        cov_estimate_mean=vy - theta * cxy,
    )


def variance_reduction(*arms: RegressionAdjustedStats | RatioRegressionAdjustedStats) -> float:
    """Estimated share of variance removed by CUPED, 1 - Var(adjusted)/Var(post), pooled over arms.

    This is rho**2 of the pooled within-arm regression; use it as ``variance_reduction`` in
    :mod:`playbook.stats.power` to size the next experiment.
    """
    theta = cuped_theta(*arms)
    num = den = 0.0
    for arm in arms:
        if arm.n < 2:
            continue
        a = adjusted_arm(arm, theta)
        num += (arm.n - 1) * a.variance
        den += (arm.n - 1) * a.mean_variance
    return 1.0 - num / den if den > 0 else 0.0
