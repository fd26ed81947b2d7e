"""The time-zone rule shared by every source, spec check and data-quality check.

Naive timestamps (no offset) are wall-clock times in the warehouse's zone: UTC unless a spec's
data section names another (``data: {timezone: Europe/Berlin}``). Timestamps with a zone or
an offset are converted to it. This module holds only names and patterns (no pandas, no
DuckDB), so the spec check can use it without the cost of those imports.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import cache

from playbook.errors import DataError, ParameterError

DEFAULT_TIMEZONE = "UTC"
#: Keys of a spec's data section (and of the ``sources`` a template receives) that are
#: settings, not tables.
DATA_SETTINGS = ("timezone", "snapshot", "currency", "week_start")
#: ``data.week_start``: the first day of a week in weekly groupings (default: the language's).
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

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


def parse_day(value: str | date | datetime | None, name: str, *,
              end: bool = False) -> datetime | None:
    """A date or time parameter (``start``, ``entry_end``, ...) as a naive datetime in the
    warehouse's zone; ``None`` or ``""`` stays None.

    ``value`` is an ISO date (``2026-09-01``) or datetime, as text or as a date/datetime (YAML
    reads an unquoted date as one); a zone or offset is dropped (the wall-clock time is kept).
    With ``end``, a date without a time includes its whole day (the bound moves to the next
    midnight), for an exclusive upper bound. A ParameterError names ``name`` otherwise.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day) + timedelta(days=1 if end else 0)
    if not isinstance(value, str):
        raise ParameterError(f"{name}={value!r} is not an ISO date (YYYY-MM-DD) or datetime; "
                             "write it as a quoted string, e.g. '2026-09-01'")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ParameterError(f"{name}={value!r} is not an ISO date (YYYY-MM-DD) or datetime, "
                             "e.g. '2026-09-01'") from None
    if end and len(value.strip()) <= 10:
        parsed += timedelta(days=1)
    return parsed.replace(tzinfo=None)


def check_currency(value: object, where: str = "data.currency") -> str:
    """``value`` as an ISO 4217 currency code (``CNY``, ``EUR``); else a DataError."""
    text = str(value or "").strip().upper()
    if re.fullmatch(r"[A-Z]{3}", text):
        from babel.numbers import get_currency_name

        if get_currency_name(text, locale="en") != text:
            return text
    raise DataError(f"{where}: {value!r} is not an ISO 4217 currency code; use e.g. 'CNY', "
                    "'EUR' or 'USD'")


def check_week_start(value: object, where: str = "data.week_start") -> int:
    """``value`` (a weekday's English name) as 0 = Monday ... 6 = Sunday; else a DataError."""
    text = str(value or "").strip().lower()
    if text in WEEKDAYS:
        return WEEKDAYS.index(text)
    raise DataError(f"{where}: {value!r} is not a weekday; use one of {', '.join(WEEKDAYS)}")


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
