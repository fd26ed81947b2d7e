"""Response curves: what the next unit of a channel's budget buys.

Per channel, new users per period against spend per period (days, or full weeks: weekly totals
average out day-to-day noise in the spend figures, which would otherwise flatten the curve) are
fitted by a quasi-Poisson GLM (statsmodels; the dispersion from Pearson's chi-square)::

    log E[new] = a + b log(spend)

``b`` is the elasticity: 1 means no diminishing returns (each unit of budget buys as much as the
average), below 1 diminishing returns. At the channel's current spend ``S`` with ``N`` new users
the marginal cost of a new user is ``dS/dN = (S / N) / b``: the average CAC divided by ``b``;
its 95% interval is the average CAC divided by the interval of ``b``.

The curve is not used (the average CAC stands, and ``reason`` says why) when there are fewer than
``min_points`` periods with spend, when spend hardly varies (the standard deviation of log spend
below ``min_variation``), or when the fit is not supported: it fails, or the interval of ``b``
does not lie above 0 (spend does not explain new users).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Why a channel has no curve (``CurveFit.reason``); the report translates them.
TOO_FEW = "too few periods"
FLAT = "too little spend variation"
UNSUPPORTED = "fit not supported"
NO_SPEND = "no spend"

Z95 = 1.959963984540054


@dataclass(frozen=True)
class CurveFit:
    """The fit of one channel: ``b`` with its 95% interval, or the reason there is none."""

    points: int
    b: float = math.nan
    b_low: float = math.nan
    b_high: float = math.nan
    b_se: float = math.nan
    a: float = math.nan
    dispersion: float = math.nan
    reason: str | None = None

    @property
    def fitted(self) -> bool:
        return self.reason is None

    @property
    def diminishing(self) -> bool:
        """The whole interval of ``b`` lies below 1."""
        return self.fitted and self.b_high < 1

    def predict(self, spend: np.ndarray | float) -> np.ndarray:
        """Expected new users per period at ``spend`` per period."""
        out: np.ndarray = np.exp(self.a + self.b * np.log(np.asarray(spend, float)))
        return out


def periods(daily: pd.DataFrame, period: str) -> pd.DataFrame:
    """``daily`` (day, spend, new_users of one channel, days with spend only) as periods:
    days, or full 7-day weeks counted back from the last day (a partial first week is left out)."""
    d = daily.sort_values("day").reset_index(drop=True)
    if period == "day" or d.empty:
        return d[["day", "spend", "new_users"]].reset_index(drop=True)
    last = pd.Timestamp(d["day"].iloc[-1])
    back = (last - pd.to_datetime(d["day"])).dt.days.to_numpy()
    week = back // 7
    out = d.assign(week=week).groupby("week", as_index=False).agg(
        day=("day", "min"), spend=("spend", "sum"), new_users=("new_users", "sum"), days=("day", "size"))
    out = out[out["days"] == 7].sort_values("day")
    return out[["day", "spend", "new_users"]].reset_index(drop=True)


def fit_curve(spend: np.ndarray, new_users: np.ndarray, *, min_points: int = 8,
              min_variation: float = 0.05) -> CurveFit:
    """The quasi-Poisson fit of ``new_users ~ exp(a) * spend**b`` (module docstring), over the
    periods with spend above 0."""
    import statsmodels.api as sm

    s, n = np.asarray(spend, float), np.asarray(new_users, float)
    keep = np.isfinite(s) & np.isfinite(n) & (s > 0)
    s, n = s[keep], n[keep]
    if len(s) == 0:  # no period at all (e.g. no full week), or no period with spend
        return CurveFit(0, reason=NO_SPEND if len(keep) else TOO_FEW)
    if len(s) < max(min_points, 3):
        return CurveFit(len(s), reason=TOO_FEW)
    x = np.log(s)
    if float(np.std(x, ddof=1)) < min_variation:
        return CurveFit(len(s), reason=FLAT)
    if n.sum() == 0:
        return CurveFit(len(s), reason=UNSUPPORTED)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = sm.GLM(n, sm.add_constant(x), family=sm.families.Poisson()).fit(scale="X2")
        a, b = (float(v) for v in fit.params)
        se = float(fit.bse[1])
    except Exception:  # noqa: BLE001 - any failure of the fit means no curve, said so
        return CurveFit(len(s), reason=UNSUPPORTED)
    lo, hi = b - Z95 * se, b + Z95 * se
    if not (math.isfinite(b) and math.isfinite(se)) or lo <= 0:
        return CurveFit(len(s), b, lo, hi, se, a, float(fit.scale), reason=UNSUPPORTED)
    return CurveFit(len(s), b, lo, hi, se, a, float(fit.scale))
