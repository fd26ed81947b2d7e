"""Proportion statistics shared by the funnel and process analyses (vectorized, numpy only).

    wilson_interval(x, n)        Wilson score interval of x successes in n trials
    two_proportion_ztest(...)    pooled two-proportion z test (two-sided), as statsmodels'
                                 ``proportions_ztest`` with its default pooled variance
    adjust_pvalues(p, method)    Holm or Benjamini-Hochberg adjusted p-values (statsmodels)

Degenerate inputs give documented values, not warnings: ``n = 0`` gives NaN bounds; a test with
an empty arm gives ``z = NaN, p = NaN``; a test where both arms are all-0 or all-1 (pooled
variance 0) gives ``z = 0, p = 1`` (no difference can be seen). NaN p-values are left out of
the multiple-testing correction and stay NaN.

These belong in ``playbook.stats`` once it has proportion helpers; they live here meanwhile so
that the analyses do not depend on code still being written.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr, ndtri

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
        raise ValueError(f"correction {method!r} is not one of {', '.join(CORRECTIONS)}")
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if not ok.any():
        return out
    sm = CORRECTIONS[method]
    out[ok] = p[ok] if sm is None else (holm(p[ok]) if sm == "holm" else benjamini_hochberg(p[ok]))
    return out
