"""ice_backlog's analysis: score the backlog, check how the ranking holds up, calibrate the
confidence by the archive's record, and size the next round.

:func:`analyze_backlog` takes the backlog (:func:`playbook.backlog.read_backlog`) and the
archive (:func:`~playbook.analyses.backlog.evidence.load_archive`, None: no evidence yet) and
returns a :class:`~playbook.analyses.backlog.result.BacklogResult`. How each number is defined:
:mod:`~playbook.analyses.backlog.scoring` (scores, ranks, +/-1 sensitivity, ties and flips),
:mod:`~playbook.analyses.backlog.evidence` (experiments, win rates, calibrated confidence),
:mod:`~playbook.analyses.backlog.nextround` (the design of each top idea).

``rank_by`` says which score ranks: ``calibrated`` (the stated confidence calibrated by the
area's record; with no evidence it equals the raw score) or ``raw``. The sensitivity check
moves the *stated* scores and ranks by that same score. Ideas whose status is not in
``statuses`` (when given) are listed but not ranked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from playbook.analyses.backlog.evidence import (
    area_evidence,
    calibrate,
    check_calibration,
    experiments,
)
from playbook.analyses.backlog.nextround import Sizing, check_baselines, plan_round
from playbook.analyses.backlog.result import BacklogResult, Settings
from playbook.analyses.backlog.scoring import (
    Scoring,
    ice_mean,
    ice_product,
    inputs,
    ranks,
    rice,
    score_fn,
    sensitivity,
)
from playbook.errors import ParameterError
from playbook.sources import Warehouse

RANK_BY = ("calibrated", "raw")


def _norm(value: object) -> str:
    return str(value).strip().lower() if value is not None and value == value else ""


def _check(rank_by: str, top_n: int, statuses: Sequence[str]) -> None:
    if rank_by not in RANK_BY:
        raise ParameterError(f"rank_by: must be 'calibrated' or 'raw', got {rank_by!r}")
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 0:
        raise ParameterError(f"top_n: must be a whole number of ideas, 0 or more; got {top_n!r}")
    if isinstance(statuses, str) or not all(isinstance(s, str) for s in statuses):
        raise ParameterError(f"statuses: give a list of status words (e.g. [idea]); got {statuses!r}")


def _scores(ideas: pd.DataFrame) -> pd.DataFrame:
    """Both ICE scores and, where every idea has a positive reach, RICE (effort = 11 - ease or
    the effort column), for every idea."""
    i, c, e = (ideas[k].to_numpy(float) for k in ("impact", "confidence", "ease"))
    out = pd.DataFrame({"ice_product": ice_product(i, c, e), "ice_mean": ice_mean(i, c, e)}, index=ideas.index)
    reach = pd.to_numeric(ideas["reach"], errors="coerce").to_numpy(float)
    effort = (pd.to_numeric(ideas["effort"], errors="coerce").to_numpy(float) if "effort" in ideas.columns
              else 11 - e)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rice"] = np.where((reach > 0) & (effort > 0), rice(reach, i, c, effort), np.nan)
    out["effort_used"] = effort
    return out


def analyze_backlog(  # noqa: PLR0913 - the template's parameters, keyword-only
    backlog: pd.DataFrame,
    *,
    archive: pd.DataFrame | None = None,
    warehouse: Warehouse | None = None,
    scoring: Scoring | None = None,
    statuses: Sequence[str] = (),
    stable_within: int = 1,
    rank_by: str = "calibrated",
    prior_weight: float = 5.0,
    rare_win_rate: float = 0.2,
    top_n: int = 3,
    baselines: dict[str, Any] | None = None,
    sizing: Sizing | None = None,
    as_of: str | None = None,
    source: str = "",
) -> BacklogResult:
    """Rank ``backlog`` (module docstring); ``archive`` None means no evidence yet."""
    scoring = scoring or Scoring()
    sizing = sizing or Sizing()
    _check(rank_by, top_n, statuses)
    check_calibration(prior_weight, rare_win_rate)
    checked = check_baselines(baselines or {})
    ideas = backlog.reset_index(drop=True).copy()
    areas = [a for a in ideas["area"].tolist() if _norm(a)]
    runs = experiments(archive, areas)
    evidence = area_evidence(runs, areas)
    by_area = evidence.assign(key=evidence["area"].map(_norm)).set_index("key")
    key = ideas["area"].map(_norm)
    for col in ("experiments", "wins", "win_rate", "win_rate_ci_low", "win_rate_ci_high", "median_win_lift"):
        ideas[col] = key.map(by_area[col]) if len(by_area) else np.nan
    ideas["experiments"] = ideas["experiments"].fillna(0).astype(int)
    ideas["wins"] = ideas["wins"].fillna(0).astype(int)
    ideas["rarely_wins"] = ideas["win_rate_ci_high"].fillna(1.0) < rare_win_rate
    ideas = pd.concat([ideas, _scores(ideas)], axis=1)
    ideas["calibrated_confidence"] = calibrate(ideas["confidence"], ideas["experiments"], ideas["wins"], prior_weight)
    wanted = {_norm(s) for s in statuses}
    ideas["ranked"] = ideas["status"].map(_norm).isin(wanted) if wanted else True
    ranked = ideas[ideas["ranked"]]
    flips = pd.DataFrame(columns=["above", "below", "idea_moved", "factor", "step", "score_above", "score_below"])
    cols = ["score", "calibrated_score", "raw_rank", "calibrated_rank", "rank", "rank_low", "rank_high", "rank_move",
            "stable", "tied_with", "flips"]
    scored = pd.DataFrame(columns=["idea_id", *cols])
    if len(ranked):
        x = inputs(ranked, scoring)
        n, wins = ranked["experiments"].to_numpy(float), ranked["wins"].to_numpy(float)

        def calibrated(c: np.ndarray) -> np.ndarray:
            return calibrate(c, n, wins, prior_weight)

        raw_fn, cal_fn = score_fn(scoring), score_fn(scoring, calibrated)
        raw, cal = raw_fn(x), cal_fn(x)
        scored, flips = sensitivity(x, cal_fn if rank_by == "calibrated" else raw_fn,
                                    ranked["idea_id"].tolist(), stable_within)
        counts = pd.concat([flips["above"], flips["below"]]).value_counts()
        scored = scored.assign(score=raw, calibrated_score=cal, raw_rank=ranks(raw), calibrated_rank=ranks(cal),
                               flips=scored["idea_id"].map(counts).fillna(0).astype(int))
    ideas = ideas.merge(scored[["idea_id", *cols]], on="idea_id", how="left")
    ideas["tied_with"] = ideas["tied_with"].map(lambda v: v if isinstance(v, list) else [])
    ideas["flips"] = ideas["flips"].fillna(0).astype(int)
    ideas = ideas.sort_values(["rank", "idea_id"], na_position="last", kind="stable").reset_index(drop=True)
    top = ideas[ideas["ranked"]].head(top_n)
    round_ = plan_round(top, evidence, warehouse, checked, sizing, as_of=as_of)
    settings = Settings(scoring=scoring, rank_by=rank_by, stable_within=stable_within, prior_weight=prior_weight,
                        rare_win_rate=rare_win_rate, top_n=top_n, statuses=list(statuses), source=source,
                        archive=archive is not None, archive_reports=0 if archive is None else int(
                            archive[["campaign", "run_id", "report"]].drop_duplicates().shape[0]),
                        sizing=sizing)
    return BacklogResult(ideas=ideas, evidence=evidence, runs=runs, flips=flips, next_round=round_, settings=settings)


__all__ = ["RANK_BY", "analyze_backlog"]
