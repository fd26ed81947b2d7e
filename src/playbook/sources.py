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

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from playbook.audience import SETTING as AUDIENCE
from playbook.audience import Audience
from playbook.duck import SANDBOX, connect, database_tables, open_source_database, to_arrow
from playbook.errors import DataError
from playbook.project import paths
from playbook.source import (
    CSV_ENCODINGS,
    ENV_NAME,
    SQL_NAME,
    Source,
    check_encoding,
    duck_reason,
    source_from_spec,
    utf8_problem,
)
from playbook.sql_guard import check_select
from playbook.zones import (
    DATA_SETTINGS,
    DEFAULT_TIMEZONE,
    check_currency,
    check_timezone,
    check_week_start,
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
        self.data_dir = paths().resolve(self.data_dir)
        given = dict(self.sources)
        zone = self.timezone or given.get("timezone") or DEFAULT_TIMEZONE
        self.timezone = check_timezone(str(zone))
        self._snapshot = given.get("snapshot")
        self._given = given
        self._sources = {k: source_from_spec(k, v) for k, v in given.items()
                         if k not in DATA_SETTINGS and k != AUDIENCE}
        self._audience = Audience.from_setting(given[AUDIENCE]) if given.get(AUDIENCE) else None
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
    def currency(self) -> str | None:
        """The currency of money columns: the spec's ``data.currency``, else the marker file's
        ``currency``, else ``None`` (amounts are shown as plain numbers)."""
        value = self._given.get("currency") or self.marker.get("currency")
        return check_currency(value, "currency") if value else None

    @property
    def week_start(self) -> int | None:
        """``data.week_start`` as 0 = Monday ... 6 = Sunday; ``None``: the report language's."""
        value = self._given.get("week_start")
        return check_week_start(value) if value else None

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
        base = table if self._audience is None else f"_all_{table}"
        if src.kind == "duckdb":
            if table not in self._loaded:
                self.con.register(base, self._run_sql_source(src))
                self._loaded.add(table)
        else:
            if table not in self._files:
                self._check_file(src)
            try:
                self.con.execute(f"CREATE OR REPLACE VIEW \"{base}\" AS SELECT * FROM {src.scan_sql()}")
            except duckdb.Error as exc:
                raise self._read_error(src, exc) from None
            self._files[table] = src
        if self._audience is not None:
            self._audience_view(table, base)
        return f'"{table}"'

    @property
    def audience(self) -> Audience | None:
        """The users this warehouse shows (:mod:`playbook.audience`); None: every user."""
        return self._audience

    def _audience_view(self, table: str, base: str) -> None:
        """``table`` as the audience sees it, over its full rows in ``base``."""
        from playbook.tags import TagStore

        assert self._audience is not None
        rows = self._execute(f'DESCRIBE SELECT * FROM "{base}"').fetchall()
        query = self._audience.view_sql(table, f'"{base}"', {r[0]: r[1] for r in rows}, TagStore())
        self.con.execute(f'CREATE OR REPLACE VIEW "{table}" AS {query}')

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
        reason = duck_reason(exc)
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
            return to_arrow(con.sql(str(src.sql)))
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


__all__ = ["CSV_ENCODINGS", "ENV_NAME", "SANDBOX", "SQL_NAME", "Source", "Warehouse", "check_encoding",
           "connect", "database_tables", "open_source_database", "source_from_spec",
           "utf8_problem"]
