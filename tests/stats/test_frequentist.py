"""Frequentist tests against scipy/statsmodels, margins, TOST, and degenerate inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st
from statsmodels.stats.proportion import proportions_ztest
from statsmodels.stats.proportion import test_proportions_2indep as proportions_2indep
from statsmodels.stats.weightstats import ttest_ind

from playbook.errors import DataError
from playbook.stats import (
    Degenerate,
    ProportionStats,
    RatioStats,
    SampleMeanStats,
    equivalence_test,
    estimate_effect,
    non_inferiority_test,
    proportion_ztest,
    superiority_test,
    ttest,
)
from playbook.stats.frequentist import Alternative


@pytest.fixture
def arrays() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    return rng.normal(10, 2, 80), rng.normal(10.6, 3.5, 120)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_welch_matches_scipy(arrays: tuple[np.ndarray, np.ndarray], alternative: Alternative) -> None:
    a, b = arrays
    r = ttest(SampleMeanStats.from_values(a), SampleMeanStats.from_values(b), relative=False, alternative=alternative)
    ref = st.ttest_ind(b, a, equal_var=False, alternative=alternative)
    assert r.statistic == pytest.approx(ref.statistic, rel=1e-10)
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert r.df == pytest.approx(ref.df, rel=1e-10)
    ci = ref.confidence_interval(0.95)
    assert (r.ci_low, r.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_welch_matches_statsmodels_unequal(arrays: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = arrays
    stat, p, df = ttest_ind(b, a, usevar="unequal")
    r = ttest(SampleMeanStats.from_values(a), SampleMeanStats.from_values(b), relative=False)
    assert (r.statistic, r.p_value, r.df) == pytest.approx((stat, p, df))


def test_z_option_uses_normal_quantiles(arrays: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = arrays
    r = ttest(SampleMeanStats.from_values(a), SampleMeanStats.from_values(b), relative=False, distribution="z")
    assert r.p_value == pytest.approx(2 * st.norm.sf(abs(r.statistic)))
    assert math.isinf(r.df)


@pytest.mark.parametrize(("count", "nobs"), [([5, 12], [83, 99]), ([40, 55], [400, 410]), ([3, 0], [10, 12])])
def test_pooled_ztest_matches_statsmodels(count: list[int], nobs: list[int]) -> None:
    z, p = proportion_ztest(ProportionStats(nobs[1], count[1]), ProportionStats(nobs[0], count[0]))
    z_ref, p_ref = proportions_ztest(count, nobs)
    assert (z, p) == pytest.approx((z_ref, p_ref))


def test_unpooled_ztest_matches_statsmodels_unpooled() -> None:
    z, p = proportion_ztest(ProportionStats(83, 5), ProportionStats(99, 12), pooled=False)
    ref = proportions_2indep(12, 99, 5, 83, method="wald")
    assert (z, p) == pytest.approx((ref.statistic, ref.pvalue))


def test_one_sided_intervals_agree_with_p(arrays: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = (SampleMeanStats.from_values(x) for x in arrays)
    g = ttest(a, b, alternative="greater", relative=False)
    assert math.isinf(g.ci_high) and (g.ci_low > 0) == (g.p_value < 0.05)
    low = ttest(a, b, alternative="less", relative=False)
    assert math.isinf(low.ci_low) and low.p_value == pytest.approx(1 - g.p_value)


def test_relative_delta_method_matches_gbstats_formula() -> None:
    a, b = SampleMeanStats(500, 1000.0, 2600.0), SampleMeanStats(480, 1010.0, 2700.0)
    e = estimate_effect(a, b)
    gb = b.variance / (a.mean**2 * b.n) + a.variance * b.mean**2 / (a.mean**4 * a.n)
    assert e.relative_se == pytest.approx(math.sqrt(gb), rel=1e-12)


def test_ratio_metric_test_runs_and_uses_delta_variance() -> None:
    rng = np.random.default_rng(4)
    d = rng.poisson(3, (2, 3000)) + 1.0
    m = d * rng.gamma(2, 5, (2, 3000))
    a, b = RatioStats.from_values(m[0], d[0]), RatioStats.from_values(m[1], d[1])
    r = ttest(a, b, relative=False)
    assert r.effect == pytest.approx(b.mean - a.mean)
    assert r.se == pytest.approx(math.sqrt(a.variance / a.n + b.variance / b.n))


def test_margin_tests() -> None:
    a, b = SampleMeanStats(5000, 10000.0, 25000.0), SampleMeanStats(5000, 10010.0, 25100.0)
    ni = non_inferiority_test(a, b, margin=0.02)  # relative scale, relative margin
    assert ni.null_value == -0.02 and ni.significant and ni.test == "non-inferiority"
    sup = superiority_test(a, b, margin=0.02)
    assert sup.null_value == 0.02 and not sup.significant
    dec = non_inferiority_test(a, b, margin=0.02, direction="decrease")
    assert dec.null_value == 0.02 and math.isinf(dec.ci_low)
    absolute = non_inferiority_test(a, b, margin=0.05, relative=False, relative_margin=False)
    assert absolute.null_value == -0.05


def test_equivalence_tost() -> None:
    a, b = SampleMeanStats(5000, 10000.0, 25000.0), SampleMeanStats(5000, 10010.0, 25100.0)
    eq = equivalence_test(a, b, margin=0.05)
    assert eq.significant
    assert -0.05 < eq.ci_low < eq.ci_high < 0.05
    narrow = equivalence_test(a, b, margin=0.001)
    assert not narrow.significant
    # TOST p is the larger one-sided p
    lo = ttest(a, b, alternative="greater", null_value=-0.001)
    hi = ttest(a, b, alternative="less", null_value=0.001)
    assert narrow.p_value == pytest.approx(max(lo.p_value, hi.p_value))


@pytest.mark.parametrize(
    ("control", "treatment", "relative", "reason"),
    [
        (SampleMeanStats(0, 0.0, 0.0), SampleMeanStats(10, 5.0, 5.0), False, Degenerate.EMPTY_ARM),
        (ProportionStats(0, 0), ProportionStats(10, 5), True, Degenerate.EMPTY_ARM),
        (SampleMeanStats(1, 3.0, 9.0), SampleMeanStats(10, 5.0, 5.0), False, Degenerate.TOO_FEW_UNITS),
        (SampleMeanStats(5, 5.0, 5.0), SampleMeanStats(5, 10.0, 20.0), False, Degenerate.ZERO_VARIANCE),
        (ProportionStats(100, 0), ProportionStats(100, 0), False, Degenerate.ZERO_VARIANCE),
        (ProportionStats(100, 0), ProportionStats(100, 3), True, Degenerate.ZERO_CONTROL_MEAN),
        (RatioStats(5, 1.0, 1.0, 0.0, 0.0, 0.0), RatioStats(5, 1.0, 1.0, 2.0, 2.0, 1.0), False, Degenerate.ZERO_DENOMINATOR),
    ],
)
def test_degenerate_inputs_give_named_results(control, treatment, relative: bool, reason: Degenerate) -> None:
    r = ttest(control, treatment, relative=relative)
    assert r.degenerate == reason.value
    assert r.p_value == 1.0 and not r.significant
    assert (r.ci_low, r.ci_high) == (-math.inf, math.inf)
    values = [r.effect, r.se, r.p_value, r.statistic, r.df, r.control_mean, r.treatment_mean]
    assert not any(math.isnan(v) for v in values)


def test_zero_variance_in_one_arm_is_fine() -> None:
    r = ttest(SampleMeanStats(10, 10.0, 10.0), SampleMeanStats(10, 12.0, 20.0), relative=False)
    assert r.degenerate is None and r.df == pytest.approx(9.0)


def test_errors_name_the_problem() -> None:
    with pytest.raises(DataError, match="same metric kind"):
        ttest(ProportionStats(10, 5), SampleMeanStats(10, 5.0, 5.0))
    with pytest.raises(DataError, match="alpha must be between 0 and 1"):
        ttest(ProportionStats(10, 5), ProportionStats(10, 6), alpha=5)
    with pytest.raises(DataError, match="alternative"):
        ttest(ProportionStats(10, 5), ProportionStats(10, 6), alternative="bigger")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="an arm is empty"):
        proportion_ztest(ProportionStats(10, 10), ProportionStats(0, 0))


def test_zero_variance_is_one_rule_for_the_scalar_and_the_vectorized_z_test() -> None:
    """All-converted (or none) in both arms: no difference to see, z = 0 and p = 1, in the
    readout's scalar test and the funnel's vectorized one alike."""
    from playbook.stats.proportions import two_proportion_ztest

    for x in (0, 10):
        assert proportion_ztest(ProportionStats(10, x), ProportionStats(10, x)) == (0.0, 1.0)
        z, p = two_proportion_ztest([x], [10], [x], [10])
        assert (float(z[0]), float(p[0])) == (0.0, 1.0)
    # a difference measured without noise (unpooled, 0/10 against 10/10): z is infinite, p = 0
    zs, ps = proportion_ztest(ProportionStats(10, 0), ProportionStats(10, 10), pooled=False)
    assert zs == math.inf and ps == 0.0
    z2, p2 = two_proportion_ztest([10], [10], [0], [10], pooled=False)
    assert (float(z2[0]), float(p2[0])) == (math.inf, 0.0)
