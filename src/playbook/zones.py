"""The time-zone rule shared by every source, spec check and data-quality check.

Naive timestamps (no offset) are wall-clock times in the warehouse's zone: UTC unless a spec's
data section names another (``data: {timezone: Europe/Berlin}``). Timestamps with a zone or
an offset are converted to it. This module holds only names and patterns (no pandas, no
DuckDB), so the spec check can use it without the cost of those imports.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache

from playbook.errors import DataError

DEFAULT_TIMEZONE = "UTC"
#: Keys of a spec's data section (and of the ``sources`` a template receives) that are
#: settings, not tables.
DATA_SETTINGS = ("timezone", "snapshot")

#: A timestamp's text ends with a zone: ``Z``, ``+02:00``, ``+0200``, ``-05`` (after a time).
OFFSET_SUFFIX = r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)$"


@cache
def _zones() -> frozenset[str]:
    from zoneinfo import available_timezones

    return frozenset(available_timezones())


def check_timezone(zone: str, where: str = "data.timezone") -> str:
    """``zone`` if it is an IANA time-zone name (``UTC``, ``Asia/Shanghai``); else a DataError
    whose message starts with ``where``."""
    if zone == DEFAULT_TIMEZONE or (zone and zone in _zones()):
        return zone
    raise DataError(f"{where}: '{zone}' is not an IANA time-zone name; use e.g. 'UTC', "
                    "'Europe/Berlin' or 'Asia/Shanghai'")


def parse_utc(text: str) -> datetime:
    """An ISO 8601 time of a run record as an aware UTC datetime; naive text is read as UTC
    (the runner writes UTC). ValueError when ``text`` is not ISO 8601."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def check_snapshot(value: object, where: str = "data.snapshot") -> str:
    """``value`` if it is an ISO 8601 date or time (the warehouse's snapshot time); else a
    DataError whose message starts with ``where``."""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DataError(f"{where}: {value!r} is not an ISO 8601 time; write the time the export "
                        "was taken, e.g. '2026-11-24T06:00:00Z'") from None
    return text


def has_offset(text: str) -> bool:
    """True when a timestamp's text carries its zone (``2026-01-01 10:00+02:00``)."""
    return re.search(OFFSET_SUFFIX, text.strip()) is not None
