"""The funnel's result tables, built from the small aggregates DuckDB returns (no raw events).

Definitions are in :mod:`playbook.analyses.funnel.analysis`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from playbook.stats.corrections import adjust
from playbook.stats.proportions import two_proportion_ztest, wilson_interval

#: Time-to-convert histogram edges in hours (5 min .. 90 days), cut at the conversion window.
HIST_EDGES_H = (0.0, 5 / 60, 0.25, 0.5, 1, 2, 4, 8, 12, 24, 48, 72, 168, 336, 720, 1440, 2160)


def histogram_edges(window_h: float) -> list[float]:
    """Bin edges from 0 to the window: the fixed ladder below it, then the window itself."""
    return [e for e in HIST_EDGES_H if e < window_h] + [float(window_h)]


def _q(value: Any, i: int) -> float:
    if not isinstance(value, list | tuple | np.ndarray) or value[i] is None:
        return np.nan  # no user reached the step: NULL, NA or NaN
    return float(value[i])


def step_table(steps: list[str], reached: list[int], times: pd.DataFrame) -> pd.DataFrame:
    """One row per step: users, conversions with Wilson intervals, abandonment, step times
    (the median time from the previous step with its order-statistic interval)."""
    users = np.asarray(reached, dtype=float)
    base = np.concatenate([[np.nan], users[:-1]])
    entry = np.full(len(users), users[0])
    conv_lo, conv_hi = wilson_interval(users[1:], base[1:])
    all_lo, all_hi = wilson_interval(users, entry)
    with np.errstate(divide="ignore", invalid="ignore"):
        conv = users / base
        overall = users / entry
        abandoned = base - users
        share = abandoned / base
    t = times.iloc[0] if len(times) else {}
    df = pd.DataFrame({
        "step": steps, "users": users.astype(int),
        "conv": conv, "conv_ci_low": np.r_[np.nan, conv_lo], "conv_ci_high": np.r_[np.nan, conv_hi],
        "conv_overall": overall, "conv_overall_ci_low": all_lo, "conv_overall_ci_high": all_hi,
        "abandoned_users": abandoned, "abandoned_share": share,
        "median_h": [np.nan] + [_q(t.get(f"q{k}"), 0) for k in range(1, len(steps))],
        "median_ci_low": [np.nan] + [_q(t.get(f"m{k}"), 0) for k in range(1, len(steps))],
        "median_ci_high": [np.nan] + [_q(t.get(f"m{k}"), 1) for k in range(1, len(steps))],
        "p90_h": [np.nan] + [_q(t.get(f"q{k}"), 1) for k in range(1, len(steps))],
        "median_from_entry_h": [np.nan] + [_q(t.get(f"e{k}"), 0) for k in range(1, len(steps))],
        "p90_from_entry_h": [np.nan] + [_q(t.get(f"e{k}"), 1) for k in range(1, len(steps))],
    })
    df.loc[0, ["conv_overall", "conv_overall_ci_low", "conv_overall_ci_high"]] = (
        [1.0, np.nan, np.nan] if users[0] else [np.nan] * 3)
    return df


SEGMENT_COLUMNS = ["breakdown", "segment", "scope", "step", "users_base", "users_converted",
                   "conv", "rest_base", "rest_converted", "rest_conv", "diff", "z", "p_value",
                   "p_adjusted", "significant"]


def empty_segments() -> pd.DataFrame:
    """The segment table without rows, typed as a full one (``significant`` is bool, so
    ``segments[segments.significant]`` selects rows, not columns)."""
    text = {"breakdown", "segment", "scope", "step"}
    return pd.DataFrame({c: pd.Series(dtype=object if c in text else
                                      bool if c == "significant" else float)
                         for c in SEGMENT_COLUMNS})


def segment_table(raw: pd.DataFrame | None, breakdowns: list[str], loss_i: int | None,
                  steps: list[str], *, min_users: int, correction: str,
                  alpha: float) -> pd.DataFrame:
    """Each segment against the rest, at the loss bottleneck and overall (see funnel.py)."""
    if raw is None or not len(raw) or not breakdowns:
        return empty_segments()
    n = len(steps)
    scopes = [("overall", 0, n - 1)]
    if loss_i is not None:
        scopes.insert(0, ("bottleneck", loss_i - 1, loss_i))
    rows = []
    for i, b in enumerate(breakdowns):
        others = [f"b{j}" for j in range(len(breakdowns)) if j != i]
        part = raw[raw[f"b{i}"].notna() & raw[others].isna().all(axis=1)] if others else \
            raw[raw[f"b{i}"].notna()]
        for scope, a, c in scopes:
            base, conv = part[f"n{a}"].to_numpy(float), part[f"n{c}"].to_numpy(float)
            for seg, nb, nc in zip(part[f"b{i}"], base, conv, strict=True):
                rows.append({"breakdown": b, "segment": str(seg), "scope": scope,
                             "step": steps[c], "users_base": nb, "users_converted": nc,
                             "rest_base": base.sum() - nb, "rest_converted": conv.sum() - nc})
    df = pd.DataFrame(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        df["conv"] = df["users_converted"] / df["users_base"]
        df["rest_conv"] = df["rest_converted"] / df["rest_base"]
    df["diff"] = df["conv"] - df["rest_conv"]
    z, p = two_proportion_ztest(df["users_converted"], df["users_base"], df["rest_converted"],
                                df["rest_base"])
    small = (df["users_base"] < min_users) | (df["rest_base"] < min_users)
    df["z"] = np.where(small, np.nan, z)
    df["p_value"] = np.where(small, np.nan, p)
    df["p_adjusted"] = np.nan
    for scope in df["scope"].unique():
        m = (df["scope"] == scope).to_numpy()
        df.loc[m, "p_adjusted"] = adjust(df.loc[m, "p_value"].to_numpy(), correction)
    df["significant"] = (df["p_adjusted"] < alpha).to_numpy()
    df = df.sort_values(["scope", "breakdown", "segment"], kind="stable", ignore_index=True)
    return df[SEGMENT_COLUMNS]


def weakest_segment(segments: pd.DataFrame) -> dict[str, Any] | None:
    """The significant segment below the rest with the lowest conversion at the bottleneck,
    else overall; None if no segment is significantly below the rest."""
    for scope in ("bottleneck", "overall"):
        s = segments[(segments["scope"] == scope) & segments["significant"]
                     & (segments["diff"] < 0)]
        if len(s):
            row = s.sort_values(["conv", "p_adjusted"], kind="stable").iloc[0]
            return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
    return None


def previous_table(steps: list[str], cur: list[int], prev: list[int]) -> pd.DataFrame:
    """Each step's overall conversion in the period against the previous period."""
    c, p = np.asarray(cur, float), np.asarray(prev, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        cc, pc = c[1:] / c[0], p[1:] / p[0]
    z, pv = two_proportion_ztest(c[1:], np.full(len(c) - 1, c[0]), p[1:],
                                 np.full(len(p) - 1, p[0]))
    return pd.DataFrame({"step": steps[1:], "users": c[1:].astype(int), "conv_overall": cc,
                         "prev_users": p[1:].astype(int), "prev_conv_overall": pc,
                         "delta": cc - pc, "z": z, "p_value": pv})
