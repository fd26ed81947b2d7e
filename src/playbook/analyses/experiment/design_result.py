"""What :func:`playbook.analyses.experiment.design.design_experiment` returns (:class:`DesignResult`):
the plan, its decision, headline, summary, metrics with their labels, and details."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from playbook.analyses.base import DesignDecision, Metric, MetricKind, register_result
from playbook.analyses.records import records
from playbook.i18n import gettext as _
from playbook.report import decision_label, esc, num, pct


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
        label = _("Baseline {metric}").format(metric=self.primary)
        baseline = (Metric("baseline", label, MetricKind.SHARE) if self.kind == "binary"
                    else Metric("baseline", label, MetricKind.RATIO, self.unit))
        return [
            Metric("sample_size_per_arm", _("Users per arm"), MetricKind.COUNT, "users"),
            Metric("duration_days", _("Duration"), MetricKind.DURATION, "days"),
            Metric("mde_rel", _("Smallest lift detected"), MetricKind.LIFT),
            Metric("users_total", _("Users in all"), MetricKind.COUNT, "users"),
            baseline,
            Metric("baseline_variance", _("Baseline variance"), MetricKind.RATIO),
            Metric("daily_traffic", _("Eligible users per day"), MetricKind.COUNT, "users/day"),
            Metric("variance_reduction", _("Variance reduction (CUPED)"), MetricKind.SHARE),
            Metric("rho", _("Pre-period correlation"), MetricKind.RATIO),
            Metric("history_users", _("Users in the history"), MetricKind.COUNT, "users"),
            Metric("mde_at_max_days", _("Smallest lift detected in max_days"), MetricKind.LIFT),
        ]

    def _value(self, x: float) -> str:
        return pct(x, 1) if self.kind == "binary" else num(x, 3 if abs(x) < 10 else 1, f" {self.unit}".rstrip())

    def headline(self) -> str:
        if self.decision == "feasible":
            return _("Run {days} days with {users} users per arm to detect a {mde} relative lift in {metric} "
                     "(baseline {baseline}, {power} power)").format(
                days=num(self.duration_days), users=num(self.sample_size_per_arm),
                mde=pct(self.mde_rel, 1, sign=True), metric=self.primary, baseline=self._value(self.baseline),
                power=pct(self.power, 0))
        return _("Too long: detecting {mde} in {metric} takes {days} days; in {max_days} days the smallest "
                 "detectable lift is {mde_max}").format(
            mde=pct(self.mde_rel, 1, sign=True), metric=self.primary, days=num(self.duration_days),
            max_days=self.max_days, mde_max=pct(self.mde_at_max_days, 1, sign=True))

    def _plan(self) -> str:
        """The summary's first paragraph: the recommendation and the plan."""
        text = _("**Recommendation: {decision}.** Plan {users} users per arm ({total} in total over {arms} arms), "
                 "about {days} days at {traffic} eligible users per day").format(
            decision=decision_label(self.decision), users=num(self.sample_size_per_arm),
            total=num(self.users_total), arms=self.arms, days=num(self.duration_days),
            traffic=num(self.daily_traffic, 1))
        if self.traffic_share < 1:
            text += _(" ({share} of eligible traffic)").format(share=pct(self.traffic_share, 0))
        text += _(". Decide only at the planned sample")
        if self.sequential == "confidence_sequence":
            return text + _(" (the confidence sequence makes daily looks safe).")
        if self.sequential:
            return text + _(" (or at the planned looks of the alpha-spending design).")
        return text + _("; stopping at the first significant day inflates false positives.")

    def _rho_source(self) -> str:
        """Where the correlation comes from, in the report's language (``rho_source`` stays
        English in the details)."""
        measured = re.fullmatch(r"measured in the (.+) arm of (.+)", self.rho_source)
        if measured:
            return _("measured in the {control} arm of {experiment}").format(
                control=measured.group(1), experiment=measured.group(2))
        if self.rho_source == "given":
            return _("given")
        if self.rho_source.startswith("not measured: "):
            return _("not measured: {reason}").format(reason=self.rho_source.removeprefix("not measured: "))
        return self.rho_source

    def summary(self) -> str:
        """The recommendation in plain language, with the numbers it rests on (Markdown; names
        from data or the spec escaped with report.esc)."""
        start, end = self.history_period
        out = [
            self._plan(),
            _("The baseline comes from {users} users eligible between {start} and {end}: {metric} is {baseline} "
              "(per-user standard deviation {sd}). The smallest lift worth detecting is {mde} relative, i.e. "
              "{treatment} in the treatment, at a {alpha} false-positive rate with {power} power.").format(
                users=num(self.history_users), start=start, end=end, metric=esc(self.primary),
                baseline=esc(self._value(self.baseline)), sd=num(math.sqrt(self.variance), 3),
                mde=pct(self.mde_rel, 1, sign=True), treatment=esc(self._value(self.baseline * (1 + self.mde_rel))),
                alpha=pct(self.alpha, 0), power=pct(self.power, 0)),
        ]
        if self.variance_reduction > 0:
            out.append(_("CUPED with the pre-period covariate (correlation {rho}, {source}) removes {share} of "
                         "the variance, and the sample size shrinks by the same share.").format(
                rho=f"{self.rho:.2f}", source=esc(self._rho_source()), share=pct(self.variance_reduction, 0)))
        elif self.rho_source.startswith("not measured"):
            out.append(_("No pre-period covariate is used: the correlation was {source}.").format(
                source=self._rho_source()))
        else:
            out.append(_("No pre-period covariate is used (CUPED off, or neither rho nor rho_experiment given)."))
        if self.decision == "too-long":
            out.append(_("At {max_days} days the experiment detects {mde}: accept that larger lift, give the "
                         "experiment more of the traffic, choose a metric closer to the change, or find a stronger "
                         "pre-period covariate.").format(max_days=self.max_days,
                                                          mde=pct(self.mde_at_max_days, 1, sign=True)))
        guards = self.metrics_table[self.metrics_table["role"] == "guardrail"]
        for r in guards.itertuples():
            if isinstance(r.ni_power, float) and math.isfinite(r.ni_power):
                out.append(_("Guardrail {metric}: with this sample, the chance to show it does not drop by more "
                             "than its {margin} margin (if it is truly unchanged) is {power}.").format(
                    metric=esc(r.metric), margin=pct(r.margin, 0), power=pct(r.ni_power, 0)))
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
