"""Charts of ice_backlog: each idea's rank and its range under ±1, raw against calibrated score."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playbook.charts.theme import FAIL, NEUTRAL, PASS, chart
from playbook.i18n import gettext as _

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def _ranked(ideas: pd.DataFrame, top: int) -> pd.DataFrame:
    return ideas[ideas["ranked"].astype(bool)].head(top).reset_index(drop=True)


@chart
def rank_ranges(ideas: pd.DataFrame, top: int = 15) -> Figure:
    """Dot and range per idea (best first): its rank (dot) and the best to worst rank it takes
    under any single ±1 change of a score (line); unstable ideas in red.
    ``ideas``: :attr:`BacklogResult.ideas`."""
    import matplotlib.pyplot as plt

    rows = _ranked(ideas, top)
    fig, ax = plt.subplots(figsize=(8, 0.38 * len(rows) + 1.4))
    for y, r in enumerate(rows.itertuples()):
        colour = PASS if r.stable else FAIL
        ax.hlines(y, r.rank_low, r.rank_high, color=colour, linewidth=2.5, alpha=0.6)
        ax.plot([r.rank], [y], "o", color=colour)
    ax.set_yticks(range(len(rows)), [f"{r.idea_id} {str(r.idea)[:40]}" for r in rows.itertuples()], fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel=_("rank (1 = test first)"),
           title=_("Rank of each idea and its range under ±1 (red: not stable)"))
    fig.tight_layout()
    return fig


@chart
def raw_vs_calibrated(ideas: pd.DataFrame, top: int = 15) -> Figure:
    """Per idea (best first): the score on the stated confidence (grey) and on the confidence
    calibrated by the area's past experiments (green, red when the area rarely wins)."""
    import matplotlib.pyplot as plt

    rows = _ranked(ideas, top)
    fig, ax = plt.subplots(figsize=(8, 0.38 * len(rows) + 1.4))
    for y, r in enumerate(rows.itertuples()):
        ax.plot([r.score, r.calibrated_score], [y, y], color=NEUTRAL, linewidth=1)
        ax.plot([r.score], [y], "o", color=NEUTRAL, label=_("stated confidence") if y == 0 else None)
        ax.plot([r.calibrated_score], [y], "D", color=FAIL if r.rarely_wins else PASS,
                label=_("calibrated by the archive") if y == 0 else None)
    ax.set_yticks(range(len(rows)), [f"{r.idea_id} {str(r.idea)[:40]}" for r in rows.itertuples()], fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel=_("score (points)"), title=_("Score on the stated and on the calibrated confidence"))
    if len(rows):
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


__all__ = ["rank_ranges", "raw_vs_calibrated"]
