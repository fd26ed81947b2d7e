"""Turn an executed notebook into the HTML body of a stakeholder report.

One :class:`nbconvert.HTMLExporter` on the ``basic`` template (cells only, no ``<html>``
page, no CSS, no MathJax, no JavaScript) is built lazily once per process and reused for every
report; the page around it (header, parameters, CSS) is ``site.py``'s job.

What a stakeholder sees, decided by :class:`StakeholderView` (one pass over the cells):

- markdown cells, rendered;
- outputs of code cells: tables, charts (PNG/SVG/JPEG embedded as data URIs), rich text;
- code *inputs* only of cells tagged ``show-code``; every other code input is removed;
- never the ``parameters`` / ``injected-parameters`` cells (the page shows a parameters table
  built from run.json instead), nor cells tagged ``hide-in-archive`` (e.g. the headline cell,
  which the page header already shows with its decision badge);
- never stream outputs (stdout, stderr, warnings), nor plain-text object reprs such as
  ``<Figure size 640x480 with 1 Axes>`` or ``[<matplotlib.lines.Line2D at 0x...>]``;
- always error outputs, so a failed report shows its traceback where the notebook stopped.
  papermill's red "An Exception was encountered" banner at the top is dropped (the page header
  says it, with a link), and its in-place marker cell is replaced by a plain one that keeps
  the ``papermill-error-cell`` anchor.

Escaping and sanitizing: the templates escape every value from data or a spec where they
display it (``playbook.report``: ``table`` escapes every cell, label and caption, ``say``
escapes the values it fills in, ``headline`` escapes its text; pandas' Styler escapes
nothing by itself). As a backstop, the rendered body is then sanitized with nh3 (a binding of
the Rust ammonia sanitizer) by :func:`sanitize`: an allow-list of tags and attributes, no
``<script>``/``<style>`` elements (removed with their content), no event-handler or style
attributes, links only to http(s), mailto and in-page anchors, ``data:`` URLs only as image
sources. So a template written later that forgets to escape a value, in a Markdown cell, a
Markdown output or an HTML output, still cannot run script in the archive. Values that
``site.py`` puts around the body are escaped there (Jinja2 autoescape).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any, cast

import nbformat
import nh3
from markupsafe import escape
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from traitlets.config import Config

from playbook.i18n import DEFAULT_LANGUAGE, gettext

#: Bumped whenever what a converted report looks like changes, so that publish re-converts.
CONVERT_VERSION = 3

SHOW_CODE_TAG = "show-code"
HIDDEN_TAGS = frozenset({"parameters", "injected-parameters", "hide-in-archive"})
PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"
ERROR_ANCHOR = "papermill-error-cell"

_OBJECT_REPR = re.compile(r"^\s*\[?\s*<[^<>]*>(\s*,\s*<[^<>]*>)*\s*\]?\s*$")


def _error_marker(language: str) -> str:
    words = gettext("The notebook stopped here with an error:", language)
    return f'<div id="{ERROR_ANCHOR}" class="error-marker">{escape(words)}</div>'


def _is_noise(output: dict[str, Any]) -> bool:
    """True for outputs a stakeholder should not see (streams, bare object reprs)."""
    kind = output.get("output_type")
    if kind == "stream":
        return True
    if kind in ("execute_result", "display_data"):
        data = output.get("data", {})
        if set(data) <= {"text/plain"}:
            text = data.get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            return not text.strip() or bool(_OBJECT_REPR.match(text))
    return False


class StakeholderView(Preprocessor):
    """Hide code, parameters and noise; keep results and errors (see the module docstring)."""

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        language = str(resources.get("language") or DEFAULT_LANGUAGE)
        cells = []
        for cell in nb.cells:
            tags = set(cell.get("metadata", {}).get("tags", []))
            if tags & HIDDEN_TAGS:
                continue
            if PAPERMILL_ERROR_TAG in tags:
                if ERROR_ANCHOR in cell.source and "An Exception was encountered" not in (
                    cell.source
                ):
                    cell.source = _error_marker(language)
                    cells.append(cell)
                continue
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.get("outputs", []) if not _is_noise(o)]
                show = SHOW_CODE_TAG in tags
                if not show:
                    if not cell.outputs:
                        continue
                    cell.metadata["transient"] = {"remove_source": True}
                for output in cell.outputs:
                    _default_alt_text(output, language)
            elif cell.cell_type == "raw":
                continue
            cells.append(cell)
        nb.cells = cells
        return nb, resources


def _default_alt_text(output: Any, language: str) -> None:
    """Give images an alt text (nbconvert logs a warning per image without one)."""
    data = output.get("data", {})
    for mime in ("image/png", "image/jpeg"):
        if mime in data:
            meta = output.setdefault("metadata", {}).setdefault(mime, {})
            meta.setdefault("alt", gettext("Chart", language))


@cache
def exporter() -> HTMLExporter:
    """The one HTMLExporter of this process (its Jinja template is compiled on first use)."""
    config = Config()
    config.HTMLExporter.template_name = "basic"
    config.HTMLExporter.exclude_input_prompt = True
    config.HTMLExporter.exclude_output_prompt = True
    # Our preprocessor only; no pygments-CSS, no execution, no output extraction.
    config.HTMLExporter.default_preprocessors = []
    config.HTMLExporter.preprocessors = [StakeholderView]
    # Validate the notebook once at the end instead of after every preprocessor.
    config.HTMLExporter.optimistic_validation = True
    return HTMLExporter(config=config)


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read an executed notebook; raises ``OSError`` or ``ValueError`` when unreadable.

    Cells without ids (nbformat < 4.5 writers) are given ids so nbconvert does not warn.
    """
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    if not isinstance(raw, dict) or raw.get("nbformat") != 4 or "cells" not in raw:
        raise ValueError(f"{path}: not a version-4 notebook")
    nb = nbformat.v4.to_notebook_json(raw)  # joins multi-line strings, no validation yet
    if (nb.get("nbformat_minor") or 0) >= 5:
        for i, cell in enumerate(nb.cells):
            if not cell.get("id"):
                cell["id"] = f"cell-{i}"
    return cast(nbformat.NotebookNode, nb)


#: What a report body may hold after :func:`sanitize` (nh3's defaults, plus what the basic
#: template and the report helpers emit: classes and ids for the stylesheet and anchors).
ALLOWED_TAGS = frozenset(nh3.ALLOWED_TAGS | {"tfoot"})
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"class", "id", "title", "lang", "dir"},
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "width", "height"},
}
_IMAGE_DATA_URL = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]*\Z")


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    """``data:`` URLs only as the source of an image (the embedded charts)."""
    if value.lstrip()[:5].lower() == "data:":
        ok = tag == "img" and attribute == "src" and _IMAGE_DATA_URL.match(value.strip())
        return value if ok else None
    return value


def sanitize(html: str) -> str:
    """``html`` with only allowed tags, attributes and URL schemes (see the module docstring)."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "data"},
        attribute_filter=_attribute_filter,
        link_rel="noopener noreferrer",
    )


def notebook_body(nb: nbformat.NotebookNode, language: str = DEFAULT_LANGUAGE) -> str:
    """The report body (HTML fragment) of an executed notebook, sanitized; the words this
    module adds (the error marker, a chart's default alt text) in ``language``.

    The page around it, ``<html lang>`` included, is ``site.py``'s (the ``basic`` template
    writes no ``<html>``, so nbconvert's two-letter ``language_code`` plays no part)."""
    body, _ = exporter().from_notebook_node(nb, resources={"language": language})
    return sanitize(str(body))
