"""The words of data_quality's report in the report's language: numbers in sentences and what
each kind of rule means when it fails.

English keeps the exact formats the report always had (``f"{x:.1%}"``, ``f"{n:,}"``); other
languages format through :mod:`playbook.i18n.formats` (Babel).
"""

from __future__ import annotations

from playbook.i18n import DEFAULT_LANGUAGE, current, formats, gettext, pgettext


def share(x: float, digits: int = 1) -> str:
    """``0.9731`` as ``'97.3%'`` in the report's language."""
    if current() == DEFAULT_LANGUAGE:
        return f"{x:.{digits}%}"
    return formats.percent(x, digits)


def whole(n: float) -> str:
    """A count with thousands separators (``12,345``; 万 from 10万 in zh-CN)."""
    if current() == DEFAULT_LANGUAGE:
        return f"{int(n):,}"
    return formats.count(int(n))


def rule_words(rule: str) -> str | None:
    """What a failing rule of kind ``rule`` says about its column, e.g. ``has duplicate keys``
    (None for a kind without words)."""
    words = {
        "completeness": gettext("is missing too often"),
        "uniqueness": gettext("has duplicate keys"),
        "freshness": gettext("is stale (newest row older than its SLA)"),
        "not_future": gettext("has timestamps in the future"),
        "min": gettext("has values below the allowed minimum"),
        "max": gettext("has values above the allowed maximum"),
        "allowed": gettext("has values outside the allowed list"),
        "pattern": gettext("has values in the wrong format"),
        "dtype": gettext("has values of the wrong type"),
        "volume": gettext("has days with abnormal row counts"),
        "distinct_rows": gettext("has rows that are exact copies of another row"),
        "zones": gettext("mixes timestamps with and without a time zone"),
    }
    return words.get(rule)


def verdict_word(verdict: str) -> str:
    """A rule's verdict (``pass``, ``fail``, ``skipped``) as the report's reader reads it."""
    words = {"pass": pgettext("rule verdict", "pass"), "fail": pgettext("rule verdict", "fail"),
             "skipped": pgettext("rule verdict", "skipped")}
    return words.get(verdict, verdict)


def severity_word(severity: str) -> str:
    """A rule's severity (``error``, ``warn``) as the report's reader reads it."""
    words = {"error": pgettext("rule severity", "error"), "warn": pgettext("rule severity", "warn")}
    return words.get(severity, severity)


__all__ = ["rule_words", "severity_word", "share", "verdict_word", "whole"]
