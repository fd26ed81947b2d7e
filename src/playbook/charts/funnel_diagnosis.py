"""Charts of funnel_diagnosis: the funnel, segment gaps, time to convert."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playbook.charts.theme import FAIL, NEUTRAL, PASS, chart, duration_label
from playbook.i18n import DEFAULT_LANGUAGE, current, formats, pgettext
from playbook.i18n import gettext as _

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


@chart
def funnel(steps: pd.DataFrame, bottleneck: str | None = None) -> Figure:
    """Bars: users reaching each step, labelled with step conversion and its 95% interval.

    ``steps`` is :attr:`FunnelResult.funnel`; the loss bottleneck is drawn red.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.5 * len(steps) + 1.2))
    colors = [FAIL if s == bottleneck else PASS for s in steps["step"]]
    ax.barh(steps["step"], steps["users"], color=colors)
    ax.invert_yaxis()
    top = float(steps["users"].max())
    for i, row in enumerate(steps.itertuples()):
        label = _whole(row.users)
        if i > 0:
            label += _("  ·  {conv} of previous (95% CI {low}–{high})").format(
                conv=_share(row.conv), low=_share(row.conv_ci_low), high=_share(row.conv_ci_high))
        ax.text(row.users + top * 0.01, i, label, va="center", fontsize=8)
    ax.set_xlim(0, top * 1.9)
    ax.set(xlabel=_("users"), ylabel="", title=_("Users reaching each step (red: biggest loss)"))
    fig.tight_layout()
    return fig


@chart
def segment_gaps(segments: pd.DataFrame) -> Figure:
    """Heatmap: each segment's conversion minus the rest's (percentage points), per scope.

    ``segments`` is :attr:`FunnelResult.segments`; significant gaps (after correction) are
    annotated in bold.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    data = segments.assign(label=segments["breakdown"] + " = " + segments["segment"].astype(str),
                           col=segments["scope"].map(_scope_word) + ": " + segments["step"].astype(str),
                           pp=100 * segments["diff"])
    grid = data.pivot_table(index="label", columns="col", values="pp", aggfunc="first", sort=False)
    sig = data.pivot_table(index="label", columns="col", values="significant", aggfunc="first",
                           sort=False).reindex_like(grid)
    fig, ax = plt.subplots(figsize=(2.2 + 2.0 * grid.shape[1], 0.6 + 0.32 * grid.shape[0]))
    lim = max(1.0, float(np.nanmax(np.abs(grid.to_numpy()))) if grid.size else 1.0)
    ax.imshow(grid.to_numpy(dtype=float), cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            v = grid.iat[i, j]
            if not np.isnan(v):
                bold = bool(sig.iat[i, j]) if not pd_isna(sig.iat[i, j]) else False
                ax.text(j, i, f"{v:+.1f}", ha="center", va="center", fontsize=8,
                        fontweight="bold" if bold else "normal",
                        color="white" if abs(v) > 0.6 * lim else "#1f2328")
    ax.set_xticks(range(grid.shape[1]), grid.columns, fontsize=8)
    ax.set_yticks(range(grid.shape[0]), grid.index, fontsize=8)
    ax.grid(False)
    ax.set_title(_("Conversion gap vs the rest (pp; bold: significant after correction)"), fontsize=10)
    fig.tight_layout()
    return fig


def _scope_word(scope: str) -> str:
    """A segment test's scope (``bottleneck`` or ``overall``) in the report's language."""
    words = {"bottleneck": pgettext("segment scope", "bottleneck"),
             "overall": pgettext("segment scope", "overall")}
    return words.get(scope, scope)


def _share(x: float) -> str:
    """``0.0981`` as ``'9.8%'`` (English exactly as ``f"{x:.1%}"``; else Babel's)."""
    return f"{x:.1%}" if current() == DEFAULT_LANGUAGE else formats.percent(x, 1)


def _whole(n: float) -> str:
    return f"{int(n):,}" if current() == DEFAULT_LANGUAGE else formats.count(int(n))


def pd_isna(value: object) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


@chart
def time_to_convert(histogram: pd.DataFrame) -> Figure:
    """Small multiples: distribution of hours from the previous step, one panel per step."""
    import matplotlib.pyplot as plt

    part = histogram[histogram["basis"] == "from_previous"]
    steps = list(dict.fromkeys(part["step"]))
    cols = min(3, max(1, len(steps)))
    rows = max(1, -(-len(steps) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(9, 2.0 * rows), squeeze=False)
    for ax, step in zip(axes.flat, steps, strict=False):
        h = part[part["step"] == step]
        labels = [duration_label(lo) + "–" + duration_label(hi) for lo, hi in zip(h["bin_lo_h"], h["bin_hi_h"], strict=True)]
        ax.bar(range(len(h)), h["users"], color=NEUTRAL)
        ax.set_xticks(range(len(h)), labels, rotation=60, fontsize=6)
        ax.set_title(f"→ {step}", fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
    for ax in list(axes.flat)[len(steps):]:
        ax.set_visible(False)
    fig.suptitle(_("Time from the previous step (users per bin)"), fontweight="bold")
    fig.tight_layout()
    return fig
