"""Charts of data_quality: rule pass rates per table and column, daily row volumes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playbook.charts.theme import FAIL, NEUTRAL, chart
from playbook.i18n import DEFAULT_LANGUAGE, current, formats, pgettext
from playbook.i18n import gettext as _

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.dates import ConciseDateFormatter, DateLocator
    from matplotlib.figure import Figure


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
    ax.set_title(_("Worst pass rate (%) per table and rule (red: failing; target {target} overall)").format(
        target=f"{target:.0%}" if current() == DEFAULT_LANGUAGE else formats.percent(target, 0)),
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
        ax.xaxis.set_major_formatter(_day_ticks(locator))
        ax.tick_params(axis="x", labelsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylabel(_("rows/day"), fontsize=7)
    for ax in list(axes.flat)[len(tables):]:
        ax.set_visible(False)
    fig.suptitle(_("Rows per day (red: anomalous days)"), fontweight="bold")
    fig.tight_layout()
    return fig


def _day_ticks(locator: DateLocator) -> ConciseDateFormatter:
    """Matplotlib's concise date ticks, with the month and day written in the report's language
    (strftime formats translated with the context "date tick": ``%b`` is ``%m月`` in zh-CN)."""
    import matplotlib.dates as mdates

    if current() == DEFAULT_LANGUAGE:
        return mdates.ConciseDateFormatter(locator)
    year, month, day = (pgettext("date tick", "%Y"), pgettext("date tick", "%b"),
                        pgettext("date tick", "%d"))
    month_day = pgettext("date tick", "%b-%d")
    return mdates.ConciseDateFormatter(
        locator, formats=[year, month, day, "%H:%M", "%H:%M", "%S.%f"],
        zero_formats=["", year, month, month_day, "%H:%M", "%H:%M"],
        offset_formats=["", year, pgettext("date tick", "%Y-%b"), pgettext("date tick", "%Y-%b-%d"),
                        pgettext("date tick", "%Y-%b-%d"), pgettext("date tick", "%Y-%b-%d %H:%M")])
