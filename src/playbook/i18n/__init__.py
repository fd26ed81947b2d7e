"""The language of everything a stakeholder reads: English (``en``) or Simplified Chinese
(``zh-CN``), and the mechanism open to more.

A spec's ``language`` picks it; the runner passes it to every template as the parameter
``language``, ``report.setup(language)`` makes it the kernel's language, and the publisher
renders each page in its report's language. Three parts:

* **Strings in the package** go through gettext: ``from playbook.i18n import _`` and
  ``_("Conversion by step")``. The translations live in one catalogue per area,
  ``locale/<ll_CC>/LC_MESSAGES/<area>.po`` (``common``, ``archive``, ``quality``, ``funnel``,
  ``process``, ``experiment``), merged at run time; the compiled ``.mo`` files are built by
  ``make`` (``pybabel compile``), never edited by hand, and a missing or older ``.mo`` is
  compiled in memory from its ``.po``. ``tests/test_i18n.py`` lists every string the package and
  the templates mark for translation that no catalogue translates.
* **Numbers, dates and money** through Babel's locale data: :mod:`playbook.i18n.formats`.
* **Chart fonts**: :mod:`playbook.i18n.fonts` registers a CJK font with Matplotlib.

Template Markdown stays in one notebook per template: a cell in more than one language is
tagged ``lang:en`` and ``lang:zh-CN`` and the runner keeps the cells of the spec's language
(:mod:`playbook.i18n.cells`).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import io
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from babel import Locale
from babel.support import NullTranslations, Translations

from playbook.errors import SpecError

DEFAULT_LANGUAGE = "en"
#: Every language a report can be written in: its tag (BCP 47, as in ``<html lang>``), Babel's
#: locale and the name a reader of the language knows it by.
LANGUAGES: dict[str, tuple[str, str]] = {
    "en": ("en", "English"),
    "zh-CN": ("zh_Hans_CN", "简体中文"),
}
DOMAIN = "playbook"
#: Folder of the catalogues below the package: ``<ll_CC>/LC_MESSAGES/playbook.po``.
CATALOGUE_DIRS = {"zh-CN": "zh_CN"}

_language: contextvars.ContextVar[str] = contextvars.ContextVar("language", default=DEFAULT_LANGUAGE)


def check_language(tag: object, where: str = "language") -> str:
    """``tag`` when it names a language of :data:`LANGUAGES` (case and ``_`` forgiven: ``zh_cn``
    is ``zh-CN``); else a SpecError whose message starts with ``where``."""
    text = str(tag or "").strip().replace("_", "-")
    for known in LANGUAGES:
        if text.lower() == known.lower():
            return known
    raise SpecError(f"{where}: {tag!r} is not a report language; use one of "
                    f"{', '.join(LANGUAGES)}")


def babel_locale(language: str | None = None) -> Locale:
    """Babel's locale of ``language`` (default: the current one)."""
    return _locale(LANGUAGES[check_language(language or current())][0])


@functools.cache
def _locale(name: str) -> Locale:
    return Locale.parse(name)


def current() -> str:
    """The language of this context (``en`` until :func:`set_language`)."""
    return _language.get()


def set_language(language: str) -> str:
    """Make ``language`` the language of this context (a kernel: for its whole run)."""
    tag = check_language(language)
    _language.set(tag)
    return tag


@contextlib.contextmanager
def using(language: str) -> Iterator[str]:
    """``with using("zh-CN"):`` the block speaks ``language``; the previous one comes back."""
    token = _language.set(check_language(language))
    try:
        yield _language.get()
    finally:
        _language.reset(token)


@functools.cache
def translations(language: str) -> NullTranslations:
    """The gettext catalogue of ``language`` (English: the message ids themselves): every
    catalogue of the language's folder merged (one per area: ``archive.po``, ``funnel.po``,
    ...), each from its compiled ``.mo`` when ``make`` built it, else from its ``.po``."""
    tag = check_language(language)
    folder = CATALOGUE_DIRS.get(tag)
    if folder is None:
        return NullTranslations()
    base = resources.files("playbook").joinpath("locale", folder, "LC_MESSAGES")
    merged = Translations(domain=DOMAIN)
    for name in catalogue_names(tag):
        part = _catalogue(base, name, LANGUAGES[tag][0])
        merged.merge(part)
        merged.plural = part.plural  # the language's plural rule (zh-CN: one form)
    return merged


def catalogue_names(language: str) -> list[str]:
    """The catalogues (``.po`` files, by name without suffix) of ``language``."""
    folder = CATALOGUE_DIRS.get(check_language(language))
    if folder is None:
        return []
    base = resources.files("playbook").joinpath("locale", folder, "LC_MESSAGES")
    return sorted(p.name[:-3] for p in base.iterdir() if p.name.endswith(".po"))


def _catalogue(base: Any, name: str, locale: str) -> Translations:
    mo, po = base.joinpath(f"{name}.mo"), base.joinpath(f"{name}.po")
    if mo.is_file() and Path(str(mo)).stat().st_mtime >= Path(str(po)).stat().st_mtime:
        with mo.open("rb") as fp:
            return Translations(fp, domain=DOMAIN)
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as fp:
        catalog = read_po(fp, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


def gettext(message: str, language: str | None = None) -> str:
    """``message`` in ``language`` (default: the current one)."""
    return translations(language or current()).gettext(message)


def ngettext(singular: str, plural: str, n: int, language: str | None = None) -> str:
    """The singular or plural form for ``n`` in ``language`` (Chinese has one form)."""
    return translations(language or current()).ngettext(singular, plural, n)


def pgettext(context: str, message: str, language: str | None = None) -> str:
    """``message`` in ``language``, told apart by ``context`` (a decision word and a verb)."""
    return str(translations(language or current()).pgettext(context, message))


_ = gettext

__all__ = ["CATALOGUE_DIRS", "catalogue_names", "DEFAULT_LANGUAGE", "LANGUAGES", "babel_locale", "check_language",
           "current", "gettext", "ngettext", "pgettext", "set_language", "translations", "using"]
