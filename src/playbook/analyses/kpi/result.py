"""kpi_review's result: the contract of playbook.analyses.base (headline, decision, summary, tables,
metrics with their labels, details), its decision enum and the tone of each decision.

Decision of the review: ``invalid`` when any KPI fails its parallel-trends check, else ``missed``
when any KPI missed its target, else ``undecided`` when any KPI is not yet decidable, else ``met``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import pandas as pd

from playbook.analyses.base import Metric, MetricKind, Tone, register_decisions, register_result
from playbook.analyses.kpi.did import DiD
from playbook.i18n import formats, pgettext
from playbook.i18n import gettext as _
from playbook.report import esc


class KpiDecision(StrEnum):
    MET = "met"  # every KPI's 95% interval lies entirely at or beyond its target
    MISSED = "missed"  # some KPI's interval lies entirely short of its target
    UNDECIDED = "undecided"  # some interval still straddles its target: not yet decidable
    INVALID = "invalid"  # some KPI's treated and comparison units moved apart before the start


register_decisions("kpi_review", KpiDecision, {
    KpiDecision.MET: Tone.GOOD, KpiDecision.MISSED: Tone.BAD,
    KpiDecision.UNDECIDED: Tone.NEUTRAL, KpiDecision.INVALID: Tone.INVALID})

_ORDER = [KpiDecision.INVALID, KpiDecision.MISSED, KpiDecision.UNDECIDED, KpiDecision.MET]


@dataclass(frozen=True)
class KpiRow:
    """One KPI: its definition's name and kind, target, estimate, trends check and verdict."""

    name: str
    kind: str
    target: float
    est: DiD
    parallel: bool
    verdict: str


def _pct(x: float) -> str:
    return formats.percent(x, sign=True)


def _ci(lo: float, hi: float) -> str:
    return formats.interval(lo, hi, kind="lift")


@register_result("kpi_review")
@dataclass(frozen=True)
class KpiResult:
    """What :func:`~playbook.analyses.kpi.analysis.review_kpis` found."""

    kpis: list[KpiRow]
    panel: pd.DataFrame  # kpi, unit, week, num, den, y, treated
    group_col: str
    treated: list[str]
    comparison: list[str]
    start: datetime
    pre_weeks: int
    post_weeks: int
    alpha: float

    @property
    def decision(self) -> KpiDecision:
        words = {r.verdict for r in self.kpis}
        return next(d for d in _ORDER if d.value in words or d is KpiDecision.MET)

    def _line(self, r: KpiRow) -> str:
        return _("{kpi} {change} ({ci}) against a target of {target}: {verdict}").format(
            kpi=r.name, change=_pct(r.est.change), ci=_ci(r.est.change_low, r.est.change_high),
            target=_pct(r.target), verdict=pgettext("decision", r.verdict))

    def headline(self) -> str:
        """The answer in one sentence (plain text: it is escaped where it is shown)."""
        return "; ".join(self._line(r) for r in self.kpis)

    def summary(self) -> str:
        """The one-paragraph verdict a stakeholder can forward (names from data escaped)."""
        who = _("{col} {treated} against {comparison}").format(
            col=esc(self.group_col), treated=", ".join(esc(v) for v in self.treated),
            comparison=", ".join(esc(v) for v in self.comparison))
        parts = [_("**Verdict: {decision}.** The campaign started on {start}; its {n} weeks since are "
                   "compared with the {pre} weeks before, in {who}.").format(
            decision=pgettext("decision", self.decision), start=formats.day(self.start),
            n=self.post_weeks, pre=self.pre_weeks, who=who)]
        for r in self.kpis:
            parts.append(_("{kpi} changed by {change} ({ci}) against what the comparison group "
                           "implies, for a target of {target}: {verdict}.").format(
                kpi=esc(r.name), change=_pct(r.est.change), ci=_ci(r.est.change_low, r.est.change_high),
                target=_pct(r.target), verdict=pgettext("decision", r.verdict)))
            if not r.parallel:
                parts.append(_("Before the campaign {kpi} already moved apart from the comparison "
                               "group ({p}), so this change is not to be trusted.").format(
                    kpi=esc(r.name), p=formats.p_value(r.est.pre_slope_p)))
        meaning = {KpiDecision.MET: _("Every target is met, at a confidence of 95%."),
                   KpiDecision.MISSED: _("At least one target is missed: even the interval's best case falls short."),
                   KpiDecision.UNDECIDED: _("Not yet decidable: the interval still spans the target; "
                                            "more weeks will narrow it."),
                   KpiDecision.INVALID: _("Find a comparison group that moved with the treated one "
                                          "before the campaign, then review again.")}
        parts.append(meaning[self.decision])
        return " ".join(parts)

    def tables(self) -> dict[str, pd.DataFrame]:
        rows = [{"kpi": r.name, "kind": r.kind, "target": r.target, "level": r.est.level,
                 "counterfactual": r.est.counterfactual, "did": r.est.did, "did_low": r.est.ci_low,
                 "did_high": r.est.ci_high, "change": r.est.change, "change_low": r.est.change_low,
                 "change_high": r.est.change_high, "pre_slope": r.est.pre_slope,
                 "pre_slope_p": r.est.pre_slope_p, "parallel": r.parallel, "verdict": r.verdict}
                for r in self.kpis]
        return {"kpis": pd.DataFrame(rows), "weekly": self.weekly()}

    def weekly(self) -> pd.DataFrame:
        """Per KPI and week: the mean KPI of the treated and of the comparison units, and the
        treated units' counterfactual in the post weeks (comparison plus the pre-period gap). On a
        balanced panel the mean gap between treated and counterfactual after the start is the DiD."""
        p = self.panel.assign(group=self.panel["treated"].map({True: "treated", False: "comparison"}))
        wide = p.pivot_table(index=["kpi", "week"], columns="group", values="y", aggfunc="mean",
                             sort=False).reset_index()
        out = []
        for _kpi, part in wide.groupby("kpi", sort=False):
            gap = (part["treated"] - part["comparison"])[part["week"] < 0].mean()
            out.append(part.assign(counterfactual=(part["comparison"] + gap).where(part["week"] >= 0)))
        return pd.concat(out, ignore_index=True)[["kpi", "week", "treated", "comparison", "counterfactual"]]

    def metrics(self) -> dict[str, float]:
        m: dict[str, float] = {}
        for r in self.kpis:
            k = f"kpi.{r.name}"
            m |= {f"{k}.change": r.est.change, f"{k}.ci_low": r.est.change_low,
                  f"{k}.ci_high": r.est.change_high, f"{k}.target": r.target,
                  f"{k}.met": float(r.verdict == "met"), f"{k}.did": r.est.did,
                  f"{k}.level": r.est.level, f"{k}.counterfactual": r.est.counterfactual,
                  f"{k}.pre_trend_p": r.est.pre_slope_p}
        return {k: float(v) for k, v in m.items() if v == v}

    def metric_info(self) -> list[Metric]:
        info = []
        for r in self.kpis:
            k, lo, hi = f"kpi.{r.name}", r.est.change_low, r.est.change_high
            info += [
                Metric(f"{k}.change", _("{kpi}: change against the comparison group").format(kpi=r.name),
                       MetricKind.LIFT, low=lo, high=hi, level=0.95),
                Metric(f"{k}.ci_low", _("{kpi}: change, lower bound").format(kpi=r.name), MetricKind.LIFT),
                Metric(f"{k}.ci_high", _("{kpi}: change, upper bound").format(kpi=r.name), MetricKind.LIFT),
                Metric(f"{k}.target", _("{kpi}: target").format(kpi=r.name), MetricKind.LIFT),
                Metric(f"{k}.met", _("{kpi}: target met (1 yes, 0 no)").format(kpi=r.name), MetricKind.COUNT),
                Metric(f"{k}.did", _("{kpi}: difference in differences").format(kpi=r.name),
                       MetricKind.RATIO, unit=_("per unit and week"), low=r.est.ci_low,
                       high=r.est.ci_high, level=0.95),
                Metric(f"{k}.level", _("{kpi}: treated group after the start").format(kpi=r.name),
                       MetricKind.RATIO, unit=_("per unit and week")),
                Metric(f"{k}.counterfactual", _("{kpi}: treated group without the campaign").format(kpi=r.name),
                       MetricKind.RATIO, unit=_("per unit and week")),
                Metric(f"{k}.pre_trend_p", _("{kpi}: parallel-trends p-value").format(kpi=r.name),
                       MetricKind.P_VALUE)]
        return info

    def details(self) -> dict[str, Any]:
        return {"group_col": self.group_col, "treated": self.treated, "comparison": self.comparison,
                "campaign_start": self.start.date().isoformat(), "pre_weeks": self.pre_weeks,
                "post_weeks": self.post_weeks, "alpha": self.alpha,
                "verdicts": {r.name: r.verdict for r in self.kpis}}
