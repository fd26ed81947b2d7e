"""Confidence sequences and group-sequential alpha spending."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from playbook.errors import DataError
from playbook.stats import (
    ProportionStats,
    SampleMeanStats,
    confidence_sequence_test,
    crossing_probability,
    group_sequential_test,
    spending_bounds,
    ttest,
)
from playbook.stats.sequential import critical_value
from playbook.stats.spending import spending_function


def test_confidence_sequence_is_wider_than_fixed_interval() -> None:
    a, b = ProportionStats(4000, 400), ProportionStats(4000, 450)
    seq = confidence_sequence_test(a, b)
    fixed = ttest(a, b, distribution="z")
    assert seq.effect == pytest.approx(fixed.effect)
    assert seq.ci_high - seq.ci_low > fixed.ci_high - fixed.ci_low
    assert (seq.p_value < 0.05) == (seq.ci_low > 0 or seq.ci_high < 0)


def test_p_value_and_interval_agree_at_the_boundary() -> None:
    """The always-valid p-value equals alpha exactly where the sequence touches zero."""
    n_total = 6000
    c = critical_value(n_total, 0.05, 5000)
    se = 0.01
    # build an estimate with lift/se = c by hand through the public evaluate function
    from playbook.stats.effects import EffectEstimate
    from playbook.stats.sequential import evaluate_sequence

    est = EffectEstimate(1.0, 1.0 + c * se, 3000, 3000, c * se, se, c * se, se, math.inf)
    r = evaluate_sequence(est, relative=False)
    assert r.p_value == pytest.approx(0.05, rel=1e-9)
    assert r.ci_low == pytest.approx(0.0, abs=1e-12)


def test_critical_value_is_smallest_near_tuning() -> None:
    values = {n: critical_value(n, 0.05, 5000) for n in (500, 5000, 50000)}
    assert values[5000] < values[500] and values[5000] < values[50000]
    assert all(v > st.norm.isf(0.025) for v in values.values())


def test_sequential_validates_tuning() -> None:
    with pytest.raises(DataError, match="tuning"):
        confidence_sequence_test(ProportionStats(10, 5), ProportionStats(10, 6), tuning=0)


def test_lan_demets_obrien_fleming_five_looks() -> None:
    """Published Lan-DeMets O'Brien-Fleming-type bounds (gsDesign sfLDOF / ldbounds), K = 5."""
    b = spending_bounds([0.2, 0.4, 0.6, 0.8, 1.0], 0.05, "obrien_fleming")
    np.testing.assert_allclose(b.z_bounds, [4.8769, 3.3569, 2.6803, 2.2898, 2.0310], atol=2e-4)
    assert b.cumulative_alpha[-1] == pytest.approx(0.05, abs=1e-6)


def test_lan_demets_pocock_five_looks() -> None:
    b = spending_bounds([0.2, 0.4, 0.6, 0.8, 1.0], 0.05, "pocock")
    np.testing.assert_allclose(b.z_bounds, [2.4380, 2.4268, 2.4101, 2.3966, 2.3859], atol=2e-4)


@pytest.mark.parametrize("spending", ["obrien_fleming", "pocock", "power"])
def test_bounds_match_multivariate_normal(spending: str) -> None:
    """Cross-check the recursive integration with scipy's multivariate normal for 3 looks."""
    t = np.array([0.3, 0.65, 1.0])
    b = spending_bounds(t, 0.05, spending)  # type: ignore[arg-type]
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))  # corr(Z_i, Z_j) = sqrt(t_i/t_j)
    z = np.array(b.z_bounds)
    stay = st.multivariate_normal(mean=np.zeros(3), cov=cov, abseps=1e-7, releps=1e-7, seed=1).cdf(z, lower_limit=-z)
    assert 1 - stay == pytest.approx(0.05, abs=2e-5)
    assert b.cumulative_alpha[0] == pytest.approx(2 * spending_function(0.3, 0.025, spending), rel=1e-9)  # type: ignore[arg-type]


def test_one_sided_single_look_is_the_fixed_test() -> None:
    b = spending_bounds([1.0], 0.05, "obrien_fleming", sides=1)
    assert b.z_bounds[0] == pytest.approx(st.norm.isf(0.05), rel=1e-8)


def test_crossing_probability_is_power() -> None:
    b = spending_bounds([1.0], 0.05)
    drift = st.norm.isf(0.025) + st.norm.isf(0.2)
    assert crossing_probability(b, drift) == pytest.approx(0.8, abs=1e-4)
    assert crossing_probability(b, 0.0) == pytest.approx(0.05, abs=1e-6)


def test_group_sequential_readout_and_final_look() -> None:
    a, b = SampleMeanStats(5000, 10000.0, 25000.0), SampleMeanStats(5000, 10150.0, 25500.0)
    final = group_sequential_test(a, b, planned_n=10000, previous_n=[2500, 5000, 7500], relative=False)
    bounds = spending_bounds([0.25, 0.5, 0.75, 1.0], 0.05)
    assert final.alpha == pytest.approx(bounds.nominal_alpha[-1])
    assert final.ci_high - final.effect == pytest.approx(bounds.z_bounds[-1] * final.se)
    assert final.significant == (abs(final.statistic) >= bounds.z_bounds[-1])


def test_information_must_increase() -> None:
    with pytest.raises(DataError, match="increase strictly"):
        spending_bounds([0.5, 0.4])
