"""How the archive shows values: metrics, decisions, times, durations, sizes.

Metrics are shown by :mod:`playbook.publish.metric_text` (label, and value by kind and unit with
its interval; the name-based rules for outcomes without ``metric_info``); :func:`format_metric`
is re-exported here. The first four metrics of an outcome are its key metrics
(:data:`KEY_METRICS`).

Decisions get a badge by their tone (:func:`decision_class`): the tone the outcome recorded (the
kernel that ran the template knew its decisions, also those a template registers in its own
package), else the word's tone in :data:`playbook.analyses.base.TONES`.
Times, durations, sizes and parameter values have one ``show_*`` function each; error text is
cleaned of ANSI colours and machine paths by :func:`clean_error_text`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from playbook.publish.metric_text import format_metric
from playbook.redact import strip_machine_paths

KEY_METRICS = 4
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def decision_class(decision: Any, recorded: Any = None) -> str:
    """The badge class of a decision: its tone (good, bad, neutral, invalid), as ``recorded``
    in the outcome when that is a tone, else from the one table of decisions
    (:data:`playbook.analyses.base.TONES`)."""
    from playbook.analyses.base import Tone, tone

    if isinstance(recorded, str) and recorded in set(Tone):
        return recorded
    return str(tone(decision))


def show_time(moment: datetime | None, fallback: str) -> str:
    """A moment in UTC to the minute, or ``fallback`` when there is none."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else fallback


def show_duration(seconds: Any) -> str:
    """Seconds below two minutes, minutes above; empty when there is no number."""
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return ""
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


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
    "clean_error_text",
    "decision_class",
    "format_metric",
    "show_duration",
    "show_size",
    "show_time",
    "show_value",
]
