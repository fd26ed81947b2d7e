"""Charts of retention_cohorts: the cohort heatmap (incomplete cells hatched grey, never coloured
as 0), retention curves with Wilson bands, and a day-n rate across cohorts with its trend."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from playbook.charts.theme import FAIL, NEUTRAL, PASS, chart
from playbook.i18n import gettext as _

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def _cohort_label(value: object) -> str:
    import pandas as pd

    return str(pd.Timestamp(value).date().isoformat())


@chart
def cohort_heatmap(cells: pd.DataFrame, title: str | None = None) -> Figure:
    """Cohorts (rows) x periods (columns), coloured by rate; incomplete cells hatched grey."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, Rectangle

    order = list(dict.fromkeys(cells.sort_values("period")["label"]))
    cohorts = sorted(cells["cohort"].unique())
    rate = cells.pivot(index="cohort", columns="label", values="rate").reindex(index=cohorts, columns=order)
    done = cells.pivot(index="cohort", columns="label", values="complete").reindex(index=cohorts, columns=order)
    mask = ~done.fillna(False).to_numpy(bool)
    values = rate.to_numpy(float)
    grid = np.ma.masked_array(values, mask=mask)
    fig, ax = plt.subplots(figsize=(min(2 + 0.6 * len(order), 12), 0.28 * len(cohorts) + 1.6))
    ax.set_facecolor("#e5e7eb")  # masked cells show the background, hatched
    ax.add_patch(Rectangle((-0.5, -0.5), len(order), len(cohorts), fill=False, hatch="///",
                               edgecolor="#9ca3af", lw=0, zorder=0))
    top = max(0.05, float(np.nanmax(np.where(mask, 0.0, np.nan_to_num(values)))) if values.size else 0.05)
    img = ax.imshow(grid, aspect="auto", cmap="Blues", vmin=0, vmax=top, zorder=1)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if not mask[i, j] and values.shape[1] <= 16:
                v = float(values[i, j])
                ax.text(j, i, f"{v:.0%}", ha="center", va="center", fontsize=6,
                        color="white" if v > 0.6 * top else "#1f2328")
    ax.set_xticks(range(len(order)), order, fontsize=8)
    step = max(1, len(cohorts) // 20)
    ax.set_yticks(range(0, len(cohorts), step), [_cohort_label(c) for c in cohorts[::step]], fontsize=7)
    ax.set(xlabel=_("period after the anchor"), ylabel=_("cohort"),
           title=title or _("Share of each cohort active in each period"))
    fig.colorbar(img, ax=ax, label=_("retained share"), format=lambda x, _pos: f"{x:.0%}")
    ax.legend(handles=[Patch(facecolor="#e5e7eb", hatch="///", edgecolor="#9ca3af",
                             label=_("not complete yet (not a drop)"))],
              loc="lower right", fontsize=7, framealpha=0.9)
    fig.tight_layout()
    return fig


@chart
def retention_curves(cells: pd.DataFrame, latest: int = 6) -> Figure:
    """Retained share by period for the ``latest`` most recent cohorts (complete cells only)
    and all cohorts pooled, with 95% Wilson bands."""
    import matplotlib.pyplot as plt

    from playbook.stats.proportions import wilson_interval

    done = cells[cells["complete"]]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    pooled = done.groupby("period").agg(retained=("retained", "sum"), users=("eligible", "sum"),
                                        label=("label", "first")).reset_index()
    if len(pooled):
        lo, hi = wilson_interval(pooled["retained"], pooled["users"])
        rate = pooled["retained"] / pooled["users"]
        ax.fill_between(pooled["period"], lo, hi, color=PASS, alpha=0.2, lw=0)
        ax.plot(pooled["period"], rate, color=PASS, lw=2.2, marker="o", ms=3,
                label=_("all cohorts (95% CI band)"))
    recent = sorted(done["cohort"].unique())[-int(latest):]
    for i, c in enumerate(recent):
        part = done[done["cohort"] == c].sort_values("period")
        ax.fill_between(part["period"], part["ci_low"], part["ci_high"], color=NEUTRAL, alpha=0.06, lw=0)
        ax.plot(part["period"], part["rate"], color=NEUTRAL, lw=0.9, alpha=0.4 + 0.6 * (i + 1) / len(recent),
                label=_cohort_label(c))
    labels = cells.drop_duplicates("period").sort_values("period")
    ax.set_xticks(labels["period"], labels["label"], fontsize=8)
    ax.yaxis.set_major_formatter(lambda x, _pos: f"{x:.0%}")
    ax.set_ylim(bottom=0)
    ax.set(xlabel=_("period after the anchor"), ylabel=_("retained share"),
           title=_("Retention curves: recent cohorts and all cohorts pooled"))
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


@chart
def day_trend(marks: pd.DataFrame, day: int, slope: float | None = None) -> Figure:
    """Day-``day`` retention per complete cohort with its Wilson interval, and the fitted trend."""
    import matplotlib.pyplot as plt

    part = marks[(marks["lo_day"] == day) & marks["complete"]].sort_values("cohort")
    fig, ax = plt.subplots(figsize=(8, 3.2))
    x = np.arange(len(part))
    ax.errorbar(x, part["rate"], yerr=[part["rate"] - part["ci_low"], part["ci_high"] - part["rate"]],
                fmt="o", color=PASS, ms=4, elinewidth=1, capsize=2, label=_("cohort (95% CI)"))
    if len(part) >= 3 and slope is not None and np.isfinite(slope):
        n = part["eligible"].to_numpy(float)
        pbar = part["retained"].sum() / n.sum()
        mid = np.average(x, weights=n)
        logit = np.log(pbar / (1 - pbar)) + slope * (x - mid)
        ax.plot(x, 1 / (1 + np.exp(-logit)), color=FAIL if slope < 0 else NEUTRAL, lw=1.5,
                label=_("trend (logistic fit)"))
    step = max(1, len(part) // 12)
    ax.set_xticks(x[::step], [_cohort_label(c) for c in part["cohort"].iloc[::step]], fontsize=7, rotation=30)
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    ax.set(xlabel=_("cohort"), ylabel=_("retained share"),
           title=_("Day-{day} retention across complete cohorts").format(day=day))
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
