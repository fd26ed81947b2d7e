"""Power and sample size against statsmodels, plus allocation, arms, CUPED, margins, sequential."""

from __future__ import annotations

import math
from typing import Any

import pytest
from statsmodels.stats.power import NormalIndPower, TTestIndPower

from playbook.errors import DataError
from playbook.stats import (
    MetricSpec,
    RatioStats,
    duration_days,
    minimum_detectable_effect,
    power_at,
    sample_size,
)


def test_ttest_power_matches_statsmodels() -> None:
    metric = MetricSpec.mean_metric(10.0, 2.0)
    for n in (60, 100, 200):
        ours = power_at(metric, 0.8, n, relative_mde=False)  # 0.4 sd
        ref = TTestIndPower().power(effect_size=0.4, nobs1=n, alpha=0.05)
        assert ours == pytest.approx(ref, abs=5e-5)  # statsmodels adds the opposite tail
    n_control = sample_size(metric, 0.8, relative_mde=False, power=0.8).n_control
    assert n_control == pytest.approx(TTestIndPower().solve_power(effect_size=0.4, alpha=0.05, power=0.8), rel=1e-5)


def test_unequal_allocation_close_to_statsmodels() -> None:
    """Welch df (the readout's test) vs statsmodels' pooled n1 + n2 - 2 df.

    With unequal arms Welch has fewer df (58 vs 88 at 30 + 60 units), so its power is a little
    lower at small n; the two agree at growth-experiment sizes.
    """
    metric = MetricSpec.mean_metric(0.0, 1.0)
    ours = power_at(metric, 0.6, 30, relative_mde=False, ratio=2.0)
    ref = TTestIndPower().power(effect_size=0.6, nobs1=30, alpha=0.05, ratio=2.0)
    assert ref - 0.01 < ours < ref
    ours = power_at(metric, 0.06, 3000, relative_mde=False, ratio=2.0)
    ref = TTestIndPower().power(effect_size=0.06, nobs1=3000, alpha=0.05, ratio=2.0)
    assert ours == pytest.approx(ref, abs=1e-4)


@pytest.mark.parametrize("alternative", ["two-sided", "larger"])
def test_normal_power_matches_normal_ind_power(alternative: str) -> None:
    p1, p2, r, n1 = 0.10, 0.12, 1.5, 3000
    v = p1 * (1 - p1) + p2 * (1 - p2) / r
    es = (p2 - p1) / math.sqrt(v / (1 + 1 / r))
    ours = power_at(
        MetricSpec.proportion(p1), p2 - p1, n1, relative_mde=False, ratio=r, null_variance="unpooled",
        alternative="two-sided" if alternative == "two-sided" else "greater",
    )
    ref = NormalIndPower().power(effect_size=es, nobs1=n1, alpha=0.05, ratio=r, alternative=alternative)
    assert ours == pytest.approx(ref, abs=1e-5)


def test_arcsine_approximation_differs_as_documented() -> None:
    h = 2 * math.asin(math.sqrt(0.75)) - 2 * math.asin(math.sqrt(0.5))
    arcsine = NormalIndPower().solve_power(effect_size=h, alpha=0.05, power=0.9)
    ours = sample_size(MetricSpec.proportion(0.5), 0.25, relative_mde=False, power=0.9, null_variance="pooled").n_control
    assert arcsine == pytest.approx(76.65, abs=0.01)
    assert ours == pytest.approx(76.7, abs=0.05)


def test_mde_inverts_sample_size() -> None:
    metric = MetricSpec.proportion(0.05)
    n = sample_size(metric, 0.1, power=0.8).n_control
    assert minimum_detectable_effect(metric, n, power=0.8) == pytest.approx(0.1, rel=1e-6)
    mean = MetricSpec.mean_metric(20.0, 15.0)
    n = sample_size(mean, 0.05, power=0.9, ratio=0.5).n_control
    assert minimum_detectable_effect(mean, n, power=0.9, ratio=0.5) == pytest.approx(0.05, rel=1e-6)
    n_abs = sample_size(mean, 1.0, relative_mde=False, power=0.9, ratio=0.5).n_control
    assert minimum_detectable_effect(mean, n_abs, power=0.9, ratio=0.5, relative=False) == pytest.approx(1.0, rel=1e-6)


def test_k_arms_bonferroni() -> None:
    metric = MetricSpec.proportion(0.2)
    three = sample_size(metric, 0.05, arms=3)
    assert three.alpha_per_comparison == pytest.approx(0.025)
    assert three.n_control == pytest.approx(sample_size(metric, 0.05, alpha=0.025).n_control)
    assert three.n_total == pytest.approx(3 * three.n_control)
    assert three.units_total == 3 * three.units_control


def test_relative_readout_needs_a_little_more() -> None:
    metric = MetricSpec.proportion(0.1)
    relative = sample_size(metric, 0.1).n_control
    absolute = sample_size(metric, 0.01, relative_mde=False).n_control
    assert 1.03 < relative / absolute < 1.07


def test_cuped_multiplies_variance() -> None:
    metric = MetricSpec.mean_metric(50.0, 40.0)
    plain = sample_size(metric, 0.03).n_control
    cuped = sample_size(metric, 0.03, variance_reduction=0.36).n_control
    assert cuped / plain == pytest.approx(0.64, rel=2e-3)  # t df shrink slightly too


def test_one_sided_and_non_inferiority() -> None:
    metric = MetricSpec.proportion(0.3)
    two = sample_size(metric, 0.05).n_control
    one = sample_size(metric, 0.05, alternative="greater").n_control
    assert one < two
    ni = sample_size(metric, 0.0, margin=0.05, null_variance="unpooled")
    sup = sample_size(metric, 0.015, relative_mde=False, alternative="greater", null_variance="unpooled")
    # true effect 0 against a margin of 5% is like detecting +5% one-sided (variances at p=0.3 vs 0.315)
    assert ni.alternative == "greater"
    assert ni.n_control == pytest.approx(sup.n_control, rel=0.02)


def test_sequential_inflation() -> None:
    metric = MetricSpec.proportion(0.1)
    fixed = sample_size(metric, 0.1)
    obf = sample_size(metric, 0.1, sequential="obrien_fleming", looks=5)
    pocock = sample_size(metric, 0.1, sequential="pocock", looks=5)
    cs = sample_size(metric, 0.1, sequential="confidence_sequence", tuning=fixed.n_total)
    assert fixed.inflation == 1.0
    assert 1.0 < obf.inflation < 1.05 < pocock.inflation < 1.3 < cs.inflation < 2.5
    assert obf.n_control == pytest.approx(obf.inflation * fixed.n_control)


def test_ratio_metric_from_stats() -> None:
    spec = MetricSpec.from_stats(RatioStats(1000, 5000.0, 40000.0, 2000.0, 5000.0, 12000.0))
    assert spec.kind == "ratio" and spec.mean == 2.5
    assert sample_size(spec, 0.05).n_control > 0


def test_duration_days() -> None:
    assert duration_days(29_502, daily_units=2000) == 15
    assert duration_days(29_502, daily_units=2000, share=0.5) == 30
    with pytest.raises(DataError, match="daily_units"):
        duration_days(100, 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mde": 0.0}, "effect to detect is 0"),
        ({"mde": 20.0}, "outside"),
        ({"mde": 0.1, "power": 1.2}, "power must be"),
        ({"mde": 0.1, "arms": 1}, "arms must be"),
        ({"mde": 0.1, "variance_reduction": 1.0}, "variance_reduction"),
        ({"mde": 0.1, "sequential": "confidence_sequence", "alternative": "greater"}, "two-sided"),
    ],
)
def test_design_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(DataError, match=message):
        sample_size(MetricSpec.proportion(0.1), **kwargs)


def test_constant_baseline_is_rejected() -> None:
    with pytest.raises(DataError, match="constant metric"):
        MetricSpec.mean_metric(5.0, 0.0)


def test_running_power_matches_statsmodels_normal_power_and_grows_at_the_current_split() -> None:
    from playbook.stats import SampleMeanStats, estimate_effect, running_power
    from playbook.stats.sequential import critical_value

    # equal variances (sd 2): statsmodels' NormalIndPower for the same effect size and split
    c = SampleMeanStats(400, 400 * 10.0, 400 * 100.0 + 399 * 4.0)  # per-unit variance exactly 4
    t = SampleMeanStats(600, 600 * 10.0, 600 * 100.0 + 599 * 4.0)
    est = estimate_effect(c, t)
    r = running_power(est, 0.04, power=0.9)  # 4% of 10 = 0.2 sd
    ref = NormalIndPower()
    sd = math.sqrt(c.variance)
    assert r.power == pytest.approx(ref.power(effect_size=0.4 / sd, nobs1=400, alpha=0.05, ratio=1.5), rel=1e-9)
    n_needed = ref.solve_power(effect_size=0.4 / sd, alpha=0.05, power=0.9, ratio=1.5)
    assert r.users_per_arm == math.ceil(n_needed)
    assert r.more_users_per_arm == math.ceil(n_needed) - 400
    assert r.more_users_total == math.ceil(math.ceil(n_needed) * 2.5) - 1000
    # unequal variances: the treatment's own variance enters; the confidence sequence needs more users
    wide = SampleMeanStats(600, 600 * 10.0, 600 * (100.0 + 16.0))
    assert running_power(estimate_effect(c, wide), 0.04).power < running_power(est, 0.04).power
    seq = running_power(est, 0.04, power=0.9, sequential="confidence_sequence", tuning=5000)
    assert seq.users_per_arm > r.users_per_arm
    k = seq.users_per_arm
    se = est.absolute_se * math.sqrt(400 / k)
    from scipy import stats as st

    assert st.norm.sf(critical_value(k * 2.5, 0.05, 5000) - 0.4 / se) >= 0.9 - 1e-6
    # enough already: no more users
    assert running_power(est, 0.5).more_users_per_arm == 0
    with pytest.raises(DataError, match="no standard error"):
        running_power(estimate_effect(SampleMeanStats(10, 10.0, 10.0), SampleMeanStats(10, 10.0, 10.0)), 0.05)
