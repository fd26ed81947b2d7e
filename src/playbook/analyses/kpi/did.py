"""Difference in differences on a weekly unit panel, and the pre-period parallel-trends check.

The panel has one row per unit (e.g. a region) and week: ``unit``, ``week`` (whole weeks from
the campaign start: -pre_weeks .. -1 before it, 0 .. post_weeks-1 after), ``treated`` (bool)
and ``y``, the KPI of that unit in that week. Pure pandas/statsmodels; no I/O.

did
    OLS of ``y ~ C(unit) + C(week) + treated:post`` (two-way fixed effects), heteroskedasticity-
    robust HC1 standard errors. On a balanced panel the coefficient is the hand computation
    ``(mean post - mean pre of the treated units) - (mean post - mean pre of the comparison
    units)``, means taken over the unit-weeks. The interval is ``did +- t(0.975, df) x SE``.
counterfactual, relative change
    ``level`` is the treated units' mean in the post weeks; the counterfactual is ``level -
    did`` (what the treated units would have shown without the campaign) and the relative change
    ``did / counterfactual``. Both are linear in the coefficients (the fitted post mean of the
    treated equals its observed mean), so the relative change's interval is the delta method
    on the coefficients' HC1 covariance.
parallel trends
    On the pre weeks only: OLS of ``y ~ C(unit) + C(week) + treated:week`` (HC1); the
    coefficient is how much faster the treated units' KPI moved per week before the campaign.
    It fails when its two-sided p-value is below ``alpha``: the comparison group is then no
    stand-in for the treated units' path and the estimate is not to be trusted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats

from playbook.errors import DataError


@dataclass(frozen=True)
class DiD:
    """One KPI's difference in differences (module docstring)."""

    did: float
    se: float
    ci_low: float
    ci_high: float
    level: float  # treated units' mean in the post weeks
    counterfactual: float
    change: float  # did / counterfactual
    change_low: float
    change_high: float
    pre_slope: float  # treated minus comparison, per week, before the campaign
    pre_slope_p: float
    units: int
    weeks: int


def _fit(formula: str, panel: pd.DataFrame) -> object:
    return smf.ols(formula, data=panel).fit(cov_type="HC1")


def difference_in_differences(panel: pd.DataFrame, level: float = 0.95) -> DiD:
    """The DiD of ``panel`` (module docstring); :class:`DataError` when a group or period has
    no rows, or there are too few pre weeks for the trends check."""
    p = panel.assign(post=(panel["week"] >= 0).astype(float), tr=panel["treated"].astype(float))
    for name, part in (("treated units before", p[(p.tr == 1) & (p.post == 0)]),
                       ("treated units after", p[(p.tr == 1) & (p.post == 1)]),
                       ("comparison units before", p[(p.tr == 0) & (p.post == 0)]),
                       ("comparison units after", p[(p.tr == 0) & (p.post == 1)])):
        if part.empty:
            raise DataError(f"no weeks with data for the {name} the campaign start: check treated, "
                            "comparison, campaign_start, pre_weeks and post_weeks")
    p["tp"] = p.tr * p.post
    fit = _fit("y ~ C(unit) + C(week) + tp", p)
    params, cov = fit.params, fit.cov_params()  # type: ignore[attr-defined]
    names = list(params.index)
    did, se = float(params["tp"]), float(math.sqrt(cov.loc["tp", "tp"]))
    tq = float(stats.t.ppf(0.5 + level / 2, fit.df_resid))  # type: ignore[attr-defined]
    post_t = p[(p.tr == 1) & (p.post == 1)]
    design = np.asarray(fit.model.data.orig_exog.loc[post_t.index].mean(axis=0))  # type: ignore[attr-defined]
    level_t = float(post_t["y"].mean())
    e = np.zeros(len(names))
    e[names.index("tp")] = 1.0
    cf = level_t - did
    change = did / cf if cf != 0 else math.nan
    grad = (e * cf - (design - e) * did) / cf**2 if cf != 0 else e * math.nan  # d(did/cf)/d beta
    se_change = float(math.sqrt(max(grad @ cov.to_numpy() @ grad, 0.0)))
    slope, slope_p = parallel_trends(p[p.post == 0])
    return DiD(did=did, se=se, ci_low=did - tq * se, ci_high=did + tq * se, level=level_t,
               counterfactual=cf, change=change, change_low=change - tq * se_change,
               change_high=change + tq * se_change, pre_slope=slope, pre_slope_p=slope_p,
               units=int(p["unit"].nunique()), weeks=int(p["week"].nunique()))


def parallel_trends(pre: pd.DataFrame) -> tuple[float, float]:
    """(slope difference per week, its p-value) over the pre weeks (module docstring)."""
    if pre["week"].nunique() < 3:
        raise DataError("the parallel-trends check needs at least 3 weeks before the campaign "
                        "start: raise pre_weeks")
    q = pre.assign(tw=pre["tr"] * pre["week"])
    fit = _fit("y ~ C(unit) + C(week) + tw", q)
    return float(fit.params["tw"]), float(fit.pvalues["tw"])  # type: ignore[attr-defined]


def verdict(ci_low: float, ci_high: float, target: float, valid: bool) -> str:
    """``met`` when the whole interval of the relative change lies at or beyond the target (above
    a positive or zero target, below a negative one such as CAC -15%), ``missed`` when the whole
    interval lies short of it, ``undecided`` when it straddles the target, and ``invalid``
    when the parallel-trends check failed (or the interval is not finite)."""
    if not valid or not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return "invalid"
    lo, hi, t = (ci_low, ci_high, target) if target >= 0 else (-ci_high, -ci_low, -target)
    if lo >= t:
        return "met"
    if hi < t:
        return "missed"
    return "undecided"
