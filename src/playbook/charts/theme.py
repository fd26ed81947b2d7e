"""What every chart shares: plain text for names from data, alt text, the colours of the tones.

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

from playbook.i18n import gettext
from playbook.palette import CHART_BAD as FAIL
from playbook.palette import CHART_GOOD as PASS
from playbook.palette import CHART_NEUTRAL as NEUTRAL

if TYPE_CHECKING:
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
        return gettext("Chart: {title}; panels: {panels}").format(title=titles[0],
                                                                   panels=", ".join(panels))
    titles += panels
    return gettext("Chart: {titles}").format(titles="; ".join(titles)) if titles else gettext("Chart")


def duration_label(h: float) -> str:
    """A duration in hours as a short tick label: 45m, 6h, 3d, ∞."""
    if h == float("inf"):
        return "∞"
    if h < 1:
        return f"{h * 60:.0f}m"
    if h < 48:
        return f"{h:g}h"
    return f"{h / 24:g}d"


__all__ = ["FAIL", "NEUTRAL", "PASS", "alt_text", "chart", "duration_label", "plain_text"]
