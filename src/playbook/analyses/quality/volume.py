"""Daily volume anomalies: days whose row count is far from a robust trailing baseline.

Used by :mod:`playbook.analyses.quality.analysis` for every table with a timestamp column.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def daily_volume(days: Any, rows: Any, *, window: int = 28, min_history: int = 28,
                 z_threshold: float = 4.5, min_spread: float = 0.05,
                 min_expected: float = 5.0) -> pd.DataFrame:
    """Flag days whose row count is far from a robust trailing baseline.

    ``days``/``rows`` are the days present and their row counts; missing days inside the range
    count 0 rows. The first and the last day are partial (a series starts and stops mid-day,
    e.g. at as_of) and are never scored.

    1. Weekly seasonality: the weekday effect is the median, per weekday, of ``log(1 + rows)``
       minus its centered 7-day mean; counts are divided by it (``adjusted``).
    2. Counts are put on a variance-stabilized scale, ``y = 2 * sqrt(adjusted + 3/8)``
       (Anscombe: Poisson noise has standard deviation 1 there, at 5 rows/day as at 50,000).
    3. A day with at least ``min_history`` earlier days gets ``residual = y - median(y over the
       previous window days)``; ``expected`` is that median back on the count scale (with the
       weekday effect).
    4. ``z = (residual - median residual) / spread`` with ``spread = max(1.4826 * MAD of all
       residuals, 1, min_spread * sqrt(expected))``: the median residual removes the steady lag
       of a trailing median behind a trend; the MAD over the whole series is stabler than one
       over a 28-day window; the floors are Poisson noise (1) and a materiality floor, so that a
       5% wobble of a 10-million-row table is not an incident.
    5. Anomaly: ``|z| > z_threshold`` and ``expected >= min_expected``. The default 4.5
       rather than 4: a warehouse has about a thousand table-days; at 4 Poisson noise alone
       raised an alarm in a few of twenty clean sample warehouses, at 4.5 in none.

    Returns one row per day: day, rows, expected (NaN when not scored), z, anomaly.
    """
    s = pd.Series(np.asarray(rows, dtype=float), index=pd.to_datetime(pd.Series(days)).values)
    if s.empty:
        return pd.DataFrame(columns=["day", "rows", "expected", "z", "anomaly"])
    full = pd.date_range(s.index.min(), s.index.max(), freq="D")
    s = s.groupby(level=0).sum().reindex(full, fill_value=0.0)
    counts = s.to_numpy()
    n = len(counts)
    weekday = full.day_of_week.to_numpy()
    effect = np.zeros(7)
    inner = np.log1p(counts[1:n - 1])
    if len(inner) >= 14:
        resid = inner - pd.Series(inner).rolling(7, center=True).mean().to_numpy()
        for k in range(7):
            vals = resid[(weekday[1:n - 1] == k) & ~np.isnan(resid)]
            effect[k] = np.median(vals) if len(vals) else 0.0
    factor = np.exp(effect[weekday])
    y = 2 * np.sqrt(counts / factor + 0.375)
    expected = np.full(n, np.nan)
    res = np.full(n, np.nan)
    for i in range(1 + min_history, n - 1):
        med = float(np.median(y[max(1, i - window):i]))
        expected[i] = max((med / 2) ** 2 - 0.375, 0.0) * factor[i]
        res[i] = y[i] - med
    scored = ~np.isnan(res)
    z = np.full(n, np.nan)
    if scored.any():
        r = res[scored]
        center = float(np.median(r))
        mad = 1.4826 * float(np.median(np.abs(r - center)))
        floor = np.maximum(1.0, min_spread * np.sqrt(expected[scored] / factor[scored]))
        z[scored] = (r - center) / np.maximum(mad, floor)
    anomaly = (np.abs(np.nan_to_num(z)) > z_threshold) & (np.nan_to_num(expected) >= min_expected)
    return pd.DataFrame({"day": full.date, "rows": counts.astype(np.int64),
                         "expected": expected, "z": z, "anomaly": anomaly})
