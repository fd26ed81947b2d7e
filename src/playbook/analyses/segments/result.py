"""The result of segmentation and how it reads to a stakeholder: decision, headline, metrics.

:class:`SegmentationResult` is what :func:`playbook.analyses.segments.analysis.analyze_segments`
returns (that module's docstring: how each number is defined).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import pandas as pd

from playbook.analyses.base import Metric, MetricKind, Tone, register_decisions, register_result
from playbook.analyses.records import lead_with, plain, records
from playbook.analyses.segments.rules import NO_PURCHASE, OTHER, SegmentRules, tier_names
from playbook.i18n import formats, pgettext
from playbook.i18n import gettext as _
from playbook.report import esc


class SegmentDecision(StrEnum):
    AT_RISK_UP = "at-risk-up"  # the watch segments' share of buyers grew significantly since the previous run
    STEADY = "steady"  # compared with the previous run, the watch segments' share did not grow significantly
    BASELINE = "baseline"  # first run of the tag set: segments and tags written, nothing to compare with yet
    TOO_FEW_BUYERS = "too-few-buyers"  # fewer buyers than min_buyers: scores by quantiles mean little


register_decisions("segmentation", SegmentDecision, {
    SegmentDecision.AT_RISK_UP: Tone.BAD, SegmentDecision.STEADY: Tone.GOOD,
    SegmentDecision.BASELINE: Tone.NEUTRAL, SegmentDecision.TOO_FEW_BUYERS: Tone.INVALID})


@dataclass(frozen=True)
class Previous:
    """The previous snapshot of the tag set: its date, size, counts per tag and its run."""

    as_of: date
    users: int
    counts: dict[str, int]
    run: dict[str, str]


def _pct(x: float, digits: int = 1) -> str:
    return formats.percent(x, digits)


def _pts(x: float) -> str:
    """A change of a share in percentage points, signed."""
    return _("{value} pts").format(value=formats.number(x * 100, 1) if x <= 0 else "+" + formats.number(x * 100, 1))


@register_result("segmentation")
@dataclass(frozen=True)
class SegmentationResult:
    """What :func:`analyze_segments` found.

    ``segments`` and ``tiers``: name, users, buyers, revenue, share (+ ci), revenue_share (+ ci),
    mean_monetary (+ ci), active_30_share, active_90_share, repeat_rate (each + ci), mean_r/f/m.
    ``channels``: segment, channel, users, share. ``grid``: r, f, users, revenue, mean_monetary.
    ``scores``: score (r, f, m), value, users. ``excluded``: reason, rows, amount.
    ``users``: one row per user (user_id, segment, tier, r, f, m, recency_days, frequency,
    monetary): the tag sets. ``migration``: previous, current, users, share.
    """

    as_of: pd.Timestamp
    rules: SegmentRules
    tier_cuts: list[float]
    segments: pd.DataFrame = field(repr=False)
    tiers: pd.DataFrame = field(repr=False)
    channels: pd.DataFrame = field(repr=False)
    grid: pd.DataFrame = field(repr=False)
    scores: pd.DataFrame = field(repr=False)
    excluded: pd.DataFrame = field(repr=False)
    order_rows: int
    users: pd.DataFrame = field(repr=False)
    previous: Previous | None
    migration: pd.DataFrame = field(repr=False)
    watch: list[str]
    watch_change: dict[str, float]
    min_buyers: int = 30
    alpha: float = 0.05
    currency: str = ""
    channel_col: str = ""
    tag_set: str = "rfm"

    # -- the numbers ------------------------------------------------------------------------
    @property
    def day(self) -> date:
        day: date = self.as_of.date()
        return day

    @property
    def user_count(self) -> int:
        return int(self.segments["users"].sum())

    @property
    def buyers(self) -> int:
        return int(self.segments["buyers"].sum())

    @property
    def tier_order(self) -> list[str]:
        return tier_names(self.tier_cuts)

    def excluded_rows(self, reason: str) -> int:
        hit = self.excluded.loc[self.excluded["reason"] == reason, "rows"]
        return int(hit.iloc[0]) if len(hit) else 0

    def missing_scores(self) -> dict[str, list[int]]:
        """The scores 1..5 that no buyer has, per R, F and M (heavy ties)."""
        have = {k: set(self.scores.loc[self.scores["score"] == k, "value"].astype(int)) for k in ("r", "f", "m")}
        return {k: [s for s in range(1, 6) if s not in v] for k, v in have.items() if self.buyers}

    def _top(self) -> pd.Series | None:
        named = self.segments[~self.segments["name"].isin([NO_PURCHASE]) & (self.segments["users"] > 0)]
        return None if named.empty else named.loc[named["revenue_share"].idxmax()]

    @property
    def decision(self) -> SegmentDecision:
        """``too-few-buyers`` under ``min_buyers``; ``baseline`` on the first run; ``at-risk-up``
        when the watch share of buyers grew with p <= alpha; else ``steady``."""
        if self.buyers < self.min_buyers:
            return SegmentDecision.TOO_FEW_BUYERS
        if self.previous is None:
            return SegmentDecision.BASELINE
        w = self.watch_change
        if w["change"] > 0 and w["p_value"] <= self.alpha:
            return SegmentDecision.AT_RISK_UP
        return SegmentDecision.STEADY

    # -- text -------------------------------------------------------------------------------------
    def _watch_text(self) -> str:
        w = self.watch_change
        names = ", ".join(self.watch)
        if self.previous is None:
            return _("{segments}: {share} of buyers; no previous run to compare with").format(
                segments=names, share=_pct(w["now"]))
        return _("{segments}: {share} of buyers, {change} since {day} ({ci})").format(
            segments=names, share=_pct(w["now"]), change=_pts(w["change"]), day=formats.day(self.previous.as_of),
            ci=formats.interval(w["low"], w["high"], kind="lift"))

    def headline(self) -> str:
        """One sentence: the segment that brings the most revenue, and the watch share."""
        if self.buyers < self.min_buyers:
            return _("Only {buyers} users bought before {day}: too few to score by quantiles "
                     "(at least {needed})").format(buyers=formats.count(self.buyers),
                                                   day=formats.day(self.day), needed=formats.count(self.min_buyers))
        top = self._top()
        assert top is not None  # there are buyers
        lead = _("{segment} are {share} of users and bring {revenue} of revenue").format(
            segment=top["name"], share=_pct(top["share"]), revenue=_pct(top["revenue_share"]))
        return lead + pgettext("sentence", "; ") + self._watch_text() + pgettext("sentence", ".")

    def summary(self) -> str:
        """Markdown for a stakeholder: who was scored, what was left out, what moved."""
        text = _("As of {day}, {users} users: {buyers} with a purchase are scored, {none} without one are "
                 "**no_purchase**.").format(day=formats.day(self.day), users=formats.count(self.user_count),
                                              buyers=formats.count(self.buyers),
                                              none=formats.count(self.user_count - self.buyers))
        left = int(self.excluded["rows"].sum()) if len(self.excluded) else 0
        if left:
            after, neg = self.excluded_rows("after_snapshot"), self.excluded_rows("non_positive_amount")
            parts = [_("{n} after the snapshot").format(n=formats.count(after)) if after else "",
                     _("{n} with an amount of 0 or less").format(n=formats.count(neg)) if neg else "",
                     _("{n} without a time or a known user").format(n=formats.count(left - after - neg))
                     if left - after - neg else ""]
            text += " " + _("{rows} of {total} order rows are left out: {reasons}.").format(
                rows=formats.count(left), total=formats.count(self.order_rows),
                reasons=pgettext("list", ", ").join(p for p in parts if p))
        missing = {k: v for k, v in self.missing_scores().items() if v}
        if missing:
            text += " " + _("Equal values share a score, so some scores do not occur: {which}.").format(
                which="; ".join(f"{k.upper()} {', '.join(map(str, v))}" for k, v in missing.items()))
        if self.buyers >= self.min_buyers:
            text += " " + esc(self._watch_text()) + pgettext("sentence", ".")
        return text

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"segments": self.segments, "tiers": self.tiers, "channels": self.channels, "grid": self.grid,
                "scores": self.scores, "excluded": self.excluded, "migration": self.migration}

    # -- metrics ----------------------------------------------------------------------------------
    def _groups(self) -> list[tuple[str, pd.DataFrame]]:
        return [("segment", self.segments), ("tier", self.tiers)]

    def metrics(self) -> dict[str, float]:
        """Flat numbers for the outcome; non-finite values are left out."""
        out: dict[str, Any] = {"overall.users": self.user_count, "overall.buyers": self.buyers,
                               "overall.revenue": float(self.segments["revenue"].sum()),
                               "watch.share": self.watch_change.get("now")}
        if self.previous is not None:
            out["watch.change"] = self.watch_change["change"]
            out["watch.p_value"] = self.watch_change["p_value"]
        for reason in ("after_snapshot", "non_positive_amount"):
            out[f"excluded.{reason}"] = self.excluded_rows(reason)
        for prefix, frame in self._groups():
            for r in frame.itertuples():
                for col in ("users", "share", "revenue_share", "mean_monetary"):
                    out[f"{prefix}.{r.name}.{col}"] = getattr(r, col)
        clean = {k: round(float(v), 6) for k, v in out.items() if v is not None and math.isfinite(float(v))}
        top = self._top()
        lead = ["watch.share", f"segment.{top['name']}.revenue_share" if top is not None else "", "overall.buyers",
                "overall.users"]
        return lead_with(clean, [x for x in lead if x])

    def metric_info(self) -> list[Metric]:
        """Label, unit, kind and interval of each metric in :meth:`metrics`."""
        money = self.currency
        out = [Metric("overall.users", _("Users"), MetricKind.COUNT, "users"),
               Metric("overall.buyers", _("Users with a purchase"), MetricKind.COUNT, "users"),
               Metric("overall.revenue", _("Revenue of valid orders"), MetricKind.MONEY, money),
               Metric("excluded.after_snapshot", _("Order rows after the snapshot, left out"), MetricKind.COUNT, "rows"),
               Metric("excluded.non_positive_amount", _("Order rows with an amount of 0 or less, left out"),
                      MetricKind.COUNT, "rows")]
        w = self.watch_change
        names = ", ".join(self.watch)
        out.append(Metric("watch.share", _("Share of buyers in {segments}").format(segments=names), MetricKind.SHARE))
        if self.previous is not None:
            out.append(Metric("watch.change", _("Change of the share of buyers in {segments}").format(segments=names),
                              MetricKind.LIFT, "", w["low"], w["high"], 0.95))
            out.append(Metric("watch.p_value", _("p-value of that change"), MetricKind.P_VALUE))
        labels = {"users": _("Users in {name}"), "share": _("Share of users in {name}"),
                  "revenue_share": _("Share of revenue from {name}"), "mean_monetary": _("Mean spend of buyers in {name}")}
        for prefix, frame in self._groups():
            for r in frame.to_dict("records"):
                name = f"{prefix}.{r['name']}"
                out.append(Metric(f"{name}.users", labels["users"].format(name=r["name"]), MetricKind.COUNT, "users"))
                for col in ("share", "revenue_share"):
                    out.append(Metric(f"{name}.{col}", labels[col].format(name=r["name"]), MetricKind.SHARE, "",
                                      *_ci(r, col)))
                out.append(Metric(f"{name}.mean_monetary", labels["mean_monetary"].format(name=r["name"]),
                                  MetricKind.MONEY, money, *_ci(r, "mean_monetary")))
        return out

    def details(self) -> dict[str, Any]:
        """JSON-able details: the snapshot, the mapping, the previous run and every table."""
        prev = None if self.previous is None else {
            "as_of": self.previous.as_of.isoformat(), "users": self.previous.users, "run": self.previous.run}
        return {"as_of": self.as_of.isoformat(), "segments_file": self.rules.source,
                "rules": {r.name: r.in_words() for r in self.rules.rules}, "tier_cuts": self.tier_cuts,
                "watch_segments": self.watch, "watch": {k: plain(v) for k, v in self.watch_change.items()},
                "previous": prev, "order_rows": self.order_rows, "missing_scores": self.missing_scores(),
                "other_segment": OTHER, **{k: records(v) for k, v in self.tables().items()}}


def _ci(row: dict[str, Any], col: str) -> tuple[float | None, float | None, float | None]:
    lo, hi = row.get(f"{col}_ci_low"), row.get(f"{col}_ci_high")
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return None, None, None
    return float(lo), float(hi), 0.95
