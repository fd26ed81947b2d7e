"""channel_roi's result: the contract of playbook.analyses.base, its decisions and their tones.

:class:`RoiResult` is what :func:`playbook.analyses.roi.analysis.analyze_roi` returns (that
module's docstring: how each number is defined).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pandas as pd

from playbook.analyses.base import Metric, MetricKind, Tone, register_decisions, register_result
from playbook.analyses.records import lead_with, records
from playbook.analyses.roi.curves import CurveFit
from playbook.analyses.roi.measures import finite, metric_keys
from playbook.analyses.roi.present import Presentation
from playbook.analyses.roi.realloc import Shift
from playbook.analyses.roi.settings import Settings
from playbook.i18n import formats, pgettext
from playbook.i18n import gettext as _
from playbook.report import esc


class RoiDecision(StrEnum):
    REALLOCATE = "reallocate"  # a channel does not pay back (LTV/CAC under the threshold): move its budget
    HOLD = "hold"  # every channel with spend pays back: keep the budget as it is
    INSUFFICIENT = "insufficient-data"  # too few users observed for the horizon to judge any channel


register_decisions("channel_roi", RoiDecision, {RoiDecision.REALLOCATE: Tone.BAD, RoiDecision.HOLD: Tone.GOOD,
                                               RoiDecision.INSUFFICIENT: Tone.NEUTRAL})


def _n(x: float, digits: int = 2) -> str:
    return formats.number(x, digits)


@register_result("channel_roi")
@dataclass(frozen=True)
class RoiResult(Presentation):
    """``channels``: one row per channel (spend, new_users, cac, cac_marginal(_low/_high),
    ltv_<h>(_se/_low/_high/_users) for h in 30/90/180 and the horizon, conversion, retention
    (each _low/_high), payback_months, observed_months, curve, periods, b(_low/_high/_se),
    diminishing, ltv_cac(_low/_high), ltv_cac_marginal(_low/_high), ratio (the one decided on),
    budget and users_30d (per 30 days), flagged). ``cumulative``: channel, month,
    margin_per_user, users. ``curves``: channel -> (fit, periods). ``shift``: the proposal."""

    channels: pd.DataFrame = field(repr=False)
    cumulative: pd.DataFrame = field(repr=False)
    curves: dict[str, tuple[CurveFit, pd.DataFrame]] = field(repr=False)
    shift: Shift = field(repr=False)
    settings: Settings
    window_days: int

    # -- the decision --------------------------------------------------------------------------
    def _judged(self) -> pd.DataFrame:
        c = self.channels
        return c[(c["spend"] > 0) & c["ratio"].map(finite)]

    @property
    def flagged(self) -> list[str]:
        return [str(v) for v in self.channels.loc[self.channels["flagged"], "channel"]]

    @property
    def decision(self) -> RoiDecision:
        """``insufficient-data`` when no channel with spend has an LTV at the horizon (fewer
        than ``min_users`` observed long enough), ``reallocate`` when a channel's LTV/CAC
        (marginal where a curve is fitted) is under the threshold, else ``hold``."""
        if self._judged().empty:
            return RoiDecision.INSUFFICIENT
        return RoiDecision.REALLOCATE if self.flagged else RoiDecision.HOLD

    def _money(self, x: float) -> str:
        return formats.money(x, self.settings.currency)

    def headline(self) -> str:
        """The answer in one sentence (plain text, escaped where shown)."""
        st, judged = self.settings, self._judged()
        if self.decision is RoiDecision.INSUFFICIENT:
            return _("Too few users observed for {h} days to judge any channel (at least {n} per channel)").format(
                h=st.horizon_days, n=formats.count(st.min_users)) + pgettext("sentence", ".")
        by = judged.set_index("channel")
        if self.decision is RoiDecision.HOLD:
            lo, hi = judged.loc[judged["ratio"].idxmin()], judged.loc[judged["ratio"].idxmax()]
            return _("Every channel pays back within {h} days: LTV/CAC from {lo} ({lo_ch}) to {hi} ({hi_ch})").format(
                h=st.horizon_days, lo=_n(lo["ratio"]), lo_ch=lo["channel"], hi=_n(hi["ratio"]),
                hi_ch=hi["channel"]) + pgettext("sentence", ".")
        losers = pgettext("list", ", ").join(
            _("{ch} ({ratio})").format(ch=ch, ratio=self.ratio_short(by.loc[ch])) for ch in self.flagged)
        text = _("{channels} does not pay back within {h} days").format(channels=losers, h=st.horizon_days)
        sh = self.shift
        if sh.moved > 0:
            takers = sh.table.loc[sh.table["role"] == "add", "channel"].astype(str).tolist()
            signed = self.signed
            text += pgettext("sentence", "; ") + _(
                "moving {moved} per 30 days to {takers} gives {du} customers (95% CI {du_lo} to {du_hi}) and "
                "{dv} of {h}-day margin (95% CI {dv_lo} to {dv_hi})").format(
                moved=self._money(sh.moved), takers=pgettext("list", ", ").join(takers),
                du=signed(sh.d_users[0]), du_lo=signed(sh.d_users[1]), du_hi=signed(sh.d_users[2]),
                dv=signed(sh.d_value[0], money=True), dv_lo=signed(sh.d_value[1], money=True),
                dv_hi=signed(sh.d_value[2], money=True), h=st.horizon_days)
        else:
            text += pgettext("sentence", "; ") + _("no channel pays back enough to take its budget: cut it")
        return text + pgettext("sentence", ".")

    def summary(self) -> str:
        """Markdown for a stakeholder: what value and margin mean here, the window, the verdict."""
        st = self.settings
        value = st.value
        what = (_("**Value** is {col} of {table} (rows with {event_col} = {event})") if value.get("event")
                else _("**Value** is {col} of {table}")).format(
            col=esc(value["column"]), table=esc(value["table"]), event=esc(value.get("event") or ""),
            event_col="event")
        parts = [what + _(", times a margin of {m} (the share of value kept as profit: the parameter margin)").format(
            m=formats.percent(st.margin, 0)) + pgettext("sentence", ".")]
        parts.append(_("CAC uses the days with both spend and complete signups: {start} to {end} ({days} days)").format(
            start=formats.day(st.start), end=formats.day(st.end), days=self.window_days) + pgettext("sentence", "."))
        if st.spend_last < st.last_signup_day:
            parts.append(_("The spend table ends on {spend_end}, {lag} days before the last complete day of "
                           "signups ({signups_end}); later signups are left out of CAC and LTV").format(
                spend_end=formats.day(st.spend_last), lag=(st.last_signup_day - st.spend_last).days,
                signups_end=formats.day(st.last_signup_day)) + pgettext("sentence", "."))
        parts.append(esc(self.headline()))
        return "\n\n".join(parts)

    def assumptions(self) -> list[str]:
        """The budget shift's assumptions in plain words."""
        st = self.settings
        return [
            _("Budgets are per 30 days: the window's spend scaled to 30 days."),
            _("A channel whose LTV/CAC at {h} days is under {t} gives up at most {cut} of its budget; channels at "
              "or above it take it, best first, each at most {add} more than its budget.").format(
                h=st.horizon_days, t=_n(st.threshold), cut=formats.percent(st.max_cut, 0),
                add=formats.percent(st.max_add, 0)),
            _("Where a response curve is fitted, extra budget buys customers along the curve (diminishing "
              "returns); elsewhere each unit buys customers at the average CAC."),
            _("New customers are worth the channel's {h}-day LTV (margin {m}); value after {h} days is not "
              "counted, so the gain is a floor when customers keep buying.").format(
                h=st.horizon_days, m=formats.percent(st.margin, 0)),
            _("The intervals combine the uncertainty of each channel's LTV and curve; they do not cover changes "
              "in the market, competitors' bids or channels saturating beyond the observed spend."),
        ]

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"channels": self.channels, "cumulative": self.cumulative, "shift": self.shift.table}

    # -- metrics ---------------------------------------------------------------------------------
    def _keys(self) -> dict[str, str]:
        return metric_keys([str(c) for c in self.channels["channel"]])

    def metrics(self) -> dict[str, float]:
        """Flat numbers for the outcome; non-finite values are left out."""
        out: dict[str, float] = {"budget_moved": self.shift.moved, "shift.customers": self.shift.d_users[0],
                                 "shift.margin": self.shift.d_value[0], "channels.flagged": len(self.flagged)}
        keys = self._keys()
        for r in self.channels.itertuples():
            p = f"channel.{keys[str(r.channel)]}"
            h = self.settings.horizon_days
            vals = {"spend": r.spend, "new_users": r.new_users, "cac": r.cac, "cac_marginal": r.cac_marginal,
                    "ltv_30": r.ltv_30, "ltv_90": r.ltv_90, "ltv_180": r.ltv_180, f"ltv_{h}": getattr(r, f"ltv_{h}"),
                    "ltv_cac": r.ltv_cac, "ltv_cac_marginal": r.ltv_cac_marginal,
                    "payback_months": r.payback_months, "conversion": r.conversion, "retention": r.retention}
            out |= {f"{p}.{k}": float(v) for k, v in vals.items() if finite(v)}
        clean = {k: round(float(v), 6) for k, v in out.items() if finite(v)}
        return lead_with(clean, ["budget_moved", "shift.margin", "shift.customers", "channels.flagged"])

    def metric_info(self) -> list[Metric]:
        """Label, unit, kind and interval of each metric in :meth:`metrics`."""
        cur, h = self.settings.currency or "", self.settings.horizon_days
        sh = self.shift
        out = [Metric("budget_moved", _("Budget moved per 30 days"), MetricKind.MONEY, cur),
               Metric("shift.customers", _("Change in customers per 30 days"), MetricKind.COUNT, _("customers"),
                      sh.d_users[1], sh.d_users[2], 0.95),
               Metric("shift.margin", _("Change in {h}-day margin per 30 days").format(h=h), MetricKind.MONEY, cur,
                      sh.d_value[1], sh.d_value[2], 0.95),
               Metric("channels.flagged", _("Channels that do not pay back"), MetricKind.COUNT, _("channels"))]
        keys = self._keys()
        for r in self.channels.to_dict("records"):
            p, ch = f"channel.{keys[str(r['channel'])]}", str(r["channel"])
            rows: list[tuple[str, str, MetricKind, str, str | None]] = [
                ("spend", _("Spend of {ch}"), MetricKind.MONEY, cur, None),
                ("new_users", _("New users of {ch}"), MetricKind.COUNT, _("users"), None),
                ("cac", _("CAC of {ch}"), MetricKind.MONEY, cur, None),
                ("cac_marginal", _("Marginal CAC of {ch}"), MetricKind.MONEY, cur, "cac_marginal"),
                ("ltv_cac", _("LTV/CAC of {ch}"), MetricKind.RATIO, "", "ltv_cac"),
                ("ltv_cac_marginal", _("Marginal LTV/CAC of {ch}"), MetricKind.RATIO, "", "ltv_cac_marginal"),
                ("payback_months", _("Payback of {ch}"), MetricKind.DURATION, _("months"), None),
                ("conversion", _("Conversion to first purchase of {ch}"), MetricKind.SHARE, "", "conversion"),
                ("retention", _("Repeat purchase of {ch}"), MetricKind.SHARE, "", "retention"),
            ] + [(f"ltv_{d}", _("{d}-day LTV of {{ch}}").format(d=d), MetricKind.MONEY, cur, f"ltv_{d}")
                 for d in sorted({30, 90, 180, h})]
            for suffix, label, kind, unit, ci in rows:
                lo = r.get(f"{ci}_low") if ci else None
                hi = r.get(f"{ci}_high") if ci else None
                if lo is not None and hi is not None and finite(lo) and finite(hi):
                    out.append(Metric(f"{p}.{suffix}", label.format(ch=ch), kind, unit, float(lo), float(hi), 0.95))
                else:
                    out.append(Metric(f"{p}.{suffix}", label.format(ch=ch), kind, unit))
        return out

    def details(self) -> dict[str, Any]:
        st = self.settings
        return {"flagged": self.flagged, "metric_keys": self._keys(), "margin": st.margin,
                "value": dict(st.value), "horizon_days": st.horizon_days, "threshold": st.threshold,
                "window": {"start": st.start.isoformat(), "end": st.end.isoformat(), "days": self.window_days,
                           "spend_last": st.spend_last.isoformat(), "last_signup_day": st.last_signup_day.isoformat()},
                "as_of": st.as_of.isoformat(), "as_of_source": st.as_of_source, "currency": st.currency,
                "curve_period": st.curve_period, "budget_moved": self.shift.moved,
                "channels": records(self.channels), "cumulative": records(self.cumulative),
                "shift": records(self.shift.table),
                "curves_used": {str(k): (v[0].reason or ("diminishing" if v[0].diminishing else "fitted"))
                                for k, v in self.curves.items()}}
