"""ice_backlog's result: the contract of :mod:`playbook.analyses.base` (headline, decision,
summary, tables, metrics with labels, details), its decisions and their tones.

``details["ideas"]`` lists every idea of the backlog with ``id``, ``idea``, ``area``,
``created`` (YYYY-MM-DD or null), ``status``, ``score`` (raw), ``calibrated_score``, ``rank``
(null when its status is not ranked) and ``stable``: the archive's knowledge view reads the
latest ice_backlog outcome for the backlog's ideas and their dates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import pandas as pd

from playbook.analyses.backlog.nextround import Sizing
from playbook.analyses.backlog.scoring import Scoring
from playbook.analyses.base import Metric, MetricKind, Tone, register_decisions, register_result
from playbook.analyses.records import lead_with, plain, records
from playbook.i18n import formats, pgettext
from playbook.i18n import gettext as _
from playbook.report import esc


class BacklogDecision(StrEnum):
    CLEAR_LEADER = "clear-leader"  # the top idea stays first under any +/-1 change of one score
    CLOSE_CALL = "close-call"  # the top spot is tied, or flips under some +/-1 change: discuss before testing
    EMPTY = "empty"  # no idea to rank (an empty backlog, or no idea with a ranked status)


register_decisions("ice_backlog", BacklogDecision, {
    BacklogDecision.CLEAR_LEADER: Tone.GOOD, BacklogDecision.CLOSE_CALL: Tone.NEUTRAL,
    BacklogDecision.EMPTY: Tone.INVALID})


@dataclass(frozen=True)
class Settings:
    """The parameters the result was computed with (shown in the report and the details)."""

    scoring: Scoring
    rank_by: str
    stable_within: int
    prior_weight: float
    rare_win_rate: float
    top_n: int
    statuses: list[str]
    source: str
    archive: bool
    archive_reports: int
    sizing: Sizing


def _score(x: float) -> str:
    return formats.number(x, 0 if abs(x) >= 100 else 1)


def _day(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | date):
        return value.strftime("%Y-%m-%d")
    return str(value)[:10]


def _int(value: Any) -> int | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)


@register_result("ice_backlog")
@dataclass(frozen=True)
class BacklogResult:
    """What :func:`~playbook.analyses.backlog.analysis.analyze_backlog` found.

    ``ideas``: every idea, ranked ones first by rank: the backlog's columns, ice_product,
    ice_mean, rice, effort_used, score (raw, the ranking score), calibrated_confidence,
    calibrated_score, raw_rank, calibrated_rank, rank (by ``rank_by``), rank_low, rank_high,
    rank_move, stable, tied_with, flips, experiments, wins, win_rate (+ ci), median_win_lift,
    rarely_wins, ranked. ``evidence``: per area (evidence.COLUMNS). ``runs``: the experiments
    counted. ``flips``: above, below, idea_moved, factor, step, score_above, score_below.
    ``next_round``: nextround.COLUMNS.
    """

    ideas: pd.DataFrame = field(repr=False)
    evidence: pd.DataFrame = field(repr=False)
    runs: pd.DataFrame = field(repr=False)
    flips: pd.DataFrame = field(repr=False)
    next_round: pd.DataFrame = field(repr=False)
    settings: Settings

    @property
    def ranked(self) -> pd.DataFrame:
        return self.ideas[self.ideas["ranked"].astype(bool)]

    @property
    def top(self) -> pd.Series | None:
        return None if self.ranked.empty else self.ranked.iloc[0]

    def _tied_top(self) -> list[str]:
        top = self.top
        return [] if top is None else list(top["tied_with"])

    def _top_flip(self) -> pd.Series | None:
        top = self.top
        if top is None:
            return None
        mine = self.flips[self.flips["above"] == top["idea_id"]]
        return None if mine.empty else mine.iloc[0]

    @property
    def decision(self) -> BacklogDecision:
        """``empty`` without ranked ideas; ``close-call`` when the first idea shares its rank or
        another idea overtakes it under one +/-1 change; else ``clear-leader``."""
        if self.top is None:
            return BacklogDecision.EMPTY
        if self._tied_top() or self._top_flip() is not None:
            return BacklogDecision.CLOSE_CALL
        return BacklogDecision.CLEAR_LEADER

    def _name(self, idea_id: str) -> str:
        row = self.ideas[self.ideas["idea_id"] == idea_id]
        return str(row["idea"].iloc[0]) if len(row) else idea_id

    def headline(self) -> str:
        """The answer in one sentence, naming the top idea (plain text: escaped where shown)."""
        top = self.top
        if top is None:
            return _("The backlog has no ideas to rank.")
        values = {"idea": top["idea"], "id": top["idea_id"], "area": top["area"] or "-",
                  "score_name": self.settings.scoring.name(), "score": _score(top["score"]),
                  "cal": _score(top["calibrated_score"])}
        tied, flip = self._tied_top(), self._top_flip()
        if tied:
            return _("Close call: '{idea}' ({id}) and '{other}' ({other_id}) tie for first, {score_name} {score} "
                     "(calibrated {cal}).").format(**values, other=self._name(tied[0]), other_id=tied[0])
        if flip is not None:
            return _("Close call: '{idea}' ({id}, {area}) leads with {score_name} {score} (calibrated {cal}), but "
                     "'{other}' ({other_id}) overtakes it if {moved}'s {factor} moves by {step}.").format(
                **values, other=self._name(flip["below"]), other_id=flip["below"], moved=flip["idea_moved"],
                factor=pgettext("score", str(flip["factor"])), step=f"{int(flip['step']):+d}")
        return _("Test next: '{idea}' ({id}, {area}), {score_name} {score} (calibrated {cal}); it stays first under "
                 "any ±1 change of one score.").format(**values)

    def summary(self) -> str:
        """Markdown for a growth lead: ranking, stability, evidence, the next round."""
        s, ranked = self.settings, self.ranked
        if ranked.empty:
            return _("No idea to rank: the backlog is empty, or no idea has one of the statuses {statuses}.").format(
                statuses=", ".join(map(esc, s.statuses)) or "-")
        by = _("the calibrated score") if s.rank_by == "calibrated" else _("the raw score")
        parts = [_("**{n} ideas ranked** by {score_name} ({by}); {stable} keep their rank within {k} place(s) under "
                   "any ±1 change of impact, confidence or ease; {ties} tied pair(s), {flips} pair(s) that flip.").format(
            n=formats.count(len(ranked)), score_name=s.scoring.name(), by=by,
            stable=formats.count(int(ranked["stable"].astype(bool).sum())), k=s.stable_within,
            ties=formats.count(self.ties()), flips=formats.count(len(self.flips)))]
        parts.append(self._evidence_sentence())
        moved = ranked[(ranked["raw_rank"] == 1) & (ranked["calibrated_rank"] > 1)]
        for r in moved.itertuples():
            parts.append(_("The evidence moves '{idea}' ({id}) from first on its stated scores to rank {rank}: "
                           "its area wins {wins} of {n} experiments.").format(
                idea=esc(r.idea), id=esc(r.idea_id), rank=int(r.calibrated_rank), wins=int(r.wins),
                n=int(r.experiments)))
        return "\n\n".join(parts)

    def _evidence_sentence(self) -> str:
        s = self.settings
        if not s.archive:
            return _("No archive yet: no evidence, so the calibrated scores equal the stated ones.")
        if self.runs.empty:
            return _("The archive holds no experiment readout with a verdict yet: no evidence, so the calibrated "
                     "scores equal the stated ones.")
        text = _("The archive holds {n} experiment(s) with a verdict; each area's win rate pulls the stated "
                 "confidence toward 10 × the win rate, with weight n / (n + {k}).").format(
            n=formats.count(len(self.runs)), k=formats.number(s.prior_weight))
        rare = self.evidence[self.evidence["win_rate_ci_high"] < s.rare_win_rate]["area"].tolist()
        if rare:
            text += " " + _("Rarely wins (upper bound of the win rate below {rate}): {areas}.").format(
                rate=formats.percent(s.rare_win_rate, 0), areas=", ".join(map(esc, rare)))
        return text

    def ties(self) -> int:
        """Pairs of ranked ideas with equal scores."""
        sizes = self.ranked.groupby("rank").size()
        return int((sizes * (sizes - 1) // 2).sum())

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"ideas": self.ideas, "evidence": self.evidence, "runs": self.runs, "flips": self.flips,
                "next_round": self.next_round}

    def metric_info(self) -> list[Metric]:
        """Label, unit, kind and interval of every metric of :meth:`metrics`."""
        name = self.settings.scoring.name()
        out = [Metric("ideas", _("Ideas ranked"), MetricKind.COUNT, "ideas"),
               Metric("ideas_ranked_stably", _("Ideas ranked stably under ±1"), MetricKind.COUNT, "ideas"),
               Metric("ties", _("Tied pairs of ideas"), MetricKind.COUNT, "pairs"),
               Metric("flips", _("Pairs of ideas that flip under ±1"), MetricKind.COUNT, "pairs"),
               Metric("archive.experiments", _("Past experiments with a verdict"), MetricKind.COUNT, "experiments")]
        if self.top is not None:
            out += [Metric("top.score", _("{score} of the top idea").format(score=name), MetricKind.RATIO, "points"),
                    Metric("top.calibrated_score", _("Calibrated {score} of the top idea").format(score=name),
                           MetricKind.RATIO, "points"),
                    Metric("top.rank_low", _("Best rank of the top idea under ±1"), MetricKind.RATIO, ""),
                    Metric("top.rank_high", _("Worst rank of the top idea under ±1"), MetricKind.RATIO, "")]
        for r in self.evidence[self.evidence["experiments"] > 0].itertuples():
            out += [Metric(f"area.{r.area}.experiments", _("Experiments in {area}").format(area=r.area),
                           MetricKind.COUNT, "experiments"),
                    Metric(f"area.{r.area}.win_rate", _("Win rate in {area}").format(area=r.area), MetricKind.SHARE,
                           "", low=r.win_rate_ci_low, high=r.win_rate_ci_high, level=0.95)]
            if not math.isnan(r.median_win_lift):
                out.append(Metric(f"area.{r.area}.median_win_lift", _("Median lift of winners in {area}").format(
                    area=r.area), MetricKind.LIFT, ""))
        for r in self.next_round[self.next_round["days"].notna()].itertuples():
            out.append(Metric(f"next.{r.idea_id}.days", _("Days to test {id}").format(id=r.idea_id),
                              MetricKind.DURATION, "days"))
        return out

    def metrics(self) -> dict[str, float]:
        """Flat numbers for the outcome (non-finite values left out), the top idea's first."""
        ranked = self.ranked
        out: dict[str, Any] = {"ideas": len(ranked), "ideas_ranked_stably": int(ranked["stable"].astype(bool).sum()),
                               "ties": self.ties(), "flips": len(self.flips), "archive.experiments": len(self.runs)}
        top = self.top
        if top is not None:
            out |= {"top.score": top["score"], "top.calibrated_score": top["calibrated_score"],
                    "top.rank_low": top["rank_low"], "top.rank_high": top["rank_high"]}
        for r in self.evidence[self.evidence["experiments"] > 0].itertuples():
            out |= {f"area.{r.area}.experiments": r.experiments, f"area.{r.area}.win_rate": r.win_rate,
                    f"area.{r.area}.median_win_lift": r.median_win_lift}
        for r in self.next_round[self.next_round["days"].notna()].itertuples():
            out[f"next.{r.idea_id}.days"] = r.days
        clean = {k: round(float(v), 6) for k, v in out.items() if v is not None and math.isfinite(float(v))}
        return lead_with(clean, ["top.score", "top.calibrated_score", "ideas_ranked_stably", "ideas"])

    def details(self) -> dict[str, Any]:
        """JSON-able details; ``ideas`` as the module docstring says, then the tables."""
        ideas = [{"id": r.idea_id, "idea": r.idea, "area": plain(r.area), "created": _day(r.created),
                  "status": plain(r.status), "score": plain(r.score), "calibrated_score": plain(r.calibrated_score),
                  "rank": _int(r.rank), "stable": None if r.stable is None else bool(r.stable),
                  "raw_rank": _int(r.raw_rank), "calibrated_rank": _int(r.calibrated_rank),
                  "rank_low": _int(r.rank_low), "rank_high": _int(r.rank_high), "tied_with": list(r.tied_with),
                  "rarely_wins": bool(r.rarely_wins)} for r in self.ideas.itertuples()]
        s = self.settings
        runs = self.runs.assign(run_date=self.runs["run_date"].map(plain)) if len(self.runs) else self.runs
        return {"ideas": ideas, "score": s.scoring.method, "ice_score": s.scoring.ice_score,
                "geometric": s.scoring.geometric, "rank_by": s.rank_by, "stable_within": s.stable_within,
                "prior_weight": s.prior_weight, "rare_win_rate": s.rare_win_rate, "statuses": s.statuses,
                "source": s.source, "archive": s.archive, "archive_reports": s.archive_reports,
                "evidence": records(self.evidence), "experiments": records(runs), "flips": records(self.flips),
                "next_round": records(self.next_round)}
