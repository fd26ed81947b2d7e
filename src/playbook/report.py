"""What a template calls to show a result to a stakeholder and to record it as data.

A notebook ends with one :func:`record` call (in :mod:`playbook.recording`), which writes
``<output_dir>/<report_name>.outcome.json``::

    {"template": "data_quality", "campaign": "weekly-data-quality", "run_id": "20261124T060000Z",
     "status": "ok", "headline": "...", "decision": "pass",
     "metrics": {"coverage": 0.991, "pass_rate": 0.972}, "details": {...}}

``metrics`` is flat (dotted names to finite numbers) so that the archive can list, sort and
chart them; names of steps, segments or rules belong in ``headline`` and ``details``.
The rest of this module formats numbers with their units and uncertainty and displays
tables and prose without showing code.
"""

from __future__ import annotations

import html
import math
import re
import string
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from playbook.errors import DataError
from playbook.i18n import DEFAULT_LANGUAGE, formats, gettext, pgettext
from playbook.i18n import current as current_language
from playbook.palette import BAD_TINT, TONE_COLOURS
from playbook.recording import (
    OUTCOME_SUFFIX,
    SCHEMA_VERSION,
    Outcome,
    outcome_path,
    record,
    record_outcome,
    write_json_atomic,
)

if TYPE_CHECKING:  # pandas is imported lazily: a template that records only numbers starts faster
    import pandas as pd




def setup(language: str = DEFAULT_LANGUAGE) -> None:
    """Report-friendly defaults in the report's ``language`` (``en`` or ``zh-CN``: strings,
    numbers and dates through :mod:`playbook.i18n`): seaborn theme, crisp PNG charts whose fonts
    cover Chinese (:func:`playbook.i18n.fonts.register`, after the theme, which would reset the
    font list), readable tables; chart text drawn as plain text (no mathtext:
    ``charts.plain_text``) and, in a notebook, each chart shown with an alt text made from its
    titles (``charts.alt_text``)."""
    import matplotlib
    import pandas as pd
    import seaborn as sns

    from playbook import charts
    from playbook.i18n import fonts, set_language

    set_language(language)
    sns.set_theme(style="whitegrid", context="notebook")
    matplotlib.rcParams.update({"figure.dpi": 110, "figure.figsize": (8, 3.6), "axes.titleweight": "bold"})
    if not fonts.register() and language != DEFAULT_LANGUAGE:
        raise DataError(fonts.missing_message())
    charts.plain_text()
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.width", 140)
    _describe_charts()


def _describe_charts() -> None:
    """Give every Matplotlib figure a notebook shows ``{"alt": charts.alt_text(fig)}`` as its
    PNG metadata (nbconvert writes it into ``<img alt>``). A mime-bundle printer that returns
    metadata only: IPython merges it with the PNG that the inline backend's formatter renders
    (registered later, when the backend loads), so either order works."""
    from IPython import get_ipython
    from matplotlib.figure import Figure

    from playbook.charts import alt_text

    shell = get_ipython()
    if shell is None:  # not in a kernel: nothing is displayed as PNG
        return
    shell.display_formatter.mimebundle_formatter.for_type(
        Figure, lambda fig: ({}, {"image/png": {"alt": alt_text(fig)}}))


# -- formatting ----------------------------------------------------------------------------------
def pct(x: float, digits: int = 1, sign: bool = False) -> str:
    """``0.0612`` → ``'6.1%'`` (``'+6.1%'`` with ``sign``); NaN → ``'n/a'``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if current_language() != DEFAULT_LANGUAGE:
        return formats.percent(x, digits, sign=sign)
    return f"{x * 100:{'+' if sign else ''}.{digits}f}%"


def num(x: float, digits: int = 0, unit: str = "") -> str:
    """Thousands separators and an optional unit: ``num(12345.6, unit=' users')``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if current_language() != DEFAULT_LANGUAGE:
        return formats.number(x, digits) + unit
    return f"{x:,.{digits}f}{unit}"


def interval(low: float, high: float, as_pct: bool = True, digits: int = 1, level: float = 0.95) -> str:
    """A confidence interval, e.g. ``'95% CI +2.0% to +10.3%'``."""
    fmt: Callable[[float], str] = ((lambda v: pct(v, digits, sign=True)) if as_pct
                                   else (lambda v: num(v, digits)))
    return gettext("{level} CI {low} to {high}").format(level=f"{level:.0%}", low=fmt(low), high=fmt(high))


def hours_with_ci(value: float, low: float, high: float) -> str:
    """A duration with its 95% interval: ``'25.9 h (95% CI 25.5–26.3)'``; NaN → ``'–'``."""
    if value != value:  # NaN: nothing measured
        return "–"
    return gettext("{value} h (95% CI {low}–{high})").format(value=f"{value:.1f}", low=f"{low:.1f}",
                                                          high=f"{high:.1f}")


def share_with_ci(value: float, low: float, high: float, digits: int = 1) -> str:
    """A share with its 95% interval: ``'55.9% (95% CI 54.7–57.0%)'``; NaN → ``'–'``."""
    if value != value:  # NaN: nothing measured
        return "–"
    return gettext("{value} (95% CI {low}–{high})").format(
        value=f"{value:.{digits}%}", low=f"{low * 100:.{digits}f}", high=f"{high:.{digits}%}")


def plain_number(x: float) -> str:
    """A number in a table column without a format: ``910.0`` → ``'910'``, ``1690.5`` →
    ``'1,690.5'``, ``0.0049517`` → ``'0.004952'`` (whole numbers as such, one decimal from
    1,000, else 4 significant digits; exponents only below 1e-4 and from 1e15). Table cells
    keep more digits than the archive's metric summaries (``publish.formatting``): they are
    read value by value, e.g. sample rows handed to data owners."""
    if x != x:
        return "–"
    if abs(x) >= 1e15:
        return f"{x:.3e}"
    if x == int(x):
        return f"{int(x):,}"
    if abs(x) >= 1000:
        return f"{x:,.1f}"
    return f"{x:.4g}" if abs(x) >= 1e-4 else f"{x:.2e}"


# -- display -------------------------------------------------------------------------------------
#
# Escaping is the default: every value a table, a sentence or a headline shows is text, whatever
# characters it holds (a device called ``<script>alert(1)</script>`` shows as those characters).
# The one way to show markup is to wrap it in :class:`Html`, which only code can do: values
# read from data or a spec are plain ``str`` and never are an ``Html``.

class Html(Markup):
    """Markup a template vouches for: the only value :func:`table` shows as HTML and
    :func:`say` inserts unescaped. ``Html("<b>3</b> rules")``; build it from data with
    ``Html("<b>{}</b>").format(value)``, which escapes ``value`` (markupsafe's ``Markup``)."""


_MD_PUNCT = re.compile(r"([\\`*_{}\[\]#!|~$])")


def esc(value: Any) -> str:
    """``value`` as Markdown that renders as exactly its text: HTML characters become
    entities (``<`` as ``&lt;``), Markdown punctuation is backslash-escaped (``*``, ``_``,
    backticks, brackets, ``#``, ``$``...), line breaks become spaces. An :class:`Html` value
    is returned as it is. Use it for values put into Markdown outside :func:`say`'s own
    ``{name}`` fields."""
    if isinstance(value, Html):
        return str(value)
    text = " ".join(str(value).splitlines())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_PUNCT.sub(r"\\\1", text)


def code(value: Any) -> Html:
    """``value`` shown in code font, escaped (a column name, a parameter):
    ``say("column {c} is empty", c=code(name))``."""
    return Html("<code>{}</code>").format(str(value))


class _ProseFormatter(string.Formatter):
    """``str.format`` whose fields are escaped with :func:`esc` after formatting."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, Html):
            return str(value)
        return esc(format(value, format_spec))


def _display(obj: Any) -> None:
    from IPython.display import display

    display(obj)


def prose(template: str, /, **values: Any) -> str:
    """The Markdown :func:`say` shows: ``template`` (Markdown written by the template's author)
    with its ``{name}`` / ``{name:.1%}`` fields filled from ``values``, each escaped with
    :func:`esc` (an :class:`Html` value is inserted as it is)."""
    return _ProseFormatter().vformat(template, (), values) if values else template


def say(template: str, /, **values: Any) -> None:
    """Show Markdown prose. ``template`` is the author's Markdown; every value from data or
    a spec goes in through a field, and is escaped::

        report.say("**By {col}.** Median duration of each step.", col=segment_col)

    Never build the text with an f-string from data: Markdown passes raw HTML through. With no
    ``values`` the text is shown as it is (so braces need no doubling)."""
    from IPython.display import Markdown

    _display(Markdown(prose(template, **values)))


def decision_label(decision: object) -> str:
    """A decision word as the report's reader reads it (``ship`` / 上线)."""
    return pgettext("decision", str(decision))


def headline(text: str, decision: str | None = None) -> None:
    """Show the answer first: the headline (plain text, escaped) and a coloured decision
    badge."""
    from IPython.display import HTML

    badge = ""
    if decision:
        from playbook.analyses.base import tone

        color = TONE_COLOURS[tone(decision)]
        badge = (
            f'<span style="background:{color};color:#fff;border-radius:4px;padding:2px 10px;'
            f'font-size:0.8em;margin-left:10px;text-transform:uppercase">{escape(decision_label(decision))}</span>'
        )
    _display(HTML(f'<p style="font-size:1.35em;font-weight:600;margin:0.4em 0">{escape(text)}{badge}</p>'))


def _cell(fmt: str | Callable[[Any], Any] | None = None) -> Callable[[Any], str]:
    """A Styler formatter whose result is always escaped HTML (an :class:`Html` value passes)."""

    def show(value: Any) -> str:
        if isinstance(value, Html):
            return str(value)
        if callable(fmt):
            text = fmt(value)
        elif fmt is not None:
            text = fmt.format(value)
        elif isinstance(value, float):
            text = plain_number(value)
        else:
            text = value
        return str(escape(text))

    return show


#: CSS class of the rows ``table(highlight=...)`` shades (the archive's stylesheet styles it).
HIGHLIGHT_CLASS = "row-highlight"


def table(df: pd.DataFrame, formats: Mapping[str, str | Callable[[Any], Any]] | None = None,
          caption: str | None = None, highlight: tuple[str, Any] | None = None,
          labels: Mapping[str, str] | None = None, *, collapsed: str | None = None) -> None:
    """Show a DataFrame as a clean table: no index, column formats, optional row highlight.

    ``collapsed`` folds the table behind a ``<details>`` whose summary is that text (escaped),
    for a long reference table a reader opens only when needed.

    ``highlight=("verdict", "fail")`` shades rows whose ``verdict`` is ``fail``. ``labels``
    renames columns for the reader (``{"sla_breach": "SLA breach"}``); ``formats`` and
    ``highlight`` name the columns as in ``df``.

    Every cell, column label and the caption is escaped HTML, after formatting: a value shows
    as its text whatever characters it holds. The one exception is a cell holding an
    :class:`Html` value, which is shown as markup (only code can make one; the column must
    have ``dtype=object``, as pandas' string dtype stores plain ``str``, which is escaped).
    """
    import pandas as pd

    formats = {k: v for k, v in (formats or {}).items() if k in df.columns}
    # the index is hidden: a fresh one (and no axis names, which Styler would not escape)
    df = df.reset_index(drop=True).rename_axis(index=None, columns=None)
    styler = df.style.hide(axis="index").format(_cell(), na_rep="–")
    for col, fmt in formats.items():
        styler = styler.format(_cell(fmt), subset=[col], na_rep="–")
    names = labels or {}
    styler = styler.format_index(lambda c: _cell()(names.get(c, c)), axis="columns")
    if caption:
        styler = styler.set_caption(_cell()(caption))
    if highlight is not None:
        col, value = highlight
        on = (df[col] == value) if col in df.columns else pd.Series(False, index=df.index)
        on = on.fillna(False).astype(bool).to_numpy()
        styler = styler.apply(
            lambda frame: pd.DataFrame(
                [[f"background-color: {BAD_TINT}" if hit else "" for _ in frame.columns] for hit in on],
                index=frame.index, columns=frame.columns),
            axis=None)
        styler = styler.set_td_classes(pd.DataFrame(
            [[HIGHLIGHT_CLASS if hit else "" for _ in df.columns] for hit in on],
            index=df.index, columns=df.columns))
    if collapsed is None:
        _display(styler)
        return
    from IPython.display import HTML

    _display(HTML(f"<details><summary>{html.escape(collapsed)}</summary>{styler.to_html()}</details>"))


__all__ = ["OUTCOME_SUFFIX", "SCHEMA_VERSION", "TONE_COLOURS", "Html", "Outcome", "code", "esc", "headline",
           "hours_with_ci", "interval", "num", "outcome_path", "pct", "plain_number", "prose", "record",
           "record_outcome", "say", "setup", "share_with_ci", "table", "write_json_atomic"]
