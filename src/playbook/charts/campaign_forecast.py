"""Charts of campaign_forecast: the backtest (forecast against actual, with prediction intervals,
in start order) and the planned campaign's forecast against the most similar past campaigns."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playbook.charts.theme import FAIL, NEUTRAL, PASS, chart
from playbook.i18n import gettext as _

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


@chart
def backtest(points: pd.DataFrame) -> Figure:
    """Two panels (participants, conversions): per backtest campaign in start order, the 95%
    prediction interval as a bar, the forecast as a tick and the actual as a dot (red outside)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(8, 5.4), sharex=True)
    x = list(range(len(points)))
    for ax, target, title in ((axes[0], "participation", _("Participants")),
                              (axes[1], "conversion", _("Conversions"))):
        lo, hi = points[f"{target}_pi_low"], points[f"{target}_pi_high"]
        ax.vlines(x, lo, hi, color=NEUTRAL, lw=5, alpha=0.35, label=_("95% prediction interval"))
        ax.scatter(x, points[f"{target}_forecast"], marker="_", s=120, color=NEUTRAL, label=_("forecast"))
        inside = points[f"{target}_inside"].astype(bool)
        colours = [PASS if v else FAIL for v in inside]
        ax.scatter(x, points[f"{target}_actual"], color=colours, s=18, zorder=3, label=_("actual"))
        ax.set_yscale("log")
        ax.set(ylabel=title)
    axes[0].set_title(_("Backtest: each campaign forecast from the ones before it"))
    axes[0].legend(fontsize=7, loc="upper left")
    axes[1].set_xticks(x, [f"{c}" for c in points["channel"]], rotation=60, fontsize=7)
    axes[1].set_xlabel(_("backtest campaigns in start order (channel)"))
    fig.tight_layout()
    return fig


@chart
def forecast_vs_similar(forecast: pd.DataFrame, similar: pd.DataFrame) -> Figure:
    """Participation and conversion rate: the forecast with its 95% prediction interval beside the
    similar past campaigns' actual rates with their 95% confidence intervals."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, axes = plt.subplots(1, 2, figsize=(8, 0.45 * len(similar) + 1.8), sharey=True)
    labels = [_("planned (forecast)"), *map(str, similar["campaign"])]
    y = list(range(len(labels)))
    for ax, row, prefix, title in ((axes[0], 2, "participation", _("Participation rate")),
                                   (axes[1], 3, "conversion", _("Conversion rate of participants"))):
        f = forecast.iloc[row]
        ax.errorbar([f["forecast"]], [0], xerr=[[f["forecast"] - f["pi_low"]], [f["pi_high"] - f["forecast"]]],
                    fmt="o", color=FAIL, capsize=3)
        rate = similar[f"{prefix}_rate"]
        ax.errorbar(rate, y[1:], xerr=[rate - similar[f"{prefix}_ci_low"], similar[f"{prefix}_ci_high"] - rate],
                    fmt="o", color=NEUTRAL, capsize=3)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.0%}"))
        ax.set(title=title)
    axes[0].set_yticks(y, labels, fontsize=7)
    axes[0].invert_yaxis()
    fig.tight_layout()
    return fig
