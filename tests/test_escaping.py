"""Values from data or a spec are text on the page, never markup: report.table, say, headline,
the charts, and the publisher's backstop sanitizer (playbook.publish.convert).

Each payload must come out without its tag (no ``<script``, no ``onerror=`` inside a tag) and
with its characters visible as escaped text.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from nbformat import v4

from playbook import report
from playbook.publish import convert

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
PAYLOADS = [SCRIPT, IMG]
# a tag that would run: <script ...> or any tag with an on...= handler attribute
LIVE = re.compile(r"<script|<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)


def assert_inert(html: str) -> None:
    found = LIVE.search(html)
    assert found is None, html[max(0, found.start() - 200): found.end() + 200]


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What report.* displays, as the HTML the archive renders from it."""
    out: list[str] = []

    def display(obj: Any) -> None:
        if hasattr(obj, "to_html"):  # a Styler
            out.append(obj.to_html())
        elif type(obj).__name__ == "Markdown":
            out.append(markdown2html_mistune(obj.data))
        else:
            out.append(obj.data)

    monkeypatch.setattr(report, "_display", display)
    return out


@pytest.mark.parametrize("payload", PAYLOADS)
def test_table_escapes_cells_labels_and_caption(shown: list[str], payload: str) -> None:
    df = pd.DataFrame({
        "device": [payload, "ios"],
        payload: [1.5, 2.0],            # a column named by data
        "note": [["list", payload], None],  # not a string: formatted with str(), still escaped
        "verdict": ["fail", "pass"],
    })
    report.table(df, formats={"device": "{} (device)"}, labels={"verdict": payload},
                 caption=f"Rows of {payload}", highlight=("verdict", "fail"))
    (html,) = shown
    assert_inert(html)
    escaped = payload.replace("<", "&lt;").replace(">", "&gt;")
    assert f">{escaped} (device)</td>" in html      # cell, after its format
    assert html.count(f">{escaped}</th>") == 2      # a data column name and a label
    assert f"<caption>Rows of {escaped}</caption>" in html
    assert "row-highlight" in html                  # the highlight survives as a class


def test_table_shows_markup_only_when_the_template_wraps_it(shown: list[str]) -> None:
    # object dtype: pandas' string dtype stores plain str, so the wrapper (and the markup) is lost
    df = pd.DataFrame({"what": pd.Series([report.Html("<b>bold</b>"), "<b>bold</b>"], dtype=object)})
    report.table(df)
    (html,) = shown
    assert ">" + "<b>bold</b></td>" in html and ">&lt;b&gt;bold&lt;/b&gt;</td>" in html
    # Html built from data escapes the data
    assert report.Html("<b>{}</b>").format(SCRIPT) == "<b>&lt;script&gt;alert(1)&lt;/script&gt;</b>"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_say_escapes_its_values_and_keeps_the_authors_markdown(shown: list[str], payload: str) -> None:
    report.say("**By {col}.** {share:.1%} of users, see {name}.", col=payload, share=0.25,
               name=report.code(payload))
    (html,) = shown
    assert_inert(html)
    escaped = payload.replace("<", "&lt;").replace(">", "&gt;")
    assert f"<strong>By {escaped}.</strong> 25.0% of users, see <code>{escaped}</code>." in html


def test_esc_renders_markdown_punctuation_as_text() -> None:
    value = "*a* _b_ `c` [l](javascript:alert(1)) $x$ # h\nnext <i>"
    html = markdown2html_mistune(f"Name: {report.esc(value)}")
    assert html.strip() == ("<p>Name: *a* _b_ `c` [l](javascript:alert(1)) $x$ # h next "
                            "&lt;i&gt;</p>")
    assert report.prose("{a}", a=report.Html("<br>")) == "<br>"
    assert report.prose("{{literal}} {a}", a="x") == "{literal} x"
    assert report.prose("no fields {here}") == "no fields {here}"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_headline_escapes_text_and_decision(shown: list[str], payload: str) -> None:
    report.headline(f"Step {payload} loses most", decision=payload)
    (html,) = shown
    assert_inert(html)
    assert html.count(payload.replace("<", "&lt;").replace(">", "&gt;")) == 2


# -- the publisher's backstop ---------------------------------------------------------------------
def _notebook_with(outputs: list[Any], markdown: str = "# Title") -> Any:
    nb = v4.new_notebook()
    nb.cells = [v4.new_markdown_cell(markdown), v4.new_code_cell("x", outputs=outputs)]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    return nb


def test_convert_sanitizes_html_and_markdown_outputs() -> None:
    """A template that forgets to escape still cannot run script in the archive."""
    nb = _notebook_with([
        v4.new_output("display_data", data={"text/html": f"<p>kept</p>{SCRIPT}{IMG}"
                                            '<a href="javascript:alert(1)">link</a>'
                                            '<a href="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;">d</a>'
                                            '<table><tr><td class="data row-highlight">cell</td></tr></table>'}),
        v4.new_output("display_data", data={"text/markdown": f"**md** {SCRIPT} {IMG}",
                                            "text/plain": "<IPython.core.display.Markdown object>"}),
        v4.new_output("display_data", data={"image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg">'
                                            '<script>alert(1)</script><rect onload="alert(1)"/></svg>'}),
    ], markdown=f"# Title\n\n{IMG}")
    body = convert.notebook_body(nb)
    assert_inert(body)
    assert "javascript:" not in body and "data:text/html" not in body
    assert "<p>kept</p>" in body and "<strong>md</strong>" in body
    assert 'class="data row-highlight"' in body
    assert "<h1" in body and "Title" in body


def test_convert_keeps_what_reports_show() -> None:
    """Charts as data URIs with their alt text, error tracebacks, the error anchor."""
    png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5E"
           "rkJggg==")
    nb = _notebook_with([
        v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
        v4.new_output("error", ename="DataError", evalue="bad <b>column</b>",
                      traceback=["\x1b[0;31mDataError\x1b[0m: bad <b>column</b>"]),
    ])
    body = convert.notebook_body(nb)
    assert f'src="data:image/png;base64,{png}"' in body
    assert re.search(r'<img[^>]+alt="[^"]+"', body)
    assert "DataError" in body and "bad &lt;b&gt;column&lt;/b&gt;" in body


# -- charts ---------------------------------------------------------------------------------------
def test_charts_draw_names_from_data_as_plain_text() -> None:
    """A ``$`` in a name is a dollar sign: mathtext would fail to draw ``$x^$``."""
    import io

    from playbook import charts

    names = ["visit", "$x^$ plan", "pay $5 & $6", SCRIPT]
    steps = pd.DataFrame({"step": names, "users": [100, 60, 30, 10], "conv": [1.0, 0.6, 0.5, 0.33],
                          "conv_ci_low": [1.0, 0.5, 0.4, 0.2], "conv_ci_high": [1.0, 0.7, 0.6, 0.5]})
    fig = charts.funnel(steps, bottleneck="$x^$ plan")
    fig.savefig(io.BytesIO(), format="png")  # mathtext would raise here
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == names
    assert charts.alt_text(fig) == "Chart: Users reaching each step (red: biggest loss)"
    volume = pd.DataFrame({"table": ["a", "a", "b", "b"],
                           "day": pd.to_datetime(["2026-01-01", "2026-01-09"] * 2),
                           "rows": [1, 2, 3, 4], "anomaly": [False, True, False, False]})
    assert charts.alt_text(charts.daily_volumes(volume)) == (
        "Chart: Rows per day (red: anomalous days); panels: a, b")
