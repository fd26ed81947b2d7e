"""How far to trust the forecast: a rolling-origin backtest, and the most similar past campaigns.

backtest
    Campaigns in start order. For each origin ``i`` from ``start`` on (0-based: the first
    forecast is made from the first ``start`` campaigns), the models are chosen and fitted on
    campaigns ``0 .. i-1`` only and forecast campaign ``i`` from its channel, budget, duration and
    audience, exactly as the planned campaign is forecast (conversions without knowing its
    participants). Per target: **MAPE**, the mean of ``|actual - forecast| / actual`` over the
    points whose actual is above zero, and the **coverage**, the share of points whose actual
    lies inside the 95% prediction interval (both ends included).
similar campaigns
    The past campaigns of the planned channel first, then the others; within each, by the
    distance in standardized ``log budget``, ``log audience`` and ``log duration`` (each divided
    by its standard deviation over the history; a constant one counts nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from playbook.analyses.forecast.data import Planned
from playbook.analyses.forecast.model import (
    Prediction,
    choose_design,
    features,
    fit,
    interval,
    predict,
    row,
)
from playbook.stats.proportions import wilson_interval

TARGETS = ("participation", "conversion")


@dataclass(frozen=True)
class Settings:
    """How the models are chosen and simulated."""

    min_channel: int = 3
    per_coef: int = 3
    draws: int = 4000
    seed: int = 1
    level: float = 0.95


def forecast_one(history: pd.DataFrame, channel: str, feats: dict[str, np.ndarray], audience: float,
                 settings: Settings, *, seed: int) -> tuple[Prediction, tuple[str, ...], tuple[str, ...]]:
    """Fit both models on ``history`` and predict one campaign; with the kept and dropped terms."""
    design = choose_design(history, min_channel=settings.min_channel, per_coef=settings.per_coef)
    part = fit(history, design, "participants", history["audience"].to_numpy(float))
    conv = fit(history, design, "conversions", history["participants"].to_numpy(float))
    x = row(design, channel, feats)
    kept = (*(f"channel:{c}" for c in design.channels), *(("channel:pooled",) if design.pooled else ()),
            *design.terms)
    return predict(part, conv, x, audience, draws=settings.draws, seed=seed), kept, design.dropped


def backtest(frame: pd.DataFrame, start: int, settings: Settings) -> pd.DataFrame:
    """One row per backtest point (module docstring): campaign, channel, start, origin (campaigns
    fitted on), and per target the actual, forecast, pi_low, pi_high and inside."""
    rows = []
    feats = features(frame)
    for i in range(start, len(frame)):
        past = frame.iloc[:i]
        one = {k: v[i : i + 1] for k, v in feats.items()}
        target = frame.iloc[i]
        pred, _, _ = forecast_one(past, str(target["channel"]), one, float(target["audience"]),
                                  settings, seed=settings.seed + i)
        out = {"campaign": target["campaign"], "channel": target["channel"], "start": target["start"],
               "origin": i}
        for name, actual, mean, draws in (
                ("participation", target["participants"], pred.participants, pred.participant_draws),
                ("conversion", target["conversions"], pred.conversions, pred.conversion_draws)):
            lo, hi = interval(draws, settings.level)
            out |= {f"{name}_actual": float(actual), f"{name}_forecast": mean, f"{name}_pi_low": lo,
                    f"{name}_pi_high": hi, f"{name}_inside": bool(lo <= actual <= hi)}
        rows.append(out)
    cols = ["campaign", "channel", "start", "origin",
            *(f"{t}_{s}" for t in TARGETS for s in ("actual", "forecast", "pi_low", "pi_high", "inside"))]
    return pd.DataFrame(rows, columns=cols)


def mape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute percentage error over the points with an actual above zero (NaN if none)."""
    a, f = np.asarray(actual, float), np.asarray(forecast, float)
    keep = a > 0
    return float(np.mean(np.abs(a[keep] - f[keep]) / a[keep])) if keep.any() else float("nan")


def scores(points: pd.DataFrame) -> pd.DataFrame:
    """Per target: points, MAPE and coverage of the backtest (NaN without points)."""
    out = []
    for t in TARGETS:
        n = len(points)
        out.append({"target": t, "points": n,
                    "mape": mape(points[f"{t}_actual"].to_numpy(), points[f"{t}_forecast"].to_numpy()) if n
                    else float("nan"),
                    "coverage": float(points[f"{t}_inside"].mean()) if n else float("nan")})
    return pd.DataFrame(out)


def similar(frame: pd.DataFrame, plan: Planned, n: int) -> pd.DataFrame:
    """The ``n`` past campaigns most like the planned one (module docstring), with their
    participation and conversion rates and Wilson 95% intervals."""
    logs = pd.DataFrame({"b": np.log(frame["budget"]), "a": np.log(frame["audience"]),
                         "d": np.log(frame["duration_days"])})
    target = {"b": np.log(plan.budget), "a": np.log(plan.audience), "d": np.log(plan.duration_days)}
    dist = np.zeros(len(frame))
    for k, v in target.items():
        sd = float(logs[k].std(ddof=0)) if len(frame) > 1 else 0.0
        if sd > 0:
            dist += ((logs[k].to_numpy() - v) / sd) ** 2
    out = frame.assign(same_channel=frame["channel"] == plan.channel, distance=np.sqrt(dist))
    out = out.sort_values(["same_channel", "distance", "start"], ascending=[False, True, True],
                          kind="stable").head(n).reset_index(drop=True)
    p_lo, p_hi = wilson_interval(out["participants"].to_numpy(), out["audience"].to_numpy())
    c_lo, c_hi = wilson_interval(out["conversions"].to_numpy(), out["participants"].to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        conv = np.where(out["participants"] > 0, out["conversions"] / out["participants"], np.nan)
    return out.assign(participation_rate=out["participants"] / out["audience"], participation_ci_low=p_lo,
                      participation_ci_high=p_hi, conversion_rate=conv, conversion_ci_low=c_lo,
                      conversion_ci_high=c_hi)[
        ["campaign", "channel", "start", "duration_days", "budget", "audience", "participants",
         "participation_rate", "participation_ci_low", "participation_ci_high", "conversions",
         "conversion_rate", "conversion_ci_low", "conversion_ci_high", "same_channel", "distance"]]
