"""Data sources: where a template's tables come from.

A template asks a :class:`Warehouse` for a table by name (``users``, ``orders``...). By default
each table is ``<data_dir>/<name>.parquet`` (or ``.csv``); a campaign spec's ``data`` section can
point any table elsewhere. Sources form a small registry keyed by kind, so adding a new kind of
source is one class, not another branch in every template:

    parquet / csv   a file read by DuckDB (scanned lazily, never loaded whole unless asked)
    duckdb          a query against a DuckDB database file: ``{sql: ..., connection: file.duckdb}``
                    or ``{sql: ..., connection: {env: CRM_DB}}`` (the variable holds the file's path)

All heavy lifting goes through DuckDB, so a template can aggregate tens of millions of rows with
SQL (``Warehouse.sql``) and pull only the small result into pandas.

**Time zones: one rule for every source.** Naive timestamps (no offset) are wall-clock times in
the warehouse's zone, UTC unless the spec's data section names another (``data: {timezone:
Europe/Berlin}``); timestamps that carry a zone or an offset are converted to it. Every DuckDB
session of a :class:`Warehouse` is pinned to that zone (``SET TimeZone``), so the host's own
zone (``TZ``) never changes a result: without the pin, DuckDB compares naive with zoned values
in the host's zone. A CSV column that mixes both forms is read by the same rule, and
``data_quality`` flags it (rule ``zones``).

A SQL source is text from a spec, so it gets two walls. :func:`playbook.sql_guard.check_select`
lets through exactly one SELECT over the database's own tables (no other statement, no table
function that reads files). The query then runs on its own connection,
:func:`open_source_database`: the file opened read-only, ``enable_external_access = false`` (no
file, URL, extension or other database), no spill directory, configuration locked. Its result
is materialised as an Arrow table and registered in the Warehouse's connection under the
source's name, so ``select * from tickets`` inside ``crm.duckdb`` fills the table ``tickets``.
A SQL source's result is therefore held in memory (about the size of its columns: 1M rows of
four numeric columns is ~32 MB); aggregate in the query when the table is large.

A connection named by an environment variable (``{env: CRM_DB}``) is read in this process; the
variable's value is never put in a message: errors say ``$CRM_DB`` instead.

**Encodings and unreadable files.** A CSV is UTF-8 unless its entry names another encoding
(``orders: {path: exports/orders.csv, encoding: latin-1}``); DuckDB's reader handles
:data:`CSV_ENCODINGS` itself (utf-8, utf-16, latin-1; its ``encodings`` extension, which
would add more, is downloaded on demand and so is not used). The first read of a table
(:meth:`Warehouse.view`, and so ``columns``, ``df``, ``require``) checks that a UTF-8 CSV is
UTF-8 from its first byte to its last (DuckDB itself samples the first rows only; the check
streams the file once per process, about as fast as the disk) and that a Parquet file is
whole (DuckDB reads its footer). A file that fails is a :class:`DataError` naming the file,
the table, the ``data.<name>`` key when the spec named the file, and the fix; so is a DuckDB
read error that names one of the warehouse's files in :meth:`Warehouse.sql` or ``df``.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from playbook.errors import DataError
from playbook.sql_guard import check_select
from playbook.zones import DATA_SETTINGS, DEFAULT_TIMEZONE, check_timezone

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


#: Settings of a SQL source's connection: nothing outside the database file is reachable.
SANDBOX: dict[str, str | bool] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "temp_directory": "",
}


def connect(database: str = ":memory:", *, read_only: bool = False, sandboxed: bool = False,
            timezone: str = DEFAULT_TIMEZONE) -> duckdb.DuckDBPyConnection:
    """Every DuckDB connection of the package is made here (session settings go in one place).

    The session's zone is pinned to ``timezone`` (module docstring: the time-zone rule; the
    name is checked, so it needs no quoting). ``sandboxed`` connections get :data:`SANDBOX`
    and then a locked configuration, so that no statement can switch file access back on.
    """
    con = duckdb.connect(database, read_only=read_only, config=dict(SANDBOX) if sandboxed else {})
    con.execute(f"SET TimeZone = '{check_timezone(timezone)}'")
    if sandboxed:
        con.execute("SET lock_configuration = true")  # last: nothing can be SET after this
    return con


def open_source_database(path: str | Path,
                         timezone: str = DEFAULT_TIMEZONE) -> duckdb.DuckDBPyConnection:
    """The connection a SQL source runs on: ``path`` read-only, sandboxed and locked."""
    return connect(str(path), read_only=True, sandboxed=True, timezone=timezone)


def database_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Table and view names of ``con``'s database, bare and qualified, lower-case."""
    rows = con.execute(
        "SELECT database_name, schema_name, table_name FROM duckdb_tables() WHERE NOT internal "
        "UNION ALL SELECT database_name, schema_name, view_name FROM duckdb_views() WHERE NOT internal"
    ).fetchall()
    names: set[str] = set()
    for db, schema, name in rows:
        db, schema, name = str(db).lower(), str(schema).lower(), str(name).lower()
        names |= {f"{db}.{schema}.{name}", f"{schema}.{name}", f"{db}.{name}"}
        if schema == "main":
            names.add(name)
    return names


def _to_arrow(rel: duckdb.DuckDBPyRelation) -> Any:
    """A relation's rows as an Arrow table (``to_arrow_table`` in DuckDB 1.4+, ``arrow`` before)."""
    return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()


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
            return f"read_parquet({_quote(self.path)})"
        if self.kind == "csv":
            enc = f", encoding = '{self.encoding}'" if self.encoding else ""  # checked name
            return f"read_csv_auto({_quote(self.path)}{enc})"
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


def _quote(path: Path | None) -> str:
    return "'" + str(path).replace("'", "''") + "'"


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


def _duck_reason(exc: Exception) -> str:
    """The first line of a DuckDB error, without its kind ("Invalid Input Error: ")."""
    text = str(exc).strip().split("\n\nLINE ")[0]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    first = re.sub(r"^[A-Za-z ]*Error: ", "", lines[0]) if lines else type(exc).__name__
    if first.startswith("CSV Error on Line") and len(lines) > 1:  # the reason is further down
        reason = next((ln for ln in lines[1:] if not ln.startswith("Original Line")), "")
        first = f"{first.removeprefix('CSV Error on ').lower()}: {reason}"
    return first


def find_upwards(path: Path, levels: int = 2) -> Path:
    """A relative path that is missing here may be relative to the project root: a notebook
    opened in JupyterLab runs in notebooks/, one level below it. Look up to ``levels`` up."""
    if path.is_absolute() or path.exists():
        return path
    for parent in list(Path.cwd().parents)[:levels]:
        if (parent / path).exists():
            return parent / path
    return path


def source_from_spec(name: str, value: str | Mapping[str, Any], base: Path | None = None) -> Source:
    """Build a :class:`Source` from a spec's ``data`` entry (a path, ``{path}``, ``{path,
    encoding}`` or ``{sql, connection}``, the connection a path or ``{env: NAME}``); SQL and
    the encoding are checked here."""
    encoding: str | None = None
    if isinstance(value, Mapping):
        if "sql" in value:
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


@dataclass
class Warehouse:
    """The tables a template reads: ``data_dir`` holds ``<table>.parquet``; ``sources`` override.

    ``sources`` maps a table name to a path or to ``{"sql": ..., "connection": ...}``, as a
    campaign spec's ``data`` section does; its ``timezone`` key (a setting, not a table) is the
    zone of naive timestamps (module docstring), UTC when absent. ``timezone=`` overrides it.
    """

    data_dir: str | Path = "data/sample"
    sources: Mapping[str, Any] = field(default_factory=dict)
    timezone: str | None = None

    #: The marker file of a warehouse folder: ``{"as_of": "<snapshot time>"}`` (``playbook
    #: demo-data`` writes it with more about the sample warehouse).
    MARKER = "_warehouse.json"

    def __post_init__(self) -> None:
        self.data_dir = find_upwards(Path(self.data_dir))
        given = dict(self.sources)
        zone = self.timezone or given.get("timezone") or DEFAULT_TIMEZONE
        self.timezone = check_timezone(str(zone))
        self._snapshot = given.get("snapshot")
        self._sources = {k: source_from_spec(k, v) for k, v in given.items() if k not in DATA_SETTINGS}
        self._con: duckdb.DuckDBPyConnection | None = None
        self._loaded: set[str] = set()  # SQL sources already materialised into the connection
        self._files: dict[str, Source] = {}  # file sources whose view exists, checked once

    @property
    def marker(self) -> dict[str, Any]:
        """The folder's marker file (:attr:`MARKER`) as a dict; empty when absent."""
        import json

        path = Path(self.data_dir) / self.MARKER
        if not path.is_file():
            return {}
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise DataError(f"{path}: not valid JSON ({exc}); write e.g. "
                            '{"as_of": "2026-11-24T06:00:00Z"} or remove the file') from exc
        return meta if isinstance(meta, dict) else {}

    @property
    def snapshot(self) -> str | None:
        """When the data was taken: the spec's ``data.snapshot``, else the marker file's
        ``as_of``, else ``None`` (unknown: freshness cannot be judged)."""
        if self._snapshot:
            return str(self._snapshot)
        as_of = self.marker.get("as_of")
        return str(as_of) if as_of else None

    @property
    def is_sample(self) -> bool:
        """True for a folder written by ``playbook demo-data`` (its marker says so)."""
        return "generator_version" in self.marker

    # -- discovery ---------------------------------------------------------------------------
    def source(self, table: str) -> Source:
        """The source of ``table``; a :class:`DataError` naming the file and the fix if absent."""
        if table in self._sources:
            src = self._sources[table]
        else:
            data_dir = Path(self.data_dir)
            for suffix, kind in ((".parquet", "parquet"), (".csv", "csv")):
                candidate = data_dir / f"{table}{suffix}"
                if candidate.exists():
                    return Source(table, kind, path=candidate)
            raise DataError(
                f"{data_dir / (table + '.parquet')}: table '{table}' not found; "
                "run `playbook demo-data` to create the sample warehouse, or point "
                f"data.{table} in the spec at your own file"
            )
        if src.path is not None and not src.path.exists():
            raise DataError(f"{src.path}: file for table '{table}' does not exist (data.{table})")
        return src

    def tables(self) -> list[str]:
        """Every table available: files in ``data_dir`` plus explicit sources, sorted."""
        names = set(self._sources)
        data_dir = Path(self.data_dir)
        if data_dir.is_dir():
            names |= {p.stem for p in data_dir.iterdir() if p.suffix in (".parquet", ".csv")}
        return sorted(names)

    # -- access --------------------------------------------------------------------------------
    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection of this warehouse, with a view per table once referenced."""
        if self._con is None:
            self._con = connect(timezone=self.timezone or DEFAULT_TIMEZONE)
        return self._con

    def view(self, table: str) -> str:
        """Register ``table`` as a DuckDB view and return its (quoted) name, for use in SQL."""
        if not SQL_NAME.match(table):
            raise DataError(f"table name '{table}' is not a plain identifier")
        src = self.source(table)
        if src.kind == "duckdb":
            if table not in self._loaded:
                self.con.register(table, self._run_sql_source(src))
                self._loaded.add(table)
        else:
            if table not in self._files:
                self._check_file(src)
            try:
                self.con.execute(f"CREATE OR REPLACE VIEW \"{table}\" AS SELECT * FROM {src.scan_sql()}")
            except duckdb.Error as exc:
                raise self._read_error(src, exc) from None
            self._files[table] = src
        return f'"{table}"'

    # -- files that cannot be read ---------------------------------------------------------
    def _where(self, src: Source) -> str:
        key = f" (data.{src.name})" if src.name in self._sources else ""
        return f"{src.path}: table '{src.name}'{key}"

    def _check_file(self, src: Source) -> None:
        """Before the first read of a UTF-8 CSV: every byte of it is UTF-8 (module docstring)."""
        if src.kind != "csv" or src.encoding not in (None, "utf-8") or src.path is None:
            return
        try:
            bad = utf8_problem(src.path)
        except OSError as exc:
            raise DataError(f"{self._where(src)}: cannot read the file ({exc.strerror})") from None
        if bad is None:
            return
        line, byte = bad
        with src.path.open("rb") as fh:
            head = fh.read(2)
        if head in (b"\xff\xfe", b"\xfe\xff"):
            what, encoding = "it starts with a UTF-16 byte-order mark", "utf-16"
        else:
            what, encoding = f"byte 0x{byte:02x} on line {line} is not UTF-8", "latin-1"
        raise DataError(
            f"{self._where(src)}: not UTF-8 text ({what}); name the file's encoding in the "
            f"spec's data section: {src.name}: {{path: {src.path}, encoding: {encoding}}} (the "
            "CSV reader takes utf-8, utf-16 and latin-1; convert any other encoding to UTF-8 "
            "first, e.g. `iconv -f cp1252 -t utf-8`)"
        )

    def _read_error(self, src: Source, exc: Exception) -> DataError:
        """A DuckDB error reading ``src``'s file, as a :class:`DataError` that says what to do."""
        reason = _duck_reason(exc)
        if src.kind == "parquet":
            return DataError(
                f"{self._where(src)}: not a whole Parquet file ({reason}); it was cut short or "
                "damaged (an interrupted copy or export?) or is not Parquet: copy or export it again"
            )
        if "unicode" in reason.lower() or "encoded" in str(exc):
            enc = src.encoding or "utf-8"
            return DataError(
                f"{self._where(src)}: cannot be read as {enc} text ({reason}); name the file's "
                f"encoding in the spec's data section: {src.name}: {{path: {src.path}, encoding: "
                "...} (utf-8, utf-16 or latin-1)"
            )
        return DataError(f"{self._where(src)}: cannot be read as CSV ({reason}); fix the file "
                         "or export it again")

    def _blame(self, exc: duckdb.Error) -> DataError | None:
        """The :class:`DataError` for ``exc`` if it is about one of this warehouse's files."""
        text = str(exc)
        for src in self._files.values():
            if src.path is not None and (f"'{src.path}'" in text or f'"{src.path}"' in text
                                         or f"file = {src.path}\n" in text):
                return self._read_error(src, exc)
        return None

    def _run_sql_source(self, src: Source) -> Any:
        """Run a SQL source on its own sandboxed connection; its rows as an Arrow table."""
        key = f"data.{src.name}"
        path = src.database()
        if not path.is_file():
            raise DataError(src.redact(f"{key}.connection: database file '{path}' not found"))
        try:
            con = open_source_database(path, self.timezone or DEFAULT_TIMEZONE)
        except duckdb.Error as exc:
            raise DataError(src.redact(f"{key}.connection: cannot open '{path}' read-only: {exc}")) from None
        try:
            check_select(str(src.sql), f"{key}.sql", database_tables(con))
            return _to_arrow(con.sql(str(src.sql)))
        except duckdb.Error as exc:
            raise DataError(src.redact(f"{key}.sql: {exc}")) from None
        finally:
            con.close()

    def columns(self, table: str) -> dict[str, str]:
        """Column name → DuckDB type of ``table``."""
        name = self.view(table)
        rows = self._execute(f"DESCRIBE SELECT * FROM {name}").fetchall()
        return {r[0]: r[1] for r in rows}

    def require(self, table: str, columns: list[str]) -> None:
        """Raise a :class:`DataError` naming the file and the column if any column is missing."""
        have = self.columns(table)
        missing = [c for c in columns if c not in have]
        if missing:
            src = self.source(table)
            raise DataError(
                f"{src.location}: table '{table}' has no column {', '.join(repr(c) for c in missing)} "
                f"(it has {', '.join(have)}); rename the column or pass the mapping as a parameter"
            )

    def sql(self, query: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run ``query`` with DuckDB and return a DataFrame. Call :meth:`view` for each table first.

        A read error in one of the warehouse's files is a :class:`DataError` naming it."""
        try:
            return self.con.execute(query, params or []).df()
        except duckdb.Error as exc:
            err = self._blame(exc)
            if err is None:
                raise
            raise err from None

    def _execute(self, query: str) -> duckdb.DuckDBPyConnection:
        try:
            return self.con.execute(query)
        except duckdb.Error as exc:
            err = self._blame(exc)
            if err is None:
                raise
            raise err from None

    def df(self, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        """The whole table (or ``columns``) as a pandas DataFrame. For small tables only."""
        name = self.view(table)
        if columns:
            self.require(table, columns)
        cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        return self.sql(f"SELECT {cols} FROM {name}")

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
            self._loaded.clear()
            self._files.clear()
