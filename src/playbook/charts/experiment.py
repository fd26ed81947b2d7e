"""Charts of the experiment templates: one function per chart, each returning the figure.

    forest(comparisons)          relative lift of every metric and arm with its interval
    segment_forest(segments)     the primary metric's lift per segment level
    cumulative_lift(cumulative)  lift among users assigned up to each day, fixed CI and sequence
    mde_curve(curve, ...)        smallest detectable lift against experiment duration

Lifts are shown in percent of the control value; green marks a significant improvement,
red a significant harm (or a guardrail not shown safe), grey everything else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from playbook.charts.theme import FAIL, NEUTRAL, PASS, chart
from playbook.i18n import gettext, pgettext
from playbook.i18n import gettext as _

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def _role(role: object) -> str:
    """A metric's role in the chart's language (the readout's words: msgctxt "metric role")."""
    return {"primary": pgettext("metric role", "primary"), "secondary": pgettext("metric role", "secondary"),
            "guardrail": pgettext("metric role", "guardrail")}.get(str(role), str(role))


def _colour(row: pd.Series) -> str:
    if row.get("guardrail") == "fail":
        return FAIL
    if bool(row.get("significant")):
        good = (row["lift_rel"] > 0) == bool(row.get("higher_is_better", True))
        return PASS if good else FAIL
    return NEUTRAL


def _bars(ax: Axes, y: np.ndarray, table: pd.DataFrame) -> None:
    for yi, (_i, row) in zip(y, table.iterrows(), strict=True):
        c = _colour(row)
        lo, hi = row["ci_low"], row["ci_high"]
        if np.isfinite(lo) and np.isfinite(hi):
            ax.plot([100 * lo, 100 * hi], [yi, yi], color=c, lw=2.2, solid_capstyle="round")
        ax.plot(100 * row["lift_rel"], yi, "o", color=c, ms=6)


@chart
def forest(comparisons: pd.DataFrame, title: str | None = None) -> Figure:
    """One line per metric and arm: point estimate and (corrected) interval in % of control.

    Guardrail margins are drawn as short dashed ticks at -margin (or +margin when lower is better).
    """
    import matplotlib.pyplot as plt

    title = title or _("Relative lift against control, with intervals")
    table = comparisons.reset_index(drop=True)
    labels = [_("{metric} ({role})").format(metric=r.metric, role=_role(r.role))
              + (f" · {r.arm}" if table["arm"].nunique() > 1 else "")
              for r in table.itertuples()]
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.55 * len(table)))
    y = np.arange(len(table))[::-1]
    ax.axvline(0, color="#1f2328", lw=0.8)
    _bars(ax, y, table)
    if "margin" in table:
        for yi, (_i, r) in zip(y, table.iterrows(), strict=True):
            if r["role"] == "guardrail" and np.isfinite(r["margin"]):
                x = -100 * r["margin"] if r["higher_is_better"] else 100 * r["margin"]
                ax.plot([x, x], [yi - 0.3, yi + 0.3], ls="--", color=FAIL, lw=1)
    ax.set_yticks(y, labels, fontsize=9)
    ax.set_xlabel(_("lift relative to control (%); red dashes: guardrail margin"))
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


@chart
def segment_forest(segments: pd.DataFrame, title: str | None = None) -> Figure:
    """The primary metric's lift inside each segment level, grouped by segment column."""
    import matplotlib.pyplot as plt

    title = title or _("Primary metric lift by segment (corrected intervals)")
    table = segments.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.4 * max(len(table), 1)))
    if table.empty:
        ax.text(0.5, 0.5, _("no segment large enough to test"), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    y = np.arange(len(table))[::-1]
    ax.axvline(0, color="#1f2328", lw=0.8)
    _bars(ax, y, table.assign(higher_is_better=True))
    labels = [f"{r.segment} = {r.level}" + (f" · {r.arm}" if table["arm"].nunique() > 1 else "")
              + f" (n={int(r.users_control + r.users_arm):,})" for r in table.itertuples()]
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel(_("lift relative to control (%)"))
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


@chart
def cumulative_lift(cumulative: pd.DataFrame, truth: float | None = None,
                    title: str | None = None) -> Figure:
    """Lift among users assigned up to each day: fixed-horizon 95% CI (dark) and the
    always-valid confidence sequence (light), which is the one to watch when peeking daily."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    title = title or _("Cumulative lift by assignment day")
    fig, ax = plt.subplots(figsize=(8, 3.4))
    for arm, part in cumulative.groupby("arm", sort=False):
        x = part["day"]
        ax.fill_between(x, 100 * part["cs_low"], 100 * part["cs_high"], color="#9ecae1", alpha=0.35,
                        label=_("{arm}: confidence sequence (any-day valid)").format(arm=arm))
        ax.fill_between(x, 100 * part["ci_low"], 100 * part["ci_high"], color="#3182bd", alpha=0.35,
                        label=_("{arm}: 95% CI (valid at the planned end only)").format(arm=arm))
        ax.plot(x, 100 * part["lift_rel"], color="#08519c", lw=1.6, label=_("{arm}: lift").format(arm=arm))
    ax.axhline(0, color="#1f2328", lw=0.8)
    if truth is not None:
        ax.axhline(100 * truth, color=PASS, lw=1, ls="--", label=_("expected lift"))
    ax.set_ylabel(_("lift relative to control (%)"))
    # the axis' date format in the chart's language (month names would stay English in zh-CN)
    ax.xaxis.set_major_formatter(mdates.DateFormatter(_("%b %d")))
    lows = cumulative["cs_low"].replace([np.inf, -np.inf], np.nan)
    highs = cumulative["cs_high"].replace([np.inf, -np.inf], np.nan)
    if lows.notna().any():
        span = np.nanquantile(highs, 0.9) - np.nanquantile(lows, 0.1)
        ax.set_ylim(100 * (np.nanquantile(lows, 0.1) - 0.2 * span), 100 * (np.nanquantile(highs, 0.9) + 0.2 * span))
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


@chart
def mde_curve(curve: pd.DataFrame, mde_rel: float, duration_days: int, max_days: int | None = None,
              title: str | None = None) -> Figure:
    """MDE (relative, %) after each day, with and without CUPED; the target MDE and planned duration marked
    (``title``: default "Smallest detectable lift against duration", in the report's language)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.4))
    ax.plot(curve["day"], 100 * curve["mde_rel"], color="#08519c", lw=2, label=gettext("with CUPED"))
    if (curve["mde_rel_no_cuped"] != curve["mde_rel"]).any():
        ax.plot(curve["day"], 100 * curve["mde_rel_no_cuped"], color=NEUTRAL, lw=1.2, ls="--", label=gettext("without CUPED"))
    ax.axhline(100 * mde_rel, color=PASS, lw=1, label=gettext("target {mde}").format(mde=f"{100 * mde_rel:.1f}%"))
    ax.axvline(duration_days, color=PASS, lw=1, ls=":", label=gettext("planned {days} days").format(days=duration_days))
    if max_days is not None:
        ax.axvline(max_days, color=FAIL, lw=1, ls=":", label=gettext("longest acceptable {days} days").format(days=max_days))
    finite = curve["mde_rel"].replace([np.inf, -np.inf], np.nan).dropna()
    if len(finite):
        ax.set_ylim(0, 100 * min(float(finite.max()), 4 * mde_rel))
    ax.set_xlabel(gettext("days of traffic"))
    ax.set_ylabel(gettext("detectable relative lift (%)"))
    ax.legend(fontsize=8)
    ax.set_title(title if title is not None else gettext("Smallest detectable lift against duration"), fontsize=10)
    fig.tight_layout()
    return fig
