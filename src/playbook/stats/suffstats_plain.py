"""Sufficient statistics of the plain kinds: a proportion, a mean and a ratio per arm.

Re-exported by :mod:`playbook.stats.suffstats`, which states the conventions they follow; the
CUPED kinds that build on them are in :mod:`playbook.stats.suffstats_cuped`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from playbook.errors import DataError
from playbook.stats.sums import add_fields, as_array, capped, check_n, covariance, paired_sums

__all__ = ["ProportionStats", "RatioStats", "SampleMeanStats"]

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


@dataclass(frozen=True)
class ProportionStats:
    """A binary metric in one arm: ``successes`` of ``n`` units converted."""

    n: int
    successes: float

    def __post_init__(self) -> None:
        check_n(self.n, "ProportionStats")
        if not 0 <= self.successes <= self.n:
            raise DataError(
                f"ProportionStats: successes must be between 0 and n={self.n}, got {self.successes!r}; "
                "a unit counts at most once"
            )

    @classmethod
    def from_values(cls, values: ArrayLike) -> ProportionStats:
        """Build from an array of 0/1 (or booleans), one per unit."""
        arr = as_array(values, "ProportionStats.from_values")
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
        return add_fields(self, other)


@dataclass(frozen=True)
class SampleMeanStats:
    """A per-unit metric in one arm: unit count, sum and sum of squares."""

    n: int
    sum: float
    sum_squares: float

    def __post_init__(self) -> None:
        check_n(self.n, "SampleMeanStats")
        if self.sum_squares < 0:
            raise DataError(f"SampleMeanStats: sum_squares must be >= 0, got {self.sum_squares!r}")
        if self.n >= 2:
            _sample_variance(self.n, self.sum, self.sum_squares, "SampleMeanStats")

    @classmethod
    def from_values(
        cls, values: ArrayLike, cap: float | None = None, cap_quantile: float | None = None
    ) -> SampleMeanStats:
        """Build from one value per unit, optionally capped (winsorized) from above."""
        arr = capped(as_array(values, "SampleMeanStats.from_values"), cap, cap_quantile)
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
        return add_fields(self, other)


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
        check_n(self.n, "RatioStats")

    @classmethod
    def from_values(
        cls,
        numerator: ArrayLike,
        denominator: ArrayLike,
        cap: float | None = None,
        cap_quantile: float | None = None,
    ) -> RatioStats:
        """Build from per-unit numerators and denominators; the cap applies to the numerator."""
        m = capped(as_array(numerator, "RatioStats.from_values numerator"), cap, cap_quantile)
        d = as_array(denominator, "RatioStats.from_values denominator")
        if m.shape != d.shape:
            raise DataError(f"RatioStats.from_values: numerator has {m.size} units, denominator {d.size}")
        return cls(*paired_sums(m, d))

    @property
    def numerator(self) -> SampleMeanStats:
        return SampleMeanStats(self.n, self.m_sum, self.m_sum_squares)

    @property
    def denominator(self) -> SampleMeanStats:
        return SampleMeanStats(self.n, self.d_sum, self.d_sum_squares)

    @property
    def covariance(self) -> float:
        """Sample covariance of numerator and denominator per unit (denominator n - 1)."""
        return covariance(self.n, self.md_cross, self.m_sum, self.d_sum)

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
        return add_fields(self, other)
