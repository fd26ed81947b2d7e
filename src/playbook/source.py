"""One named table of a warehouse: a Parquet or CSV file, or a SQL query against a DuckDB file
(:class:`Source`, built from a spec's data entry by :func:`source_from_spec`), with the checks
of what DuckDB cannot read (CSV encodings, text that is not UTF-8)."""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playbook.errors import DataError
from playbook.sql import quote_string
from playbook.sql_guard import check_select

SQL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: Encodings DuckDB's CSV reader handles without an extension: the names accepted (lower case,
#: ``_`` read as ``-``) and DuckDB's name for each.
CSV_ENCODINGS: dict[str, str] = {
    "utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8",
    "utf-16": "utf-16", "utf16": "utf-16",
    "latin-1": "latin-1", "latin1": "latin-1", "iso-8859-1": "latin-1", "iso8859-1": "latin-1",
}


def check_encoding(value: Any, key: str) -> str:
    """DuckDB's name of the CSV encoding ``value``; a :class:`DataError` naming ``key`` if it
    is not one DuckDB reads without an extension (:data:`CSV_ENCODINGS`)."""
    name = str(value).strip().lower().replace("_", "-")
    if isinstance(value, str) and name in CSV_ENCODINGS:
        return CSV_ENCODINGS[name]
    raise DataError(
        f"{key}: encoding {value!r} is not one the CSV reader knows: use utf-8, utf-16 or "
        "latin-1; convert a file in any other encoding to UTF-8 first "
        "(e.g. `iconv -f cp1252 -t utf-8 orders.csv > orders-utf8.csv`)"
    )


@dataclass(frozen=True)
class Source:
    """One named table: a file path, or a SQL query against a DuckDB file (``connection``, or
    the path held by the environment variable ``env``)."""

    name: str
    kind: str  # "parquet" | "csv" | "duckdb"
    path: Path | None = None
    sql: str | None = None
    connection: str | None = None
    env: str | None = None
    encoding: str | None = None  # of a CSV file (DuckDB's name); None is UTF-8

    def scan_sql(self) -> str:
        """A DuckDB SQL expression that yields the table's rows."""
        if self.kind == "parquet":
            return f"read_parquet({quote_path(self.path)})"
        if self.kind == "csv":
            enc = f", encoding = '{self.encoding}'" if self.encoding else ""  # checked name
            return f"read_csv_auto({quote_path(self.path)}{enc})"
        if self.kind == "duckdb":  # registered under its name by Warehouse.view
            return f'"{self.name}"'
        raise DataError(f"source '{self.name}': unknown kind '{self.kind}'")  # pragma: no cover

    @property
    def location(self) -> str:
        """Where the table comes from, for messages (never an environment variable's value)."""
        if self.path is not None:
            return str(self.path)
        return f"{self.connection_label}: {self.sql}"

    @property
    def connection_label(self) -> str:
        return f"${self.env}" if self.env else str(self.connection)

    def database(self) -> Path:
        """The DuckDB file of a SQL source; a :class:`DataError` if its variable is unset."""
        if self.env:
            value = os.environ.get(self.env, "")
            if not value:
                raise DataError(
                    f"data.{self.name}.connection: environment variable {self.env} is not set; "
                    "export it with the path of the DuckDB file before running"
                )
            return Path(value).expanduser()
        return Path(str(self.connection))

    def redact(self, text: str) -> str:
        """``text`` with the environment variable's value replaced by ``$NAME``."""
        value = os.environ.get(self.env, "") if self.env else ""
        return text.replace(value, f"${self.env}") if value else text


def quote_path(path: Path | None) -> str:
    return quote_string(str(path))


_UTF8_CHECKED: dict[tuple[str, int, int], tuple[int, int] | None] = {}


def utf8_problem(path: Path) -> tuple[int, int] | None:
    """``(line, byte)`` of the first byte of ``path`` that is not UTF-8, or ``None`` when the
    whole file is UTF-8. Streams the file in 1 MiB chunks; memoised on path, size and mtime."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key in _UTF8_CHECKED:
        return _UTF8_CHECKED[key]
    decoder = codecs.getincrementaldecoder("utf-8")()
    done, lines, found = 0, 0, None  # bytes fed to the decoder, newlines in them
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            pending = decoder.getstate()[0]  # an incomplete character carried over
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                data = pending + chunk
                found = (lines - pending.count(b"\n") + data.count(b"\n", 0, exc.start) + 1,
                         data[exc.start])
                break
            done += len(chunk)
            lines += chunk.count(b"\n")
        else:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:  # the file ends inside a character
                found = (lines + 1, (decoder.getstate()[0] or b"\0")[0])
    _UTF8_CHECKED[key] = found
    return found


def duck_reason(exc: Exception) -> str:
    """The first line of a DuckDB error, without its kind ("Invalid Input Error: ")."""
    text = str(exc).strip().split("\n\nLINE ")[0]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    first = re.sub(r"^[A-Za-z ]*Error: ", "", lines[0]) if lines else type(exc).__name__
    if first.startswith("CSV Error on Line") and len(lines) > 1:  # the reason is further down
        reason = next((ln for ln in lines[1:] if not ln.startswith("Original Line")), "")
        first = f"{first.removeprefix('CSV Error on ').lower()}: {reason}"
    return first


def _sql_source(name: str, value: Mapping[str, Any], base: Path | None) -> Source:
    """A ``{sql, connection}`` entry, its SQL checked; the connection a path or ``{env: NAME}``."""
    sql = str(value["sql"])
    check_select(sql, f"data.{name}.sql")
    conn = value.get("connection")
    if isinstance(conn, Mapping):
        env = str(conn.get("env") or "")
        if not ENV_NAME.match(env) or set(conn) != {"env"}:
            raise DataError(f"data.{name}.connection: give {{env: NAME}}, NAME an environment variable")
        return Source(name, "duckdb", sql=sql, env=env)
    if not conn:
        raise DataError(f"data.{name}: a SQL source needs 'connection' (a DuckDB file)")
    conn_path = Path(str(conn))
    if base is not None and not conn_path.is_absolute():
        conn_path = base / conn_path
    return Source(name, "duckdb", sql=sql, connection=str(conn_path))


def source_from_spec(name: str, value: str | Mapping[str, Any], base: Path | None = None) -> Source:
    """Build a :class:`Source` from a spec's ``data`` entry (a path, ``{path}``, ``{path,
    encoding}`` or ``{sql, connection}``, the connection a path or ``{env: NAME}``); SQL and
    the encoding are checked here."""
    encoding: str | None = None
    if isinstance(value, Mapping):
        if "sql" in value:
            return _sql_source(name, value, base)
        if value.get("encoding") is not None:
            encoding = check_encoding(value["encoding"], f"data.{name}.encoding")
        value = str(value.get("path", ""))
    path = Path(value)
    if base is not None and not path.is_absolute():
        path = base / path
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        if encoding is not None:
            raise DataError(f"data.{name}.encoding: only a CSV file takes an encoding "
                            f"('{value}' is Parquet, which records its own); remove the key")
        return Source(name, "parquet", path=path)
    if suffix in (".csv", ".tsv"):
        return Source(name, "csv", path=path, encoding=encoding)
    raise DataError(
        f"data.{name}: '{value}' is neither a .parquet nor a .csv file; "
        "give a file path or {sql: ..., connection: file.duckdb}"
    )
