"""Sufficient statistics: the only thing the statistics engine needs to know about an arm.

Every test in :mod:`playbook.stats` works from counts, sums, sums of squares and cross-products,
never from rows. The same numbers come from a numpy array (``from_values``), a pandas frame
(:mod:`playbook.stats.frame`) or a SQL ``GROUP BY`` pushed down into DuckDB or a warehouse
(:func:`playbook.stats.frame.sql_aggregates`), so one readout works at any data size.

Classes (all frozen; ``a + b`` combines two disjoint sets of units, e.g. two days or two shards):

    ProportionStats(n, successes)                         a binary metric (converted or not)
    SampleMeanStats(n, sum, sum_squares)                  a mean per unit (revenue per user)
    RatioStats(n, m_sum, m_sum_squares, d_sum,
               d_sum_squares, md_cross)                   a ratio of two sums (revenue per order)
    RegressionAdjustedStats(n, post_sum, post_sum_squares,
               pre_sum, pre_sum_squares, cross)           a mean with a pre-period covariate (CUPED)
    RatioRegressionAdjustedStats(n, sums, cross)          a ratio with a pre-period ratio (CUPED)

(the two CUPED kinds are defined in :mod:`playbook.stats.suffstats_cuped` and re-exported here).

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

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from playbook.errors import DataError

__all__ = [
    "ProportionStats",
    "RatioRegressionAdjustedStats",
    "RatioStats",
    "RegressionAdjustedStats",
    "SampleMeanStats",
    "cap_value",
]

_REL_TOL = 1e-9


def _sample_variance(n: int, total: float, sum_squares: float, what: str) -> float:
    if n < 2:
        return 0.0
    centered = sum_squares - total * total / n
    if centered < 0:
        if centered < -_REL_TOL * max(abs(sum_squares), 1.0) * 10:
            raise DataError(
                f"{what}: sum of squares {sum_squares!r} is smaller than sum**2/n "
                f"({total * total / n!r}); the sums are inconsistent. Recompute sum and sum of "
                "squares over the same rows."
            )
        return 0.0
    return centered / (n - 1)


def _check_n(n: Any, what: str) -> None:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise DataError(f"{what}: n must be a non-negative integer count of units, got {n!r}")


def _as_array(values: ArrayLike, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise DataError(f"{what}: expected a one-dimensional array of unit values, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.sum(~np.isfinite(arr)))
        raise DataError(f"{what}: {bad} value(s) are NaN or infinite; fill or drop them before aggregating")
    return arr


def cap_value(values: ArrayLike, quantile: float) -> float:
    """The value at ``quantile`` (e.g. 0.99) of ``values``: the cap to winsorize every arm at."""
    if not 0.0 < quantile <= 1.0:
        raise DataError(f"cap_quantile must be in (0, 1], got {quantile!r}")
    arr = _as_array(values, "cap_value")
    if arr.size == 0:
        raise DataError("cap_value: no values to take a quantile of")
    return float(np.quantile(arr, quantile))


def _paired_sums(a: np.ndarray, b: np.ndarray) -> tuple[int, float, float, float, float, float]:
    """(n, sum a, sum a^2, sum b, sum b^2, sum a*b) of two per-unit arrays of the same units."""
    return int(a.size), float(a.sum()), float(a @ a), float(b.sum()), float(b @ b), float(a @ b)


def _covariance(n: int, cross: float, sum_a: float, sum_b: float) -> float:
    """Sample covariance (denominator n - 1) from sums and the sum of cross-products; 0.0 below 2 units."""
    if n < 2:
        return 0.0
    return (cross - sum_a * sum_b / n) / (n - 1)


def _add_fields(a: Any, b: Any) -> Any:
    """Field by field sum of two instances of the same frozen dataclass (combining disjoint units)."""
    return type(a)(*(getattr(a, f.name) + getattr(b, f.name) for f in fields(a)))


def _capped(arr: np.ndarray, cap: float | None, cap_quantile: float | None) -> np.ndarray:
    if cap is not None and cap_quantile is not None:
        raise DataError("pass either cap (a value) or cap_quantile (a quantile), not both")
    if cap_quantile is not None and arr.size:
        cap = cap_value(arr, cap_quantile)
    if cap is not None:
        arr = np.minimum(arr, cap)
    return arr


@dataclass(frozen=True)
class ProportionStats:
    """A binary metric in one arm: ``successes`` of ``n`` units converted."""

    n: int
    successes: float

    def __post_init__(self) -> None:
        _check_n(self.n, "ProportionStats")
        if not 0 <= self.successes <= self.n:
            raise DataError(
                f"ProportionStats: successes must be between 0 and n={self.n}, got {self.successes!r}; "
                "a unit counts at most once"
            )

    @classmethod
    def from_values(cls, values: ArrayLike) -> ProportionStats:
        """Build from an array of 0/1 (or booleans), one per unit."""
        arr = _as_array(values, "ProportionStats.from_values")
        if not np.all((arr == 0) | (arr == 1)):
            raise DataError("ProportionStats.from_values: values must be 0/1; use SampleMeanStats for counts")
        return cls(n=int(arr.size), successes=float(arr.sum()))

    @property
    def sum(self) -> float:
        return float(self.successes)

    @property
    def sum_squares(self) -> float:
        return float(self.successes)

    @property
    def mean(self) -> float:
        """The conversion rate; 0.0 for an empty arm."""
        return self.successes / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """Per-unit variance p(1 - p) (maximum likelihood, denominator n)."""
        p = self.mean
        return p * (1.0 - p)

    def __add__(self, other: ProportionStats) -> ProportionStats:
        if not isinstance(other, ProportionStats):
            return NotImplemented
        return _add_fields(self, other)


@dataclass(frozen=True)
class SampleMeanStats:
    """A per-unit metric in one arm: unit count, sum and sum of squares."""

    n: int
    sum: float
    sum_squares: float

    def __post_init__(self) -> None:
        _check_n(self.n, "SampleMeanStats")
        if self.sum_squares < 0:
            raise DataError(f"SampleMeanStats: sum_squares must be >= 0, got {self.sum_squares!r}")
        if self.n >= 2:
            _sample_variance(self.n, self.sum, self.sum_squares, "SampleMeanStats")

    @classmethod
    def from_values(
        cls, values: ArrayLike, cap: float | None = None, cap_quantile: float | None = None
    ) -> SampleMeanStats:
        """Build from one value per unit, optionally capped (winsorized) from above."""
        arr = _capped(_as_array(values, "SampleMeanStats.from_values"), cap, cap_quantile)
        return cls(n=int(arr.size), sum=float(arr.sum()), sum_squares=float(np.dot(arr, arr)))

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """Unbiased per-unit variance (denominator n - 1); 0.0 below 2 units."""
        return _sample_variance(self.n, self.sum, self.sum_squares, "SampleMeanStats")

    def __add__(self, other: SampleMeanStats) -> SampleMeanStats:
        if not isinstance(other, SampleMeanStats):
            return NotImplemented
        return _add_fields(self, other)


@dataclass(frozen=True)
class RatioStats:
    """A ratio metric sum(m) / sum(d) over units (e.g. revenue per order, clicks per session).

    ``m`` is the numerator and ``d`` the denominator per unit (the randomization unit, usually a
    user); ``md_cross`` is sum(m_i * d_i).
    """

    n: int
    m_sum: float
    m_sum_squares: float
    d_sum: float
    d_sum_squares: float
    md_cross: float

    def __post_init__(self) -> None:
        _check_n(self.n, "RatioStats")

    @classmethod
    def from_values(
        cls,
        numerator: ArrayLike,
        denominator: ArrayLike,
        cap: float | None = None,
        cap_quantile: float | None = None,
    ) -> RatioStats:
        """Build from per-unit numerators and denominators; the cap applies to the numerator."""
        m = _capped(_as_array(numerator, "RatioStats.from_values numerator"), cap, cap_quantile)
        d = _as_array(denominator, "RatioStats.from_values denominator")
        if m.shape != d.shape:
            raise DataError(f"RatioStats.from_values: numerator has {m.size} units, denominator {d.size}")
        return cls(*_paired_sums(m, d))

    @property
    def numerator(self) -> SampleMeanStats:
        return SampleMeanStats(self.n, self.m_sum, self.m_sum_squares)

    @property
    def denominator(self) -> SampleMeanStats:
        return SampleMeanStats(self.n, self.d_sum, self.d_sum_squares)

    @property
    def covariance(self) -> float:
        """Sample covariance of numerator and denominator per unit (denominator n - 1)."""
        return _covariance(self.n, self.md_cross, self.m_sum, self.d_sum)

    @property
    def mean(self) -> float:
        """The ratio sum(m) / sum(d); 0.0 when the denominator sums to 0."""
        return self.m_sum / self.d_sum if self.d_sum else 0.0

    @property
    def variance(self) -> float:
        """Delta-method per-unit variance of the ratio (so ``variance / n`` is Var of the ratio)."""
        if self.n < 2 or self.d_sum == 0:
            return 0.0
        d_mean = self.d_sum / self.n
        r = self.mean
        v = (
            self.numerator.variance
            - 2.0 * r * self.covariance
            + r * r * self.denominator.variance
        ) / (d_mean * d_mean)
        return max(v, 0.0)

    def __add__(self, other: RatioStats) -> RatioStats:
        if not isinstance(other, RatioStats):
            return NotImplemented
        return _add_fields(self, other)


# The CUPED kinds live in their own module; imported here (after the helpers and classes they
# build on) so that ``from playbook.stats.suffstats import RegressionAdjustedStats`` keeps working.
from playbook.stats.suffstats_cuped import (  # noqa: E402
    RatioRegressionAdjustedStats,
    RegressionAdjustedStats,
)

ArmStats = ProportionStats | SampleMeanStats | RatioStats | RegressionAdjustedStats | RatioRegressionAdjustedStats
"""Any one arm's sufficient statistics."""
