"""Pure arithmetic of channel_roi: means with intervals from sufficient statistics, CAC, LTV,
payback, ratios, and metric keys for channel names. No I/O, no SQL."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

Z95 = 1.959963984540054


def mean_ci(n: float, s: float, ss: float) -> tuple[float, float, float, float]:
    """Mean, standard error and 95% interval (normal) of values given their count ``n``, sum
    ``s`` and sum of squares ``ss``; NaN without values (standard error 0 from one value)."""
    if not n or n <= 0:
        return math.nan, math.nan, math.nan, math.nan
    m = s / n
    var = max((ss - n * m * m) / (n - 1), 0.0) if n > 1 else 0.0
    se = math.sqrt(var / n)
    return m, se, m - Z95 * se, m + Z95 * se


def cac(spend: float, new_users: float) -> float:
    """Spend per new user; NaN without spend, infinite with spend and no new user."""
    if not spend or spend <= 0:
        return math.nan
    return spend / new_users if new_users > 0 else math.inf


def payback_month(cum_per_user: pd.Series, cac_value: float) -> float:
    """The first month (index of ``cum_per_user``: months 1, 2, ...) whose cumulative margin per
    user reaches ``cac_value``; NaN when none does (not within the observed horizon)."""
    if not math.isfinite(cac_value):
        return math.nan
    for month, v in cum_per_user.sort_index().items():
        if math.isfinite(v) and v >= cac_value:
            return float(month)
    return math.nan


def ratio_ci(ltv: float, ltv_se: float, cost: float, b: float = math.nan,
             b_se: float = math.nan) -> tuple[float, float, float]:
    """LTV / cost with its 95% interval. ``cost`` is the average CAC (spend and counts are
    observed, not sampled); with a curve (``b``) the cost is the marginal CAC ``cost / b`` and
    the relative errors of LTV and ``b`` add in quadrature (delta method)."""
    if not (math.isfinite(ltv) and math.isfinite(cost)) or cost <= 0:
        return math.nan, math.nan, math.nan
    if math.isfinite(b):
        r = ltv * b / cost
        rel = math.hypot(ltv_se / ltv if ltv else 0.0, b_se / b)
        return r, r - Z95 * abs(r) * rel, r + Z95 * abs(r) * rel
    r = ltv / cost
    return r, (ltv - Z95 * ltv_se) / cost, (ltv + Z95 * ltv_se) / cost


_NOT_KEY = re.compile(r"[^a-z0-9_]+")


def metric_keys(names: list[str]) -> dict[str, str]:
    """A metric key for each channel name: lower case, runs of other characters as ``_``
    (``"Paid Search/EU"`` -> ``paid_search_eu``), ``channel`` for a name with none left, and
    ``_2``, ``_3`` ... where two names give the same key (in sorted order of the names)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in sorted(names, key=str):
        base = _NOT_KEY.sub("_", str(name).lower()).strip("_") or "channel"
        key, k = base, 1
        while key in used:
            k += 1
            key = f"{base}_{k}"
        used.add(key)
        out[name] = key
    return out


def finite(x: object) -> bool:
    try:
        return bool(np.isfinite(float(x)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
