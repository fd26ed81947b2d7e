"""Every reference value of shared/reference/experiment-cases.md, pinned.

Tolerance: 5 decimals (|x - ref| <= 5e-6, i.e. the reference is x rounded) where the
reference gives 5 decimals, otherwise the digits shown. The Spotify group-sequential case uses
Spotify's own test tolerance (numpy ``assert_almost_equal(decimal=3)``: |x - ref| < 1.5e-3),
see test_group_sequential_spotify.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from playbook.stats import (
    NormalPrior,
    ProportionStats,
    bayesian_test,
    confidence_sequence_test,
    group_sequential_test,
    non_inferiority_test,
    proportion_ztest,
    srm_test,
    ttest,
)
from playbook.stats.power import MetricSpec, power_at, sample_size

from ._helpers import mean_stats

D5 = 5e-6  # "5 decimals": the reference is the value rounded to 5 decimals


def close(x: float, ref: float, tol: float = D5) -> bool:
    return abs(x - ref) <= tol


# Welch t (gbstats frequentist tests) ------------------------------------------------------
WELCH_A = mean_stats(1396.87, 52377.9767, 3407)
WELCH_B = mean_stats(2422.7, 134698.29, 3461)


def test_welch_relative() -> None:
    r = ttest(WELCH_A, WELCH_B, relative=True)
    assert close(r.effect, 0.70732)
    assert close(r.ci_low, -0.03526) and close(r.ci_high, 1.44989)
    assert close(r.se, 0.37879)
    assert close(r.p_value, 0.06191)
    assert r.distribution == "t" and r.scale == "relative" and r.degenerate is None


def test_welch_absolute() -> None:
    r = ttest(WELCH_A, WELCH_B, relative=False)
    assert close(r.effect, 0.29)
    assert close(r.ci_low, 0.04538) and close(r.ci_high, 0.53462)
    assert close(r.se, 0.12478)
    assert close(r.p_value, 0.02016)


# Binomial, relative ---------------------------------------------------------------------
def test_binomial_relative_unpooled_t() -> None:
    r = ttest(ProportionStats(28, 14), ProportionStats(30, 16), relative=True)
    assert close(r.effect, 0.06667)
    assert close(r.ci_low, -0.47767) and close(r.ci_high, 0.61101)
    assert close(r.se, 0.2717, 5e-5)
    assert close(r.p_value, 0.80707)


def test_binomial_pooled_z_alternative() -> None:
    """The documented alternative: statsmodels' pooled z test gives p 0.7996."""
    _, p = proportion_ztest(ProportionStats(28, 14), ProportionStats(30, 16))
    assert close(p, 0.7996, 5e-5)


# Sequential confidence sequences ----------------------------------------------------------
def test_sequential_binomial() -> None:
    r = confidence_sequence_test(ProportionStats(3000, 1396), ProportionStats(3461, 2422), tuning=5000)
    assert close(r.effect, 0.50386)
    assert close(r.ci_low, 0.40098) and close(r.ci_high, 0.60675)
    assert close(r.se, 0.03386)
    assert close(r.p_value, 0.0)


def test_sequential_means_tuning_1000() -> None:
    r = confidence_sequence_test(
        mean_stats(1396.87, 52377.9767, 3000), mean_stats(2422.7, 134698.29, 3461), tuning=1000
    )
    assert close(r.effect, 0.50336)
    assert close(r.ci_low, -0.55844) and close(r.ci_high, 1.56516)
    assert r.p_value == 1.0


# Bayesian, flat and normal prior ----------------------------------------------------------
def test_bayesian_binomial_flat() -> None:
    r = bayesian_test(ProportionStats(100, 49), ProportionStats(100, 51))
    assert close(r.effect, 0.04082)
    assert close(r.ci_low, -0.24779) and close(r.ci_high, 0.32943)
    assert close(r.se, 0.14725)
    assert close(r.chance_to_win, 0.60918)
    assert close(r.risk_control, 0.0814, 5e-5) and close(r.risk_treatment, 0.04058)
    assert r.risk == (r.risk_control, r.risk_treatment)


MEANS_A = mean_stats(100, 1002.25, 10)
MEANS_B = mean_stats(105, 1111.5, 10)


def test_bayesian_means_flat_relative_scale() -> None:
    """The reference numbers are on the relative scale: mean 10 -> 10.5 is +0.05."""
    r = bayesian_test(MEANS_A, MEANS_B)
    assert close(r.effect, 0.05)
    assert close(r.ci_low, -0.02, 5e-3) and close(r.ci_high, 0.12, 5e-3)  # digits shown: 2
    assert close(r.chance_to_win, 0.91923)
    absolute = bayesian_test(MEANS_A, MEANS_B, relative=False)
    assert close(absolute.effect, 0.5)  # the absolute scale does not reproduce 0.05


def test_bayesian_means_normal_prior() -> None:
    r = bayesian_test(MEANS_A, MEANS_B, prior=NormalPrior(mean=0.1, variance=0.1))
    assert close(r.effect, 0.05063)
    assert close(r.ci_low, -0.01893) and close(r.ci_high, 0.12019)
    assert close(r.chance_to_win, 0.92315)


# Non-inferiority (Spotify confidence, z test) ---------------------------------------------
def test_non_inferiority_spotify() -> None:
    control = mean_stats(10021, 25142, 5000)
    treatment = mean_stats(9892, 24510, 5000)
    r = non_inferiority_test(
        control, treatment, margin=0.02, direction="increase", relative=False, alpha=0.01, distribution="z"
    )
    assert close(r.effect, -0.0258, 5e-5)
    assert close(r.ci_low, -0.0723, 5e-5)
    assert math.isinf(r.ci_high)
    assert r.test == "non-inferiority"
    assert close(r.null_value, -0.02 * control.mean, 1e-12)  # the margin is relative to control
    # the lower bound -0.0723 is below -margin * control mean = -0.0401: non-inferiority not shown
    assert not r.significant and r.ci_low < r.null_value


# Group sequential (Spotify confidence) ----------------------------------------------------
def test_group_sequential_spotify() -> None:
    """Spotify's test asserts decimal=3 (|x - ref| < 1.5e-3) against (-0.151, 0.121) and -0.0149.

    The exact difference is 2492/1250 - 2510/1250 = -0.0144 (what spotify-confidence 4.1.0
    prints); -0.0149 passes only within that tolerance. Spotify spends alpha as alpha * t^2
    ("power" spending, rho 2) over the information fraction 2500 / 1e4.
    """
    control = mean_stats(2510, 6304, 1250)
    treatment = mean_stats(2492, 6163, 1250)
    r = group_sequential_test(
        control, treatment, planned_n=1e4, alpha=0.01, spending="power", rho=2.0, relative=False
    )
    np.testing.assert_almost_equal(r.ci_low, -0.151, 3)
    np.testing.assert_almost_equal(r.ci_high, 0.121, 3)
    np.testing.assert_almost_equal(r.effect, -0.0149, 3)
    assert r.effect == pytest.approx(-0.0144, abs=1e-12)
    assert not r.significant


# statsmodels proportions_ztest --------------------------------------------------------------
def test_proportions_ztest_one_sample() -> None:
    _, p = proportion_ztest(ProportionStats(83, 5), value=0.05)
    assert close(p, 0.695, 5e-4)


def test_proportions_ztest_two_sample() -> None:
    _, p = proportion_ztest(ProportionStats(83, 5), ProportionStats(99, 12))
    assert close(p, 0.159, 5e-4)


# R power.prop.test (the pooled z test: null_variance="pooled"; the default sizes our unpooled readout)
def test_power_prop_test_power() -> None:
    power = power_at(MetricSpec.proportion(0.5), 0.25, 50, relative_mde=False, null_variance="pooled")
    assert close(power, 0.7401659, 5e-8)


def test_power_prop_test_n() -> None:
    r = sample_size(MetricSpec.proportion(0.5), 0.25, relative_mde=False, power=0.9, null_variance="pooled")
    assert close(r.n_control, 76.7, 0.05)
    r = sample_size(MetricSpec.proportion(0.03), -0.01, relative_mde=False, power=0.8, null_variance="pooled")
    assert close(r.n_control, 3825.15, 0.005)


# R power.t.test --------------------------------------------------------------------------
def test_power_t_test() -> None:
    metric = MetricSpec.mean_metric(0.0, 1.0)
    assert close(power_at(metric, 1.0, 20, relative_mde=False), 0.8689528, 5e-8)
    assert close(sample_size(metric, 1.0, relative_mde=False, power=0.9).n_control, 22.02110, D5)


# SRM ---------------------------------------------------------------------------------------
def test_srm_reference() -> None:
    r = srm_test([5000, 5200], [0.5, 0.5])
    assert close(r.chi2, 3.9216, 5e-5)
    assert close(r.p_value, 0.04767)
    assert not r.mismatch  # default alpha 0.001
