"""The cells of a cohort matrix: one row per (cohort, window) with its members, eligible and
retained users, whether it is complete, and its rate with a Wilson interval.

Windows by mode (``P`` = ``period_days``; day d after the anchor is ``[t0 + d, t0 + d + 1)``
days):

    n_day      period k: days ``k P .. (k + 1) P - 1``           active in that period
    unbounded  period k: days ``k P ..`` up to as_of             active in period k or any later
    bracket    each ``[n, m]`` of ``brackets``: days ``n .. m``   active anywhere in those days

A member counts as retained with at least ``min_actions`` activity rows in the window. A cell
is **complete** when every member of the cohort has been observed for the whole window before
as_of (for unbounded: to the end of period k); an incomplete cell has no rate (NaN), is
masked in charts and is never read as a drop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from playbook.analyses.retention.models import cell_rates
from playbook.analyses.retention.sql import DAY_US, CohortSQL

CELL_COLUMNS = ["cohort", "period", "label", "lo_day", "hi_day", "members", "eligible",
                "retained", "complete", "rate", "ci_low", "ci_high"]


def windows(mode: str, period_days: int, periods: int,
            brackets: list[tuple[int, int]] | None = None) -> list[tuple[int, int | None]]:
    """(first day, last day or None for 'to as_of') of each window of ``mode``."""
    if mode == "bracket":
        return [(int(a), int(b)) for a, b in brackets or []]
    p = int(period_days)
    if mode == "unbounded":
        return [(k * p, None) for k in range(int(periods))]
    return [(k * p, (k + 1) * p - 1) for k in range(int(periods))]


def label(lo: int, hi: int | None, mode: str, period_days: int) -> str:
    """A window's short name: ``D7``, ``W2``, ``M1`` (one period), ``W2+`` (unbounded),
    ``D1-7`` (a bracket)."""
    unit = {1: "D", 7: "W", 30: "M"}.get(int(period_days), "P")
    if mode == "bracket":
        return f"D{lo}" if lo == hi else f"D{lo}-{hi}"
    k = lo // int(period_days)
    return f"{unit}{k}+" if hi is None else f"{unit}{k}"


def matrix(engine: CohortSQL, mode: str, *, period_days: int, periods: int, min_actions: int,
           brackets: list[tuple[int, int]] | None = None, group: str = "cohort") -> pd.DataFrame:
    """The cells (:data:`CELL_COLUMNS`; ``cohort`` is the group) of every cohort x window."""
    wins = windows(mode, period_days, periods, brackets)
    p_us = int(period_days) * DAY_US
    ends = [((hi if hi is not None else lo + int(period_days) - 1) + 1) * DAY_US for lo, hi in wins]
    if mode == "n_day":
        got = engine.n_day(p_us, len(wins), min_actions)
    elif mode == "unbounded":
        got = engine.unbounded(p_us, len(wins), min_actions)
    else:
        got = engine.windows([(lo, int(hi if hi is not None else lo)) for lo, hi in wins],
                             min_actions, group=group)
    sizes = engine.sizes(group)
    elig = engine.eligible(ends, group)
    grid = pd.MultiIndex.from_product([sizes["grp"], range(len(wins))], names=["grp", "j"]).to_frame(index=False)
    cells = (grid.merge(sizes[["grp", "members"]], on="grp")
             .merge(elig, on=["grp", "j"], how="left")
             .merge(got, on=["grp", "j"], how="left"))
    cells["eligible"] = cells["eligible"].fillna(0).astype(int)
    cells["retained"] = cells["retained"].fillna(0).astype(int)
    cells["members"] = cells["members"].astype(int)
    cells["complete"] = (cells["eligible"] == cells["members"]) & (cells["members"] > 0)
    cells["lo_day"] = [wins[j][0] for j in cells["j"]]
    cells["hi_day"] = [wins[j][1] if wins[j][1] is not None else np.nan for j in cells["j"]]
    cells["label"] = [label(wins[j][0], wins[j][1], mode, period_days) for j in cells["j"]]
    cells = cell_rates(cells)
    return cells.sort_values(["grp", "j"], ignore_index=True)


def shown(cells: pd.DataFrame) -> pd.DataFrame:
    """The cells with the report's column names (``cohort``, ``period``)."""
    return cells.rename(columns={"grp": "cohort", "j": "period"})[CELL_COLUMNS]


def wide(cells: pd.DataFrame, value: str = "rate") -> pd.DataFrame:
    """Cohorts as rows, window labels as columns, ``value`` in the cells (NaN: incomplete)."""
    order = list(dict.fromkeys(cells.sort_values("period")["label"]))
    out = cells.pivot(index="cohort", columns="label", values=value)
    return out[order]
