"""The statistics of retention: Wilson intervals of cells, the trend of a day-n rate across
cohorts, the pooled latest complete cohorts, the repeat-decay ratio and the segment test.

    cell_rates(frame)            rate, ci_low, ci_high of retained / eligible (Wilson, 95%)
    trend(retained, users)       slope of the log-odds per cohort (quasi-binomial logistic GLM)
    pooled_latest(cells, n)      the most recent n complete cohorts pooled (Wilson)
    decay_ratio(cells)           month-over-month ratio of a repeat rate (binomial GLM, log link)
    segment_test(counts)         chi-square test of independence of retained by segment
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from playbook.stats.proportions import wilson_interval

Z95 = 1.959963984540054


def cell_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with rate = retained / eligible and its 95% Wilson interval, NaN where the
    cell is not complete (``complete`` False) or empty."""
    ok = frame["complete"].to_numpy(bool) & (frame["eligible"].to_numpy(float) > 0)
    x, n = frame["retained"].to_numpy(float), frame["eligible"].to_numpy(float)
    lo, hi = wilson_interval(x, np.where(ok, n, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(ok, x / n, np.nan)
    return frame.assign(rate=rate, ci_low=np.where(ok, lo, np.nan), ci_high=np.where(ok, hi, np.nan))


@dataclass(frozen=True)
class Trend:
    """Slope of the log-odds of a rate per cohort step, its 95% interval and p-value; and the
    odds ratio per step (``exp(slope)``). NaN with fewer than ``MIN_COHORTS`` cohorts."""

    slope: float
    ci_low: float
    ci_high: float
    p_value: float
    cohorts: int
    scale: float  # the quasi-binomial dispersion (Pearson chi2 / df), at least 1

    @property
    def odds_ratio(self) -> float:
        return math.exp(self.slope) if math.isfinite(self.slope) else math.nan


MIN_COHORTS = 3


def trend(retained: np.ndarray, users: np.ndarray, x: np.ndarray | None = None) -> Trend:
    """Logistic regression of retained / users on the cohort's order (0, 1, 2, ... or ``x``),
    each cohort weighted by its users: a binomial GLM whose variance is scaled by the Pearson
    dispersion when above 1 (quasi-binomial), so cohorts that differ more than chance allows
    widen the interval instead of making any slope significant."""
    import statsmodels.api as sm

    y = np.asarray(retained, float)
    n = np.asarray(users, float)
    keep = n > 0
    y, n = y[keep], n[keep]
    xs = np.arange(len(y), dtype=float) if x is None else np.asarray(x, float)[keep]
    if len(y) < MIN_COHORTS or np.ptp(xs) == 0:
        return Trend(math.nan, math.nan, math.nan, math.nan, len(y), math.nan)
    if y.sum() == 0 or y.sum() == n.sum():  # every cohort at 0 or 100%: nothing changes
        return Trend(0.0, math.nan, math.nan, 1.0, len(y), 1.0)
    exog = sm.add_constant(xs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.GLM(np.column_stack([y, n - y]), exog, family=sm.families.Binomial()).fit()
    dof = max(len(y) - 2, 1)
    scale = max(float(fit.pearson_chi2) / dof, 1.0)
    se = float(fit.bse[1]) * math.sqrt(scale)
    slope = float(fit.params[1])
    if not math.isfinite(se) or se == 0:
        return Trend(slope, math.nan, math.nan, math.nan, len(y), scale)
    z = slope / se
    return Trend(slope, slope - Z95 * se, slope + Z95 * se, float(2 * stats.norm.sf(abs(z))),
                 len(y), scale)


def pooled_latest(cells: pd.DataFrame, n: int) -> tuple[float, float, float, int, int, list[str]]:
    """(rate, ci_low, ci_high, retained, users, cohorts) of the ``n`` most recent complete
    cohorts of ``cells`` (grp, retained, eligible, complete), pooled; NaN when none is."""
    done = cells[cells["complete"] & (cells["eligible"] > 0)].sort_values("grp").tail(int(n))
    x, m = int(done["retained"].sum()), int(done["eligible"].sum())
    if m == 0:
        return math.nan, math.nan, math.nan, 0, 0, []
    lo, hi = wilson_interval(x, m)
    names = [pd.Timestamp(g).date().isoformat() for g in done["grp"]]
    return x / m, float(lo), float(hi), x, m, names


@dataclass(frozen=True)
class Decay:
    """The ratio of a repeat rate from one 30-day month to the next, ``exp(b)`` of
    ``log P(repeat in month k) = a_cohort + b k``, its 95% interval and the data it used."""

    ratio: float
    ci_low: float
    ci_high: float
    cells: int
    cohorts: int
    repeaters: int
    family: str  # binomial (log link), or poisson (with log users as offset) when it fails


def _log_binomial(y: np.ndarray, n: np.ndarray, exog: np.ndarray, start: np.ndarray) -> Any:
    """The binomial GLM with log link of ``y`` successes in ``n``; None when it fails or its
    standard errors are not finite."""
    import statsmodels.api as sm

    try:
        fit = sm.GLM(np.column_stack([y, n - y]), exog,
                     family=sm.families.Binomial(link=sm.families.links.Log())).fit(start_params=start)
    except (ValueError, np.linalg.LinAlgError, FloatingPointError):
        return None
    return fit if np.all(np.isfinite(fit.bse)) else None


def decay_ratio(cells: pd.DataFrame) -> Decay:
    """Fit the decay over the complete cells (grp, j, retained, eligible) with at least one
    member: a binomial GLM with log link, one intercept per cohort and the month index as the
    slope; if it cannot be fitted (a rate near 1), a Poisson GLM of the same form with the
    cohort's users as exposure (wider intervals, same ratio)."""
    import statsmodels.api as sm

    c = cells[cells["complete"] & (cells["eligible"] > 0)].copy()
    empty = Decay(math.nan, math.nan, math.nan, len(c), 0, int(c["retained"].sum()), "none")
    if c["j"].nunique() < 2 or c["retained"].sum() == 0:
        return empty
    dummies = pd.get_dummies(c["grp"].astype(str), dtype=float)
    exog = np.column_stack([dummies.to_numpy(), c["j"].to_numpy(float)])
    y, n = c["retained"].to_numpy(float), c["eligible"].to_numpy(float)
    family = "binomial"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = np.r_[np.log(np.maximum(y.sum(), 0.5) / n.sum()) * np.ones(dummies.shape[1]), -0.1]
        fit = _log_binomial(y, n, exog, start)
        if fit is None:  # the log-binomial fit failed or has no standard errors: Poisson with exposure
            family = "poisson"
            fit = sm.GLM(y, exog, family=sm.families.Poisson(), offset=np.log(n)).fit()
    b, se = float(fit.params[-1]), float(fit.bse[-1])
    return Decay(math.exp(b), math.exp(b - Z95 * se), math.exp(b + Z95 * se), len(c),
                 dummies.shape[1], int(y.sum()), family)


def segment_test(retained: np.ndarray, users: np.ndarray) -> tuple[float, float, int]:
    """(chi2, p_value, dof) of the test that the retained share is the same in every segment
    (Pearson's chi-square on the segments x retained table; segments with no users left out).
    NaN with fewer than two segments or a column of zeros."""
    x = np.asarray(retained, float)
    n = np.asarray(users, float)
    keep = n > 0
    table = np.column_stack([x[keep], n[keep] - x[keep]])
    if len(table) < 2 or (table.sum(axis=0) == 0).any():
        return math.nan, math.nan, 0
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    return float(chi2), float(p), int(dof)


def mean_ci(mean: float, sd: float, n: int) -> tuple[float, float]:
    """95% interval of a mean from n values (Student's t); NaN below 2 values."""
    if n < 2 or not math.isfinite(sd):
        return math.nan, math.nan
    half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half
