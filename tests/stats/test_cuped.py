"""CUPED against statsmodels OLS ``post ~ treatment + (pre - mean(pre))``.

Pinned: the CUPED lift equals the OLS treatment coefficient to 1e-9 (relative; exact in theory
by Frisch-Waugh-Lovell with the pooled within-arm theta), and the CUPED standard error equals
the HC1 robust OLS standard error within 0.1% at 2000 units per arm (the difference is O(1/n):
CUPED treats theta as known).
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from playbook.stats import (
    RatioRegressionAdjustedStats,
    RatioStats,
    RegressionAdjustedStats,
    SampleMeanStats,
    cuped_theta,
    estimate_effect,
    ttest,
    variance_reduction,
)


def _data(rng: np.random.Generator, n: int, binary: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = rng.gamma(2, 5, 2 * n)
    t = np.r_[np.zeros(n), np.ones(n)]
    if binary:
        y = (rng.random(2 * n) < 1 / (1 + np.exp(-(x - 10) / 4 - 0.2 * t))).astype(float)
    else:
        y = 0.8 * x + rng.normal(0, 4 + 2 * t) + 0.5 * t
    return x, y, t


@pytest.mark.parametrize("binary", [False, True])
def test_cuped_matches_ols(binary: bool) -> None:
    rng = np.random.default_rng(21)
    n = 2000
    x, y, t = _data(rng, n, binary)
    a = RegressionAdjustedStats.from_values(y[:n], x[:n])
    b = RegressionAdjustedStats.from_values(y[n:], x[n:])
    est = estimate_effect(a, b)
    ols = sm.OLS(y, sm.add_constant(np.column_stack([t, x - x.mean()]))).fit(cov_type="HC1")
    assert est.absolute == pytest.approx(ols.params[1], rel=1e-9)
    assert est.absolute_se == pytest.approx(ols.bse[1], rel=1e-3)
    assert est.theta == pytest.approx(ols.params[2], rel=1e-9)


def test_cuped_reduces_variance_by_rho_squared() -> None:
    rng = np.random.default_rng(22)
    n = 5000
    x, y, _ = _data(rng, n)
    a = RegressionAdjustedStats.from_values(y[:n], x[:n])
    b = RegressionAdjustedStats.from_values(y[n:], x[n:])
    plain = estimate_effect(SampleMeanStats.from_values(y[:n]), SampleMeanStats.from_values(y[n:]))
    adjusted = estimate_effect(a, b)
    rho2 = variance_reduction(a, b)
    within_r2 = np.mean([a.correlation**2, b.correlation**2])
    assert rho2 == pytest.approx(within_r2, abs=0.02)
    assert adjusted.absolute_se**2 == pytest.approx(plain.absolute_se**2 * (1 - rho2), rel=0.02)


def test_zero_theta_is_the_unadjusted_test() -> None:
    rng = np.random.default_rng(23)
    x, y, _ = _data(rng, 300)
    a = RegressionAdjustedStats.from_values(y[:300], x[:300])
    b = RegressionAdjustedStats.from_values(y[300:], x[300:])
    plain = ttest(a.post, b.post)
    forced = ttest(a, b, theta=0.0)
    assert forced.effect == pytest.approx(plain.effect) and forced.se == pytest.approx(plain.se)
    assert forced.p_value == pytest.approx(plain.p_value)


def test_constant_covariate_falls_back_to_no_adjustment() -> None:
    y = np.random.default_rng(24).normal(size=200)
    a = RegressionAdjustedStats.from_values(y[:100], np.zeros(100))
    b = RegressionAdjustedStats.from_values(y[100:], np.zeros(100))
    assert cuped_theta(a, b) == 0.0
    assert variance_reduction(a, b) == pytest.approx(0.0)


def test_ratio_cuped_matches_ols_on_linearized_values() -> None:
    rng = np.random.default_rng(25)
    n = 3000
    dp = rng.poisson(3, 2 * n) + 1.0
    mp = dp * rng.gamma(3, 4, 2 * n)
    d = dp + rng.poisson(1, 2 * n)
    m = 0.7 * mp * d / dp + rng.gamma(2, 3, 2 * n) * d
    t = np.r_[np.zeros(n), np.ones(n)]
    arms = [RatioRegressionAdjustedStats.from_values(m[s], d[s], mp[s], dp[s]) for s in (slice(0, n), slice(n, None))]
    est = estimate_effect(arms[0], arms[1])
    # OLS on the delta-method linearized unit values (each arm linearized at its own ratio)
    lin, lin_pre = np.empty(2 * n), np.empty(2 * n)
    for s in (slice(0, n), slice(n, None)):
        r, rp = m[s].sum() / d[s].sum(), mp[s].sum() / dp[s].sum()
        lin[s] = r + (m[s] - r * d[s]) / d[s].mean()
        lin_pre[s] = rp + (mp[s] - rp * dp[s]) / dp[s].mean()
    ols = sm.OLS(lin, sm.add_constant(np.column_stack([t, lin_pre - lin_pre.mean()]))).fit(cov_type="HC1")
    assert est.absolute == pytest.approx(ols.params[1], rel=1e-9)
    assert est.absolute_se == pytest.approx(ols.bse[1], rel=2e-3)
    unadjusted = estimate_effect(arms[0].post, arms[1].post)
    assert isinstance(arms[0].post, RatioStats)
    assert est.absolute_se < 0.9 * unadjusted.absolute_se
