"""What the archive has learned per area, and the confidence that evidence calibrates.

**Experiments** are the archive's ``experiment_readout`` reports with status ``ok`` and a
decision other than ``invalid`` and ``keep-running`` (a readout that reached a verdict). Each
experiment (campaign and report) counts once, by its latest run. Its area is the campaign's
``area:``; a campaign without one counts for an area when one of its tags is that area's name.
A **win** is the decision ``ship``. Per area: experiments n, wins, win rate = wins / n with its
95% Wilson interval, and the median lift of the winners (each winner's key metric, when its
kind is a lift).

**Calibrated confidence.** The stated confidence C (1-10) is shrunk toward the area's record,
10 x win rate, with the weight of the evidence w = n / (n + k):

    C' = (1 - w) x C + w x 10 x wins / n,  kept within 1..10

``k`` (``prior_weight``) is how many past experiments weigh as much as the stated confidence:
with k experiments in the area, the record and the team's guess count equally; with none, C'
is C. An area **rarely wins** when the upper bound of its win-rate interval is below
``rare_win_rate``: even the most favourable reading of its record is a low rate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from playbook.errors import ParameterError
from playbook.stats.proportions import wilson_interval

VERDICTS_LEFT_OUT = ("invalid", "keep-running")
WIN = "ship"
COLUMNS = ["area", "experiments", "wins", "win_rate", "win_rate_ci_low", "win_rate_ci_high", "median_win_lift",
           "campaigns"]


def load_archive(archive_dir: str | Path | None = None) -> pd.DataFrame | None:
    """The archive as :func:`playbook.knowledge.read_archive` reads it, or None when there is
    no archive yet (no catalog.json): no evidence, not an error."""
    from playbook.knowledge import read_archive

    if archive_dir in (None, ""):
        from playbook.project import paths

        archive_dir = paths().archive
    if not (Path(archive_dir) / "catalog.json").is_file():
        return None
    return read_archive(archive_dir)


def _norm(value: object) -> str:
    return str(value).strip().lower() if value is not None and value == value else ""


def experiments(archive: pd.DataFrame | None, areas: list[str]) -> pd.DataFrame:
    """One row per experiment that reached a verdict: campaign, report, run_date, area, win, lift
    (the key metric when it is a lift, else NaN). ``areas``: the backlog's areas (for tags)."""
    cols = ["campaign", "report", "run_date", "area", "win", "lift"]
    if archive is None or archive.empty:
        return pd.DataFrame(columns=cols)
    done = archive[(archive["template"] == "experiment_readout") & (archive["status"] == "ok")
                   & archive["decision"].notna() & ~archive["decision"].isin(VERDICTS_LEFT_OUT)]
    if done.empty:
        return pd.DataFrame(columns=cols)
    known = {_norm(a): a for a in areas if _norm(a)}
    rows = []
    for (_campaign, _report), group in done.groupby(["campaign", "report"], sort=True, dropna=False):
        latest = group[group["run_id"] == group.sort_values(["run_date", "run_id"]).iloc[-1]["run_id"]]
        first = latest.iloc[0]
        area = _norm(first["area"])
        if not area:
            area = next((_norm(t) for t in first["tags"] if _norm(t) in known), "")
        key = latest[latest["key"].astype(bool) & (latest["kind"] == "lift")]
        rows.append({"campaign": first["campaign"], "report": first["report"], "run_date": first["run_date"],
                     "area": known.get(area, area) or None, "win": first["decision"] == WIN,
                     "lift": float(key["value"].iloc[0]) if len(key) else np.nan})
    return pd.DataFrame(rows, columns=cols)


def area_evidence(runs: pd.DataFrame, areas: list[str], alpha: float = 0.05) -> pd.DataFrame:
    """Per backlog area (:data:`COLUMNS`): experiments, wins, win rate and its Wilson interval,
    the median lift of winners, and the campaigns counted."""
    out = []
    for area in dict.fromkeys(a for a in areas if _norm(a)):
        mine = runs[runs["area"].map(_norm) == _norm(area)] if len(runs) else runs
        n, wins = len(mine), int(mine["win"].sum()) if len(mine) else 0
        low, high = wilson_interval(wins, n, alpha)
        lifts = mine.loc[mine["win"].astype(bool), "lift"].dropna() if n else pd.Series(dtype=float)
        out.append({"area": area, "experiments": n, "wins": wins, "win_rate": wins / n if n else np.nan,
                    "win_rate_ci_low": float(low), "win_rate_ci_high": float(high),
                    "median_win_lift": float(lifts.median()) if len(lifts) else np.nan,
                    "campaigns": sorted(mine["campaign"].astype(str).unique().tolist()) if n else []})
    return pd.DataFrame(out, columns=COLUMNS)


def check_calibration(prior_weight: float, rare_win_rate: float) -> None:
    if isinstance(prior_weight, bool) or not isinstance(prior_weight, int | float) or not prior_weight >= 0:
        raise ParameterError(f"prior_weight: must be a number of experiments, 0 or more; got {prior_weight!r}")
    if isinstance(rare_win_rate, bool) or not isinstance(rare_win_rate, int | float) or not 0 <= rare_win_rate <= 1:
        raise ParameterError(f"rare_win_rate: must be a share between 0 and 1; got {rare_win_rate!r}")


def calibrate(confidence: np.ndarray, n: np.ndarray, wins: np.ndarray, prior_weight: float) -> np.ndarray:
    """C' = (1 - w) C + w 10 wins / n with w = n / (n + k), within 1..10; C where n = 0."""
    c, n, wins = (np.asarray(v, float) for v in (confidence, n, wins))
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(n > 0, n / (n + prior_weight), 0.0)
        record = np.where(n > 0, 10 * wins / n, 0.0)
    return np.asarray(np.clip((1 - w) * c + w * record, 1.0, 10.0), float)


__all__ = ["COLUMNS", "area_evidence", "calibrate", "check_calibration", "experiments", "load_archive"]
