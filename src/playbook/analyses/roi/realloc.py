"""The budget shift: away from channels that do not pay back, toward the ones that pay best.

Budgets are per 30 days (the window's spend scaled to 30 days). A channel whose LTV/CAC (the
marginal CAC where a curve is fitted) is under ``threshold`` gives up ``max_cut`` of its budget;
the channels at or above it take it, best ratio first, each at most ``max_add`` of its own
budget. What they cannot take stays where it is (the cuts shrink in proportion).

Expected change: with a curve, a channel spending ``S`` with ``N`` new users per 30 days gets
``N ((S + D) / S) ** b - N`` more (fewer) users; without one, ``D / CAC`` (the average holds).
Value = new users x margin-adjusted LTV at the decision horizon. The 95% intervals come from
``draws`` joint draws of each channel's LTV (normal, its standard error), ``b`` (normal, its
standard error, kept above 0) and its users per unit of budget (the window's new users are a
count: relative standard error ``1 / sqrt(new users)``), with a fixed ``seed``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

CUT, ADD, KEEP = "cut", "add", "keep"


@dataclass(frozen=True)
class Shift:
    """The proposal: ``table`` per channel and the totals with their 95% intervals."""

    table: pd.DataFrame  # channel, role, budget, change, new_budget, d_users(_low/_high), d_value(_low/_high)
    moved: float
    d_users: tuple[float, float, float]
    d_value: tuple[float, float, float]


def _gain(n: np.ndarray, s: float, d: float, b: np.ndarray | float | None) -> np.ndarray:
    """More (fewer) new users from ``d`` more budget on ``s``: the curve's, or linear."""
    if b is None or not np.all(np.isfinite(b)):
        return np.asarray(n * d / s, float)
    return np.asarray(n * ((s + d) / s) ** b - n, float)


def reallocate(channels: pd.DataFrame, *, threshold: float = 1.0, max_cut: float = 0.5,
               max_add: float = 0.5, draws: int = 2000, seed: int = 0) -> Shift:
    """``channels``: channel, budget (per 30 days), users (new per 30 days), counted (new users
    of the window), ratio (LTV/CAC used for the decision), ltv, ltv_se, b, b_se (NaN without a
    curve). Module docstring: the rule."""
    ok = channels[(channels["budget"] > 0) & np.isfinite(channels["ratio"])].copy()
    losers = ok[ok["ratio"] < threshold]
    takers = ok[ok["ratio"] >= threshold].sort_values("ratio", ascending=False)
    pool = float((losers["budget"] * max_cut).sum())
    room = float((takers["budget"] * max_add).sum())
    moved = min(pool, room)
    change = dict.fromkeys(ok["channel"], 0.0)
    if moved > 0:
        for r in losers.itertuples():
            change[r.channel] = -float(r.budget) * max_cut * moved / pool
        left = moved
        for r in takers.itertuples():
            give = min(left, float(r.budget) * max_add)
            change[r.channel] = give
            left -= give
    rng = np.random.default_rng(seed)
    rows, tot_u, tot_v = [], np.zeros(draws), np.zeros(draws)
    point_u = point_v = 0.0
    for r in ok.itertuples():
        d = change[r.channel]
        fitted = math.isfinite(r.b)
        b_draw = np.maximum(rng.normal(r.b, r.b_se, draws), 0.01) if fitted else None
        ltv_draw = rng.normal(r.ltv, r.ltv_se if math.isfinite(r.ltv_se) else 0.0, draws)
        rel = 1 / math.sqrt(r.counted) if r.counted > 0 else 0.0
        users_draw = float(r.users) * np.maximum(rng.normal(1.0, rel, draws), 0.0)
        du = _gain(users_draw, float(r.budget), d, b_draw)
        dv = du * ltv_draw
        pu = float(_gain(np.array([float(r.users)]), float(r.budget), d, r.b if fitted else None)[0])
        pv = pu * float(r.ltv)
        tot_u += du
        tot_v += dv
        point_u += pu
        point_v += pv
        role = CUT if d < 0 else ADD if d > 0 else KEEP
        rows.append({"channel": r.channel, "role": role, "budget": float(r.budget), "change": d,
                     "new_budget": float(r.budget) + d, "d_users": pu,
                     "d_users_low": float(np.quantile(du, 0.025)), "d_users_high": float(np.quantile(du, 0.975)),
                     "d_value": pv, "d_value_low": float(np.quantile(dv, 0.025)),
                     "d_value_high": float(np.quantile(dv, 0.975))})
    table = pd.DataFrame(rows, columns=["channel", "role", "budget", "change", "new_budget", "d_users",
                                        "d_users_low", "d_users_high", "d_value", "d_value_low", "d_value_high"])

    def band(point: float, x: np.ndarray) -> tuple[float, float, float]:
        if not moved:
            return 0.0, 0.0, 0.0
        return point, float(np.quantile(x, 0.025)), float(np.quantile(x, 0.975))

    return Shift(table, moved, band(point_u, tot_u), band(point_v, tot_v))
