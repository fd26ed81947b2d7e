"""Charts the templates show to stakeholders: one function per chart, returning the figure.

Each chart has a title that states what it shows and axes with units; colours follow the
decision palette of :mod:`playbook.report` (green passes, red fails).

Names from data (steps, tables, segments, arms) become titles, tick labels and legend entries
as plain text: every chart function is wrapped in :func:`chart`, which turns off Matplotlib's
mathtext (``text.parse_math``), so a ``$`` in a value is a dollar sign rather than the start of
a formula that mangles the label or fails to draw. :func:`alt_text` describes a figure for the
archive's ``<img alt>`` (``report.setup`` attaches it to every chart a notebook shows).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

P = ParamSpec("P")


def plain_text() -> None:
    """Matplotlib draws every text as it is: no mathtext (``$...$``) parsing. Charts show
    names from data, and the rcParam is read when tick labels are drawn, after the chart
    function returned, so it is set for the process (these charts use no mathtext)."""
    import matplotlib

    matplotlib.rcParams["text.parse_math"] = False


def chart(fn: Callable[P, Figure]) -> Callable[P, Figure]:
    """Decorator of the chart functions: text drawn as plain text (:func:`plain_text`)."""

    @functools.wraps(fn)
    def draw(*args: P.args, **kwargs: P.kwargs) -> Figure:
        plain_text()
        return fn(*args, **kwargs)

    return draw


def alt_text(fig: Figure) -> str:
    """A description of ``fig`` for screen readers: its title, then its panels' titles."""
    titles = []
    suptitle = getattr(fig, "_suptitle", None)
    if suptitle is not None and suptitle.get_text():
        titles.append(suptitle.get_text())
    panels = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]
    if titles and panels:
        return f"Chart: {titles[0]}; panels: {', '.join(panels)}"
    titles += panels
    return "Chart: " + "; ".join(titles) if titles else "Chart"

PASS, FAIL, NEUTRAL = "#4c9a6a", "#cf222e", "#57606a"


@chart
def rule_pass_rates(rules: pd.DataFrame, target: float) -> Figure:
    """Heatmap: the worst pass rate (%) of each kind of rule on each table; failing cells red.

    One cell per table and rule kind keeps a hundred-odd rules readable at a glance; the
    table of failing rules gives the columns.
    """
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import ListedColormap

    worst = rules.assign(pass_pct=100 * rules["pass_pct"], failed=rules["verdict"] == "fail")
    grid = worst.pivot_table(index="table", columns="rule", values="pass_pct", aggfunc="min")
    fails = worst.pivot_table(index="table", columns="rule", values="failed", aggfunc="max")
    order = list(dict.fromkeys(rules["table"]))
    grid, fails = grid.reindex(order), fails.reindex(order).reindex(columns=grid.columns)
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * grid.shape[1], 0.8 + 0.42 * grid.shape[0]))
    status = np.where(fails.fillna(False).to_numpy(dtype=bool), 1.0, 0.0)
    status[grid.isna().to_numpy()] = np.nan
    ax.imshow(status, cmap=ListedColormap(["#dff3e4", "#ffc9c9"]), vmin=0, vmax=1, aspect="auto")
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            v = grid.iat[i, j]
            if not np.isnan(v):
                ax.text(j, i, f"{v:.1f}" if v < 99.95 else "100", ha="center", va="center", fontsize=8,
                        color=FAIL if status[i, j] == 1 else "#1f2328")
    ax.set_xticks(range(grid.shape[1]), grid.columns, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(grid.shape[0]), grid.index, fontsize=8)
    ax.grid(False)
    ax.set_title(f"Worst pass rate (%) per table and rule (red: failing; target {target:.0%} overall)",
                 fontsize=10)
    fig.tight_layout()
    return fig


@chart
def daily_volumes(volume: pd.DataFrame, cols: int = 3) -> Figure:
    """Small multiples: rows per day of each table, anomalous days marked red."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    tables = list(dict.fromkeys(volume["table"]))
    rows = max(1, -(-len(tables) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(9, 2.1 * rows), squeeze=False)
    for ax, table in zip(axes.flat, tables, strict=False):
        part = volume[volume["table"] == table]
        ax.plot(part["day"], part["rows"], color=NEUTRAL, lw=1)
        bad = part[part["anomaly"]]
        ax.scatter(bad["day"], bad["rows"], color=FAIL, zorder=3, s=18)
        ax.set_title(table, fontsize=9)
        locator = mdates.AutoDateLocator(maxticks=5)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.tick_params(axis="x", labelsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylabel("rows/day", fontsize=7)
    for ax in list(axes.flat)[len(tables):]:
        ax.set_visible(False)
    fig.suptitle("Rows per day (red: anomalous days)", fontweight="bold")
    fig.tight_layout()
    return fig


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
        label = f"{int(row.users):,}"
        if i > 0:
            label += (f"  ·  {row.conv:.1%} of previous (95% CI {row.conv_ci_low:.1%}–"
                      f"{row.conv_ci_high:.1%})")
        ax.text(row.users + top * 0.01, i, label, va="center", fontsize=8)
    ax.set_xlim(0, top * 1.9)
    ax.set(xlabel="users", ylabel="", title="Users reaching each step (red: biggest loss)")
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
                           col=segments["scope"] + ": " + segments["step"].astype(str),
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
    ax.set_title("Conversion gap vs the rest (pp; bold: significant after correction)", fontsize=10)
    fig.tight_layout()
    return fig


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
        labels = [_hours(lo) + "–" + _hours(hi) for lo, hi in zip(h["bin_lo_h"], h["bin_hi_h"], strict=True)]
        ax.bar(range(len(h)), h["users"], color=NEUTRAL)
        ax.set_xticks(range(len(h)), labels, rotation=60, fontsize=6)
        ax.set_title(f"→ {step}", fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
    for ax in list(axes.flat)[len(steps):]:
        ax.set_visible(False)
    fig.suptitle("Time from the previous step (users per bin)", fontweight="bold")
    fig.tight_layout()
    return fig


def _hours(h: float) -> str:
    if h == float("inf"):
        return "∞"
    if h < 1:
        return f"{h * 60:.0f}m"
    if h < 48:
        return f"{h:g}h"
    return f"{h / 24:g}d"


@chart
def step_durations(steps: pd.DataFrame, sla_hours: dict[str, float] | None = None) -> Figure:
    """Per step: p50 to p90 bar with p99 whisker (hours, log scale) and the SLA as a red tick."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.55 * len(steps) + 1.2))
    y = range(len(steps))
    ax.hlines(list(y), steps["p50_h"], steps["p99_h"], color=NEUTRAL, lw=1)
    ax.barh(list(y), steps["p90_h"] - steps["p50_h"], left=steps["p50_h"], height=0.45, color=PASS,
            alpha=0.8, label="p50–p90")
    ax.scatter(steps["p50_h"], list(y), color="#1f2328", zorder=3, s=14, label="median")
    if sla_hours:
        for i, step in enumerate(steps["step"]):
            if step in sla_hours:
                ax.plot([sla_hours[step]] * 2, [i - 0.35, i + 0.35], color=FAIL, lw=2,
                        label="SLA" if i == 0 else None)
    ax.set_yticks(list(y), steps["step"])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set(xlabel="hours (log scale)", title="Duration per step: median, p50–p90 box, p99 whisker")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


@chart
def weekly_medians(weekly: pd.DataFrame) -> Figure:
    """Lines: median duration per ISO week of each step (hours, log scale)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.2))
    for step, part in weekly.groupby("step", sort=False):
        ax.plot(part["week"], part["median_h"], label=str(step), lw=1.3)
    ax.set_yscale("log")
    ax.set(xlabel="week", ylabel="median hours", title="Weekly median duration per step")
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    return fig


@chart
def work_in_progress(wip: pd.DataFrame) -> Figure:
    """Line: cases open per day."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 2.6))
    ax.plot(wip["day"], wip["open_cases"], color=NEUTRAL)
    ax.set(xlabel="day", ylabel="open cases", title="Work in progress: cases open per day")
    fig.tight_layout()
    return fig
