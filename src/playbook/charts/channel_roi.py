"""Charts of channel_roi: LTV/CAC per channel with intervals, payback, response curves."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from playbook.charts.theme import FAIL, NEUTRAL, PASS, chart
from playbook.i18n import gettext as _

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from playbook.analyses.roi import RoiResult


@chart
def ltv_cac(result: RoiResult) -> Figure:
    """Dots: each channel's LTV/CAC (marginal where the curve shows diminishing returns) with
    its 95% interval; the threshold as a line; channels under it in red."""
    import matplotlib.pyplot as plt

    c = result.channels[result.channels["ratio"].map(lambda v: math.isfinite(float(v)))].copy()
    c = c.sort_values("ratio")
    used = np.where(c["diminishing"].astype(bool), "ltv_cac_marginal", "ltv_cac")
    lo = np.array([row[f"{u}_low"] for u, (_, row) in zip(used, c.iterrows(), strict=True)], float)
    hi = np.array([row[f"{u}_high"] for u, (_, row) in zip(used, c.iterrows(), strict=True)], float)
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(c) + 1.4))
    y = np.arange(len(c))
    colours = [FAIL if f else PASS for f in c["flagged"]]
    ax.hlines(y, lo, hi, color=colours, lw=2)
    ax.scatter(c["ratio"], y, color=colours, zorder=3)
    ax.axvline(result.settings.threshold, color=NEUTRAL, ls="--", lw=1, label=_("threshold"))
    ax.set_yticks(list(y), [str(v) for v in c["channel"]])
    ax.set(xlabel=_("LTV / CAC at {h} days (95% CI)").format(h=result.settings.horizon_days),
           title=_("Which channels pay back: LTV/CAC per channel"))
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


@chart
def payback(result: RoiResult) -> Figure:
    """Lines: cumulative margin per user by month since signup, one per channel, with each
    channel's CAC as a dashed line of the same colour."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.6))
    for i, (ch, part) in enumerate(result.cumulative.groupby("channel", sort=True)):
        colour = f"C{i % 10}"
        ax.plot(part["month"], part["margin_per_user"], marker="o", color=colour, label=str(ch))
        cac = result.channels.set_index("channel").loc[ch, "cac"]
        if math.isfinite(float(cac)):
            ax.axhline(float(cac), color=colour, ls="--", lw=0.8)
    ax.set(xlabel=_("months since signup"), ylabel=_("cumulative margin per user"),
           title=_("Payback: cumulative margin per user against CAC (dashed)"))
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    return fig


@chart
def response_curves(result: RoiResult) -> Figure:
    """Per channel: the observed periods (spend, new users) and the fitted curve, if any."""
    import matplotlib.pyplot as plt

    names = sorted(result.curves, key=str)
    cols = min(3, max(1, len(names)))
    rows = -(-len(names) // cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(8, 2.6 * rows), squeeze=False)
    for ax, ch in zip(axes.flat, names, strict=False):
        fit, per = result.curves[ch]
        _points(ax, per)
        if fit.fitted and len(per):
            s = np.linspace(float(per["spend"].min()), float(per["spend"].max()), 50)
            ax.plot(s, fit.predict(s), color=FAIL if fit.diminishing else PASS, lw=1.5)
        ax.set_title(str(ch), fontsize=9)
        ax.set_xlabel(_("spend per {period}").format(period=_(result.settings.curve_period)), fontsize=8)
        ax.set_ylabel(_("new users"), fontsize=8)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.suptitle(_("Response curves: new users against spend, each point one period"))
    fig.tight_layout()
    return fig


def _points(ax: object, per: pd.DataFrame) -> None:
    ax.scatter(per["spend"], per["new_users"], s=10, color=NEUTRAL, alpha=0.7)  # type: ignore[attr-defined]
