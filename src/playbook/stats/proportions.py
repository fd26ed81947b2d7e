"""Proportion and quantile statistics over arrays (vectorized, numpy only), used by the funnel
and process analyses.

    wilson_interval(x, n)        Wilson score interval of x successes in n trials
    two_proportion_ztest(...)    two-proportion z test (two-sided; pooled variance by default),
                                 as statsmodels' ``proportions_ztest``
    z_statistic(diff, se)        z = diff / se with the zero-variance rule below
    quantile_ci_ranks(n, q)      order-statistic ranks of a distribution-free quantile interval
    quantile_ci_probs(n, q)      the ``quantile_disc`` probabilities that pick those ranks

Degenerate inputs give documented values, not warnings: ``n = 0`` gives NaN bounds; a test with
an empty arm gives ``z = NaN, p = NaN``; a test where both arms are all-0 or all-1 (pooled
variance 0) gives ``z = 0, p = 1`` (no difference can be seen; :func:`z_statistic`, which the
scalar :func:`playbook.stats.frequentist.proportion_ztest` shares). Multiple-testing corrections
of these p-values: :func:`playbook.stats.corrections.adjust`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr, ndtri


def wilson_interval(x: ArrayLike, n: ArrayLike, alpha: float = 0.05) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """Wilson score interval (lower, upper) for ``x`` successes out of ``n``; NaN where n = 0."""
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    z = float(ndtri(1 - alpha / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denom = 1 + z * z / n
        center = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    ok = n > 0
    low = np.where(ok, np.clip(center - half, 0.0, 1.0), np.nan)
    high = np.where(ok, np.clip(center + half, 0.0, 1.0), np.nan)
    return low, high


def z_statistic(diff: ArrayLike, se: ArrayLike) -> np.ndarray:
    """``diff / se``; where ``se`` is 0, z is 0 if ``diff`` is 0 too (nothing to see) and
    +-inf otherwise (a difference measured without noise)."""
    diff = np.asarray(diff, dtype=float)
    se = np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = diff / se
    return np.where(se == 0, np.where(diff == 0, 0.0, np.copysign(np.inf, diff)), z)


def two_proportion_ztest(x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike, *,
                         pooled: bool = True,
                         value: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided z test of p1 - p2 = ``value`` (p1 = x1/n1, p2 = x2/n2); returns (z, p_value).

    The variance uses the pooled proportion when ``pooled`` (statsmodels' default), else each
    arm's own; an empty arm gives NaN, a zero variance the rule of :func:`z_statistic`.
    """
    x1, n1, x2, n2 = (np.asarray(v, dtype=float) for v in (x1, n1, x2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = x1 / n1, x2 / n2
        if pooled:
            pp = (x1 + x2) / (n1 + n2)
            var = pp * (1 - pp) * (1 / n1 + 1 / n2)
        else:
            var = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    empty = (n1 <= 0) | (n2 <= 0)
    z = np.where(empty, np.nan, z_statistic(p1 - p2 - value, np.sqrt(np.maximum(var, 0.0))))
    p = np.where(empty, np.nan, 2 * ndtr(-np.abs(z)))
    return z, p


def quantile_ci_ranks(n: ArrayLike, q: float,
                      alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """1-based ranks (l, u) of the distribution-free interval [x_(l), x_(u)] for the q-quantile.

    The order-statistic (binomial) interval with the normal approximation to the binomial, as
    in Hahn & Meeker, *Statistical Intervals* (1991), sec. 5.2, with a conservative rounding:
    ``l = floor(n q - z sqrt(n q (1 - q)))`` and ``u = ceil(n q + z sqrt(n q (1 - q))) + 1``,
    ``z = 1.96`` for 95%, both clipped to 1..n. Exact (binomial) coverage is at least 95% for
    n >= 6 (median) and n >= 31 (p90) (checked for n < 5000 in the tests). Below that no pair
    of order statistics reaches 95% (the whole range [min, max] covers the p90 with probability
    1 - 0.9^n): the interval is then the clipped one, down to [x_(1), x_(n)], and covers less.
    n = 1 gives [x_(1), x_(1)], n = 2 the whole range; n = 0 gives ranks 0 (no interval).
    """
    n = np.asarray(n, dtype=float)
    z = float(ndtri(1 - alpha / 2))
    half = z * np.sqrt(n * q * (1 - q))
    lo = np.clip(np.floor(n * q - half), 1, np.maximum(n, 1))
    hi = np.clip(np.ceil(n * q + half) + 1, 1, np.maximum(n, 1))
    empty = n < 1
    return (np.where(empty, 0, lo).astype(np.int64), np.where(empty, 0, hi).astype(np.int64))


def quantile_ci_probs(n: int, q: float, alpha: float = 0.05) -> tuple[float, float] | None:
    """Probabilities for DuckDB's ``quantile_disc`` that return x_(l) and x_(u) of
    :func:`quantile_ci_ranks` (None for n = 0).

    Rank r is asked for as ``(r - 1/2) / n``: the middle of the rank's probability step, so
    floating-point error in ``r / n`` cannot move it to the neighbouring rank (DuckDB 1.x/2.x
    return the value at 0-based index ``floor(n p)``; checked in the tests).
    """
    if n < 1:
        return None
    lo, hi = quantile_ci_ranks(n, q, alpha)
    return (float(lo) - 0.5) / n, (float(hi) - 0.5) / n
