"""Quoting for the SQL the analyses build: identifiers, string literals and typed values (DuckDB syntax)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def quote_ident(name: str) -> str:
    """A quoted SQL identifier; an embedded double quote is doubled."""
    return '"' + name.replace('"', '""') + '"'


def quote_string(text: str) -> str:
    """A SQL string literal; an embedded single quote is doubled."""
    return "'" + text.replace("'", "''") + "'"


def quote_timestamp(moment: datetime) -> str:
    """A SQL TIMESTAMP literal of a naive datetime (``TIMESTAMP '2026-09-01 00:00:00'``)."""
    return "TIMESTAMP " + quote_string(moment.replace(tzinfo=None).isoformat(sep=" "))


def quote_value(value: Any) -> str:
    """A SQL literal of a Python value: TRUE/FALSE, a number as written, anything else a string."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return quote_string(str(value))
