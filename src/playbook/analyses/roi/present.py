"""How channel_roi's numbers read in the report: money with intervals, ratios, payback, and the
tables of LTVs, curves and the budget shift with their labels (in the report's language)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from playbook.i18n import formats, pgettext
from playbook.i18n import gettext as _

if TYPE_CHECKING:
    from playbook.analyses.roi.curves import CurveFit
    from playbook.analyses.roi.realloc import Shift
    from playbook.analyses.roi.settings import Settings


def _ok(x: Any) -> bool:
    return isinstance(x, int | float) and math.isfinite(float(x))


class Presentation:
    """Mixed into :class:`playbook.analyses.roi.result.RoiResult`."""

    channels: pd.DataFrame
    curves: dict[str, tuple[CurveFit, pd.DataFrame]]
    shift: Shift
    settings: Settings

    def money(self, x: float) -> str:
        """An amount in the warehouse's currency (a plain number without one); ``–`` for none."""
        return formats.money(x, self.settings.currency) if _ok(x) else "–"

    def money_with_ci(self, x: float, low: float = math.nan, high: float = math.nan) -> str:
        """``12.45 (95% CI 11.80–13.10)``; the amount alone without an interval."""
        if not _ok(x):
            return "–"
        if not (_ok(low) and _ok(high)):
            return self.money(x)
        return _("{value} (95% CI {low}–{high})").format(value=self.money(x), low=self.money(low),
                                                         high=self.money(high))

    def ratio_text(self, row: pd.Series) -> str:
        """The LTV/CAC decided on (marginal where the curve shows diminishing returns) with its
        interval, marked ``(marginal)`` when it is the marginal one."""
        used = "ltv_cac_marginal" if bool(row["diminishing"]) else "ltv_cac"
        if not _ok(row[used]):
            return "–"
        text = _("{r} (95% CI {lo}–{hi})").format(r=formats.number(row[used], 2),
                                                  lo=formats.number(row[f"{used}_low"], 2),
                                                  hi=formats.number(row[f"{used}_high"], 2))
        return text + (_(" (marginal)") if used == "ltv_cac_marginal" else "")

    def ratio_short(self, row: pd.Series) -> str:
        """``LTV/CAC 0.72, 95% CI 0.55–0.88`` (``LTV/marginal CAC`` where the curve shows
        diminishing returns), for the headline."""
        marginal = bool(row["diminishing"])
        used = "ltv_cac_marginal" if marginal else "ltv_cac"
        text = _("LTV/marginal CAC {r}, 95% CI {lo}–{hi}") if marginal else _("LTV/CAC {r}, 95% CI {lo}–{hi}")
        return text.format(r=formats.number(row[used], 2), lo=formats.number(row[f"{used}_low"], 2),
                            hi=formats.number(row[f"{used}_high"], 2))

    def signed(self, x: float, money: bool = False) -> str:
        """``+594`` / ``-110`` (money in the warehouse's currency with ``money``)."""
        text = self.money(abs(x)) if money else formats.number(abs(x), 0)
        return ("+" if x > 0 else "-" if x < 0 else "") + text

    def payback_text(self, months: float) -> str:
        """``2 months``, or that it is not within the observed horizon."""
        if not _ok(months):
            return _("not within the observed horizon")
        return _("{n} months").format(n=formats.count(months)) if months != 1 else _("1 month")

    def ltv_table(self) -> pd.DataFrame:
        c = self.channels
        out = {"channel": c["channel"]}
        for h in sorted({30, 90, 180, self.settings.horizon_days}):
            out[f"ltv_{h}"] = [self.money_with_ci(*v) for v in
                               c[[f"ltv_{h}", f"ltv_{h}_low", f"ltv_{h}_high"]].to_numpy()]
            out[f"users_{h}"] = [formats.count(v) for v in c[f"ltv_{h}_users"]]
        return pd.DataFrame(out)

    def ltv_labels(self) -> dict[str, str]:
        labels = {"channel": _("channel")}
        for h in sorted({30, 90, 180, self.settings.horizon_days}):
            labels[f"ltv_{h}"] = _("{h}-day LTV (95% CI)").format(h=h)
            labels[f"users_{h}"] = _("users observed {h} days").format(h=h)
        return labels

    def curve_table(self) -> pd.DataFrame:
        rows = [{"channel": ch, "periods": fit.points, "note": self.curve_note(ch)}
                for ch, (fit, _per) in sorted(self.curves.items(), key=lambda kv: str(kv[0]))]
        return pd.DataFrame(rows, columns=["channel", "periods", "note"])

    def curve_note(self, channel: str) -> str:
        """What the response curve of ``channel`` says, in words."""
        fit = self.curves[channel][0]
        if not fit.fitted:
            return _("no curve ({reason}): the average CAC stands").format(
                reason=pgettext("curve", fit.reason or ""))
        text = _("elasticity {b} (95% CI {lo}–{hi})").format(b=formats.number(fit.b, 3),
                                                            lo=formats.number(fit.b_low, 3),
                                                            hi=formats.number(fit.b_high, 3))
        if fit.diminishing:
            return text + _(": diminishing returns, the next unit of budget buys less than the average")
        return text + _(": no evidence of diminishing returns, the average CAC stands")

    def shift_table(self) -> pd.DataFrame:
        t = self.shift.table
        moved = t["change"] != 0
        frame = pd.DataFrame({
            "channel": t["channel"], "role": [pgettext("shift", r) for r in t["role"]],
            "budget": [self.money(v) for v in t["budget"]],
            "change": [("+" if v > 0 else "") + self.money(v) for v in t["change"]],
            "new_budget": [self.money(v) for v in t["new_budget"]],
            "d_users": [_("{v} ({lo} to {hi})").format(v=formats.number(r.d_users, 0), lo=formats.number(r.d_users_low, 0),
                                                       hi=formats.number(r.d_users_high, 0)) for r in t.itertuples()],
            "d_value": [_("{v} ({lo} to {hi})").format(v=self.money(r.d_value), lo=self.money(r.d_value_low),
                                                       hi=self.money(r.d_value_high)) for r in t.itertuples()]})
        for col in ("change", "d_users", "d_value"):  # a channel that keeps its budget: nothing changes
            frame[col] = frame[col].where(moved.to_numpy(), "–")
        return frame

    def shift_labels(self) -> dict[str, str]:
        return {"channel": _("channel"), "role": _("proposal"), "budget": _("budget per 30 days"),
                "change": _("change"), "new_budget": _("new budget"),
                "d_users": _("change in customers (95% CI)"),
                "d_value": _("change in {h}-day margin (95% CI)").format(h=self.settings.horizon_days)}
