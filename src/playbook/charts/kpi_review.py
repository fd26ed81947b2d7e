"""Charts of kpi_review: each KPI per week, treated against comparison with the counterfactual,
and the estimated changes against their targets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playbook.charts.theme import FAIL, NEUTRAL, PASS, chart
from playbook.i18n import gettext as _

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


@chart
def kpi_weeks(weekly: pd.DataFrame) -> Figure:
    """One panel per KPI: the treated and comparison groups' weekly KPI, the treated group's
    counterfactual after the start (dashed), and the start marked (week 0)."""
    import matplotlib.pyplot as plt

    kpis = list(dict.fromkeys(weekly["kpi"]))
    fig, axes = plt.subplots(len(kpis), 1, figsize=(8, 2.8 * len(kpis)), squeeze=False)
    for ax, kpi in zip(axes[:, 0], kpis, strict=True):
        part = weekly[weekly["kpi"] == kpi]
        ax.plot(part["week"], part["treated"], color=PASS, lw=1.8, marker="o", ms=3, label=_("treated"))
        ax.plot(part["week"], part["comparison"], color=NEUTRAL, lw=1.4, marker="o", ms=3,
                label=_("comparison"))
        ax.plot(part["week"], part["counterfactual"], color=PASS, lw=1.2, ls="--",
                label=_("treated without the campaign"))
        ax.axvline(-0.5, color=FAIL, lw=1, ls=":", label=_("campaign start"))
        ax.set(xlabel=_("weeks from the campaign start"), ylabel=_("per unit and week"),
               title=_("{kpi}: treated against comparison, per week").format(kpi=kpi))
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


@chart
def kpi_changes(kpis: pd.DataFrame) -> Figure:
    """Per KPI: the relative change with its 95% interval, and the target as a tick."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.6 * len(kpis) + 1.4))
    y = list(range(len(kpis)))
    ax.hlines(y, kpis["change_low"] * 100, kpis["change_high"] * 100, color=NEUTRAL, lw=2,
              label=_("95% CI"))
    ax.scatter(kpis["change"] * 100, y, color="#1f2328", zorder=3, s=18, label=_("estimate"))
    for i, target in enumerate(kpis["target"]):
        ax.plot([target * 100] * 2, [i - 0.3, i + 0.3], color=FAIL, lw=2,
                label=_("target") if i == 0 else None)
    ax.axvline(0, color=NEUTRAL, lw=0.8)
    ax.set_yticks(y, kpis["kpi"])
    ax.invert_yaxis()
    ax.set(xlabel=_("change against the comparison group (%)"),
           title=_("Difference in differences of each KPI against its target"))
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
