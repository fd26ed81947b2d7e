"""Quoting for the SQL the analyses build: identifiers and string literals (DuckDB syntax)."""

from __future__ import annotations


def quote_ident(name: str) -> str:
    """A quoted SQL identifier; an embedded double quote is doubled."""
    return '"' + name.replace('"', '""') + '"'


def quote_string(text: str) -> str:
    """A SQL string literal; an embedded single quote is doubled."""
    return "'" + text.replace("'", "''") + "'"
