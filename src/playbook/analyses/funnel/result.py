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
from playbook.i18n import DEFAULT_LANGUAGE, current, formats, pgettext
from playbook.i18n import gettext as _
from playbook.report import esc


def step_metrics() -> dict[str, tuple[MetricKind, str, str]]:
    """Kind, unit and label (in the report's language) of each per-step metric
    ``step.<step>.<suffix>``; ``{step}`` in the label is the step's name."""
    return {
        "users": (MetricKind.COUNT, "users", _("users reaching {step}")),
        "conv": (MetricKind.SHARE, "", _("share of the step before reaching {step}")),
        "conv_ci_low": (MetricKind.SHARE, "", _("share reaching {step}, lower bound")),
        "conv_ci_high": (MetricKind.SHARE, "", _("share reaching {step}, upper bound")),
        "conv_overall": (MetricKind.SHARE, "", _("share of entrants reaching {step}")),
        "abandoned_users": (MetricKind.COUNT, "users", _("users lost before {step}")),
        "abandoned_share": (MetricKind.SHARE, "", _("share lost before {step}")),
        "median_h": (MetricKind.DURATION, "h", _("median time to {step} from the step before")),
        "median_h_ci_low": (MetricKind.DURATION, "h", _("median time to {step}, lower bound")),
        "median_h_ci_high": (MetricKind.DURATION, "h", _("median time to {step}, upper bound")),
        "p90_h": (MetricKind.DURATION, "h", _("p90 time to {step} from the step before")),
    }


def other_metrics() -> dict[str, tuple[MetricKind, str, str]]:
    """Kind, unit and label (in the report's language) of the funnel's other metrics."""
    return {
        "entrants": (MetricKind.COUNT, "users", _("Entrants")),
        "excluded_users": (MetricKind.COUNT, "users", _("Users excluded")),
        "censored_users": (MetricKind.COUNT, "users", _("Entrants whose window is still open")),
        "overall.users": (MetricKind.COUNT, "users", _("Users reaching the last step")),
        "overall.conv_ci_low": (MetricKind.SHARE, "", _("Overall conversion, lower bound")),
        "overall.conv_ci_high": (MetricKind.SHARE, "", _("Overall conversion, upper bound")),
        "bottleneck.loss_users": (MetricKind.COUNT, "users", _("Users lost at the biggest drop")),
        "bottleneck.loss_share": (MetricKind.SHARE, "", _("Share lost at the biggest drop")),
        "bottleneck.conv": (MetricKind.SHARE, "", _("Conversion into the biggest drop's step")),
        "slowest_step.median_h_ci_low": (MetricKind.DURATION, "h", _("Slowest step's median, lower bound")),
        "slowest_step.median_h_ci_high": (MetricKind.DURATION, "h", _("Slowest step's median, upper bound")),
        "segment.weakest.conv": (MetricKind.SHARE, "", _("Weakest segment's conversion")),
        "segment.weakest.rest_conv": (MetricKind.SHARE, "", _("Conversion of the rest")),
        "segment.weakest.diff": (MetricKind.SHARE, "", _("Weakest segment's gap (points)")),
        "segment.weakest.p_adjusted": (MetricKind.P_VALUE, "", _("Weakest segment's p-value (corrected)")),
        "segment.weakest.users_base": (MetricKind.COUNT, "users", _("Users in the weakest segment")),
        "segment.significant": (MetricKind.COUNT, "segments", _("Segments that differ significantly")),
        "prev.entrants": (MetricKind.COUNT, "users", _("Entrants in the previous period")),
        "prev.overall.conv": (MetricKind.SHARE, "", _("Overall conversion in the previous period")),
        "prev.delta": (MetricKind.SHARE, "", _("Change in overall conversion (points)")),
        "prev.p_value": (MetricKind.P_VALUE, "", _("p-value of the change")),
    }


def scope_word(scope: str) -> str:
    """A segment test's scope (``bottleneck`` or ``overall``) in the report's language."""
    words = {"bottleneck": pgettext("segment scope", "bottleneck"),
             "overall": pgettext("segment scope", "overall")}
    return words.get(scope, scope)


def _share(x: float, digits: int = 1) -> str:
    """``0.0981`` as ``'9.8%'`` (English exactly as ``f"{x:.1%}"``; else Babel's)."""
    return f"{x:.{digits}%}" if current() == DEFAULT_LANGUAGE else formats.percent(x, digits)


def _whole(n: float) -> str:
    """A count with thousands separators (English exactly as ``f"{n:,}"``; 万 in zh-CN)."""
    return f"{int(n):,}" if current() == DEFAULT_LANGUAGE else formats.count(int(n))


def _decimal(x: float, digits: int = 1) -> str:
    return f"{x:.{digits}f}" if current() == DEFAULT_LANGUAGE else formats.number(x, digits)


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
            return _("No user entered the funnel at {step} in the entry period.").format(step=esc(self.steps[0]))
        o = self.overall
        text = _("**{conv}** of {entrants} entrants reach {step} (95% CI {low} to {high}).").format(
            conv=_share(o["conv"]), entrants=_whole(self.entrants), step=esc(self.steps[-1]),
            low=_share(o["ci_low"]), high=_share(o["ci_high"]))
        loss = self._row(self.bottleneck_loss)
        if loss is not None:
            text += _(" The biggest drop is before **{step}**: {users} users ({share}) are lost there.").format(
                step=esc(self.bottleneck_loss), users=_whole(loss["abandoned_users"]),
                share=_share(loss["abandoned_share"]))
        if self.weakest is not None:
            w = self.weakest
            text += _(" The weakest segment is {breakdown} = {segment} ({conv} against {rest} for the rest).").format(
                breakdown=esc(w["breakdown"]), segment=esc(w["segment"]), conv=_share(w["conv"]),
                rest=_share(w["rest_conv"]))
        return text

    def metric_info(self) -> list[Metric]:
        """Label, unit and kind of each metric in :meth:`metrics`; conversions carry intervals."""
        o = self.overall
        overall = _("Overall conversion")
        out = [Metric("overall.conv", overall, MetricKind.SHARE, low=o["ci_low"], high=o["ci_high"], level=0.95)
               if math.isfinite(o["ci_low"]) else Metric("overall.conv", overall, MetricKind.SHARE)]
        out += [Metric(k, label, kind, unit) for k, (kind, unit, label) in other_metrics().items()]
        slow, slowest = self._row(self.slowest_step), _("Slowest step's median time")
        if slow is not None and math.isfinite(slow["median_ci_low"]):
            out.append(Metric("slowest_step.median_h", slowest, MetricKind.DURATION, "h",
                              low=float(slow["median_ci_low"]), high=float(slow["median_ci_high"]), level=0.95))
        else:
            out.append(Metric("slowest_step.median_h", slowest, MetricKind.DURATION, "h"))
        per_step = step_metrics()
        for step in self.steps:
            for suffix, (kind, unit, label) in per_step.items():
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
        """One sentence naming the bottleneck step and the weakest segment (report's language)."""
        if self.entrants == 0:
            return _("No user entered the funnel at '{step}' in the entry period.").format(step=self.steps[0])
        o = self.overall
        parts = [_("{conv} of {entrants} entrants reach '{step}' (95% CI {low}-{high})").format(
            conv=_share(o["conv"]), entrants=_whole(self.entrants), step=self.steps[-1],
            low=_share(o["ci_low"]), high=_share(o["ci_high"]))]
        loss = self._row(self.bottleneck_loss)
        if loss is not None:
            i = self.steps.index(self.bottleneck_loss)
            parts.append(_("the biggest drop is '{before}' → '{step}', losing {users} users ({share})").format(
                before=self.steps[i - 1], step=self.bottleneck_loss, users=_whole(loss["abandoned_users"]),
                share=_share(loss["abandoned_share"])))
        w = self.weakest
        if w is not None:
            where = (_("at '{step}'").format(step=w["step"]) if w["scope"] == "bottleneck"
                     else pgettext("segment scope", "overall"))
            parts.append(_("weakest segment {breakdown}={segment} converts {conv} vs {rest} for the rest "
                           "{where}").format(breakdown=w["breakdown"], segment=w["segment"],
                                             conv=_share(w["conv"]), rest=_share(w["rest_conv"]), where=where))
        if self.slowest_step is not None and self.slowest_step != self.bottleneck_loss:
            slow = self._row(self.slowest_step)
            assert slow is not None
            parts.append(_("the slowest step is '{step}' (median {hours} h)").format(
                step=self.slowest_step, hours=_decimal(slow["median_h"])))
        if self.previous is not None:
            last = self.previous.iloc[-1]
            if math.isfinite(last["delta"]):
                parts.append(_("{delta} pp vs the previous period (p = {p})").format(
                    delta=f"{last['delta'] * 100:+.1f}", p=f"{last['p_value']:.3g}"))
        return pgettext("separator", "; ").join(parts) + pgettext("sentence end", ".")

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
