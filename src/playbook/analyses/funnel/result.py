"""The result of a funnel analysis and how it reads to a stakeholder.

:class:`FunnelResult` is what :func:`playbook.analyses.funnel.analysis.analyze_funnel` returns: the step,
time-histogram, segment and previous-period tables with the bottlenecks and the weakest segment,
plus the flat outcome metrics, the headline and the JSON-able details that the
funnel_diagnosis template shows. How each number is defined: :mod:`playbook.analyses.funnel.analysis`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from playbook.analyses.base import FunnelDecision, Metric, MetricKind, register_result
from playbook.analyses.records import lead_with, plain, records
from playbook.report import esc

#: Kind, unit and label of each per-step metric ``step.<step>.<suffix>``.
STEP_METRICS: dict[str, tuple[MetricKind, str, str]] = {
    "users": (MetricKind.COUNT, "users", "users reaching {step}"),
    "conv": (MetricKind.SHARE, "", "share of the step before reaching {step}"),
    "conv_ci_low": (MetricKind.SHARE, "", "share reaching {step}, lower bound"),
    "conv_ci_high": (MetricKind.SHARE, "", "share reaching {step}, upper bound"),
    "conv_overall": (MetricKind.SHARE, "", "share of entrants reaching {step}"),
    "abandoned_users": (MetricKind.COUNT, "users", "users lost before {step}"),
    "abandoned_share": (MetricKind.SHARE, "", "share lost before {step}"),
    "median_h": (MetricKind.DURATION, "h", "median time to {step} from the step before"),
    "median_h_ci_low": (MetricKind.DURATION, "h", "median time to {step}, lower bound"),
    "median_h_ci_high": (MetricKind.DURATION, "h", "median time to {step}, upper bound"),
    "p90_h": (MetricKind.DURATION, "h", "p90 time to {step} from the step before"),
}
OTHER_METRICS: dict[str, tuple[MetricKind, str, str]] = {
    "entrants": (MetricKind.COUNT, "users", "Entrants"),
    "excluded_users": (MetricKind.COUNT, "users", "Users excluded"),
    "censored_users": (MetricKind.COUNT, "users", "Entrants whose window is still open"),
    "overall.users": (MetricKind.COUNT, "users", "Users reaching the last step"),
    "overall.conv_ci_low": (MetricKind.SHARE, "", "Overall conversion, lower bound"),
    "overall.conv_ci_high": (MetricKind.SHARE, "", "Overall conversion, upper bound"),
    "bottleneck.loss_users": (MetricKind.COUNT, "users", "Users lost at the biggest drop"),
    "bottleneck.loss_share": (MetricKind.SHARE, "", "Share lost at the biggest drop"),
    "bottleneck.conv": (MetricKind.SHARE, "", "Conversion into the biggest drop's step"),
    "slowest_step.median_h_ci_low": (MetricKind.DURATION, "h", "Slowest step's median, lower bound"),
    "slowest_step.median_h_ci_high": (MetricKind.DURATION, "h", "Slowest step's median, upper bound"),
    "segment.weakest.conv": (MetricKind.SHARE, "", "Weakest segment's conversion"),
    "segment.weakest.rest_conv": (MetricKind.SHARE, "", "Conversion of the rest"),
    "segment.weakest.diff": (MetricKind.SHARE, "", "Weakest segment's gap (points)"),
    "segment.weakest.p_adjusted": (MetricKind.P_VALUE, "", "Weakest segment's p-value (corrected)"),
    "segment.weakest.users_base": (MetricKind.COUNT, "users", "Users in the weakest segment"),
    "segment.significant": (MetricKind.COUNT, "segments", "Segments that differ significantly"),
    "prev.entrants": (MetricKind.COUNT, "users", "Entrants in the previous period"),
    "prev.overall.conv": (MetricKind.SHARE, "", "Overall conversion in the previous period"),
    "prev.delta": (MetricKind.SHARE, "", "Change in overall conversion (points)"),
    "prev.p_value": (MetricKind.P_VALUE, "", "p-value of the change"),
}


@register_result("funnel_diagnosis")
@dataclass(frozen=True)
class FunnelResult:
    """The outcome of :func:`~playbook.analyses.funnel.analysis.analyze_funnel` (that module's docstring:
    how each number is defined).

    ``funnel``: one row per step: step, users, conv, conv_ci_low, conv_ci_high, conv_overall,
    conv_overall_ci_low, conv_overall_ci_high, abandoned_users, abandoned_share, median_h,
    median_ci_low, median_ci_high, p90_h (time from the previous step), median_from_entry_h,
    p90_from_entry_h.
    ``time_histogram``: step, basis (``from_previous`` | ``from_entry``), bin_lo_h, bin_hi_h, users.
    ``segments``: breakdown, segment, scope (``bottleneck`` | ``overall``), step, users_base,
    users_converted, conv, rest_base, rest_converted, rest_conv, diff, z, p_value, p_adjusted,
    significant. ``previous``: step, users, conv_overall, prev_users, prev_conv_overall, delta,
    z, p_value (None without a previous period).
    """

    steps: tuple[str, ...]
    order: str
    window_hours: float
    entry: str
    period: tuple[str | None, str | None]
    previous_period: tuple[str, str] | None
    entrants: int
    excluded_users: int
    censored_users: int
    funnel: pd.DataFrame = field(repr=False)
    time_histogram: pd.DataFrame = field(repr=False)
    segments: pd.DataFrame = field(repr=False)
    previous: pd.DataFrame | None = field(repr=False)
    prev_entrants: int | None
    bottleneck_loss: str | None
    slowest_step: str | None
    weakest: dict[str, Any] | None
    alpha: float
    correction: str

    # -- the contract (playbook.analyses.base) ----------------------------------------------------
    @property
    def decision(self) -> FunnelDecision:
        """``act`` when a step loses users (the bottleneck is named), else ``no-action``."""
        return FunnelDecision.ACT if self.bottleneck_loss else FunnelDecision.NO_ACTION

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"funnel": self.funnel, "segments": self.segments, "time_histogram": self.time_histogram}
        return out | ({"previous": self.previous} if self.previous is not None else {})

    def summary(self) -> str:
        """Markdown for a stakeholder: where users drop and who drops most (names escaped)."""
        if self.entrants == 0:
            return f"No user entered the funnel at {esc(self.steps[0])} in the entry period."
        o = self.overall
        text = (f"**{o['conv']:.1%}** of {self.entrants:,} entrants reach {esc(self.steps[-1])} "
                f"(95% CI {o['ci_low']:.1%} to {o['ci_high']:.1%}).")
        loss = self._row(self.bottleneck_loss)
        if loss is not None:
            text += (f" The biggest drop is before **{esc(self.bottleneck_loss)}**: "
                     f"{int(loss['abandoned_users']):,} users ({loss['abandoned_share']:.1%}) are lost there.")
        if self.weakest is not None:
            w = self.weakest
            text += (f" The weakest segment is {esc(w['breakdown'])} = {esc(w['segment'])} "
                     f"({w['conv']:.1%} against {w['rest_conv']:.1%} for the rest).")
        return text

    def metric_info(self) -> list[Metric]:
        """Label, unit and kind of each metric in :meth:`metrics`; conversions carry intervals."""
        o = self.overall
        out = [Metric("overall.conv", "Overall conversion", MetricKind.SHARE, low=o["ci_low"],
                      high=o["ci_high"], level=0.95)
               if math.isfinite(o["ci_low"]) else Metric("overall.conv", "Overall conversion", MetricKind.SHARE)]
        out += [Metric(k, label, kind, unit) for k, (kind, unit, label) in OTHER_METRICS.items()]
        slow = self._row(self.slowest_step)
        if slow is not None and math.isfinite(slow["median_ci_low"]):
            out.append(Metric("slowest_step.median_h", "Slowest step's median time", MetricKind.DURATION, "h",
                              low=float(slow["median_ci_low"]), high=float(slow["median_ci_high"]), level=0.95))
        else:
            out.append(Metric("slowest_step.median_h", "Slowest step's median time", MetricKind.DURATION, "h"))
        for step in self.steps:
            for suffix, (kind, unit, label) in STEP_METRICS.items():
                out.append(Metric(f"step.{step}.{suffix}", label.format(step=step).capitalize(), kind, unit))
        return out

    # -- accessors ------------------------------------------------------------------------------
    def _row(self, step: str | None) -> pd.Series | None:
        if step is None:
            return None
        return self.funnel.set_index("step").loc[step]

    @property
    def overall(self) -> dict[str, float]:
        """Conversion from entry to the last step, with its Wilson interval."""
        last = self.funnel.iloc[-1]
        return {"users": float(last["users"]), "conv": float(last["conv_overall"]),
                "ci_low": float(last["conv_overall_ci_low"]),
                "ci_high": float(last["conv_overall_ci_high"])}

    def metrics(self) -> dict[str, float]:
        """Flat numbers for the outcome; non-finite values (e.g. no entrants) are left out."""
        o = self.overall
        out: dict[str, float] = {
            "entrants": self.entrants, "excluded_users": self.excluded_users,
            "censored_users": self.censored_users, "overall.users": o["users"],
            "overall.conv": o["conv"], "overall.conv_ci_low": o["ci_low"],
            "overall.conv_ci_high": o["ci_high"]}
        for r in self.funnel.itertuples():
            p = f"step.{r.step}"
            out[f"{p}.users"] = r.users
            for col in ("conv", "conv_ci_low", "conv_ci_high", "conv_overall", "abandoned_users",
                        "abandoned_share", "median_h", "p90_h"):
                out[f"{p}.{col}"] = getattr(r, col)
            out[f"{p}.median_h_ci_low"] = r.median_ci_low
            out[f"{p}.median_h_ci_high"] = r.median_ci_high
        # bottleneck.*: the step losing the most users; slowest_step.*: the step with the
        # slowest median time from the step before (often another step)
        loss, slow = self._row(self.bottleneck_loss), self._row(self.slowest_step)
        if loss is not None:
            out["bottleneck.loss_users"] = loss["abandoned_users"]
            out["bottleneck.loss_share"] = loss["abandoned_share"]
            out["bottleneck.conv"] = loss["conv"]
        if slow is not None:
            out["slowest_step.median_h"] = slow["median_h"]
            out["slowest_step.median_h_ci_low"] = slow["median_ci_low"]
            out["slowest_step.median_h_ci_high"] = slow["median_ci_high"]
        if self.weakest is not None:
            for k in ("conv", "rest_conv", "diff", "p_adjusted", "users_base"):
                out[f"segment.weakest.{k}"] = self.weakest[k]
        if self.segments is not None and len(self.segments):
            out["segment.significant"] = float(self.segments["significant"].sum())
        if self.previous is not None:
            last = self.previous.iloc[-1]
            out["prev.entrants"] = float(self.prev_entrants or 0)
            out["prev.overall.conv"] = last["prev_conv_overall"]
            out["prev.delta"] = last["delta"]
            out["prev.p_value"] = last["p_value"]
        out = {k: round(float(v), 6) for k, v in out.items() if v is not None and math.isfinite(float(v))}
        return lead_with(out, ["overall.conv", "entrants", "bottleneck.loss_users", "bottleneck.loss_share"])

    def headline(self) -> str:
        """One sentence naming the bottleneck step and the weakest segment."""
        if self.entrants == 0:
            return f"No user entered the funnel at '{self.steps[0]}' in the entry period."
        o = self.overall
        parts = [f"{o['conv']:.1%} of {self.entrants:,} entrants reach '{self.steps[-1]}' "
                 f"(95% CI {o['ci_low']:.1%}-{o['ci_high']:.1%})"]
        loss = self._row(self.bottleneck_loss)
        if loss is not None:
            i = self.steps.index(self.bottleneck_loss)
            parts.append(f"the biggest drop is '{self.steps[i - 1]}' → '{self.bottleneck_loss}', "
                         f"losing {int(loss['abandoned_users']):,} users "
                         f"({loss['abandoned_share']:.1%})")
        w = self.weakest
        if w is not None:
            where = f"at '{w['step']}'" if w["scope"] == "bottleneck" else "overall"
            parts.append(f"weakest segment {w['breakdown']}={w['segment']} converts "
                         f"{w['conv']:.1%} vs {w['rest_conv']:.1%} for the rest {where}")
        if self.slowest_step is not None and self.slowest_step != self.bottleneck_loss:
            slow = self._row(self.slowest_step)
            assert slow is not None
            parts.append(f"the slowest step is '{self.slowest_step}' "
                         f"(median {slow['median_h']:.1f} h)")
        if self.previous is not None:
            last = self.previous.iloc[-1]
            if math.isfinite(last["delta"]):
                parts.append(f"{last['delta'] * 100:+.1f} pp vs the previous period "
                             f"(p = {last['p_value']:.3g})")
        return "; ".join(parts) + "."

    def details(self) -> dict[str, Any]:
        """JSON-able details: names, settings and every table as records."""
        return {"steps": list(self.steps), "order": self.order, "window_hours": self.window_hours,
                "entry": self.entry,
                "period": list(self.period),
                "previous_period": list(self.previous_period) if self.previous_period else None,
                "bottleneck_loss": self.bottleneck_loss, "slowest_step": self.slowest_step,
                "weakest": {k: plain(v) for k, v in self.weakest.items()}
                if self.weakest else None,
                "alpha": self.alpha, "correction": self.correction,
                "funnel": records(self.funnel), "time_histogram": records(self.time_histogram),
                "segments": records(self.segments), "previous": records(self.previous)}
