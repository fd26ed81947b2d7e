"""Trend of a series in time order: Mann-Kendall test with the Theil-Sen slope.

    mann_kendall(values)             (tau, p, slope) of one series

A family of such tests (one per process step), corrected for multiplicity, is
:func:`playbook.analyses.process.trend.trend_tests`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats


def mann_kendall(values: Any) -> tuple[float, float, float]:
    """(tau, p_value, Theil-Sen slope per step) of a series in time order; NaN below 4 points."""
    y = np.asarray(values, dtype=float)
    y = y[np.isfinite(y)]
    if len(y) < 4:
        return np.nan, np.nan, np.nan
    x = np.arange(len(y))
    if np.ptp(y) == 0:
        return 0.0, 1.0, 0.0
    tau, p = stats.kendalltau(x, y)
    slope = stats.theilslopes(y, x)[0]
    return float(tau), float(p), float(slope)
