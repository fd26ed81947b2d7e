"""Multiple-comparison corrections for a family of p-values, with matching interval levels.

Which p-values form a family (metrics x variants x segments of one experiment? the goal metric
only?) is a decision for the analyst; these functions take the family as given and leave the
scope to the caller.

    holm(p)                 Holm step-down: controls the family-wise error rate (FWER)
    benjamini_hochberg(p)   BH step-up: controls the false discovery rate (FDR)
    bonferroni(p)           p * m, the simplest FWER control
    correct(p, method, alpha) -> CorrectionResult with adjusted p, rejections and per-hypothesis
                            alpha levels for confidence intervals
    adjust(p, name)         adjusted p-values by a template's correction name (CORRECTIONS),
                            NaN p-values left out of the family and kept NaN

Adjusted p-values agree with ``statsmodels.stats.multitest.multipletests`` (methods "holm",
"fdr_bh", "bonferroni").

Intervals that agree with the adjusted decisions (recompute each interval at level
1 - ``alphas[i]`` with the test that produced p[i]):

* bonferroni: alpha / m for all.
* holm: the Bonferroni level of the step at which the hypothesis was decided. With the
  p-values sorted, rejected hypothesis j (1-based rank) gets alpha / (m - j + 1); every
  hypothesis from the first non-rejected rank r on gets alpha / (m - r + 1). A rejected
  hypothesis then has p <= its level (interval excludes the null) and a non-rejected one has
  p > its level (interval includes it).
* benjamini_hochberg: alpha * R / m for all, where R = max(number of rejections, 1): the
  false-coverage-rate adjusted intervals of Benjamini & Yekutieli (2005). Every rejected
  hypothesis has p <= alpha R / m and every other has p > alpha k / m >= alpha R / m, so again
  the interval and the decision agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, cast

import numpy as np

from playbook.errors import DataError, ParameterError

__all__ = ["CORRECTIONS", "CorrectionResult", "adjust", "benjamini_hochberg", "bonferroni",
           "correct", "correction_method", "holm"]

Method = Literal["holm", "benjamini_hochberg", "bonferroni"]

#: The correction names every template accepts (its ``correction`` parameters) and the method of
#: :func:`correct` each stands for (``none``: no correction).
CORRECTIONS: dict[str, Method | None] = {"holm": "holm", "bh": "benjamini_hochberg",
                                         "bonferroni": "bonferroni", "none": None}


def correction_method(name: str, parameter: str = "correction") -> Method | None:
    """The method a correction name stands for; ParameterError naming ``parameter`` if unknown."""
    if name not in CORRECTIONS:
        raise ParameterError(f"{parameter}={name!r}: give one of {', '.join(CORRECTIONS)}")
    return CORRECTIONS[name]


def _pvalues(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1 or p.size == 0:
        raise DataError("corrections: give a non-empty list of p-values (the family to correct)")
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise DataError(f"corrections: p-values must be in [0, 1], got {list(map(float, p))}")
    return p


def bonferroni(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Bonferroni-adjusted p-values, min(1, p * m)."""
    p = _pvalues(p_values)
    return cast(np.ndarray, np.minimum(p * p.size, 1.0))


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (FWER), in the input order."""
    p = _pvalues(p_values)
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def benjamini_hochberg(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg step-up adjusted p-values (FDR), in the input order."""
    p = _pvalues(p_values)
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    stepped = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


@dataclass(frozen=True)
class CorrectionResult:
    """Adjusted p-values, decisions and interval levels for a family, in the input order."""

    method: str
    alpha: float
    p_values: tuple[float, ...]
    adjusted: tuple[float, ...]
    rejected: tuple[bool, ...]
    alphas: tuple[float, ...]


def correct(p_values: Sequence[float] | np.ndarray, method: Method = "holm", alpha: float = 0.05) -> CorrectionResult:
    """Correct a family of p-values; ``alphas`` are the matching per-hypothesis interval levels."""
    if not 0 < alpha < 1:
        raise DataError(f"alpha must be between 0 and 1, got {alpha!r}")
    p = _pvalues(p_values)
    m = p.size
    if method == "bonferroni":
        adj = bonferroni(p)
        levels = np.full(m, alpha / m)
    elif method == "holm":
        adj = holm(p)
        order = np.argsort(p, kind="stable")
        rejected_sorted = adj[order] <= alpha
        first_keep = int(np.argmin(rejected_sorted)) if not rejected_sorted.all() else m
        ranks = np.arange(m)
        step = np.minimum(ranks, first_keep)
        levels = np.empty(m)
        levels[order] = alpha / (m - step)
    elif method == "benjamini_hochberg":
        adj = benjamini_hochberg(p)
        n_rej = int(np.sum(adj <= alpha))
        levels = np.full(m, alpha * max(n_rej, 1) / m)
    else:
        raise DataError(f"method must be 'holm', 'benjamini_hochberg' or 'bonferroni', got {method!r}")
    return CorrectionResult(
        method=method,
        alpha=alpha,
        p_values=tuple(float(x) for x in p),
        adjusted=tuple(float(x) for x in adj),
        rejected=tuple(bool(x) for x in adj <= alpha),
        alphas=tuple(float(x) for x in levels),
    )


def adjust(p_values: Sequence[float] | np.ndarray, name: str = "holm",
           parameter: str = "correction") -> np.ndarray:
    """Adjusted p-values by the correction ``name`` (:data:`CORRECTIONS`), in the input order.

    NaN p-values (tests that could not run) are left out of the family and stay NaN; an empty or
    all-NaN family gives all NaN.
    """
    method = correction_method(name, parameter)
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        adjusters = {"holm": holm, "benjamini_hochberg": benjamini_hochberg,
                     "bonferroni": bonferroni}
        out[ok] = p[ok] if method is None else adjusters[method](p[ok])
    return out
