"""Sufficient statistics: the only thing the statistics engine needs to know about an arm.

Every test in :mod:`playbook.stats` works from counts, sums, sums of squares and cross-products,
never from rows. The same numbers come from a numpy array (``from_values``), a pandas frame
(:mod:`playbook.aggregates`) or a SQL ``GROUP BY`` pushed down into DuckDB or a warehouse
(:func:`playbook.aggregates.sql_aggregates`), so one readout works at any data size.

Classes (all frozen; ``a + b`` combines two disjoint sets of units, e.g. two days or two shards):

    ProportionStats(n, successes)                         a binary metric (converted or not)
    SampleMeanStats(n, sum, sum_squares)                  a mean per unit (revenue per user)
    RatioStats(n, m_sum, m_sum_squares, d_sum,
               d_sum_squares, md_cross)                   a ratio of two sums (revenue per order)
    RegressionAdjustedStats(n, post_sum, post_sum_squares,
               pre_sum, pre_sum_squares, cross)           a mean with a pre-period covariate (CUPED)
    RatioRegressionAdjustedStats(n, sums, cross)          a ratio with a pre-period ratio (CUPED)

(defined in :mod:`playbook.stats.suffstats_plain` and :mod:`playbook.stats.suffstats_cuped`, with
the checks and sums they share in :mod:`playbook.stats.sums`, and all re-exported here).

Conventions (they decide reference numbers, so they are stated here once):

* ``ProportionStats.variance`` is the maximum-likelihood p(1 - p) (denominator n), as gbstats and
  every textbook z test use; the other classes use the unbiased sample variance (denominator
  n - 1), as gbstats, scipy's Welch test and R do.
* ``variance`` is always the per-unit variance; the variance of the arm's mean is
  ``variance / n``. For a ratio it is the delta-method variance of the linearized unit
  contribution (m_i - R d_i) / mean(d), so ``variance / n`` is the variance of R = sum(m)/sum(d).
* A variance that comes out negative by floating-point rounding (constant data) is clamped to
  0; one that is negative beyond rounding means inconsistent sums and raises DataError.
* With fewer than 2 units the sample variance cannot be estimated; ``variance`` returns 0.0
  and the tests report the documented degenerate result ``too_few_units`` instead of NaN.

Capping (winsorizing) is applied in ``from_values`` before summing: ``cap`` is a fixed upper
value, ``cap_quantile`` caps at that quantile of the values passed in. To cap all arms at one
value (the usual choice, so the cap does not differ by arm) compute it once with
:func:`cap_value` over the pooled values and pass it as ``cap``.
"""

from __future__ import annotations

from playbook.stats.suffstats_cuped import RatioRegressionAdjustedStats, RegressionAdjustedStats
from playbook.stats.suffstats_plain import ProportionStats, RatioStats, SampleMeanStats
from playbook.stats.sums import cap_value

__all__ = [
    "ArmStats",
    "ProportionStats",
    "RatioRegressionAdjustedStats",
    "RatioStats",
    "RegressionAdjustedStats",
    "SampleMeanStats",
    "cap_value",
]

ArmStats = ProportionStats | SampleMeanStats | RatioStats | RegressionAdjustedStats | RatioRegressionAdjustedStats
"""Any one arm's sufficient statistics."""
