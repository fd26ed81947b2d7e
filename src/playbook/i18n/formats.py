"""Numbers, shares, intervals, money, dates and durations in the reader's language, with
Babel's locale data (CLDR). Every function takes ``language`` (default: the current one).

    number(0.05678)            en 0.0568            zh-CN 0.0568
    count(123456)              en 123,456           zh-CN 12.3万 (1.23亿 from 10^8)
    percent(0.0903)            en 9.0%              zh-CN 9.0%
    percent(0.0903, sign=True) en +9.0%
    interval(0.057, 0.123)     en 95% CI +5.7% to +12.3%    zh-CN 95% 置信区间 +5.7% 至 +12.3%
    money(1234.5, "CNY")       en CN¥1,234.50       zh-CN ¥1,234.50
    day(date(2026, 11, 24))    en November 24, 2026 zh-CN 2026年11月24日
    hours(6.25)                en 6.2 h             zh-CN 6.2 小时
    p_value(0.0004)            p < 0.001

A Chinese report writes large counts in 万 (10^4) and 亿 (10^8): :func:`count` does so from
10万 (below that, 12,345 reads better than 1.2万); English keeps the digits.
"""

from __future__ import annotations

import math
from datetime import date, datetime

from babel.dates import format_date
from babel.numbers import format_compact_decimal, format_currency, format_decimal, format_percent

from playbook.i18n import babel_locale, check_language, current, gettext

#: Counts from this size are written compactly in zh-CN (10万).
COMPACT_FROM = {"zh-CN": 100_000}


def _lang(language: str | None) -> str:
    return check_language(language or current())


def _finite(x: float | None) -> bool:
    return x is not None and not isinstance(x, bool) and math.isfinite(float(x))


def number(x: float, digits: int | None = None, language: str | None = None) -> str:
    """``x`` with the locale's grouping and decimal mark; ``digits`` fixes the decimals (default:
    3 significant digits below 1000, whole numbers above)."""
    if not _finite(x):
        return "–"
    loc = babel_locale(_lang(language))
    if digits is None:
        ax = abs(float(x))
        digits = 0 if ax >= 1000 or float(x).is_integer() else max(0, 2 - int(math.floor(math.log10(ax)))) if ax else 0
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(float(x), format=pattern, locale=loc)


def count(n: float, language: str | None = None) -> str:
    """A whole number of things: digits with grouping, or 万/亿 in zh-CN from :data:`COMPACT_FROM`."""
    if not _finite(n):
        return "–"
    lang = _lang(language)
    loc = babel_locale(lang)
    start = COMPACT_FROM.get(lang)
    if start is not None and abs(n) >= start:
        return format_compact_decimal(float(n), locale=loc, fraction_digits=2 if abs(n) >= 1e8 else 1)
    return format_decimal(round(float(n)), format="#,##0", locale=loc)


def percent(share: float, digits: int = 1, sign: bool = False, language: str | None = None) -> str:
    """A share (0.0903) as a percentage (9.0%); ``sign`` writes + before a positive value."""
    if not _finite(share):
        return "–"
    loc = babel_locale(_lang(language))
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "") + "%"
    text = format_percent(float(share), format=pattern, locale=loc)
    return ("+" + text) if sign and float(share) > 0 and not text.startswith("+") else text


def interval(low: float, high: float, level: float = 0.95, *, kind: str = "share",
             unit: str = "", language: str | None = None) -> str:
    """An interval as a stakeholder reads it: ``95% CI +5.7% to +12.3%`` (kind as in
    :class:`playbook.analyses.base.MetricKind`)."""
    lang = _lang(language)
    if not (_finite(low) and _finite(high)):
        return ""
    lo, hi = value(low, kind, unit, lang), value(high, kind, unit, lang)
    return gettext("{level} CI {low} to {high}", lang).format(
        level=percent(level, digits=0, language=lang), low=lo, high=hi)


def money(x: float, currency: str | None = None, language: str | None = None) -> str:
    """An amount in ``currency`` (ISO 4217, e.g. CNY); a plain number without one."""
    if not _finite(x):
        return "–"
    lang = _lang(language)
    if not currency:
        return number(x, 2 if abs(float(x)) < 1000 else 0, lang)
    return format_currency(float(x), currency, locale=babel_locale(lang))


def day(d: date | datetime, language: str | None = None) -> str:
    """A date in the locale's long form: November 24, 2026 / 2026年11月24日."""
    return format_date(d, format="long", locale=babel_locale(_lang(language)))


def hours(h: float, language: str | None = None) -> str:
    """A duration in hours (6.2 h / 6.2 小时), in days from 48 hours (3.5 d / 3.5 天)."""
    if not _finite(h):
        return "–"
    lang = _lang(language)
    if abs(h) >= 48:
        return gettext("{n} d", lang).format(n=number(h / 24, 1, lang))
    return gettext("{n} h", lang).format(n=number(h, 1, lang))


def p_value(p: float, language: str | None = None) -> str:
    """p = 0.003, p < 0.001 (the same in both languages)."""
    if not _finite(p):
        return "–"
    return "p < 0.001" if p < 0.001 else f"p = {number(p, 3, language)}"


def value(x: float, kind: str, unit: str = "", language: str | None = None) -> str:
    """A metric's value by its kind: share, lift (signed percent), count, money (``unit`` the
    currency), duration (``unit`` h or d), ratio, p_value."""
    lang = _lang(language)
    if kind == "share":
        return percent(x, language=lang)
    if kind == "lift":
        return percent(x, sign=True, language=lang)
    if kind == "count":
        return count(x, lang)
    if kind == "money":
        return money(x, unit or None, lang)
    if kind == "duration":
        return hours(x * 24 if unit in ("d", "days") else x, lang)
    if kind == "p_value":
        return p_value(x, lang)
    return number(x, language=lang)


def first_week_day(language: str | None = None, override: int | None = None) -> int:
    """The first day of the week, 0 = Monday ... 6 = Sunday: ``override`` (a spec's
    ``week_start``) or the locale's."""
    if override is not None:
        return int(override)
    return int(babel_locale(_lang(language)).first_week_day)


__all__ = ["COMPACT_FROM", "count", "day", "first_week_day", "hours", "interval", "money",
           "number", "p_value", "percent", "value"]
