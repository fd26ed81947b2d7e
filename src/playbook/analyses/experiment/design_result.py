"""What :func:`playbook.analyses.experiment.design.design_experiment` returns (:class:`DesignResult`):
the plan, its decision, headline, summary, metrics with their labels, and details."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from playbook.analyses.base import DesignDecision, Metric, MetricKind, register_result
from playbook.analyses.records import records
from playbook.report import esc, num, pct


@register_result("experiment_design")
@dataclass(frozen=True)
class DesignResult:
    """What :func:`design_experiment` found (module docstring: how each number is defined).

    ``curve``: day, users_per_arm, mde_rel, mde_rel_no_cuped. ``options``: mde_rel,
    users_per_arm, users_total, days. ``metrics``: metric, role, kind, baseline, sd, mde_rel
    (at the planned duration), ni_power (guardrails).
    """

    primary: str
    kind: str
    baseline: float
    variance: float
    history_users: int
    history_period: tuple[str, str]
    daily_traffic: float
    traffic_share: float
    rho: float
    variance_reduction: float
    rho_source: str
    mde_rel: float
    alpha: float
    power: float
    arms: int
    ratio: float
    sequential: str
    sample_size_per_arm: int
    users_total: int
    duration_days: int
    max_days: int
    mde_at_max_days: float
    curve: pd.DataFrame = field(repr=False)
    options: pd.DataFrame = field(repr=False)
    metrics_table: pd.DataFrame = field(repr=False)
    unit: str = ""

    @property
    def decision(self) -> DesignDecision:
        """``feasible`` when the planned duration is within ``max_days``, else ``too-long``."""
        return DesignDecision.FEASIBLE if self.duration_days <= self.max_days else DesignDecision.TOO_LONG

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"options": self.options, "curve": self.curve, "metrics": self.metrics_table}

    def metric_info(self) -> list[Metric]:
        """Label, unit and kind of each metric in :meth:`metrics`."""
        baseline = (Metric("baseline", f"Baseline {self.primary}", MetricKind.SHARE) if self.kind == "binary"
                    else Metric("baseline", f"Baseline {self.primary}", MetricKind.RATIO, self.unit))
        return [
            Metric("sample_size_per_arm", "Users per arm", MetricKind.COUNT, "users"),
            Metric("duration_days", "Duration", MetricKind.DURATION, "days"),
            Metric("mde_rel", "Smallest lift detected", MetricKind.LIFT),
            Metric("users_total", "Users in all", MetricKind.COUNT, "users"),
            baseline,
            Metric("baseline_variance", "Baseline variance", MetricKind.RATIO),
            Metric("daily_traffic", "Eligible users per day", MetricKind.COUNT, "users/day"),
            Metric("variance_reduction", "Variance reduction (CUPED)", MetricKind.SHARE),
            Metric("rho", "Pre-period correlation", MetricKind.RATIO),
            Metric("history_users", "Users in the history", MetricKind.COUNT, "users"),
            Metric("mde_at_max_days", "Smallest lift detected in max_days", MetricKind.LIFT),
        ]

    def _value(self, x: float) -> str:
        return pct(x, 1) if self.kind == "binary" else num(x, 3 if abs(x) < 10 else 1, f" {self.unit}".rstrip())

    def headline(self) -> str:
        if self.decision == "feasible":
            return (f"Run {num(self.duration_days)} days with {num(self.sample_size_per_arm)} users per arm to detect "
                    f"a {pct(self.mde_rel, 1, sign=True)} relative lift in {self.primary} "
                    f"(baseline {self._value(self.baseline)}, {pct(self.power, 0)} power)")
        return (f"Too long: detecting {pct(self.mde_rel, 1, sign=True)} in {self.primary} takes "
                f"{num(self.duration_days)} days; in {self.max_days} days the smallest detectable lift is "
                f"{pct(self.mde_at_max_days, 1, sign=True)}")

    def summary(self) -> str:
        """The recommendation in plain language, with the numbers it rests on (Markdown; names
        from data or the spec escaped with report.esc)."""
        start, end = self.history_period
        out = [
            f"**Recommendation: {self.decision}.** " + (
                f"Plan {num(self.sample_size_per_arm)} users per arm ({num(self.users_total)} in total over "
                f"{self.arms} arms), about {num(self.duration_days)} days at {num(self.daily_traffic, 1)} eligible "
                f"users per day" + (f" ({pct(self.traffic_share, 0)} of eligible traffic)" if self.traffic_share < 1
                                    else "") + ". Decide only at the planned sample"
                + (" (the confidence sequence makes daily looks safe)." if self.sequential == "confidence_sequence"
                   else " (or at the planned looks of the alpha-spending design)." if self.sequential else
                   "; stopping at the first significant day inflates false positives.")),
            f"The baseline comes from {num(self.history_users)} users eligible between {start} and {end}: "
            f"{esc(self.primary)} is {esc(self._value(self.baseline))} (per-user standard deviation "
            f"{num(math.sqrt(self.variance), 3)}). The smallest lift worth detecting is "
            f"{pct(self.mde_rel, 1, sign=True)} relative, i.e. {esc(self._value(self.baseline * (1 + self.mde_rel)))} "
            f"in the treatment, at a {pct(self.alpha, 0)} false-positive rate with {pct(self.power, 0)} power.",
        ]
        if self.variance_reduction > 0:
            out.append(f"CUPED with the pre-period covariate (correlation {self.rho:.2f}, {esc(self.rho_source)}) removes "
                       f"{pct(self.variance_reduction, 0)} of the variance, and the sample size shrinks by the same "
                       "share.")
        elif self.rho_source.startswith("not measured"):
            out.append(f"No pre-period covariate is used: the correlation was {self.rho_source}.")
        else:
            out.append("No pre-period covariate is used (CUPED off, or neither rho nor rho_experiment given).")
        if self.decision == "too-long":
            out.append(f"At {self.max_days} days the experiment detects {pct(self.mde_at_max_days, 1, sign=True)}: "
                       "accept that larger lift, give the experiment more of the traffic, choose a metric closer to "
                       "the change, or find a stronger pre-period covariate.")
        guards = self.metrics_table[self.metrics_table["role"] == "guardrail"]
        for r in guards.itertuples():
            if isinstance(r.ni_power, float) and math.isfinite(r.ni_power):
                out.append(f"Guardrail {esc(r.metric)}: with this sample, the chance to show it does not drop by more than "
                           f"its {pct(r.margin, 0)} margin (if it is truly unchanged) is {pct(r.ni_power, 0)}.")
        return "\n\n".join(out)

    def metrics(self) -> dict[str, float]:
        out = {"sample_size_per_arm": self.sample_size_per_arm, "duration_days": self.duration_days,
               "mde_rel": self.mde_rel, "users_total": self.users_total, "baseline": self.baseline,
               "baseline_variance": self.variance, "daily_traffic": self.daily_traffic,
               "variance_reduction": self.variance_reduction, "rho": self.rho, "history_users": self.history_users}
        if math.isfinite(self.mde_at_max_days):
            out["mde_at_max_days"] = self.mde_at_max_days
        return out

    def details(self) -> dict[str, Any]:
        return {"primary": self.primary, "kind": self.kind, "history_period": list(self.history_period),
                "rho_source": self.rho_source, "alpha": self.alpha, "power": self.power, "arms": self.arms,
                "ratio": self.ratio, "sequential": self.sequential or None, "max_days": self.max_days,
                "decision": self.decision, "options": records(self.options), "metrics": records(self.metrics_table)}


def spec_hypothesis(spec_path: str | None) -> str:
    """The ``hypothesis`` of the campaign spec that launched the run ('' when run by hand)."""
    import yaml

    if not spec_path:
        return ""
    try:
        with open(spec_path, encoding="utf-8") as fh:
            spec = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError):
        return ""
    return str(spec.get("hypothesis", "")).strip() if isinstance(spec, dict) else ""
