"""Charts of segmentation: segment sizes against revenue share, the R x F grid, migration."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playbook.charts.theme import FAIL, NEUTRAL, PASS, chart
from playbook.i18n import formats
from playbook.i18n import gettext as _

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


@chart
def segment_sizes(segments: pd.DataFrame, watch: list[str] | None = None) -> Figure:
    """Paired bars per segment: share of buyers and share of revenue (with its 95% interval);
    watch segments' names in red. ``segments``: :attr:`SegmentationResult.segments`; users
    without a purchase are left out (they bring no revenue)."""
    import matplotlib.pyplot as plt
    import numpy as np

    seg = segments[(segments["buyers"] > 0)].reset_index(drop=True)
    buyers = float(seg["buyers"].sum()) or 1.0
    y = np.arange(len(seg))
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(seg) + 1.4))
    ax.barh(y - 0.2, seg["buyers"] / buyers, height=0.38, color=NEUTRAL, label=_("share of buyers"))
    err = np.vstack([seg["revenue_share"] - seg["revenue_share_ci_low"],
                     seg["revenue_share_ci_high"] - seg["revenue_share"]]).clip(min=0)
    ax.barh(y + 0.2, seg["revenue_share"], height=0.38, color=PASS, xerr=err, capsize=2,
            label=_("share of revenue (95% CI)"))
    ax.set_yticks(list(y), list(seg["name"]))
    for tick, name in zip(ax.get_yticklabels(), seg["name"], strict=False):
        if watch and name in watch:
            tick.set_color(FAIL)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(lambda v, _pos: formats.percent(v, 0))
    ax.set(xlabel=_("share"), title=_("Segments: share of buyers against share of revenue"))
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


@chart
def rf_grid(grid: pd.DataFrame) -> Figure:
    """Heatmap: buyers per recency (rows, 5 = most recent) and frequency score (columns),
    labelled with the count and the mean spend."""
    import matplotlib.pyplot as plt
    import numpy as np

    counts = np.zeros((5, 5))
    spend = np.full((5, 5), np.nan)
    for row in grid.itertuples():
        counts[5 - int(row.r), int(row.f) - 1] = row.users
        spend[5 - int(row.r), int(row.f) - 1] = row.mean_monetary
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    im = ax.imshow(counts, cmap="Greens")
    top = counts.max() or 1.0
    for i in range(5):
        for j in range(5):
            if counts[i, j]:
                ax.text(j, i, f"{formats.count(counts[i, j])}\n{formats.number(spend[i, j], 0)}", ha="center",
                        va="center", fontsize=7, color="white" if counts[i, j] > top / 2 else "#1f2328")
    ax.set_xticks(range(5), [str(f) for f in range(1, 6)])
    ax.set_yticks(range(5), [str(r) for r in range(5, 0, -1)])
    ax.set(xlabel=_("frequency score F"), ylabel=_("recency score R"),
           title=_("Buyers per R x F score (and mean spend)"))
    fig.colorbar(im, ax=ax, label=_("buyers"))
    fig.tight_layout()
    return fig


@chart
def migration_matrix(migration: pd.DataFrame) -> Figure:
    """Heatmap: of each previous segment's users (rows), the share now in each segment
    (columns), labelled with the count."""
    import matplotlib.pyplot as plt

    counts = migration.pivot_table(index="previous", columns="current", values="users", aggfunc="sum", fill_value=0)
    order = list(dict.fromkeys([*counts.index, *counts.columns]))
    counts = counts.reindex(index=[o for o in order if o in counts.index],
                            columns=[o for o in order if o in counts.columns], fill_value=0)
    shares = counts.div(counts.sum(axis=1).replace(0, 1), axis=0)
    fig, ax = plt.subplots(figsize=(0.6 * len(counts.columns) + 3, 0.45 * len(counts) + 2))
    ax.imshow(shares.to_numpy(), cmap="Blues", vmin=0, vmax=1)
    for i in range(len(counts)):
        for j in range(len(counts.columns)):
            n = counts.iat[i, j]
            if n:
                ax.text(j, i, formats.count(n), ha="center", va="center", fontsize=7,
                        color="white" if shares.iat[i, j] > 0.5 else "#1f2328")
    ax.set_xticks(range(len(counts.columns)), list(counts.columns), rotation=45, ha="right")
    ax.set_yticks(range(len(counts)), list(counts.index))
    ax.set(xlabel=_("segment now"), ylabel=_("segment in the previous run"),
           title=_("Migration since the previous run (colour: share of the row)"))
    fig.tight_layout()
    return fig
