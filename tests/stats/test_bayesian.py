"""Bayesian readout: prior behaviour, direction, degenerate inputs."""

from __future__ import annotations

import math

import pytest
from scipy import stats as st

from playbook.errors import DataError
from playbook.stats import NormalPrior, ProportionStats, SampleMeanStats, bayesian_test


def test_flat_prior_equals_frequentist_normal_interval() -> None:
    a, b = ProportionStats(1000, 100), ProportionStats(1000, 120)
    r = bayesian_test(a, b, relative=False)
    assert r.effect == pytest.approx(0.02)
    se = math.sqrt(0.1 * 0.9 / 1000 + 0.12 * 0.88 / 1000)
    assert r.se == pytest.approx(se)
    assert r.chance_to_win == pytest.approx(st.norm.cdf(0.02 / se))


def test_risk_identity() -> None:
    """E[max(d,0)] - E[max(-d,0)] = E[d]: the two risks differ by the posterior mean."""
    r = bayesian_test(ProportionStats(500, 60), ProportionStats(500, 70))
    assert r.risk_control - r.risk_treatment == pytest.approx(r.effect)


def test_strong_prior_shrinks_towards_prior_mean() -> None:
    a, b = ProportionStats(200, 20), ProportionStats(200, 30)
    flat = bayesian_test(a, b)
    tight = bayesian_test(a, b, prior=NormalPrior(0.0, 1e-6))
    assert abs(tight.effect) < 0.01 * abs(flat.effect)
    assert tight.se < flat.se


def test_lower_is_better_flips_chance_and_risk() -> None:
    a, b = SampleMeanStats(100, 1000.0, 10100.0), SampleMeanStats(100, 1050.0, 11130.0)
    up = bayesian_test(a, b)
    down = bayesian_test(a, b, higher_is_better=False)
    assert down.chance_to_win == pytest.approx(1 - up.chance_to_win)
    assert (down.risk_control, down.risk_treatment) == pytest.approx((up.risk_treatment, up.risk_control))


def test_degenerate_is_a_coin_flip_without_nan() -> None:
    r = bayesian_test(ProportionStats(0, 0), ProportionStats(10, 5))
    assert r.degenerate == "empty_arm"
    assert r.chance_to_win == 0.5 and r.risk == (0.0, 0.0)
    assert not any(math.isnan(v) for v in (r.effect, r.ci_low, r.ci_high, r.se))


def test_prior_variance_must_be_positive() -> None:
    with pytest.raises(DataError, match="prior=None for a flat prior"):
        NormalPrior(0.0, 0.0)
