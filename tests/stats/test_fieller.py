"""Fieller's interval of the relative lift: exact by construction, calibrated at 200 users per arm.

The default run simulates 2000 A/A tests and checks each tail against alpha/2 (4 binomial
standard errors); the delta method fails it at once (its upper tail is 0.0002, its lower 0.060).
The slow run simulates 40000 and holds the type-I error within +-1 point of alpha.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize
from scipy import stats as st

from playbook.analyses.experiment.arms import RELATIVE_METHOD
from playbook.stats import (
    ArmStats,
    ProportionStats,
    RegressionAdjustedStats,
    SampleMeanStats,
    confidence_sequence_test,
    estimate_effect,
    non_inferiority_test,
    ttest,
)
from playbook.stats.fieller import fieller_interval

from ._helpers import rate_tolerance

ALPHA = 0.05


def test_bounds_are_where_the_test_of_each_ratio_reaches_the_critical_value() -> None:
    """Independent of the module: per-user values, Welch's statistic of mean_b - r mean_a = 0, brentq."""
    rng = np.random.default_rng(7)
    a, b = rng.gamma(2.0, 5.0, 60), rng.gamma(2.0, 6.5, 80)
    res = ttest(SampleMeanStats.from_values(a), SampleMeanStats.from_values(b), relative_method="fieller")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    q = st.t.ppf(0.975, df)

    def excess(r: float) -> float:
        return abs(b.mean() - (1 + r) * a.mean()) / math.sqrt(vb + (1 + r) ** 2 * va) - q

    rel = b.mean() / a.mean() - 1
    low = optimize.brentq(excess, -0.99, rel)
    high = optimize.brentq(excess, rel, 20.0)
    assert (res.ci_low, res.ci_high) == pytest.approx((low, high), abs=1e-9)
    assert res.effect == pytest.approx(rel, abs=1e-12)
    # asymmetric around the estimate (the delta method's is symmetric), and p is Welch's
    assert res.ci_high - rel > rel - res.ci_low
    assert res.p_value == pytest.approx(st.ttest_ind(b, a, equal_var=False).pvalue, rel=1e-9)


@pytest.mark.parametrize("kind", ["proportion", "mean", "cuped"])
def test_no_lift_test_is_the_absolute_test(kind: str) -> None:
    rng = np.random.default_rng(8)
    c: ArmStats
    t: ArmStats
    if kind == "proportion":
        c, t = ProportionStats(300, 31), ProportionStats(310, 45)
    elif kind == "mean":
        c, t = SampleMeanStats.from_values(rng.gamma(2, 5, 150)), SampleMeanStats.from_values(rng.gamma(2, 6, 170))
    else:
        x = rng.gamma(2, 5, (2, 200))
        y = 0.8 * x + rng.normal(0, 4, (2, 200)) + np.array([[0.0], [1.0]])
        c, t = RegressionAdjustedStats.from_values(y[0], x[0]), RegressionAdjustedStats.from_values(y[1], x[1])
    rel = ttest(c, t, relative_method="fieller")
    absolute = ttest(c, t, relative=False)
    assert rel.p_value == pytest.approx(absolute.p_value, rel=1e-12)
    assert (rel.ci_low > 0) == (absolute.ci_low > 0) and (rel.ci_high < 0) == (absolute.ci_high < 0)
    seq_rel = confidence_sequence_test(c, t, relative_method="fieller")
    assert seq_rel.p_value == pytest.approx(confidence_sequence_test(c, t, relative=False).p_value, rel=1e-12)


def test_converges_to_the_delta_method_at_large_n() -> None:
    c, t = ProportionStats(200_000, 20_000), ProportionStats(200_000, 21_000)
    fieller = ttest(c, t, relative_method="fieller")
    delta = ttest(c, t)
    assert (fieller.ci_low, fieller.ci_high) == pytest.approx((delta.ci_low, delta.ci_high), abs=2e-4)


def test_unbounded_when_the_control_mean_is_not_distinguishable_from_zero() -> None:
    rng = np.random.default_rng(9)
    a, b = rng.normal(0.1, 1.0, 30), rng.normal(0.5, 1.0, 30)
    est = estimate_effect(SampleMeanStats.from_values(a), SampleMeanStats.from_values(b))
    assert abs(est.control_mean) / est.control_mean_se < 1.96
    assert fieller_interval(est, 1.96) == (-math.inf, math.inf)


def test_one_sided_non_inferiority_bound_is_the_two_sided_bound_at_twice_alpha() -> None:
    c, t = ProportionStats(400, 120), ProportionStats(400, 112)
    ni = non_inferiority_test(c, t, margin=0.2)
    est = estimate_effect(c, t)
    from playbook.stats.frequentist import evaluate_estimate

    ni_f = evaluate_estimate(est, alternative="greater", null_value=-0.2, relative_method="fieller")
    two = ttest(c, t, alpha=0.10, relative_method="fieller")
    assert ni_f.ci_low == pytest.approx(two.ci_low, abs=1e-12) and ni_f.ci_high == math.inf
    assert (ni_f.p_value < ALPHA) == (ni_f.ci_low > -0.2)
    assert ni.significant == ni_f.significant  # both methods agree far from the boundary


def _tails(size: int, method: str) -> tuple[float, float]:
    rng = np.random.default_rng(110)
    n, p = 200, 0.10
    xa, xb = rng.binomial(n, p, size), rng.binomial(n, p, size)
    low = high = 0
    for a, b in zip(xa, xb, strict=True):
        r = ttest(ProportionStats(n, int(a)), ProportionStats(n, int(b)), relative_method=method)  # type: ignore[arg-type]
        low += r.ci_high < 0
        high += r.ci_low > 0
    return low / size, high / size


@pytest.mark.parametrize("size", [pytest.param(2000, id="size2000"),
                                  pytest.param(40000, id="size40000", marks=pytest.mark.slow)])
def test_readout_relative_test_keeps_alpha_at_200_users_per_arm(size: int) -> None:
    """A/A at 200 users per arm on a 10% rate: the readout's relative test (RELATIVE_METHOD)."""
    low, high = _tails(size, RELATIVE_METHOD)
    if size > 2000:
        assert abs(low + high - ALPHA) <= 0.01, (low, high)
        assert abs(low - ALPHA / 2) <= 0.01 and abs(high - ALPHA / 2) <= 0.01, (low, high)
    else:
        tol = rate_tolerance(ALPHA / 2, size)
        assert abs(low - ALPHA / 2) <= tol and abs(high - ALPHA / 2) <= tol, (low, high)
        assert abs(low + high - ALPHA) <= rate_tolerance(ALPHA, size), (low, high)


def test_the_delta_method_is_what_fails_there() -> None:
    """The reason for Fieller: the same simulation with the delta method puts all its errors in one tail."""
    low, high = _tails(2000, "delta")
    assert high < 0.005 and low > 0.045, (low, high)
