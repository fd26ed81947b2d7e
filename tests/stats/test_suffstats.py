"""Sufficient statistics: constructors, combination, capping, validation errors."""

from __future__ import annotations

import numpy as np
import pytest

from playbook.errors import DataError
from playbook.stats import (
    ProportionStats,
    RatioRegressionAdjustedStats,
    RatioStats,
    RegressionAdjustedStats,
    SampleMeanStats,
    cap_value,
)


def test_sample_mean_from_values_matches_numpy() -> None:
    x = np.random.default_rng(0).normal(3, 2, 500)
    s = SampleMeanStats.from_values(x)
    assert s.n == 500
    assert s.mean == pytest.approx(x.mean(), rel=1e-12)
    assert s.variance == pytest.approx(x.var(ddof=1), rel=1e-10)


def test_proportion_variance_is_maximum_likelihood() -> None:
    s = ProportionStats.from_values([1, 0, 1, 1])
    assert (s.n, s.successes, s.mean) == (4, 3.0, 0.75)
    assert s.variance == pytest.approx(0.75 * 0.25)


def test_addition_combines_disjoint_units() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=40), rng.normal(size=60)
    both = SampleMeanStats.from_values(np.r_[x, y])
    combined = SampleMeanStats.from_values(x) + SampleMeanStats.from_values(y)
    assert combined.n == both.n
    assert combined.sum == pytest.approx(both.sum) and combined.sum_squares == pytest.approx(both.sum_squares)
    assert ProportionStats(10, 3) + ProportionStats(5, 5) == ProportionStats(15, 8)
    m, d, mp, dp = rng.gamma(2, size=(4, 30))
    r1 = RatioRegressionAdjustedStats.from_values(m[:10], d[:10], mp[:10], dp[:10])
    r2 = RatioRegressionAdjustedStats.from_values(m[10:], d[10:], mp[10:], dp[10:])
    whole = RatioRegressionAdjustedStats.from_values(m, d, mp, dp)
    np.testing.assert_allclose((r1 + r2).cov_matrix, whole.cov_matrix, rtol=1e-10)


def test_ratio_delta_variance_matches_linearization() -> None:
    rng = np.random.default_rng(2)
    d = rng.poisson(3, 2000) + 1.0
    m = d * rng.gamma(2, 10, 2000)
    s = RatioStats.from_values(m, d)
    r = m.sum() / d.sum()
    linear = (m - r * d) / d.mean()
    assert s.mean == pytest.approx(r)
    assert s.variance == pytest.approx(linear.var(ddof=1), rel=1e-9)


def test_regression_adjusted_moments() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=300)
    y = 2 * x + rng.normal(size=300)
    s = RegressionAdjustedStats.from_values(y, x)
    assert s.covariance == pytest.approx(np.cov(x, y)[0, 1])
    assert s.correlation == pytest.approx(np.corrcoef(x, y)[0, 1])
    assert s.mean == pytest.approx(y.mean())


def test_capping_by_value_and_quantile() -> None:
    x = np.arange(1.0, 101.0)
    assert SampleMeanStats.from_values(x, cap=50).sum == pytest.approx(sum(range(1, 51)) + 50 * 50)
    cap = cap_value(x, 0.9)
    assert SampleMeanStats.from_values(x, cap_quantile=0.9) == SampleMeanStats.from_values(x, cap=cap)
    with pytest.raises(DataError, match="either cap"):
        SampleMeanStats.from_values(x, cap=1, cap_quantile=0.5)


def test_constant_values_have_zero_variance_not_negative() -> None:
    s = SampleMeanStats.from_values(np.full(1000, 0.1))
    assert s.variance == 0.0


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ProportionStats(10, 11), "successes must be between 0 and n"),
        (lambda: ProportionStats(-1, 0), "non-negative integer"),
        (lambda: SampleMeanStats(10, 10.0, 1.0), "inconsistent"),
        (lambda: SampleMeanStats.from_values([1.0, np.nan]), "NaN"),
        (lambda: ProportionStats.from_values([0, 2]), "0/1"),
        (lambda: RatioStats.from_values([1.0, 2.0], [1.0]), "denominator"),
    ],
)
def test_bad_input_raises_clear_error(build, message: str) -> None:
    with pytest.raises(DataError, match=message):
        build()


def test_empty_and_single_unit_do_not_produce_nan() -> None:
    assert SampleMeanStats(0, 0.0, 0.0).mean == 0.0
    assert SampleMeanStats(1, 5.0, 25.0).variance == 0.0
    assert ProportionStats(0, 0).variance == 0.0
