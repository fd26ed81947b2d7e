"""Reports in the team's language: every string a stakeholder reads has its zh-CN translation,
every template cell its translated twin, and numbers follow Babel's locale data."""

from __future__ import annotations

import warnings
from collections import defaultdict
from datetime import date
from pathlib import Path

import nbformat
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from babel.numbers import format_compact_decimal, format_currency, format_percent

from playbook.i18n import LANGUAGES, catalogue_names, formats, gettext, using
from playbook.i18n.cells import for_language, missing_translations

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "src" / "playbook" / "locale"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def marked_strings() -> dict[str, set[tuple[str | None, str]]]:
    """Every string marked for translation, by the file that marks it: (context, message id)."""
    method_map = [("src/playbook/**.py", "python"), ("src/playbook/publish/templates/**.html*", "jinja2"),
                  ("notebooks/*.ipynb", "playbook.i18n.extract:extract_notebook")]
    found: dict[str, set[tuple[str | None, str]]] = defaultdict(set)
    for filename, _line, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, keywords=KEYWORDS,
            options_map={"src/playbook/publish/templates/**.html*": {"extensions": "jinja2.ext.i18n"}}):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found[filename].add((context, msgid))
    return found


def translated(language: str) -> set[tuple[str | None, str]]:
    folder = LOCALE / "zh_CN" / "LC_MESSAGES"
    out: set[tuple[str | None, str]] = set()
    for name in catalogue_names(language):
        with (folder / f"{name}.po").open("rb") as fp:
            catalog = read_po(fp)
        out |= {(m.context, str(m.id if not isinstance(m.id, tuple) else m.id[0])) for m in catalog
                if m.id and m.string and not m.fuzzy}
    return out


def test_no_two_catalogues_translate_a_string_differently() -> None:
    """Catalogues are merged: a message two areas share has one translation (else the last one
    merged would win, by file name)."""
    seen: dict[tuple[str | None, str], tuple[str, str]] = {}
    clashes = []
    for po in sorted((LOCALE / "zh_CN" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fp:
            for m in read_po(fp):
                key = (m.context, str(m.id if not isinstance(m.id, tuple) else m.id[0]))
                if m.id and key in seen and seen[key][1] != m.string:
                    clashes.append(f"{key}: {seen[key][0]} {seen[key][1]!r}, {po.name} {m.string!r}")
                seen.setdefault(key, (po.name, str(m.string)))
    assert not clashes, "\n".join(clashes)


def test_every_marked_string_is_translated_for_zh_cn() -> None:
    """Lists the untranslated strings per file (each file belongs to one catalogue's area)."""
    done = translated("zh-CN")
    missing = {f: sorted(m for _, m in found - done) for f, found in marked_strings().items()}
    missing = {f: m for f, m in missing.items() if m}
    assert not missing, "untranslated for zh-CN:\n" + "\n".join(
        f"  {f}: {', '.join(repr(m) for m in ms)}" for f, ms in sorted(missing.items()))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_template_cell_has_its_translation(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert missing_translations(nb, path.name) == []
    for language in LANGUAGES:  # each language keeps every untagged cell and one of each group
        kept = for_language(nbformat.read(path, as_version=4), language)
        assert sum(c.cell_type == "markdown" for c in kept.cells) >= 1


def test_cells_of_other_languages_are_dropped() -> None:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title", metadata={"tags": ["lang:en"]}),
        nbformat.v4.new_markdown_cell("# 标题", metadata={"tags": ["lang:zh-CN"]}),
        nbformat.v4.new_code_cell("x = 1")])
    assert [c.source for c in for_language(nb, "zh-CN").cells] == ["# 标题", "x = 1"]
    lone = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title", metadata={"tags": ["lang:en"]})])
    (problem,) = missing_translations(lone, "t.ipynb")
    assert problem == ("t.ipynb: cell 1: a language group holds en; add its zh-CN translation, "
                       "tagged lang:zh-CN")
    bare = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("Words")])
    assert "without a language tag" in missing_translations(bare, "t.ipynb")[0]


@pytest.mark.parametrize(("language", "babel"), [("en", "en"), ("zh-CN", "zh_Hans_CN")])
def test_numbers_follow_babel(language: str, babel: str) -> None:
    assert formats.percent(0.0903, language=language) == format_percent(0.0903, "#,##0.0%", locale=babel)
    assert formats.money(1234.5, "CNY", language) == format_currency(1234.5, "CNY", locale=babel)
    assert formats.count(1234, language) == "1,234"
    if language == "zh-CN":
        assert formats.count(123_456, language) == format_compact_decimal(
            123_456, locale=babel, fraction_digits=1) == "12.3万"
        assert formats.count(123_456_789, language) == "1.23亿"
        assert formats.day(date(2026, 11, 24), language) == "2026年11月24日"
        assert formats.interval(0.057, 0.123, kind="lift", language=language) == \
            "95% 置信区间 +5.7% 至 +12.3%"
        assert formats.money(1234.5, "CNY", language) == "¥1,234.50"
    else:
        assert formats.count(123_456, language) == "123,456"
        assert formats.day(date(2026, 11, 24), language) == "November 24, 2026"
        assert formats.interval(0.057, 0.123, kind="lift", language=language) == \
            "95% CI +5.7% to +12.3%"


def test_the_week_starts_on_the_locales_day_or_the_specs() -> None:
    assert formats.first_week_day("zh-CN") == 0  # Monday, as CLDR has it for China
    assert formats.first_week_day("en", override=6) == 6


def test_a_chart_with_chinese_labels_has_every_glyph() -> None:
    """Warnings are errors in the suite: a missing glyph ("Glyph ... missing from font") fails."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from playbook.i18n import fonts

    assert fonts.register(), fonts.missing_message()
    assert "Noto Sans CJK SC" in matplotlib.rcParams["font.sans-serif"][:2]
    fig, ax = plt.subplots()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax.set_title("各步骤转化率 Conversion")
        ax.bar(["注册", "申请", "放款"], [1.0, 0.6, 0.3])
        ax.set_xlabel("步骤")
        fig.canvas.draw()
    from matplotlib.font_manager import findfont

    assert "NotoSansCJK" in findfont("Noto Sans CJK SC")
    plt.close(fig)


def test_gettext_falls_back_to_english() -> None:
    with using("zh-CN"):
        assert gettext("{n} h") == "{n} 小时"
        assert gettext("a sentence nobody translated") == "a sentence nobody translated"
    assert gettext("{n} h", "en") == "{n} h"


@pytest.mark.parametrize("po", sorted((LOCALE / "zh_CN" / "LC_MESSAGES").glob("*.po")), ids=lambda p: p.name)
def test_every_catalogue_compiles(po: Path) -> None:
    """What `make compile-catalogues` (pybabel compile) refuses: a translation whose placeholders
    differ from its message's (Babel reads "95% i" in a message as a %-placeholder)."""
    with po.open("rb") as fh:
        catalog = read_po(fh)
    problems = [f"line {m.lineno}: {m.id!r}: {'; '.join(map(str, errors))}" for m, errors in catalog.check()]
    assert problems == []
