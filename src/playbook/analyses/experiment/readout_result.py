"""The readout's result: tables, the headline, prose for stakeholders, and the outcome as data.

Outcome metric names (flat, finite numbers only): ``<metric>.<arm>.lift_abs``, ``.lift_rel``,
``.ci_low`` / ``.ci_high`` (relative lift, at the corrected level; sequence bounds when
``sequential``), ``.p_value`` (governing test), ``.p_value_adj``, ``.chance_to_win``, and for
CUPED metrics ``.variance_reduction``; ``srm.p_value``, ``users.<arm>``, ``planned_users_per_arm``
and ``power_now``; when the decision is keep-running, ``power_observed`` (for ``mde_rel``, from both
arms' observed variances) and ``more_users_per_arm`` / ``more_users_total`` (to reach the target
power). A value that is not finite (an interval of a degenerate comparison) is left
out and the prose says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from playbook.analyses.base import Metric, MetricKind, ReadoutDecision, register_result
from playbook.analyses.experiment.readout_text import (
    guardrail_label,
    heterogeneity_sentence,
    p_text,
    role_label,
    separator,
)
from playbook.analyses.experiment.spec import MetricDef
from playbook.analyses.experiment.sql import NullCount
from playbook.analyses.records import lead_with, records
from playbook.i18n import gettext as _
from playbook.i18n import pgettext
from playbook.report import decision_label, esc, interval, num, pct
from playbook.stats import SRMResult

OUTCOME_FIELDS = ("lift_abs", "lift_rel", "ci_low", "ci_high", "p_value", "p_value_adj", "chance_to_win")


def _ok(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


@register_result("experiment_readout")
@dataclass(frozen=True)
class ReadoutResult:
    """Everything :func:`~playbook.analyses.experiment.readout.analyze_experiment` found.

    ``comparisons``: one row per metric and treatment arm: metric, role, kind, arm, n_control,
    n_arm, control_mean, arm_mean, lift_abs (+ ci), lift_rel, ci_low, ci_high (corrected,
    governing), p_value, p_value_adj, ci_level, significant, fixed_* and seq_* (both views),
    chance_to_win, risk_control, risk_arm, cuped, variance_reduction, unadjusted_* (CUPED
    metrics), margin, ni_bound, guardrail (guardrails), degenerate.
    ``segments``: the primary metric per segment level and arm (corrected across segments).
    ``segment_srm``: SRM p-value per segment level. ``cumulative``: day, arm, users, lift_rel,
    ci_low, ci_high (fixed), cs_low, cs_high (confidence sequence), users assigned up to the day.
    ``plan``: planned_users_per_arm, power_now (at the control baseline's variance), reached,
    variance_reduction, running (per treatment arm: power, users_per_arm, more_users_per_arm,
    more_users_total from both arms' observed variances). ``null_counts``: per metric value
    column, the rows whose null counted as 0. ``heterogeneity``: Cochran's Q per breakdown and
    arm (segment, arm, levels, q, df, i2, p_value, p_value_adj, differs, lift_min/max, level_min/max).
    """

    experiment: str
    arms: tuple[str, ...]
    control: str
    counts: tuple[int, ...]
    srm: SRMResult
    segment_srm: pd.DataFrame = field(repr=False)
    metric_defs: tuple[MetricDef, ...] = field(repr=False)
    comparisons: pd.DataFrame = field(repr=False)
    segments: pd.DataFrame = field(repr=False)
    cumulative: pd.DataFrame = field(repr=False)
    decision: ReadoutDecision = ReadoutDecision.KEEP_RUNNING
    decision_arm: str | None = None
    reasons: tuple[str, ...] = ()
    plan: dict[str, Any] = field(default_factory=dict)
    excluded_multi_arm: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    null_counts: tuple[NullCount, ...] = ()
    heterogeneity: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    # -- formatting helpers ---------------------------------------------------------------------
    def _def(self, name: str) -> MetricDef:
        return next(m for m in self.metric_defs if m.name == name)

    def value(self, name: str, x: float) -> str:
        """A metric value with its unit: rates as %, means and ratios with the metric's unit."""
        m = self._def(name)
        if m.kind == "binary":
            return pct(x, 1)
        digits = 3 if abs(x) < 10 else 1
        return num(x, digits, f" {m.unit}" if m.unit else "")

    def _lift(self, row: pd.Series) -> str:
        level = float(row["ci_level"])
        lift = pct(row["lift_rel"], 1, sign=True)
        if not (_ok(row["ci_low"]) and _ok(row["ci_high"])):
            return _("{lift} (no interval: {reason})").format(
                lift=lift, reason=row["degenerate"] or pgettext("experiment", "undefined"))
        return _("{lift} ({interval})").format(
            lift=lift, interval=interval(row["ci_low"], row["ci_high"], level=level))

    @property
    def primary(self) -> pd.DataFrame:
        return self.comparisons[self.comparisons["role"] == "primary"]

    def _primary_row(self) -> pd.Series:
        rows = self.primary
        if self.decision_arm is not None and (rows["arm"] == self.decision_arm).any():
            return rows[rows["arm"] == self.decision_arm].iloc[0]
        return rows.iloc[0]

    def _split(self) -> str:
        return pgettext("experiment", " vs ").join(
            pgettext("experiment", "{count} {arm}").format(count=num(c), arm=a)
            for a, c in zip(self.arms, self.counts, strict=True))

    def _planned_split(self) -> str:
        return "/".join(f"{w:.0%}" for w in self.srm.weights)

    # -- the answer -------------------------------------------------------------------------------
    def headline(self) -> str:
        """One sentence: the answer first."""
        if self.decision == "invalid":
            actual = "/".join(f"{c / sum(self.counts):.1%}" for c in self.counts)
            return _("{experiment}: invalid, the split was {actual} against a planned {planned} (sample ratio "
                     "mismatch, p {p}); no lift can be trusted").format(
                experiment=self.experiment, actual=actual, planned=self._planned_split(), p=p_text(self.srm.p_value))
        row = self._primary_row()
        arm, metric = row["arm"], row["metric"]
        if row["degenerate"]:
            return _("{arm} vs {control} on {metric}: no test possible ({reason}; {control_value} in {control}, "
                     "{arm_value} in {arm})").format(
                arm=arm, control=self.control, metric=metric, reason=row["degenerate"],
                control_value=self.value(metric, row["control_mean"]), arm_value=self.value(metric, row["arm_mean"]))
        change = (_("{arm} lifts {metric} by {lift}") if row["lift_rel"] > 0 else _("{arm} lowers {metric} by {lift}")
                  if row["lift_rel"] < 0 else _("{arm} leaves unchanged {metric} by {lift}")).format(
            arm=arm, metric=metric, lift=self._lift(row))
        guards = self.comparisons[(self.comparisons["role"] == "guardrail") & (self.comparisons["arm"] == arm)]
        g = ""
        if len(guards):
            g = _("; guardrails hold") if (guards["guardrail"] == "pass").all() else \
                _("; guardrail {metrics} not shown safe").format(
                    metrics=separator().join(guards.loc[guards["guardrail"] == "fail", "metric"]))
        state = _("{change}, significant{guardrails}") if row["significant"] else \
            _("{change}, not significant{guardrails}")
        return state.format(change=change, guardrails=g)

    def summary(self) -> str:
        """Prose for the stakeholder: the decision and its reasons, then the evidence, in Markdown.
        Names from data or the spec (arms, metrics, segments, units) are escaped (report.esc)."""
        reasons = separator("clauses").join(esc(r[0].upper() + r[1:]) for r in self.reasons)
        out = [_("**Decision: {decision}.** {reasons}.").format(decision=esc(decision_label(self.decision)),
                                                               reasons=reasons), self._srm_paragraph()]
        nulls = [c for c in self.null_counts if c.nulls]
        if nulls:
            out.append(_("Missing values counted as 0: {counts}.").format(
                counts=separator("clauses").join(c.describe() for c in nulls)))
        if self.decision == "invalid":
            return "\n\n".join(out)
        for _i, row in self.comparisons.iterrows():
            out.append(self._sentence(row))
        out += [p for p in (self._plan_paragraph(), self._running_paragraph(), heterogeneity_sentence(
            self.heterogeneity, arms=len(self.arms), correction=self.settings.get("correction"))) if p]
        return "\n\n".join(out)

    def _srm_paragraph(self) -> str:
        srm = _("Users per arm: {split} (planned split {planned}); the sample-ratio check gives p {p} against a "
                "threshold of {alpha}").format(split=esc(self._split()), planned=self._planned_split(),
                                               p=p_text(self.srm.p_value), alpha=f"{self.srm.alpha:g}")
        srm += _(": **the split is broken, so assignment or logging must be fixed before any lift is read.**") \
            if self.srm.mismatch else _(", consistent with the design.")
        bad = self.segment_srm[self.segment_srm["mismatch"]] if len(self.segment_srm) else self.segment_srm
        if len(bad):
            srm += _(" The split is also off inside {levels}.").format(levels=separator().join(
                _("{segment} = {level} (p {p})").format(segment=esc(r.segment), level=esc(r.level), p=p_text(r.p_value))
                for r in bad.itertuples()))
        if self.excluded_multi_arm:
            srm += _(" {n} users seen in more than one arm were left out.").format(n=num(self.excluded_multi_arm))
        return srm

    def _plan_paragraph(self) -> str:
        plan = self.plan
        if plan.get("power_now") is not None:
            mde = self.settings.get("mde_rel", 0.05)
            text = _("Planned sample: {planned} users per arm to detect a {mde} relative lift on the primary metric "
                     "with {power} power; the experiment has {n} in {control}, which gives {power_now} power for "
                     "that lift at the control arm's variance")
            text = (text + (_(" (planned sample reached).") if plan.get("reached") else _(" (not reached yet)."))
                    ).format(planned=num(plan["planned_users_per_arm"]), mde=pct(mde, 1),
                             power=pct(self.settings.get("power", 0.8), 0), n=num(self.counts[0]),
                             control=esc(self.control), power_now=pct(plan["power_now"], 0))
            return text
        if plan.get("planning_note"):
            return _("No power figure: {note}.").format(note=esc(plan["planning_note"]))
        return ""

    def _running_paragraph(self) -> str:
        running = self._running()
        if self.decision != "keep-running" or running is None:
            return ""
        arm, r = running
        if "power" not in r:
            return _("No power figure for the running experiment: {note}.").format(note=esc(r["note"]))
        text = _("With the variances both arms show so far, {arm} has {power} power for a {mde} relative lift on "
                 "the primary metric") + (
            _("; about {more} more users per arm ({total} in all) reach {target}.") if r["more_users_per_arm"] else
            _(", at or above the {target} wanted: the sample is large enough for that lift."))
        return text.format(arm=esc(arm), power=pct(r["power"], 0),
                           mde=pct(self.settings.get("mde_rel", 0.05), 1, sign=True),
                           more=num(r["more_users_per_arm"]), total=num(r["more_users_total"]),
                           target=pct(self.settings.get("power", 0.8), 0))

    def _running(self) -> tuple[str, dict[str, Any]] | None:
        running = self.plan.get("running") or {}
        arm = self.decision_arm if self.decision_arm in running else next(iter(running), None)
        return (arm, running[arm]) if arm is not None else None

    def _sentence(self, row: pd.Series) -> str:
        name, arm = row["metric"], row["arm"]
        text = _("**{metric}** ({role}): {control_value} in {control} vs {arm_value} in {arm}, a lift of "
                 "{lift}").format(
            metric=esc(name), role=esc(role_label(row["role"])),
            control_value=esc(self.value(name, row["control_mean"])),
            control=esc(self.control), arm_value=esc(self.value(name, row["arm_mean"])), arm=esc(arm),
            lift=esc(self._lift(row)))
        if row["degenerate"]:
            return text + _(". The comparison is degenerate ({reason}): no test is possible, so its interval and "
                            "p-value are left out of the outcome.").format(reason=esc(row["degenerate"]))
        text += _(", p {p}").format(p=p_text(row["p_value"]))
        if row["in_family"] and self.settings.get("correction") != "none":
            text += _(" ({p} after {correction} correction)").format(p=p_text(row["p_value_adj"]),
                                                                    correction=esc(self.settings.get("correction")))
        text += _(", chance to win {chance}").format(chance=pct(row["chance_to_win"], 0))
        if row["cuped"] and _ok(row["variance_reduction"]):
            text += _("; CUPED removed {share} of the variance").format(share=pct(row["variance_reduction"], 0))
        if row["role"] == "guardrail":
            text += (_("; the worst plausible change is {bound} against a tolerated {margin}: **holds**")
                     if row["guardrail"] == "pass" else
                     _("; the worst plausible change is {bound} against a tolerated {margin}: **not shown safe**")
                     ).format(bound=pct(row["ni_bound"], 1, sign=True) if _ok(row["ni_bound"])
                              else pgettext("experiment", "undefined"),
                              margin=pct(-row["margin"] if row["higher_is_better"] else row["margin"], 1, sign=True))
        return pgettext("experiment", "{text}.").format(text=text)

    # -- tables -----------------------------------------------------------------------------------
    def table(self) -> pd.DataFrame:
        """The comparisons formatted for stakeholders (values with units, lifts with intervals)."""
        rows = []
        for _i, r in self.comparisons.iterrows():
            guard = r.get("guardrail") if isinstance(r.get("guardrail"), str) else ""
            rows.append({
                pgettext("experiment table", "metric"): r["metric"],
                pgettext("experiment table", "role"): role_label(r["role"]),
                pgettext("experiment table", "arm"): r["arm"],
                self.control: self.value(r["metric"], r["control_mean"]),
                pgettext("experiment table", "arm value"): self.value(r["metric"], r["arm_mean"]),
                pgettext("experiment table", "lift (relative)"): self._lift(r),
                "p": p_text(r["p_value"]), pgettext("experiment table", "p adjusted"): p_text(r["p_value_adj"]),
                pgettext("experiment table", "chance to win"): pct(r["chance_to_win"], 0),
                pgettext("experiment table", "guardrail"): guardrail_label(guard),
            })
        return pd.DataFrame(rows)

    def segment_table(self) -> pd.DataFrame:
        """The primary metric per segment level, formatted (lift with corrected interval, SRM p)."""
        name = self._primary_row()["metric"]
        rows = []
        for _i, r in self.segments.iterrows():
            ok = _ok(r["ci_low"]) and _ok(r["ci_high"])
            lift = pct(r["lift_rel"], 1, sign=True)
            lift = _("{lift} ({interval})").format(lift=lift, interval=interval(r["ci_low"], r["ci_high"])) if ok \
                else _("{lift} (no interval)").format(lift=lift)
            rows.append({pgettext("experiment table", "segment"): r["segment"],
                         pgettext("experiment table", "level"): r["level"],
                         pgettext("experiment table", "arm"): r["arm"],
                         pgettext("experiment table", "users"): f"{num(r['users_control'])} / {num(r['users_arm'])}",
                         self.control: self.value(name, r["control_mean"]),
                         pgettext("experiment table", "arm value"): self.value(name, r["arm_mean"]),
                         pgettext("experiment table", "lift (relative)"): lift,
                         pgettext("experiment table", "p adjusted"): p_text(r["p_value_adj"]),
                         pgettext("experiment table", "split check p"): p_text(r["srm_p"]) if _ok(r["srm_p"]) else "–",
                         pgettext("experiment table", "significant"):
                             pgettext("experiment table", "yes") if r["significant"] else ""})
        return pd.DataFrame(rows)

    # -- the outcome ------------------------------------------------------------------------------
    def tables(self) -> dict[str, pd.DataFrame]:
        return {"metrics": self.table(), "segments": self.segment_table(),
                "comparisons": self.comparisons, "cumulative": self.cumulative}

    def metric_info(self) -> list[Metric]:
        """Label, unit and kind of each metric in :meth:`metrics`; lifts carry their interval."""
        out = [Metric("srm.p_value", _("Sample ratio mismatch p-value"), MetricKind.P_VALUE)]
        out += [Metric(f"users.{a}", _("Users in {arm}").format(arm=a), MetricKind.COUNT, "users") for a in self.arms]
        for _i, r in self.comparisons.iterrows():
            base, name = f"{r['metric']}.{r['arm']}", str(r["metric"]).replace("_", " ")
            label = {"name": name.capitalize(), "arm": r["arm"], "control": self.control}
            unit = self._def(str(r["metric"])).unit if r["kind"] != "binary" else ""
            low, high = (float(r["ci_low"]), float(r["ci_high"])) if _ok(r["ci_low"]) and _ok(r["ci_high"]) \
                else (None, None)
            level = float(r["ci_level"]) if _ok(r["ci_level"]) and low is not None else None
            out += [
                Metric(f"{base}.lift_rel", _("{name}, {arm} vs {control}").format(**label), MetricKind.LIFT,
                       low=low, high=high, level=level),
                Metric(f"{base}.lift_abs", _("{name} difference, {arm} vs {control}").format(**label),
                       MetricKind.SHARE if r["kind"] == "binary" else MetricKind.RATIO, unit),
                Metric(f"{base}.ci_low", _("{name} lift, lower bound").format(**label), MetricKind.LIFT),
                Metric(f"{base}.ci_high", _("{name} lift, upper bound").format(**label), MetricKind.LIFT),
                Metric(f"{base}.p_value", _("{name} p-value").format(**label), MetricKind.P_VALUE),
                Metric(f"{base}.p_value_adj", _("{name} p-value (corrected)").format(**label), MetricKind.P_VALUE),
                Metric(f"{base}.chance_to_win", _("Chance that {arm} beats {control} on {metric}").format(
                    metric=name, **label), MetricKind.SHARE),
                Metric(f"{base}.variance_reduction", _("{name} variance reduction (CUPED)").format(**label),
                       MetricKind.SHARE),
            ]
        out += [Metric("planned_users_per_arm", _("Planned users per arm"), MetricKind.COUNT, "users"),
                Metric("power_now", _("Power for the planned lift"), MetricKind.SHARE),
                Metric("power_observed", _("Power with the observed variances"), MetricKind.SHARE),
                Metric("more_users_per_arm", _("More users per arm to reach the target power"), MetricKind.COUNT,
                       "users"),
                Metric("more_users_total", _("More users in all to reach the target power"), MetricKind.COUNT,
                       "users")]
        return out

    def metrics(self) -> dict[str, float]:
        """Flat outcome metrics (see the module docstring); non-finite values are left out."""
        out: dict[str, float] = {"srm.p_value": self.srm.p_value}
        for a, c in zip(self.arms, self.counts, strict=True):
            out[f"users.{a}"] = c
        for _i, r in self.comparisons.iterrows():
            out.update(self._comparison_metrics(r))
        for k in ("planned_users_per_arm", "power_now"):
            if _ok(self.plan.get(k)):
                out[k] = float(self.plan[k])
        running = self._running()
        if self.decision == "keep-running" and running is not None and "power" in running[1]:
            out["power_observed"] = float(running[1]["power"])
            out["more_users_per_arm"] = float(running[1]["more_users_per_arm"])
            out["more_users_total"] = float(running[1]["more_users_total"])
        # the archive shows the first four as key metrics: the primary metric's relative lift,
        # corrected p-value and chance to win for the arm the decision is about, then SRM
        if len(self.primary):
            row = self._primary_row()
            out = lead_with(out, [f"{row['metric']}.{row['arm']}.{k}" for k in ("lift_rel", "p_value_adj", "chance_to_win")])
        return out

    @staticmethod
    def _comparison_metrics(r: pd.Series) -> dict[str, float]:
        """One comparison's finite outcome fields, named ``<metric>.<arm>.<field>``."""
        base = f"{r['metric']}.{r['arm']}"
        values = {k: r[k] for k in OUTCOME_FIELDS}
        if r["degenerate"]:
            values = {k: v for k, v in values.items() if k not in ("ci_low", "ci_high")}
        if r["cuped"]:
            values["variance_reduction"] = r["variance_reduction"]
        return {f"{base}.{k}": float(v) for k, v in values.items() if _ok(v)}

    def details(self) -> dict[str, Any]:
        """JSON-able details: settings, decision reasons, metric definitions and every table."""
        return {
            "experiment": self.experiment, "arms": list(self.arms), "control": self.control,
            "users": dict(zip(self.arms, self.counts, strict=True)), "decision_arm": self.decision_arm,
            "reasons": list(self.reasons), "srm": {"chi2": self.srm.chi2, "p_value": self.srm.p_value,
                                                   "weights": list(self.srm.weights), "mismatch": self.srm.mismatch},
            "excluded_multi_arm": self.excluded_multi_arm,
            "plan": {k: v for k, v in self.plan.items() if not isinstance(v, float) or math.isfinite(v)},
            "settings": self.settings, "metrics": [m.__dict__ | {"numerator": m.numerator.__dict__,
                                                                 "denominator": m.denominator.__dict__
                                                                 if m.denominator else None}
                                                   for m in self.metric_defs],
            "comparisons": records(self.comparisons), "segments": records(self.segments),
            "segment_srm": records(self.segment_srm),
            "heterogeneity": records(self.heterogeneity) if len(self.heterogeneity) else [],
            "null_counts": [c.__dict__ for c in self.null_counts],
        }
