"""How the archive shows values: metrics, decisions, times, durations, sizes.

Metrics are shown by :mod:`playbook.publish.metric_text` (label, and value by kind and unit with
its interval; the name-based rules for outcomes without ``metric_info``); :func:`format_metric`
is re-exported here. The first four metrics of an outcome are its key metrics
(:data:`KEY_METRICS`).

Decisions get a badge by their tone (:func:`decision_class`): the tone the outcome recorded (the
kernel that ran the template knew its decisions, also those a template registers in its own
package), else the word's tone in :data:`playbook.analyses.base.TONES`.
Its word is shown in the page's language (:func:`decision_word`: ``pgettext("decision", word)``;
the templates' catalogues translate their decisions).
Times, durations, sizes and parameter values have one ``show_*`` function each (times and
durations in the page's language: ``2026-11-24 06:00 UTC`` / ``2026年11月24日 06:00 UTC``); error
text is cleaned of ANSI colours and machine paths by :func:`clean_error_text`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from playbook.errors import SpecError
from playbook.i18n import DEFAULT_LANGUAGE, check_language, gettext, pgettext
from playbook.i18n.formats import day
from playbook.publish.metric_text import format_metric
from playbook.redact import strip_machine_paths

KEY_METRICS = 4
#: How a list shows a report's language, in the language itself.
LANGUAGE_NAMES = {"en": "EN", "zh-CN": "中文"}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def decision_class(decision: Any, recorded: Any = None) -> str:
    """The badge class of a decision: its tone (good, bad, neutral, invalid), as ``recorded``
    in the outcome when that is a tone, else from the one table of decisions
    (:data:`playbook.analyses.base.TONES`)."""
    from playbook.analyses.base import Tone, tone

    if isinstance(recorded, str) and recorded in set(Tone):
        return recorded
    return str(tone(decision))


def decision_word(decision: Any, language: str = DEFAULT_LANGUAGE) -> str:
    """A decision word (``ship``) as a page in ``language`` shows it."""
    return pgettext("decision", str(decision), language)


def status_word(status: Any, language: str = DEFAULT_LANGUAGE) -> str:
    """A run's or report's status (``ok``, ``failed``, ``running``, ``not run``) as a page in
    ``language`` shows it; a status this version does not know as it is."""
    words = {
        "ok": pgettext("status", "ok", language),
        "failed": pgettext("status", "failed", language),
        "running": pgettext("status", "running", language),
        "finished": pgettext("status", "finished", language),
        "not run": pgettext("status", "not run", language),
        "unknown": pgettext("status", "unknown", language),
    }
    return words.get(str(status), str(status))


def page_language(tag: Any) -> str:
    """``tag`` (an outcome's or spec's ``language``) when it is a report language, else English:
    records written before languages existed, or in a language this version does not know."""
    try:
        return check_language(tag) if tag else DEFAULT_LANGUAGE
    except SpecError:
        return DEFAULT_LANGUAGE


def show_time(moment: datetime | None, fallback: str, language: str = DEFAULT_LANGUAGE) -> str:
    """A moment in UTC to the minute, or ``fallback`` when there is none; the day in the
    language's long form outside English (2026年11月24日 06:00 UTC)."""
    if not moment:
        return fallback
    utc = moment.astimezone(UTC)
    if language == DEFAULT_LANGUAGE:
        return utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"{day(utc.date(), language)} {utc:%H:%M} UTC"


def show_duration(seconds: Any, language: str = DEFAULT_LANGUAGE) -> str:
    """Seconds below two minutes, minutes above; empty when there is no number."""
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return ""
    if seconds < 120:
        return gettext("{n} s", language).format(n=f"{seconds:.1f}")
    return gettext("{n} min", language).format(n=f"{seconds / 60:.1f}")


def show_size(n: Any) -> str:
    """A byte count in B, kB, MB or GB (powers of 1000)."""
    if not isinstance(n, int):
        return "–"
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"  # pragma: no cover


def clean_error_text(text: str) -> str:
    """An error message or traceback fit to publish: no ANSI colours, no machine paths."""
    return strip_machine_paths(_ANSI.sub("", text))


def show_value(value: Any) -> str:
    """A parameter or error value as text: a string as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


__all__ = [
    "KEY_METRICS",
    "LANGUAGE_NAMES",
    "clean_error_text",
    "decision_class",
    "decision_word",
    "format_metric",
    "page_language",
    "show_duration",
    "show_size",
    "show_time",
    "show_value",
    "status_word",
]
