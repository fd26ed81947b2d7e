"""Segment and tier profiles with their intervals, from the SQL aggregates (small frames).

share of users
    users in the group / all users, with a 95% Wilson interval.
share of revenue
    the group's spend / all spend. Its 95% interval treats the users as draws from the process
    that makes this customer base (the delta method for a ratio of sums: standard error
    ``sqrt((1-p)^2 Q_g + p^2 (Q - Q_g)) / S`` with ``S`` the total spend and ``Q`` the sums of
    squared spend per user, all and in the group).
mean monetary
    mean spend of the group's buyers with a 95% t interval (none for one buyer).
active 30 / 90, repeat rate
    share of the group's users whose last purchase is less than 30 (90) days before the
    snapshot, and with two purchases or more; Wilson 95% intervals.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from playbook.stats.proportions import two_proportion_ztest, wilson_interval

Z = float(stats.norm.ppf(0.975))


def profile(raw: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """``raw`` (:meth:`SegmentSQL.profile`) with shares and intervals, in ``order`` (groups
    without users are kept with zeros: a segment of the mapping that no user reaches shows)."""
    df = raw.set_index("name").reindex(order).reset_index()
    for col in ("users", "buyers", "active_30", "active_90", "repeaters"):
        df[col] = df[col].fillna(0).astype("int64")
    df[["revenue", "revenue_sq"]] = df[["revenue", "revenue_sq"]].fillna(0.0).astype(float)
    n, s, q = int(df["users"].sum()), float(df["revenue"].sum()), float(df["revenue_sq"].sum())
    users = df["users"].to_numpy(float)
    df["share"] = users / n if n else np.nan
    df["share_ci_low"], df["share_ci_high"] = wilson_interval(users, np.full(len(df), n))
    p = df["revenue"].to_numpy(float) / s if s > 0 else np.full(len(df), np.nan)
    qg = df["revenue_sq"].to_numpy(float)
    se = np.sqrt((1 - p) ** 2 * qg + p**2 * (q - qg)) / s if s > 0 else np.full(len(df), np.nan)
    df["revenue_share"] = p
    df["revenue_share_ci_low"] = np.clip(p - Z * se, 0.0, 1.0)
    df["revenue_share_ci_high"] = np.clip(p + Z * se, 0.0, 1.0)
    buyers = df["buyers"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(buyers > 0, df["revenue"].to_numpy(float) / buyers, np.nan)
        t = np.where(buyers > 1, stats.t.ppf(0.975, np.maximum(buyers - 1, 1)), np.nan)
        half = t * np.sqrt(df["var_monetary"].to_numpy(float) / buyers)
    df["mean_monetary"] = mean
    df["mean_monetary_ci_low"], df["mean_monetary_ci_high"] = mean - half, mean + half
    for col, key in (("active_30", "active_30_share"), ("active_90", "active_90_share"),
                     ("repeaters", "repeat_rate")):
        x = df[col].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            df[key] = np.where(users > 0, x / users, np.nan)
        df[f"{key}_ci_low"], df[f"{key}_ci_high"] = wilson_interval(x, users)
    return df.drop(columns=["revenue_sq", "var_monetary"])


def channel_mix(raw: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Users per segment and channel, with the channel's share of the segment's users."""
    if raw.empty:
        return raw.assign(share=pd.Series(dtype=float))
    totals = raw.groupby("segment")["users"].transform("sum")
    out = raw.assign(share=raw["users"] / totals)
    rank = {name: i for i, name in enumerate(order)}
    out = out.assign(_o=out["segment"].map(rank)).sort_values(["_o", "users"], ascending=[True, False], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)


def migration_shares(counts: pd.DataFrame) -> pd.DataFrame:
    """``counts`` (previous, current, users) with ``share``: of the previous tag's users, the
    share now in each current segment."""
    totals = counts.groupby("previous")["users"].transform("sum")
    return counts.assign(share=counts["users"] / totals)


def share_change(now: tuple[int, int], before: tuple[int, int]) -> dict[str, float]:
    """The change of a share (x of n now against before): difference with a 95% interval
    (unpooled normal approximation) and the two-sided p-value (pooled z test)."""
    (x1, n1), (x2, n2) = now, before
    if n1 <= 0 or n2 <= 0:
        return {"now": math.nan, "before": math.nan, "change": math.nan, "low": math.nan, "high": math.nan,
                "p_value": math.nan}
    p1, p2 = x1 / n1, x2 / n2
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    _, p = two_proportion_ztest(x1, n1, x2, n2)
    d = p1 - p2
    return {"now": p1, "before": p2, "change": d, "low": d - Z * se, "high": d + Z * se, "p_value": float(p)}
