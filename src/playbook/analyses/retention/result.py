"""The result of a retention analysis, its decision rule and how it reads to a stakeholder.

Decision (from the trend of the day-7 rate across complete cohorts, or of the middle day
mark when 7 is not one of ``day_marks``): ``improving`` / ``declining`` when the slope's
p-value is at most ``alpha``, else ``stable``; ``insufficient-data`` with fewer than three
complete cohorts for that day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from playbook.analyses.base import Metric, MetricKind, Tone, register_decisions, register_result
from playbook.analyses.records import lead_with, records
from playbook.analyses.retention.models import Decay, Trend
from playbook.i18n import DEFAULT_LANGUAGE, current, formats, pgettext
from playbook.i18n import gettext as _

if TYPE_CHECKING:
    import pandas as pd

    from playbook.analyses.retention.checks import Options
    from playbook.analyses.retention.purchases import Repurchase


class RetentionDecision(StrEnum):
    IMPROVING = "improving"  # the day-7 rate rises across cohorts (trend p-value <= alpha)
    STABLE = "stable"  # no significant trend of the day-7 rate across complete cohorts
    DECLINING = "declining"  # the day-7 rate falls across cohorts (trend p-value <= alpha)
    INSUFFICIENT = "insufficient-data"  # fewer than three complete cohorts: no trend can be read


register_decisions("retention_cohorts", RetentionDecision, {
    RetentionDecision.IMPROVING: Tone.GOOD, RetentionDecision.STABLE: Tone.NEUTRAL,
    RetentionDecision.DECLINING: Tone.BAD, RetentionDecision.INSUFFICIENT: Tone.NEUTRAL})


@dataclass(frozen=True)
class DayMark:
    """Day-n retention: the pooled latest complete cohorts (``latest`` names them) and the trend."""

    day: int
    rate: float
    ci_low: float
    ci_high: float
    retained: int
    users: int
    latest: list[str]
    trend: Trend


def share(x: float, digits: int = 1) -> str:
    """A share as the report's language writes it; ``n/a`` for NaN."""
    if not math.isfinite(x):
        return "n/a"
    return f"{x:.{digits}%}" if current() == DEFAULT_LANGUAGE else formats.percent(x, digits)


def share_ci(x: float, lo: float, hi: float) -> str:
    return _("{value} (95% CI {low} to {high})").format(value=share(x), low=share(lo), high=share(hi))


def number(x: float, digits: int = 1) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{x:,.{digits}f}" if current() == DEFAULT_LANGUAGE else formats.number(x, digits)


@register_result("retention_cohorts")
@dataclass(frozen=True)
class RetentionResult:
    """The outcome of :func:`~playbook.analyses.retention.analysis.analyze_retention`.

    ``cells``/``marks``/``decay_cells``: cohort, period, label, lo_day, hi_day, members,
    eligible, retained, complete, rate, ci_low, ci_high (matrix, day marks, repeat months).
    ``revenue``: cohort, period, label, complete, revenue, ratio. ``usage``: month, users,
    mean, sd, p50, p90, the day buckets, ci_low, ci_high, complete. ``lifecycle``: period,
    new, returning, resurrecting, dormant. ``segments``: segment, day, users, retained, rate,
    ci_low, ci_high, chi2, p_value (None without a breakdown).
    """

    options: Options
    as_of: pd.Timestamp
    cells: pd.DataFrame = field(repr=False)
    marks: pd.DataFrame = field(repr=False)
    day: list[DayMark]
    revenue: pd.DataFrame = field(repr=False)
    repurchase: Repurchase
    decay: Decay
    decay_cells: pd.DataFrame = field(repr=False)
    usage: pd.DataFrame = field(repr=False)
    lifecycle: pd.DataFrame = field(repr=False)
    segments: pd.DataFrame | None
    excluded_orders: dict[str, int]
    cohorts: int
    users: int

    @property
    def key_mark(self) -> DayMark | None:
        """The day mark the decision reads: day 7, else the middle one."""
        if not self.day:
            return None
        return next((m for m in self.day if m.day == 7), self.day[len(self.day) // 2])

    @property
    def decision(self) -> RetentionDecision:
        m = self.key_mark
        if m is None or not math.isfinite(m.trend.p_value) or not math.isfinite(m.rate):
            return RetentionDecision.INSUFFICIENT
        if m.trend.p_value <= self.options.alpha and m.trend.slope != 0:
            return RetentionDecision.IMPROVING if m.trend.slope > 0 else RetentionDecision.DECLINING
        return RetentionDecision.STABLE

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"cells": self.cells, "day_marks": self.marks, "revenue": self.revenue,
               "repeat_months": self.decay_cells, "usage": self.usage, "lifecycle": self.lifecycle}
        return out | ({"segments": self.segments} if self.segments is not None else {})

    def headline(self) -> str:
        m = self.key_mark
        if m is None or not math.isfinite(m.rate):
            return _("Not enough complete cohorts to measure retention yet ({n} cohorts, {users} users).").format(
                n=self.cohorts, users=number(self.users, 0))
        text = _("Day-{day} retention of the latest complete cohorts is {rate}").format(
            day=m.day, rate=share_ci(m.rate, m.ci_low, m.ci_high))
        d = self.decision
        if d is RetentionDecision.INSUFFICIENT:
            text += _(", too few complete cohorts for a trend")
        else:
            words = {RetentionDecision.IMPROVING: _("improving"), RetentionDecision.DECLINING: _("declining"),
                     RetentionDecision.STABLE: _("stable")}
            text += _(", {trend} across {n} cohorts (p = {p})").format(
                trend=words[d], n=m.trend.cohorts, p=f"{m.trend.p_value:.2g}")
        r = self.repurchase
        if math.isfinite(r.rate):
            text += _("; {rate} of purchasers buy again within {days} days").format(
                rate=share(r.rate), days=r.horizon_days)
        return text + pgettext("sentence", ".")

    def summary(self) -> str:
        parts = []
        for m in self.day:
            if math.isfinite(m.rate):
                parts.append(_("D{day}: **{rate}** over the {n} latest complete cohorts ({users} users)").format(
                    day=m.day, rate=share_ci(m.rate, m.ci_low, m.ci_high), n=len(m.latest),
                    users=number(m.users, 0)))
        text = pgettext("sentence", "; ").join(parts) + pgettext("sentence", ".") if parts else \
            _("No cohort is complete for any day mark yet.")
        r, dec = self.repurchase, self.decay
        if math.isfinite(r.rate):
            text += " " + _("Repurchase within {days} days: **{rate}** of {n} purchasers; median interval between "
                            "purchases {p50} days (95% CI {lo} to {hi}).").format(
                days=r.horizon_days, rate=share_ci(r.rate, r.ci_low, r.ci_high), n=number(r.purchasers, 0),
                p50=number(r.p50_days), lo=number(r.p50_ci[0]), hi=number(r.p50_ci[1]))
        if math.isfinite(dec.ratio):
            text += " " + _("The chance of a repeat purchase shrinks to **{ratio}** of the previous month's each "
                            "month (95% CI {lo} to {hi}).").format(
                ratio=number(dec.ratio, 3), lo=number(dec.ci_low, 3), hi=number(dec.ci_high, 3))
        return text

    # -- metrics ------------------------------------------------------------------------------
    def _values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for m in self.day:
            out |= {f"d{m.day}": m.rate, f"d{m.day}_ci_low": m.ci_low, f"d{m.day}_ci_high": m.ci_high}
        r, d = self.repurchase, self.decay
        out |= {"repurchase_rate": r.rate, "repurchase_rate_ci_low": r.ci_low, "repurchase_rate_ci_high": r.ci_high,
                "repurchase_interval_days_p50": r.p50_days, "repurchase_interval_days_p50_ci_low": r.p50_ci[0],
                "repurchase_interval_days_p50_ci_high": r.p50_ci[1], "repurchase_interval_days_p90": r.p90_days,
                "repurchase_interval_days_p90_ci_low": r.p90_ci[0], "repurchase_interval_days_p90_ci_high": r.p90_ci[1],
                "repeat_decay_ratio": d.ratio, "repeat_decay_ratio_ci_low": d.ci_low,
                "repeat_decay_ratio_ci_high": d.ci_high, "purchasers": r.purchasers, "cohorts": self.cohorts,
                "users": self.users, "orders_excluded": sum(v for k, v in self.excluded_orders.items() if k != "rows")}
        k = self.key_mark
        if k is not None:
            out |= {f"d{k.day}_trend_slope": k.trend.slope, f"d{k.day}_trend_p_value": k.trend.p_value}
        done = self.usage[self.usage["complete"]] if len(self.usage) else self.usage
        if len(done):
            last = done.iloc[-1]
            out |= {"usage_days_mean": last["mean"], "usage_days_mean_ci_low": last["ci_low"],
                    "usage_days_mean_ci_high": last["ci_high"]}
        return out

    def metrics(self) -> dict[str, float]:
        clean = {k: round(float(v), 6) for k, v in self._values().items()
                 if v is not None and math.isfinite(float(v))}
        first = [f"d{m.day}" for m in self.day][:3] + ["repurchase_rate"]
        return lead_with(clean, first)

    def metric_info(self) -> list[Metric]:
        v = self._values()
        out: list[Metric] = []

        def add(name: str, label: str, kind: MetricKind, unit: str = "", ci: bool = True) -> None:
            lo, hi = v.get(f"{name}_ci_low"), v.get(f"{name}_ci_high")
            if ci and lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi):
                out.append(Metric(name, label, kind, unit, low=float(lo), high=float(hi), level=0.95))
            else:
                out.append(Metric(name, label, kind, unit))
            if ci:
                out.append(Metric(f"{name}_ci_low", _("{label}, lower bound").format(label=label), kind, unit))
                out.append(Metric(f"{name}_ci_high", _("{label}, upper bound").format(label=label), kind, unit))

        for m in self.day:
            add(f"d{m.day}", _("Day-{day} retention, latest complete cohorts").format(day=m.day), MetricKind.SHARE)
        add("repurchase_rate", _("Repurchase rate within {days} days").format(days=self.repurchase.horizon_days),
            MetricKind.SHARE)
        add("repurchase_interval_days_p50", _("Median days between purchases"), MetricKind.DURATION, "days")
        add("repurchase_interval_days_p90", _("p90 days between purchases"), MetricKind.DURATION, "days")
        add("repeat_decay_ratio", _("Month-over-month ratio of repeat purchases"), MetricKind.RATIO)
        add("usage_days_mean", _("Active days per active user, last complete month"), MetricKind.RATIO, "days")
        k = self.key_mark
        if k is not None:
            add(f"d{k.day}_trend_slope", _("Trend of day-{day} retention, log-odds per cohort").format(day=k.day),
                MetricKind.RATIO, ci=False)
            add(f"d{k.day}_trend_p_value", _("Trend of day-{day} retention, p-value").format(day=k.day),
                MetricKind.P_VALUE, ci=False)
        add("purchasers", _("Purchasers observed for the whole horizon"), MetricKind.COUNT, "users", ci=False)
        add("cohorts", _("Cohorts"), MetricKind.COUNT, "cohorts", ci=False)
        add("users", _("Users in cohorts"), MetricKind.COUNT, "users", ci=False)
        add("orders_excluded", _("Orders left out (after the snapshot, negative or incomplete)"),
            MetricKind.COUNT, "orders", ci=False)
        return out

    def details(self) -> dict[str, Any]:
        o = self.options
        return {
            "as_of": self.as_of.isoformat(), "cohort_by": o.cohort_by, "cohort_period": o.cohort_period,
            "mode": o.mode, "period_days": o.period_days, "min_actions": o.min_actions,
            "activity": o.activity, "excluded_orders": dict(self.excluded_orders),
            "day_marks": [{"day": m.day, "rate": m.rate if math.isfinite(m.rate) else None,
                           "users": m.users, "retained": m.retained, "latest_cohorts": m.latest,
                           "trend_slope": _plain(m.trend.slope), "trend_ci": [_plain(m.trend.ci_low),
                                                                              _plain(m.trend.ci_high)],
                           "trend_p_value": _plain(m.trend.p_value), "trend_cohorts": m.trend.cohorts}
                          for m in self.day],
            "decay": {"ratio": _plain(self.decay.ratio), "cells": self.decay.cells, "cohorts": self.decay.cohorts,
                      "repeaters": self.decay.repeaters, "family": self.decay.family},
            "cells": records(self.cells), "usage": records(self.usage), "lifecycle": records(self.lifecycle),
            "segments": records(self.segments),
        }


def _plain(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None
