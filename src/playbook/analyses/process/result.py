"""The result of a process analysis and how it reads to a stakeholder.

:class:`ProcessResult` is what :func:`playbook.analyses.process.analysis.analyze_process` returns (that
module's docstring: how each number is defined), with its decision rule, the flat outcome
metrics and their labels, the headline and the details that process_efficiency shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from playbook.analyses.base import Metric, MetricKind, ProcessDecision, register_result
from playbook.analyses.records import lead_with, records
from playbook.i18n import DEFAULT_LANGUAGE, current, formats, pgettext
from playbook.i18n import gettext as _
from playbook.report import esc

Q_NAMES = ("p50_h", "p75_h", "p90_h", "p95_h", "p99_h")

#: Kind and unit of each per-step metric ``step.<step>.<suffix>`` (labels: :func:`step_labels`).
STEP_METRICS: dict[str, tuple[MetricKind, str]] = {
    "rows": (MetricKind.COUNT, "runs"),
    **{q: (MetricKind.DURATION, "h") for q in Q_NAMES},
    "mean_h": (MetricKind.DURATION, "h"),
    "wait_p50_h": (MetricKind.DURATION, "h"),
    "wait_p90_h": (MetricKind.DURATION, "h"),
    "sla_breach": (MetricKind.SHARE, ""),
    "sla_breach_ci_low": (MetricKind.SHARE, ""),
    "sla_breach_ci_high": (MetricKind.SHARE, ""),
    "hours_at_stake": (MetricKind.DURATION, "h"),
    "p50_h_ci_low": (MetricKind.DURATION, "h"),
    "p50_h_ci_high": (MetricKind.DURATION, "h"),
    "p90_h_ci_low": (MetricKind.DURATION, "h"),
    "p90_h_ci_high": (MetricKind.DURATION, "h"),
    "trend_slope_h_per_week": (MetricKind.DURATION, "h/week"),
    "trend_p_value": (MetricKind.P_VALUE, ""),
    "trend_p_adjusted": (MetricKind.P_VALUE, ""),
}
#: Kind and unit of the other metrics (labels: :func:`other_labels`).
OTHER_METRICS: dict[str, tuple[MetricKind, str]] = {
    "overall.cases": (MetricKind.COUNT, "cases"),
    "overall.closed_cases": (MetricKind.COUNT, "cases"),
    "overall.cycle_p50_h": (MetricKind.DURATION, "h"),
    "overall.cycle_p90_h": (MetricKind.DURATION, "h"),
    "overall.invalid_rows": (MetricKind.COUNT, "rows"),
    "overall.hours_at_stake": (MetricKind.DURATION, "h"),
    "overall.sla_breach": (MetricKind.SHARE, ""),
    "wip.last": (MetricKind.COUNT, "cases"),
    "wip.max": (MetricKind.COUNT, "cases"),
    "fix.hours_at_stake": (MetricKind.DURATION, "h"),
    "fix.p50_h": (MetricKind.DURATION, "h"),
}


def step_labels() -> dict[str, str]:
    """The label of each per-step metric in the report's language (``{step}``: the step's name)."""
    return {
        "rows": _("runs of {step}"),
        "p50_h": _("p50 duration of {step}"), "p75_h": _("p75 duration of {step}"),
        "p90_h": _("p90 duration of {step}"), "p95_h": _("p95 duration of {step}"),
        "p99_h": _("p99 duration of {step}"),
        "mean_h": _("mean duration of {step}"),
        "wait_p50_h": _("median wait before {step}"),
        "wait_p90_h": _("p90 wait before {step}"),
        "sla_breach": _("SLA breach share of {step}"),
        "sla_breach_ci_low": _("SLA breach share of {step}, lower bound"),
        "sla_breach_ci_high": _("SLA breach share of {step}, upper bound"),
        "hours_at_stake": _("hours above SLA at {step}"),
        "p50_h_ci_low": _("median duration of {step}, lower bound"),
        "p50_h_ci_high": _("median duration of {step}, upper bound"),
        "p90_h_ci_low": _("p90 duration of {step}, lower bound"),
        "p90_h_ci_high": _("p90 duration of {step}, upper bound"),
        "trend_slope_h_per_week": _("weekly change of {step}'s median"),
        "trend_p_value": _("trend p-value of {step}"),
        "trend_p_adjusted": _("trend p-value of {step} (corrected)"),
    }


def other_labels() -> dict[str, str]:
    """The label of each metric of :data:`OTHER_METRICS` in the report's language."""
    return {
        "overall.cases": _("Cases"),
        "overall.closed_cases": _("Closed cases"),
        "overall.cycle_p50_h": _("Median time end to end"),
        "overall.cycle_p90_h": _("p90 time end to end"),
        "overall.invalid_rows": _("Rows ending before they start"),
        "overall.hours_at_stake": _("Hours above SLA, all steps"),
        "overall.sla_breach": _("SLA breach share, all steps"),
        "wip.last": _("Cases open on the last day"),
        "wip.max": _("Most cases open on one day"),
        "fix.hours_at_stake": _("Hours above SLA at the step to fix"),
        "fix.p50_h": _("Median duration of the step to fix"),
    }


def _n(x: float, spec: str) -> str:
    """``x`` as the English report writes it (``format(x, spec)``), or through
    :mod:`playbook.i18n.formats` in another language: shares (``%``), counts (``,d``, ``,.0f``),
    fixed decimals (``.1f``) and plain numbers (``g``)."""
    if current() == DEFAULT_LANGUAGE:
        return format(x, spec)
    if spec.endswith("%"):
        return formats.percent(x, int(spec[-2]))
    if spec in (",d", ",.0f"):
        return formats.count(x)
    if spec.endswith("f"):
        return formats.number(x, int(spec[-2]))
    return formats.number(x)


@register_result("process_efficiency")
@dataclass(frozen=True)
class ProcessResult:
    """The outcome of :func:`analyze_process` (module docstring: how each number is defined).

    ``steps``: step, rows, open_rows, mean_h, p50_h .. p99_h, p50_ci_low, p50_ci_high,
    p90_ci_low, p90_ci_high, total_h, wait_p50_h, wait_p90_h,
    wait_total_h, sla_h, breaches, sla_breach, sla_breach_ci_low, sla_breach_ci_high,
    hours_at_stake. ``wip``: day, open_cases. ``weekly``: step, week, rows, median_h.
    ``trend``: step, weeks, tau, p_value, p_adjusted, significant, trend (slower, faster, none,
    too few weeks), slope_h_per_week. ``segments``: segment, step, rows,
    p50_h, p90_h, breaches, sla_breach (empty without a segment).
    """

    steps: pd.DataFrame = field(repr=False)
    wip: pd.DataFrame = field(repr=False)
    weekly: pd.DataFrame = field(repr=False)
    trend: pd.DataFrame = field(repr=False)
    segments: pd.DataFrame = field(repr=False)
    cases: int
    closed_cases: int
    cycle_p50_h: float
    cycle_p90_h: float
    invalid_rows: int
    slowest_step: str | None
    step_to_fix: str | None
    sla_hours: dict[str, float]
    alpha: float = 0.05
    trend_correction: str = "holm"

    @property
    def decision(self) -> ProcessDecision:
        """``act`` when a step is named to fix (the most hours above SLA, or the slowest step
        when no step has an SLA or none is breached), else ``no-action`` (no completed step)."""
        return ProcessDecision.ACT if self.step_to_fix else ProcessDecision.NO_ACTION

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"steps": self.steps, "wip": self.wip, "weekly": self.weekly, "trend": self.trend,
                "segments": self.segments}

    def summary(self) -> str:
        """Markdown for a stakeholder: the step to fix and why (names escaped)."""
        fix = self._step(self.step_to_fix)
        if fix is None:
            return _("No completed step in the process log: nothing to measure yet.")
        text = _("The step to fix is **{step}**: median {p50} h, p90 {p90} h over {runs} runs").format(
            step=esc(self.step_to_fix), p50=_n(fix["p50_h"], ".1f"), p90=_n(fix["p90_h"], ".1f"),
            runs=_n(int(fix["rows"]), ",d"))
        if math.isfinite(fix["hours_at_stake"]) and fix["hours_at_stake"] > 0:
            text += _("; {share} breach the {sla} h SLA, {hours} hours above it").format(
                share=_n(fix["sla_breach"], ".0%"), sla=_n(fix["sla_h"], "g"),
                hours=_n(fix["hours_at_stake"], ",.0f"))
        return text + pgettext("sentence", ".")

    def metric_info(self) -> list[Metric]:
        """Label, unit and kind of each metric in :meth:`metrics` (:data:`STEP_METRICS`)."""
        others, labels = other_labels(), step_labels()
        out = [Metric(k, others[k], kind, unit) for k, (kind, unit) in OTHER_METRICS.items()]
        english = current() == DEFAULT_LANGUAGE  # "p50 duration of x" reads "P50 duration of x"
        for step in self.steps["step"]:
            for suffix, (kind, unit) in STEP_METRICS.items():
                label = labels[suffix].format(step=step)
                out.append(Metric(f"step.{step}.{suffix}", label.capitalize() if english else label, kind, unit))
        return out

    def metrics(self) -> dict[str, float]:
        """Flat numbers for the outcome; non-finite values are left out."""
        out: dict[str, Any] = {
            "overall.cases": self.cases, "overall.closed_cases": self.closed_cases,
            "overall.cycle_p50_h": self.cycle_p50_h, "overall.cycle_p90_h": self.cycle_p90_h,
            "overall.invalid_rows": self.invalid_rows,
            "overall.hours_at_stake": float(np.nansum(self.steps["hours_at_stake"]))
            if self.sla_hours else np.nan,
        }
        with_sla = self.steps[self.steps["sla_h"].notna()]
        if len(with_sla) and with_sla["rows"].sum():
            out["overall.sla_breach"] = with_sla["breaches"].sum() / with_sla["rows"].sum()
        for r in self.steps.itertuples():
            p = f"step.{r.step}"
            for col in ("rows", *Q_NAMES, "mean_h", "wait_p50_h", "wait_p90_h", "sla_breach",
                        "sla_breach_ci_low", "sla_breach_ci_high", "hours_at_stake"):
                out[f"{p}.{col}"] = getattr(r, col)
            for col in ("p50", "p90"):
                for side in ("low", "high"):
                    out[f"{p}.{col}_h_ci_{side}"] = getattr(r, f"{col}_ci_{side}")
        for r in self.trend.itertuples():
            out[f"step.{r.step}.trend_slope_h_per_week"] = r.slope_h_per_week
            out[f"step.{r.step}.trend_p_value"] = r.p_value
            out[f"step.{r.step}.trend_p_adjusted"] = r.p_adjusted
        if len(self.wip):
            out["wip.last"] = self.wip["open_cases"].iloc[-1]
            out["wip.max"] = self.wip["open_cases"].max()
        fix = self._step(self.step_to_fix)
        if fix is not None:
            out["fix.hours_at_stake"] = fix["hours_at_stake"]
            out["fix.p50_h"] = fix["p50_h"]
        clean = {k: round(float(v), 6) for k, v in out.items() if v is not None and math.isfinite(float(v))}
        return lead_with(clean, ["fix.hours_at_stake", "overall.sla_breach", "overall.cycle_p50_h", "overall.cases"])

    def _step(self, name: str | None) -> pd.Series | None:
        return None if name is None else self.steps.set_index("step").loc[name]

    def headline(self) -> str:
        """One sentence naming the step to fix and the hours at stake."""
        fix = self._step(self.step_to_fix)
        if fix is None:
            return _("No completed step in the process log.")
        parts = []
        numbers = {"step": self.step_to_fix, "share": _n(fix["sla_breach"], ".0%"),
                   "runs": _n(int(fix["rows"]), ",d"), "sla": _n(fix["sla_h"], "g"),
                   "hours": _n(fix["hours_at_stake"], ",.0f"), "p50": _n(fix["p50_h"], ".1f"),
                   "p90": _n(fix["p90_h"], ".1f")}
        if math.isfinite(fix["hours_at_stake"]) and fix["hours_at_stake"] > 0:
            parts.append(_("Fix '{step}': {share} of its {runs} runs breach the {sla} h SLA, {hours} hours "
                           "above SLA (median {p50} h, p90 {p90} h)").format(**numbers))
        else:
            parts.append(_("'{step}' takes the most time: median {p50} h, p90 {p90} h over {runs} runs")
                         .format(**numbers) + (_(", all within SLA") if math.isfinite(fix["sla_h"]) else ""))
        if self.slowest_step and self.slowest_step != self.step_to_fix:
            parts.append(_("the slowest step is '{step}'").format(step=self.slowest_step))
        for t in self.trend[self.trend["significant"]].itertuples():
            sentence = (_("'{step}' is getting slower ({slope} h per week, p = {p} corrected across {n} steps)")
                        if t.trend == "slower" else
                        _("'{step}' is getting faster ({slope} h per week, p = {p} corrected across {n} steps)"))
            parts.append(sentence.format(step=t.step, slope=f"{t.slope_h_per_week:+.2g}", p=f"{t.p_adjusted:.2g}",
                                         n=self._tested()))
        if math.isfinite(self.cycle_p50_h):
            parts.append(_("cases take {hours} h end to end (median)").format(hours=_n(self.cycle_p50_h, ".1f")))
        return pgettext("sentence", "; ").join(parts) + pgettext("sentence", ".")

    def _tested(self) -> int:
        return int(self.trend["p_value"].notna().sum()) if len(self.trend) else 0

    def details(self) -> dict[str, Any]:
        """JSON-able details: names and every table as records."""
        return {"slowest_step": self.slowest_step, "step_to_fix": self.step_to_fix,
                "sla_hours": dict(self.sla_hours), "alpha": self.alpha,
                "trend_correction": self.trend_correction, "steps": records(self.steps),
                "wip": records(self.wip), "weekly": records(self.weekly),
                "trend": records(self.trend), "segments": records(self.segments)}


