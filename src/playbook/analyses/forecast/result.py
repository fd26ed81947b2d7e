"""The result of a campaign forecast, its decision rule and how it reads to a stakeholder.

Decision (:class:`ForecastDecision`): ``insufficient-data`` when the backtest has fewer than
``min_backtest_points`` points; ``trustworthy`` when, for participation and for conversions,
the backtest's 95% prediction intervals held between 85% and 100% of the actuals (within 10
points of nominal) and the MAPE is at most ``max_mape``; ``rough`` otherwise.

Metric names carry no channel or campaign name (those are in the headline and details): the
forecast's counts and rates (``forecast.participation``, ``forecast.conversion``,
``forecast.participation_rate``, ``forecast.conversion_rate``), each with ``.pi_low`` and
``.pi_high`` (the 95% prediction interval, also given as the interval of the metric itself), and
the backtest's ``backtest.mape`` and ``backtest.coverage`` over both targets' points with the
same per target (``backtest.participation.mape`` ...). Coverage carries a Wilson 95% interval,
MAPE a t interval of the mean absolute percentage error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from playbook.analyses.base import Metric, MetricKind, Tone, register_decisions, register_result
from playbook.analyses.forecast.backtest import TARGETS
from playbook.analyses.forecast.data import Planned
from playbook.analyses.records import lead_with, records
from playbook.i18n import formats, pgettext
from playbook.i18n import gettext as _
from playbook.report import esc
from playbook.stats.proportions import wilson_interval

NOMINAL = 0.95
TOLERANCE = 0.10


class ForecastDecision(StrEnum):
    TRUSTWORTHY = "trustworthy"  # backtest intervals held 85-100% of actuals and MAPE is under max_mape
    ROUGH = "rough"  # the backtest missed its coverage or MAPE: read the forecast as a rough guide
    INSUFFICIENT = "insufficient-data"  # too few past campaigns for a backtest of min_backtest_points


register_decisions("campaign_forecast", ForecastDecision, {
    ForecastDecision.TRUSTWORTHY: Tone.GOOD, ForecastDecision.ROUGH: Tone.BAD,
    ForecastDecision.INSUFFICIENT: Tone.NEUTRAL})


@dataclass(frozen=True)
class Forecast:
    """The planned campaign's forecast: means and 95% prediction intervals."""

    participants: float
    participants_low: float
    participants_high: float
    conversions: float
    conversions_low: float
    conversions_high: float
    participation_rate: float
    participation_rate_low: float
    participation_rate_high: float
    conversion_rate: float
    conversion_rate_low: float
    conversion_rate_high: float


def _c(x: float) -> str:
    return formats.count(round(x)) if math.isfinite(x) else "–"


def _p(x: float, digits: int = 1) -> str:
    return formats.percent(x, digits) if math.isfinite(x) else "–"


def _mape_interval(points: pd.DataFrame, *targets: str) -> tuple[float, float]:
    """A t interval of the mean absolute percentage error over ``targets``' points."""
    a = np.concatenate([points[f"{t}_actual"].to_numpy(float) for t in targets])
    f = np.concatenate([points[f"{t}_forecast"].to_numpy(float) for t in targets])
    ape = np.abs(a[a > 0] - f[a > 0]) / a[a > 0]
    if len(ape) < 2:
        return float("nan"), float("nan")
    half = stats.t.ppf(0.975, len(ape) - 1) * ape.std(ddof=1) / math.sqrt(len(ape))
    return max(0.0, float(ape.mean() - half)), float(ape.mean() + half)


@register_result("campaign_forecast")
@dataclass(frozen=True)
class ForecastResult:
    """What :func:`~playbook.analyses.forecast.analysis.forecast_campaign` found.

    ``backtest``: one row per point (campaign, channel, start, origin, then per target actual,
    forecast, pi_low, pi_high, inside). ``scores``: target, points, mape, coverage.
    ``similar``: the most similar past campaigns with their rates and Wilson intervals."""

    plan: Planned
    forecast: Forecast
    backtest: pd.DataFrame = field(repr=False)
    scores: pd.DataFrame = field(repr=False)
    similar: pd.DataFrame = field(repr=False)
    terms: tuple[str, ...]
    dropped: tuple[str, ...]
    campaigns: int
    channel_campaigns: int
    skipped: int
    table: str
    backtest_start: int
    min_backtest_points: int
    max_mape: float
    draws: int
    seed: int

    def score(self, target: str, what: str) -> float:
        return float(self.scores.set_index("target").loc[target, what])

    @property
    def points(self) -> int:
        return len(self.backtest)

    @property
    def decision(self) -> ForecastDecision:
        """The rule of the module docstring."""
        if self.points < self.min_backtest_points:
            return ForecastDecision.INSUFFICIENT
        ok = all(abs(self.score(t, "coverage") - NOMINAL) <= TOLERANCE + 1e-9
                 and self.score(t, "mape") <= self.max_mape for t in TARGETS)
        return ForecastDecision.TRUSTWORTHY if ok else ForecastDecision.ROUGH

    def coverage(self) -> tuple[float, float, float]:
        """Share of all interval checks (both targets) that held, with its Wilson interval."""
        inside = sum(int(self.backtest[f"{t}_inside"].sum()) for t in TARGETS)
        n = 2 * self.points
        lo, hi = wilson_interval(np.array([inside]), np.array([n]))
        return (inside / n if n else float("nan")), float(lo[0]), float(hi[0])

    def _trust(self) -> str:
        if self.decision is ForecastDecision.INSUFFICIENT:
            return _("only {n} past campaigns could be backtested (at least {needed} needed), so how "
                     "far to trust it is not known").format(n=formats.count(self.points),
                                                               needed=formats.count(self.min_backtest_points))
        return _("backtested on {n} past campaigns, its 95% prediction intervals held {cp} of participation and {cc} of "
                 "conversion actuals (nominal 95%), off by {mp} and {mc} on average (MAPE)").format(
            n=formats.count(self.points), cp=_p(self.score("participation", "coverage"), 0),
            cc=_p(self.score("conversion", "coverage"), 0), mp=_p(self.score("participation", "mape"), 0),
            mc=_p(self.score("conversion", "mape"), 0))

    def headline(self) -> str:
        """The forecast with its intervals, then how far to trust it."""
        f = self.forecast
        return _("A campaign on {channel} to {audience} people: {p} participants (95% prediction interval {plo} "
                 "to {phi}) and {c} conversions ({clo} to {chi}); {trust}").format(
            channel=self.plan.channel, audience=_c(self.plan.audience), p=_c(f.participants),
            plo=_c(f.participants_low), phi=_c(f.participants_high), c=_c(f.conversions),
            clo=_c(f.conversions_low), chi=_c(f.conversions_high), trust=self._trust()) + pgettext("sentence", ".")

    def summary(self) -> str:
        """Markdown: how far to trust the forecast first, then the forecast and the model."""
        f = self.forecast
        words = {ForecastDecision.TRUSTWORTHY: _("Plan with it: the backtest's intervals held about as "
                                                 "often as they promise and its error is within {m}"),
                 ForecastDecision.ROUGH: _("Read it as a rough guide: in the backtest, its intervals or its "
                                           "error (limit {m}) fell short"),
                 ForecastDecision.INSUFFICIENT: _("Too few past campaigns to test it: treat it as a first "
                                                  "guess")}[self.decision].format(m=_p(self.max_mape, 0))
        text = _("**How far to trust it: {decision}.** {what}: {trust}.").format(
            decision=pgettext("decision", self.decision), what=words, trust=self._trust())
        text += "\n\n" + _("**Forecast.** Participation rate {pr} (95% prediction interval {prlo} to {prhi}), "
                           "conversion rate of participants {cr} ({crlo} to {crhi}), from {n} past campaigns, "
                           "{k} of them on {channel}.").format(
            pr=_p(f.participation_rate), prlo=_p(f.participation_rate_low), prhi=_p(f.participation_rate_high),
            cr=_p(f.conversion_rate), crlo=_p(f.conversion_rate_low), crhi=_p(f.conversion_rate_high),
            n=formats.count(self.campaigns), k=formats.count(self.channel_campaigns), channel=esc(self.plan.channel))
        if self.dropped:
            text += " " + _("Too few campaigns to estimate, so left out of the model: {terms}.").format(
                terms=esc(", ".join(term_label(t) for t in self.dropped)))
        return text

    def tables(self) -> dict[str, pd.DataFrame]:
        f = self.forecast
        rows = [(_("Participants"), f.participants, f.participants_low, f.participants_high),
                (_("Conversions"), f.conversions, f.conversions_low, f.conversions_high),
                (_("Participation rate"), f.participation_rate, f.participation_rate_low, f.participation_rate_high),
                (_("Conversion rate of participants"), f.conversion_rate, f.conversion_rate_low,
                 f.conversion_rate_high)]
        forecast = pd.DataFrame(rows, columns=["measure", "forecast", "pi_low", "pi_high"])
        model = pd.DataFrame({"term": [term_label(t) for t in (*self.terms, *self.dropped)],
                              "used": [True] * len(self.terms) + [False] * len(self.dropped)})
        return {"forecast": forecast, "backtest": self.backtest, "scores": self.scores,
                "similar": self.similar, "model": model}

    def metrics(self) -> dict[str, float]:
        """Flat numbers (module docstring); non-finite values are left out."""
        f = self.forecast
        out: dict[str, float] = {}
        for key, (v, lo, hi) in {
                "forecast.participation": (f.participants, f.participants_low, f.participants_high),
                "forecast.conversion": (f.conversions, f.conversions_low, f.conversions_high),
                "forecast.participation_rate": (f.participation_rate, f.participation_rate_low,
                                                f.participation_rate_high),
                "forecast.conversion_rate": (f.conversion_rate, f.conversion_rate_low, f.conversion_rate_high),
        }.items():
            out |= {key: v, f"{key}.pi_low": lo, f"{key}.pi_high": hi}
        if self.points:
            cov = self.coverage()[0]
            mape = float(np.nanmean([self.score(t, "mape") for t in TARGETS]))  # equal points per target
            out |= {"backtest.coverage": cov, "backtest.mape": mape}
            for t in TARGETS:
                out |= {f"backtest.{t}.coverage": self.score(t, "coverage"), f"backtest.{t}.mape": self.score(t, "mape")}
        out |= {"backtest.points": float(self.points), "history.campaigns": float(self.campaigns)}
        clean = {k: round(float(v), 6) for k, v in out.items() if math.isfinite(float(v))}
        return lead_with(clean, ["forecast.participation", "forecast.conversion", "backtest.coverage",
                                 "backtest.mape"])

    def metric_info(self) -> list[Metric]:
        """Label, unit, kind and interval of each metric (the forecast's are prediction intervals)."""
        f = self.forecast
        out: list[Metric] = []
        for key, label, kind, unit, lo, hi, v in (
                ("forecast.participation", _("Participants forecast (95% prediction interval)"), MetricKind.COUNT,
                 _("participants"), f.participants_low, f.participants_high, f.participants),
                ("forecast.conversion", _("Conversions forecast (95% prediction interval)"), MetricKind.COUNT,
                 _("conversions"), f.conversions_low, f.conversions_high, f.conversions),
                ("forecast.participation_rate", _("Participation rate forecast (95% prediction interval)"),
                 MetricKind.SHARE, "", f.participation_rate_low, f.participation_rate_high, f.participation_rate),
                ("forecast.conversion_rate", _("Conversion rate of participants, forecast (95% prediction interval)"),
                 MetricKind.SHARE, "", f.conversion_rate_low, f.conversion_rate_high, f.conversion_rate)):
            ok = all(math.isfinite(x) for x in (lo, hi, v))
            out.append(Metric(key, label, kind, unit, lo if ok else None, hi if ok else None, NOMINAL if ok else None,
                              "prediction" if ok else None))
            out.append(Metric(f"{key}.pi_low", _("{label}: lower end").format(label=label), kind, unit))
            out.append(Metric(f"{key}.pi_high", _("{label}: upper end").format(label=label), kind, unit))
        cov, lo, hi = self.coverage() if self.points else (float("nan"),) * 3
        out.append(Metric("backtest.coverage", _("Backtest: actuals inside the 95% prediction interval"),
                          MetricKind.SHARE, "", *((lo, hi, NOMINAL) if math.isfinite(cov) else (None, None, None))))
        m_lo, m_hi = _mape_interval(self.backtest, *TARGETS)
        out.append(Metric("backtest.mape", _("Backtest: mean absolute percentage error"), MetricKind.SHARE, "",
                          *((m_lo, m_hi, NOMINAL) if math.isfinite(m_lo) else (None, None, None))))
        names = {"participation": _("participation"), "conversion": _("conversions")}
        for t in TARGETS:
            n = self.points
            inside = int(self.backtest[f"{t}_inside"].sum()) if n else 0
            c_lo, c_hi = (float(x[0]) for x in wilson_interval(np.array([inside]), np.array([max(n, 1)])))
            m_lo, m_hi = _mape_interval(self.backtest, t) if n else (float("nan"), float("nan"))
            out.append(Metric(f"backtest.{t}.coverage", _("Backtest, {target}: actuals inside the 95% "
                                                          "prediction interval").format(target=names[t]),
                              MetricKind.SHARE, "", *((c_lo, c_hi, NOMINAL) if n else (None, None, None))))
            ok = math.isfinite(m_lo)
            out.append(Metric(f"backtest.{t}.mape", _("Backtest, {target}: mean absolute percentage error")
                              .format(target=names[t]), MetricKind.SHARE, "",
                              *((m_lo, m_hi, NOMINAL) if ok else (None, None, None))))
        out.append(Metric("backtest.points", _("Backtest points"), MetricKind.COUNT, _("campaigns")))
        out.append(Metric("history.campaigns", _("Past campaigns used"), MetricKind.COUNT, _("campaigns")))
        return out

    def details(self) -> dict[str, Any]:
        """JSON-able details: the plan, the model's terms, every table as records."""
        return {"plan": {"channel": self.plan.channel, "budget": self.plan.budget,
                         "duration_days": self.plan.duration_days, "audience": self.plan.audience},
                "table": self.table, "terms": list(self.terms), "dropped": list(self.dropped),
                "campaigns": self.campaigns, "channel_campaigns": self.channel_campaigns,
                "skipped_rows": self.skipped, "backtest_start": self.backtest_start,
                "min_backtest_points": self.min_backtest_points, "max_mape": self.max_mape,
                "draws": self.draws, "seed": self.seed, "scores": records(self.scores),
                "backtest": records(self.backtest), "similar": records(self.similar)}


def term_label(term: str) -> str:
    """A model term as the report names it."""
    if term == "channel:pooled":
        return _("one level for the channels with few campaigns")
    if term.startswith("channel:"):
        return _("channel {name}").format(name=term.split(":", 1)[1])
    return {"log_budget_per_member": _("log budget per audience member"),
            "log_duration": _("log duration")}.get(term, term)
