"""Proportion and quantile statistics over arrays (vectorized, numpy only), used by the funnel
and process analyses.

    wilson_interval(x, n)        Wilson score interval of x successes in n trials
    two_proportion_ztest(...)    pooled two-proportion z test (two-sided), as statsmodels'
                                 ``proportions_ztest`` with its default pooled variance
    adjust_pvalues(p, method)    Holm or Benjamini-Hochberg adjusted p-values (statsmodels)
    quantile_ci_ranks(n, q)      order-statistic ranks of a distribution-free quantile interval
    quantile_ci_probs(n, q)      the ``quantile_disc`` probabilities that pick those ranks

Degenerate inputs give documented values, not warnings: ``n = 0`` gives NaN bounds; a test with
an empty arm gives ``z = NaN, p = NaN``; a test where both arms are all-0 or all-1 (pooled
variance 0) gives ``z = 0, p = 1`` (no difference can be seen). NaN p-values are left out of
the multiple-testing correction and stay NaN.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr, ndtri

from playbook.errors import ParameterError
from playbook.stats.corrections import benjamini_hochberg, holm

CORRECTIONS = {"holm": "holm", "bh": "fdr_bh", "fdr_bh": "fdr_bh", "none": None}


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


def two_proportion_ztest(x1: ArrayLike, n1: ArrayLike, x2: ArrayLike,
                         n2: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Pooled two-sided z test of p1 = x1/n1 against p2 = x2/n2; returns (z, p_value)."""
    x1, n1, x2, n2 = (np.asarray(v, dtype=float) for v in (x1, n1, x2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (x1 + x2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (x1 / n1 - x2 / n2) / se
    empty = (n1 <= 0) | (n2 <= 0)
    flat = ~empty & (se == 0)
    z = np.where(empty, np.nan, np.where(flat, 0.0, z))
    p = np.where(empty, np.nan, 2 * ndtr(-np.abs(z)))
    return z, p


def adjust_pvalues(p: ArrayLike, method: str = "holm") -> np.ndarray:
    """Adjusted p-values by ``method`` (``holm``, ``bh``/``fdr_bh`` or ``none``); NaN stays NaN."""
    if method not in CORRECTIONS:
        raise ParameterError(f"correction={method!r}: give one of {', '.join(CORRECTIONS)} "
                             "(the parameter 'correction' of funnel_diagnosis)")
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if not ok.any():
        return out
    sm = CORRECTIONS[method]
    out[ok] = p[ok] if sm is None else (holm(p[ok]) if sm == "holm" else benjamini_hochberg(p[ok]))
    return out


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
