"""Seeded simulations: calibration of the readout's tests.

Each test runs with a small ``size`` by default and a large one behind ``@pytest.mark.slow``
(``pytest -m slow``). Tolerances: in the large run the brief's fixed ones (type-I error and
coverage within +-1 percentage point, power within +-3 points); in the small run 4 binomial
standard errors of the simulated rate (``rate_tolerance``), so a correct engine fails with
probability about 6e-5 per check. Sufficient statistics are simulated directly where possible
(binomial counts; normal sums with chi-square sums of squares).
"""

from __future__ import annotations

import numpy as np
import pytest

from playbook.stats import (
    MetricSpec,
    ProportionStats,
    RegressionAdjustedStats,
    SampleMeanStats,
    confidence_sequence_test,
    group_sequential_test,
    power_at,
    sample_size,
    ttest,
)

from ._helpers import rate_tolerance, simulate_mean_arms

ALPHA = 0.05


def sizes(small: int, large: int) -> list[object]:
    return [pytest.param(small, id=f"size{small}"), pytest.param(large, id=f"size{large}", marks=pytest.mark.slow)]


def tolerance(p: float, size: int, fixed: float, large: bool) -> float:
    return fixed if large else rate_tolerance(p, size)


@pytest.mark.parametrize("size", sizes(2000, 40000))
def test_aa_type_one_error_proportions(size: int) -> None:
    rng = np.random.default_rng(101)
    n = 2000
    xa, xb = rng.binomial(n, 0.1, size), rng.binomial(n, 0.1, size)
    p = np.array([ttest(ProportionStats(n, a), ProportionStats(n, b)).p_value for a, b in zip(xa, xb, strict=True)])
    rate = float(np.mean(p < ALPHA))
    assert abs(rate - ALPHA) <= tolerance(ALPHA, size, 0.01, size > 2000), rate


@pytest.mark.parametrize("size", sizes(2000, 40000))
def test_aa_type_one_error_means_small_unequal_arms(size: int) -> None:
    """Welch at 15 vs 40 units with different variances: t with Welch df keeps alpha."""
    rng = np.random.default_rng(102)
    na, sa, sba = simulate_mean_arms(rng, size, 15, 5.0, 1.0)
    nb, sb, sbb = simulate_mean_arms(rng, size, 40, 5.0, 3.0)
    p = np.array(
        [
            ttest(SampleMeanStats(int(na[i]), sa[i], sba[i]), SampleMeanStats(int(nb[i]), sb[i], sbb[i]), relative=False).p_value
            for i in range(size)
        ]
    )
    rate = float(np.mean(p < ALPHA))
    assert abs(rate - ALPHA) <= tolerance(ALPHA, size, 0.01, size > 2000), rate


@pytest.mark.parametrize("size", sizes(1000, 20000))
def test_aa_type_one_error_cuped(size: int) -> None:
    rng = np.random.default_rng(103)
    n = 200
    x = rng.gamma(2, 5, (size, 2, n))
    y = 0.8 * x + rng.normal(0, 4, (size, 2, n))
    rej = 0
    for i in range(size):
        a = RegressionAdjustedStats.from_values(y[i, 0], x[i, 0])
        b = RegressionAdjustedStats.from_values(y[i, 1], x[i, 1])
        rej += ttest(a, b).p_value < ALPHA
    rate = rej / size
    assert abs(rate - ALPHA) <= tolerance(ALPHA, size, 0.01, size > 1000), rate


@pytest.mark.parametrize("size", sizes(2000, 40000))
def test_relative_ci_coverage(size: int) -> None:
    """95% delta-method intervals for a true +10% relative lift cover it 95% of the time."""
    rng = np.random.default_rng(104)
    n, pa, pb = 5000, 0.10, 0.11
    xa, xb = rng.binomial(n, pa, size), rng.binomial(n, pb, size)
    true = pb / pa - 1
    covered = 0
    for a, b in zip(xa, xb, strict=True):
        r = ttest(ProportionStats(n, a), ProportionStats(n, b))
        covered += r.ci_low <= true <= r.ci_high
    rate = covered / size
    assert abs(rate - 0.95) <= tolerance(0.95, size, 0.01, size > 2000), rate


@pytest.mark.parametrize("size", sizes(2000, 40000))
def test_absolute_ci_coverage_means(size: int) -> None:
    rng = np.random.default_rng(105)
    na, sa, sqa = simulate_mean_arms(rng, size, 50, 10.0, 4.0)
    nb, sb, sqb = simulate_mean_arms(rng, size, 70, 11.0, 6.0)
    covered = 0
    for i in range(size):
        r = ttest(SampleMeanStats(50, sa[i], sqa[i]), SampleMeanStats(70, sb[i], sqb[i]), relative=False)
        covered += r.ci_low <= 1.0 <= r.ci_high
    rate = covered / size
    assert abs(rate - 0.95) <= tolerance(0.95, size, 0.01, size > 2000), rate


def _daily_counts(rng: np.random.Generator, size: int, days: int, per_day: int, p: float) -> np.ndarray:
    return np.cumsum(rng.binomial(per_day, p, (size, days)), axis=1)


@pytest.mark.parametrize("size", sizes(400, 10000))
def test_confidence_sequence_type_one_error_with_daily_looks(size: int) -> None:
    """30 daily looks at an A/A test: the always-valid test stays at or under alpha.

    The naive fixed-horizon test, stopped at the first p < 0.05, is shown to exceed alpha by far.
    """
    rng = np.random.default_rng(106)
    days, per_day, p = 30, 200, 0.2
    ca, cb = _daily_counts(rng, size, days, per_day, p), _daily_counts(rng, size, days, per_day, p)
    seq_reject = naive_reject = 0
    for i in range(size):
        seq_hit = naive_hit = False
        for d in range(days):
            a, b = ProportionStats(per_day * (d + 1), ca[i, d]), ProportionStats(per_day * (d + 1), cb[i, d])
            seq_hit = seq_hit or confidence_sequence_test(a, b, tuning=per_day * days).p_value < ALPHA
            naive_hit = naive_hit or ttest(a, b, distribution="z").p_value < ALPHA
            if seq_hit and naive_hit:
                break
        seq_reject += seq_hit
        naive_reject += naive_hit
    seq_rate, naive_rate = seq_reject / size, naive_reject / size
    slack = 0.0 if size > 400 else rate_tolerance(ALPHA, size)
    assert seq_rate <= ALPHA + slack, seq_rate
    assert naive_rate > 2 * ALPHA, naive_rate


@pytest.mark.parametrize("size", sizes(1000, 20000))
def test_group_sequential_type_one_error(size: int) -> None:
    """O'Brien-Fleming spending over 5 planned looks spends alpha, not more."""
    rng = np.random.default_rng(107)
    looks, per_look, p = 5, 1000, 0.3
    ca, cb = _daily_counts(rng, size, looks, per_look, p), _daily_counts(rng, size, looks, per_look, p)
    planned = 2 * looks * per_look
    rejected = 0
    for i in range(size):
        for k in range(looks):
            n = per_look * (k + 1)
            r = group_sequential_test(
                ProportionStats(n, ca[i, k]), ProportionStats(n, cb[i, k]),
                planned_n=planned, previous_n=[2 * per_look * (j + 1) for j in range(k)], relative=False,
            )
            if r.significant:
                rejected += 1
                break
    rate = rejected / size
    assert abs(rate - ALPHA) <= tolerance(ALPHA, size, 0.01, size > 1000), rate


@pytest.mark.parametrize("size", sizes(1000, 8000))
def test_simulated_power_matches_design_proportions(size: int) -> None:
    rng = np.random.default_rng(108)
    design = sample_size(MetricSpec.proportion(0.1), 0.1, power=0.8)
    n = design.units_control
    xa, xb = rng.binomial(n, 0.10, size), rng.binomial(n, 0.11, size)
    rate = float(np.mean([ttest(ProportionStats(n, a), ProportionStats(n, b)).significant for a, b in zip(xa, xb, strict=True)]))
    assert abs(rate - 0.8) <= tolerance(0.8, size, 0.03, size > 1000), rate


@pytest.mark.parametrize("size", sizes(1000, 8000))
def test_simulated_power_matches_design_means_small_n(size: int) -> None:
    """At about 20 units per arm the noncentral t matters; the Welch readout reaches the design power."""
    rng = np.random.default_rng(109)
    design = sample_size(MetricSpec.mean_metric(10.0, 1.0), 0.1, power=0.9)
    n = design.units_control
    na, sa, qa = simulate_mean_arms(rng, size, n, 10.0, 1.0)
    nb, sb, qb = simulate_mean_arms(rng, size, n, 11.0, 1.0)
    rate = float(np.mean([ttest(SampleMeanStats(n, sa[i], qa[i]), SampleMeanStats(n, sb[i], qb[i])).significant for i in range(size)]))
    achieved = power_at(MetricSpec.mean_metric(10.0, 1.0), 0.1, n)  # rounding n up adds a little power
    assert achieved == pytest.approx(0.9, abs=0.02)
    assert abs(rate - achieved) <= tolerance(achieved, size, 0.03, size > 1000), rate
