"""Sample ratio mismatch (SRM): did the arms get the traffic the design promised?

A chi-square goodness-of-fit test of observed unit counts per arm against the planned
allocation. An SRM means assignment or logging is broken (bots filtered in one arm, a redirect
that loses users, a crash), and then no lift read from the experiment can be trusted. The
default threshold is alpha = 0.001 (as GrowthBook and most platforms): the check runs on every
experiment and every day, so a strict level keeps false alarms rare, and a real SRM is usually
huge. 5000 vs 5200 at 50/50 gives chi-square 3.9216, p 0.04767: suspicious, not an SRM at 0.001.

:func:`srm_by_segment` runs the same test inside each segment (device, country, day) to find
where a mismatch comes from; it does not correct for the number of segments (use
:mod:`playbook.stats.corrections` on the p-values if you act on individual segments).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
from scipy import stats as st

from playbook.errors import DataError

__all__ = ["SRMResult", "srm_by_segment", "srm_test"]

DEFAULT_SRM_ALPHA = 0.001


@dataclass(frozen=True)
class SRMResult:
    """Chi-square SRM test; ``mismatch`` is True when p_value < alpha."""

    observed: tuple[int, ...]
    expected: tuple[float, ...]
    weights: tuple[float, ...]
    chi2: float
    df: int
    p_value: float
    alpha: float

    @property
    def mismatch(self) -> bool:
        return self.p_value < self.alpha


def _weights(k: int, weights: Sequence[float] | None) -> np.ndarray:
    if weights is None:
        return np.full(k, 1.0 / k)
    w = np.asarray(weights, dtype=float)
    if w.shape != (k,):
        raise DataError(f"srm: {k} arms observed but {len(w)} allocation weights given; give one weight per arm")
    if np.any(w <= 0) or not np.all(np.isfinite(w)):
        raise DataError(f"srm: allocation weights must be positive, got {list(map(float, w))}")
    return cast(np.ndarray, w / w.sum())


def srm_test(
    observed: Sequence[int], weights: Sequence[float] | None = None, alpha: float = DEFAULT_SRM_ALPHA
) -> SRMResult:
    """Test unit counts per arm (in arm order) against allocation ``weights`` (default: equal)."""
    obs = np.asarray(observed, dtype=float)
    if obs.ndim != 1 or obs.size < 2:
        raise DataError(
            f"srm: need unit counts for at least 2 arms, got {list(observed)!r}; an SRM check compares arms"
        )
    if np.any(obs < 0) or np.any(obs != np.round(obs)):
        raise DataError(f"srm: counts must be non-negative integers, got {list(observed)!r}")
    if not 0 < alpha < 1:
        raise DataError(f"srm: alpha must be between 0 and 1, got {alpha!r}")
    w = _weights(obs.size, weights)
    total = obs.sum()
    if total == 0:
        raise DataError("srm: no units in any arm; check the assignment table and the date filter")
    expected = total * w
    chi2 = float(np.sum((obs - expected) ** 2 / expected))
    df = int(obs.size - 1)
    return SRMResult(
        observed=tuple(int(x) for x in obs),
        expected=tuple(float(x) for x in expected),
        weights=tuple(float(x) for x in w),
        chi2=chi2,
        df=df,
        p_value=float(st.chi2.sf(chi2, df)),
        alpha=alpha,
    )


def srm_by_segment(
    counts: Mapping[str, Sequence[int]],
    weights: Sequence[float] | None = None,
    alpha: float = DEFAULT_SRM_ALPHA,
) -> dict[str, SRMResult]:
    """SRM test per segment: ``counts`` maps segment name to unit counts per arm.

    Segments with no units at all are skipped (nothing to test), not reported as mismatches.
    """
    out: dict[str, SRMResult] = {}
    for segment, obs in counts.items():
        if sum(obs) == 0:
            continue
        out[segment] = srm_test(obs, weights, alpha)
    return out
