"""Sufficient statistics of the CUPED kinds: a metric together with its pre-period covariate.

Built on the plain kinds of :mod:`playbook.stats.suffstats_plain`; :mod:`playbook.stats.suffstats`
re-exports both classes and states the conventions they follow. The adjustment itself is in
:mod:`playbook.stats.cuped`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from playbook.errors import DataError
from playbook.stats.suffstats_plain import RatioStats, SampleMeanStats
from playbook.stats.sums import add_fields, as_array, capped, check_n, covariance, paired_sums

__all__ = ["RatioRegressionAdjustedStats", "RegressionAdjustedStats"]


class _PostPeriod:
    """A CUPED kind's ``mean`` and ``variance`` are those of its unadjusted post-period metric."""

    @property
    def post(self) -> SampleMeanStats | RatioStats:
        raise NotImplementedError

    @property
    def mean(self) -> float:
        """The unadjusted post-period mean (rate, ratio)."""
        return self.post.mean

    @property
    def variance(self) -> float:
        """The unadjusted post-period per-unit variance."""
        return self.post.variance


@dataclass(frozen=True)
class RegressionAdjustedStats(_PostPeriod):
    """A per-unit metric with its pre-period value as covariate (CUPED / regression adjustment).

    Works for a mean metric and for a binary one (pass 0/1 post values); ``cross`` is
    sum(post_i * pre_i). Units without pre-period data should carry pre = 0 (and, ideally, a
    separate "new user" segment); see :mod:`playbook.stats.cuped`.
    """

    n: int
    post_sum: float
    post_sum_squares: float
    pre_sum: float
    pre_sum_squares: float
    cross: float

    def __post_init__(self) -> None:
        check_n(self.n, "RegressionAdjustedStats")

    @classmethod
    def from_values(
        cls,
        values: ArrayLike,
        pre: ArrayLike,
        cap: float | None = None,
        cap_quantile: float | None = None,
    ) -> RegressionAdjustedStats:
        """Build from post-period values and pre-period values (same units, same order)."""
        y = capped(as_array(values, "RegressionAdjustedStats.from_values values"), cap, cap_quantile)
        x = capped(as_array(pre, "RegressionAdjustedStats.from_values pre"), cap, cap_quantile)
        if y.shape != x.shape:
            raise DataError(
                f"RegressionAdjustedStats.from_values: {y.size} post values but {x.size} pre values"
            )
        return cls(*paired_sums(y, x))

    @property
    def post(self) -> SampleMeanStats:
        return SampleMeanStats(self.n, self.post_sum, self.post_sum_squares)

    @property
    def pre(self) -> SampleMeanStats:
        return SampleMeanStats(self.n, self.pre_sum, self.pre_sum_squares)

    @property
    def covariance(self) -> float:
        """Sample covariance of post and pre per unit (denominator n - 1)."""
        return covariance(self.n, self.cross, self.post_sum, self.pre_sum)

    @property
    def correlation(self) -> float:
        """Pearson correlation of post and pre in this arm; 0.0 if either is constant."""
        vx, vy = self.pre.variance, self.post.variance
        if vx <= 0 or vy <= 0:
            return 0.0
        return float(np.clip(self.covariance / np.sqrt(vx * vy), -1.0, 1.0))

    def __add__(self, other: RegressionAdjustedStats) -> RegressionAdjustedStats:
        if not isinstance(other, RegressionAdjustedStats):
            return NotImplemented
        return add_fields(self, other)


_RATIO_VARS = ("m", "d", "m_pre", "d_pre")


@dataclass(frozen=True)
class RatioRegressionAdjustedStats(_PostPeriod):
    """A ratio metric with the same ratio in the pre-period as covariate (CUPED for ratios).

    ``sums`` are the sums of (m, d, m_pre, d_pre) per unit; ``cross`` is the 4x4 matrix of
    sums of products in the same order (cross[i][j] = sum(v_i * v_j)), as nested tuples.
    """

    n: int
    sums: tuple[float, float, float, float]
    cross: tuple[tuple[float, ...], ...]

    def __post_init__(self) -> None:
        check_n(self.n, "RatioRegressionAdjustedStats")
        if len(self.sums) != 4 or len(self.cross) != 4 or any(len(r) != 4 for r in self.cross):
            raise DataError(
                "RatioRegressionAdjustedStats: sums needs 4 entries (m, d, m_pre, d_pre) and cross a 4x4 matrix"
            )

    @classmethod
    def from_values(
        cls, numerator: ArrayLike, denominator: ArrayLike, pre_numerator: ArrayLike, pre_denominator: ArrayLike
    ) -> RatioRegressionAdjustedStats:
        cols = [
            as_array(v, f"RatioRegressionAdjustedStats.from_values {name}")
            for v, name in zip((numerator, denominator, pre_numerator, pre_denominator), _RATIO_VARS, strict=True)
        ]
        if len({c.size for c in cols}) != 1:
            raise DataError("RatioRegressionAdjustedStats.from_values: all four arrays need one value per unit")
        mat = np.vstack(cols)
        s = mat.sum(axis=1)
        c = mat @ mat.T
        return cls(
            n=int(cols[0].size),
            sums=(float(s[0]), float(s[1]), float(s[2]), float(s[3])),
            cross=tuple(tuple(float(x) for x in row) for row in c),
        )

    @property
    def means(self) -> np.ndarray:
        return np.asarray(self.sums, dtype=float) / self.n if self.n else np.zeros(4)

    @property
    def cov_matrix(self) -> np.ndarray:
        """4x4 sample covariance (denominator n - 1) of (m, d, m_pre, d_pre)."""
        if self.n < 2:
            return np.zeros((4, 4))
        s = np.asarray(self.sums, dtype=float)
        return (np.asarray(self.cross, dtype=float) - np.outer(s, s) / self.n) / (self.n - 1)

    @property
    def post(self) -> RatioStats:
        return RatioStats(
            self.n, self.sums[0], self.cross[0][0], self.sums[1], self.cross[1][1], self.cross[0][1]
        )

    @property
    def pre(self) -> RatioStats:
        return RatioStats(
            self.n, self.sums[2], self.cross[2][2], self.sums[3], self.cross[3][3], self.cross[2][3]
        )

    def __add__(self, other: RatioRegressionAdjustedStats) -> RatioRegressionAdjustedStats:
        if not isinstance(other, RatioRegressionAdjustedStats):
            return NotImplemented
        (m, d, mp, dp), (m2, d2, mp2, dp2) = self.sums, other.sums
        cross = tuple(
            tuple(a + b for a, b in zip(r1, r2, strict=True)) for r1, r2 in zip(self.cross, other.cross, strict=True)
        )
        return RatioRegressionAdjustedStats(self.n + other.n, (m + m2, d + d2, mp + mp2, dp + dp2), cross)

