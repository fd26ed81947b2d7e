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
from playbook.report import esc

Q_NAMES = ("p50_h", "p75_h", "p90_h", "p95_h", "p99_h")

#: Kind, unit and label of each per-step metric ``step.<step>.<suffix>``.
STEP_METRICS: dict[str, tuple[MetricKind, str, str]] = {
    "rows": (MetricKind.COUNT, "runs", "runs of {step}"),
    **{q: (MetricKind.DURATION, "h", f"{q[:3]} duration of {{step}}") for q in Q_NAMES},
    "mean_h": (MetricKind.DURATION, "h", "mean duration of {step}"),
    "wait_p50_h": (MetricKind.DURATION, "h", "median wait before {step}"),
    "wait_p90_h": (MetricKind.DURATION, "h", "p90 wait before {step}"),
    "sla_breach": (MetricKind.SHARE, "", "SLA breach share of {step}"),
    "sla_breach_ci_low": (MetricKind.SHARE, "", "SLA breach share of {step}, lower bound"),
    "sla_breach_ci_high": (MetricKind.SHARE, "", "SLA breach share of {step}, upper bound"),
    "hours_at_stake": (MetricKind.DURATION, "h", "hours above SLA at {step}"),
    "p50_h_ci_low": (MetricKind.DURATION, "h", "median duration of {step}, lower bound"),
    "p50_h_ci_high": (MetricKind.DURATION, "h", "median duration of {step}, upper bound"),
    "p90_h_ci_low": (MetricKind.DURATION, "h", "p90 duration of {step}, lower bound"),
    "p90_h_ci_high": (MetricKind.DURATION, "h", "p90 duration of {step}, upper bound"),
    "trend_slope_h_per_week": (MetricKind.DURATION, "h/week", "weekly change of {step}'s median"),
    "trend_p_value": (MetricKind.P_VALUE, "", "trend p-value of {step}"),
    "trend_p_adjusted": (MetricKind.P_VALUE, "", "trend p-value of {step} (corrected)"),
}
OTHER_METRICS: dict[str, tuple[MetricKind, str, str]] = {
    "overall.cases": (MetricKind.COUNT, "cases", "Cases"),
    "overall.closed_cases": (MetricKind.COUNT, "cases", "Closed cases"),
    "overall.cycle_p50_h": (MetricKind.DURATION, "h", "Median time end to end"),
    "overall.cycle_p90_h": (MetricKind.DURATION, "h", "p90 time end to end"),
    "overall.invalid_rows": (MetricKind.COUNT, "rows", "Rows ending before they start"),
    "overall.hours_at_stake": (MetricKind.DURATION, "h", "Hours above SLA, all steps"),
    "overall.sla_breach": (MetricKind.SHARE, "", "SLA breach share, all steps"),
    "wip.last": (MetricKind.COUNT, "cases", "Cases open on the last day"),
    "wip.max": (MetricKind.COUNT, "cases", "Most cases open on one day"),
    "fix.hours_at_stake": (MetricKind.DURATION, "h", "Hours above SLA at the step to fix"),
    "fix.p50_h": (MetricKind.DURATION, "h", "Median duration of the step to fix"),
}


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
            return "No completed step in the process log: nothing to measure yet."
        text = (f"The step to fix is **{esc(self.step_to_fix)}**: median {fix['p50_h']:.1f} h, "
                f"p90 {fix['p90_h']:.1f} h over {int(fix['rows']):,} runs")
        if math.isfinite(fix["hours_at_stake"]) and fix["hours_at_stake"] > 0:
            text += (f"; {fix['sla_breach']:.0%} breach the {fix['sla_h']:g} h SLA, "
                     f"{fix['hours_at_stake']:,.0f} hours above it")
        return text + "."

    def metric_info(self) -> list[Metric]:
        """Label, unit and kind of each metric in :meth:`metrics` (:data:`STEP_METRICS`)."""
        out = [Metric(k, label, kind, unit) for k, (kind, unit, label) in OTHER_METRICS.items()]
        for step in self.steps["step"]:
            for suffix, (kind, unit, label) in STEP_METRICS.items():
                out.append(Metric(f"step.{step}.{suffix}", label.format(step=step).capitalize(), kind, unit))
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
            return "No completed step in the process log."
        parts = []
        if math.isfinite(fix["hours_at_stake"]) and fix["hours_at_stake"] > 0:
            parts.append(f"Fix '{self.step_to_fix}': {fix['sla_breach']:.0%} of its "
                         f"{int(fix['rows']):,} runs breach the {fix['sla_h']:g} h SLA, "
                         f"{fix['hours_at_stake']:,.0f} hours above SLA "
                         f"(median {fix['p50_h']:.1f} h, p90 {fix['p90_h']:.1f} h)")
        else:
            parts.append(f"'{self.step_to_fix}' takes the most time: median {fix['p50_h']:.1f} h, "
                         f"p90 {fix['p90_h']:.1f} h over {int(fix['rows']):,} runs"
                         + (", all within SLA" if math.isfinite(fix["sla_h"]) else ""))
        if self.slowest_step and self.slowest_step != self.step_to_fix:
            parts.append(f"the slowest step is '{self.slowest_step}'")
        for t in self.trend[self.trend["significant"]].itertuples():
            parts.append(f"'{t.step}' is getting {t.trend} ({t.slope_h_per_week:+.2g} h per week, "
                         f"p = {t.p_adjusted:.2g} corrected across {self._tested()} steps)")
        if math.isfinite(self.cycle_p50_h):
            parts.append(f"cases take {self.cycle_p50_h:.1f} h end to end (median)")
        return "; ".join(parts) + "."

    def _tested(self) -> int:
        return int(self.trend["p_value"].notna().sum()) if len(self.trend) else 0

    def details(self) -> dict[str, Any]:
        """JSON-able details: names and every table as records."""
        return {"slowest_step": self.slowest_step, "step_to_fix": self.step_to_fix,
                "sla_hours": dict(self.sla_hours), "alpha": self.alpha,
                "trend_correction": self.trend_correction, "steps": records(self.steps),
                "wip": records(self.wip), "weekly": records(self.weekly),
                "trend": records(self.trend), "segments": records(self.segments)}


