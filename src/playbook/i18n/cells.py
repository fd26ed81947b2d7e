"""Template cells in more than one language, in one notebook.

A Markdown cell (or a code cell whose text differs by language) written in English is tagged
``lang:en``; its translation follows it, tagged ``lang:zh-CN``. A cell without a ``lang:`` tag
is the same in every language (code, mostly). The runner keeps the cells of the spec's
language (:func:`for_language`); opened in JupyterLab the notebook shows both, one under the
other. :func:`missing_translations` lists the cells of a template that have no translation, for
the test that keeps every template bilingual.
"""

from __future__ import annotations

from typing import Any

from playbook.i18n import DEFAULT_LANGUAGE, LANGUAGES, check_language

PREFIX = "lang:"


def cell_language(cell: Any) -> str | None:
    """The language a cell is tagged with (``lang:zh-CN`` -> ``zh-CN``), None when untagged."""
    for tag in cell.get("metadata", {}).get("tags", []) or []:
        if isinstance(tag, str) and tag.startswith(PREFIX):
            return check_language(tag[len(PREFIX):], f"cell tag {tag!r}")
    return None


def for_language(nb: Any, language: str) -> Any:
    """``nb`` with the cells of other languages removed (the notebook object is changed)."""
    tag = check_language(language)
    nb.cells = [c for c in nb.cells if cell_language(c) in (None, tag)]
    return nb


def missing_translations(nb: Any, name: str = "notebook") -> list[str]:
    """Problems of a template's language cells: every run of consecutive tagged cells holds one
    cell of each language, English first; a Markdown cell without a tag is allowed only when it
    has no words (a stakeholder reads every Markdown cell)."""
    problems: list[str] = []
    group: list[tuple[int, str]] = []

    def close() -> None:
        if not group:
            return
        langs = [lang for _, lang in group]
        first = group[0][0]
        if sorted(langs) != sorted(LANGUAGES) or langs[0] != DEFAULT_LANGUAGE:
            missing = [lang for lang in LANGUAGES if lang not in langs]
            problems.append(f"{name}: cell {first + 1}: a language group holds {', '.join(langs)}"
                            + (f"; add its {', '.join(missing)} translation, tagged "
                               f"{', '.join(PREFIX + m for m in missing)}" if missing else
                               "; give one cell per language, English first"))
        group.clear()

    for i, cell in enumerate(nb.cells):
        lang = cell_language(cell)
        if lang is None:
            close()
            if cell.get("cell_type") == "markdown" and any(ch.isalpha() for ch in cell.get("source", "")):
                problems.append(f"{name}: cell {i + 1}: a Markdown cell without a language tag; "
                                f"tag it {PREFIX}{DEFAULT_LANGUAGE} and add its translations")
            continue
        if group and lang in [g for _, g in group]:
            close()
        group.append((i, lang))
    close()
    return problems


__all__ = ["PREFIX", "cell_language", "for_language", "missing_translations"]
