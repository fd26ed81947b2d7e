"""The weekly trend of each process step, tested as a family (one Mann-Kendall test per step,
:func:`playbook.stats.trend.mann_kendall`) and corrected across the steps.

Testing five steps at alpha = 0.05 each flags some step on trendless data in 1 - 0.95^5 = 23%
of periods; Holm's correction keeps that family-wise rate at or below alpha
(tests/test_process_trend.py simulates it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from playbook.errors import ParameterError
from playbook.stats.corrections import Method, correct
from playbook.stats.trend import mann_kendall

#: ``trend_correction`` names and the :func:`playbook.stats.corrections.correct` method of each.
TREND_CORRECTIONS: dict[str, Method | None] = {"holm": "holm", "bh": "benjamini_hochberg",
                                            "bonferroni": "bonferroni", "none": None}
TREND_COLUMNS = ["step", "weeks", "tau", "p_value", "p_adjusted", "significant", "trend",
                 "slope_h_per_week"]


def trend_tests(series: Mapping[str, Any], alpha: float = 0.05,
                correction: str = "holm") -> pd.DataFrame:
    """One Mann-Kendall test per series (e.g. each step's weekly medians), corrected across them.

    Returns :data:`TREND_COLUMNS`: ``p_value`` raw, ``p_adjusted`` by ``correction`` (holm, bh,
    bonferroni or none) across the series with a test (4 points or more; the others have NaN
    and are not in the family), ``significant`` = ``p_adjusted <= alpha`` and ``trend``:
    ``slower`` (rising), ``faster`` (falling), ``none`` or ``too few weeks``.
    """
    if correction not in TREND_CORRECTIONS:
        raise ParameterError(f"trend_correction={correction!r}: give one of "
                             f"{', '.join(TREND_CORRECTIONS)}")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise ParameterError(f"alpha={alpha!r}: give a significance level between 0 and 1")
    rows = []
    for name, values in series.items():
        y = np.asarray(values, dtype=float)
        tau, p, slope = mann_kendall(y)
        rows.append({"step": name, "weeks": int(np.isfinite(y).sum()), "tau": tau,
                     "p_value": p, "slope_h_per_week": slope})
    out = pd.DataFrame(rows, columns=["step", "weeks", "tau", "p_value", "slope_h_per_week"])
    out["p_adjusted"] = np.nan
    tested = out["p_value"].notna().to_numpy()
    method = TREND_CORRECTIONS[correction]
    if tested.any():
        p = out.loc[tested, "p_value"].to_numpy(float)
        out.loc[tested, "p_adjusted"] = (p if method is None else np.asarray(
            correct(p, method, alpha).adjusted))
    out["significant"] = (out["p_adjusted"] <= alpha).to_numpy(bool)
    out["trend"] = np.where(~tested, "too few weeks",
                            np.where(~out["significant"], "none",
                                     np.where(out["tau"] > 0, "slower", "faster")))
    return out[TREND_COLUMNS]
