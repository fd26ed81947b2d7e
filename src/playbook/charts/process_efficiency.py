"""Charts of process_efficiency: step durations against SLAs, weekly medians, work in progress."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playbook.charts.theme import FAIL, NEUTRAL, PASS, chart
from playbook.i18n import gettext as _

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


@chart
def step_durations(steps: pd.DataFrame, sla_hours: dict[str, float] | None = None) -> Figure:
    """Per step: p50 to p90 bar with p99 whisker (hours, log scale) and the SLA as a red tick."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.55 * len(steps) + 1.2))
    y = range(len(steps))
    ax.hlines(list(y), steps["p50_h"], steps["p99_h"], color=NEUTRAL, lw=1)
    ax.barh(list(y), steps["p90_h"] - steps["p50_h"], left=steps["p50_h"], height=0.45, color=PASS,
            alpha=0.8, label=_("p50–p90"))
    ax.scatter(steps["p50_h"], list(y), color="#1f2328", zorder=3, s=14, label=_("median"))
    if sla_hours:
        for i, step in enumerate(steps["step"]):
            if step in sla_hours:
                ax.plot([sla_hours[step]] * 2, [i - 0.35, i + 0.35], color=FAIL, lw=2,
                        label=_("SLA") if i == 0 else None)
    ax.set_yticks(list(y), steps["step"])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set(xlabel=_("hours (log scale)"), title=_("Duration per step: median, p50–p90 box, p99 whisker"))
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


@chart
def weekly_medians(weekly: pd.DataFrame) -> Figure:
    """Lines: median duration per week of each step (hours, log scale)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.2))
    for step, part in weekly.groupby("step", sort=False):
        ax.plot(part["week"], part["median_h"], label=str(step), lw=1.3)
    ax.set_yscale("log")
    ax.set(xlabel=_("week"), ylabel=_("median hours"), title=_("Weekly median duration per step"))
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    return fig


@chart
def work_in_progress(wip: pd.DataFrame) -> Figure:
    """Line: cases open per day."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 2.6))
    ax.plot(wip["day"], wip["open_cases"], color=NEUTRAL)
    ax.set(xlabel=_("day"), ylabel=_("open cases"), title=_("Work in progress: cases open per day"))
    fig.tight_layout()
    return fig
