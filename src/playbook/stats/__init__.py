"""The statistics engine: experiment readouts from sufficient statistics.

Pure functions over frozen dataclasses; numpy and scipy only (no pandas, no I/O, nothing else of
the package but :mod:`playbook.errors`). :mod:`playbook.aggregates` builds the dataclasses from a
DataFrame or as SQL.

    suffstats    ProportionStats, SampleMeanStats, RatioStats, RegressionAdjustedStats, ...
                 (suffstats_plain, suffstats_cuped; their shared checks and sums in sums)
    effects      estimate_effect: lift, delta-method relative lift, Welch df; Degenerate reasons
    frequentist  ttest, non_inferiority_test, superiority_test, equivalence_test, proportion_ztest
    cuped        cuped_theta, variance_reduction (regression adjustment with a pre-period covariate)
    bayesian     bayesian_test: chance to win, risk, credible interval; flat or normal prior
    sequential   confidence_sequence_test: always-valid intervals for daily peeking
    spending     spending_bounds, group_sequential_test: Lan-DeMets alpha spending for planned looks
    srm          srm_test, srm_by_segment: sample ratio mismatch
    corrections  holm, benjamini_hochberg, correct: adjusted p-values and interval levels
    power        sample_size, minimum_detectable_effect, power_at, running_power, duration_days
    fieller      Fieller's interval of the relative lift (the readout's, calibrated at small n)

Each module's docstring states its conventions where tools differ (pooled vs unpooled
variance, t vs z, normal vs arcsine approximations) and why this engine chose as it did.
"""

from playbook.stats.bayesian import BayesianResult, NormalPrior, bayesian_test
from playbook.stats.corrections import (
    CorrectionResult,
    benjamini_hochberg,
    bonferroni,
    correct,
    holm,
)
from playbook.stats.cuped import cuped_theta, variance_reduction
from playbook.stats.effects import Degenerate, EffectEstimate, estimate_effect
from playbook.stats.frequentist import (
    FrequentistResult,
    equivalence_test,
    non_inferiority_test,
    proportion_ztest,
    superiority_test,
    ttest,
)
from playbook.stats.power import (
    MetricSpec,
    RunningPower,
    SampleSizeResult,
    duration_days,
    minimum_detectable_effect,
    power_at,
    running_power,
    sample_size,
)
from playbook.stats.sequential import confidence_sequence_test
from playbook.stats.spending import (
    SpendingBounds,
    crossing_probability,
    group_sequential_test,
    spending_bounds,
)
from playbook.stats.srm import SRMResult, srm_by_segment, srm_test
from playbook.stats.suffstats import (
    ArmStats,
    ProportionStats,
    RatioRegressionAdjustedStats,
    RatioStats,
    RegressionAdjustedStats,
    SampleMeanStats,
    cap_value,
)

__all__ = [
    "ArmStats",
    "BayesianResult",
    "CorrectionResult",
    "Degenerate",
    "EffectEstimate",
    "FrequentistResult",
    "MetricSpec",
    "NormalPrior",
    "ProportionStats",
    "RatioRegressionAdjustedStats",
    "RatioStats",
    "RegressionAdjustedStats",
    "RunningPower",
    "SRMResult",
    "SampleMeanStats",
    "SampleSizeResult",
    "SpendingBounds",
    "bayesian_test",
    "benjamini_hochberg",
    "bonferroni",
    "cap_value",
    "confidence_sequence_test",
    "correct",
    "crossing_probability",
    "cuped_theta",
    "duration_days",
    "equivalence_test",
    "estimate_effect",
    "group_sequential_test",
    "holm",
    "minimum_detectable_effect",
    "non_inferiority_test",
    "power_at",
    "proportion_ztest",
    "running_power",
    "sample_size",
    "spending_bounds",
    "srm_by_segment",
    "srm_test",
    "superiority_test",
    "ttest",
    "variance_reduction",
]
