"""Data sources: where a template's tables come from.

A template asks a :class:`Warehouse` for a table by name (``users``, ``orders``...). By default
each table is ``<data_dir>/<name>.parquet`` (or ``.csv``); a campaign spec's ``data`` section can
point any table elsewhere. Sources form a small registry keyed by kind, so adding a new kind of
source is one class, not another branch in every template:

    parquet / csv   a file read by DuckDB (scanned lazily, never loaded whole unless asked)
    duckdb          a query against a DuckDB database file: ``{sql: ..., connection: file.duckdb}``

All heavy lifting goes through DuckDB, so a template can aggregate tens of millions of rows with
SQL (``Warehouse.sql``) and pull only the small result into pandas.

**Time zones: one rule for every source.** Naive timestamps (no offset) are wall-clock times in
the warehouse's zone, UTC unless the spec's data section names another (``data: {timezone:
Europe/Berlin}``); timestamps that carry a zone or an offset are converted to it. Every DuckDB
session of a :class:`Warehouse` is pinned to that zone (``SET TimeZone``), so the host's own
zone (``TZ``) never changes a result: without the pin, DuckDB compares naive with zoned values
in the host's zone. A CSV column that mixes both forms is read by the same rule, and
``data_quality`` flags it (rule ``zones``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from playbook.errors import DataError
from playbook.zones import DATA_SETTINGS, DEFAULT_TIMEZONE, check_timezone

SQL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Source:
    """One named table: a file path or a SQL query against a connection."""

    name: str
    kind: str  # "parquet" | "csv" | "duckdb"
    path: Path | None = None
    sql: str | None = None
    connection: str | None = None

    def scan_sql(self) -> str:
        """A DuckDB SQL expression that yields the table's rows."""
        if self.kind == "parquet":
            return f"read_parquet({_quote(self.path)})"
        if self.kind == "csv":
            return f"read_csv_auto({_quote(self.path)})"
        if self.kind == "duckdb":
            return f"({self.sql})"
        raise DataError(f"source '{self.name}': unknown kind '{self.kind}'")  # pragma: no cover

    @property
    def location(self) -> str:
        return str(self.path) if self.path is not None else f"{self.connection}: {self.sql}"


def _quote(path: Path | None) -> str:
    return "'" + str(path).replace("'", "''") + "'"


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
    """Build a :class:`Source` from a spec's ``data`` entry (a path, or ``{path}``/``{sql, connection}``)."""
    if isinstance(value, Mapping):
        if "sql" in value:
            conn = value.get("connection")
            if not conn:
                raise DataError(f"data.{name}: a SQL source needs 'connection' (a DuckDB file)")
            conn_path = Path(str(conn))
            if base is not None and not conn_path.is_absolute():
                conn_path = base / conn_path
            return Source(name, "duckdb", sql=str(value["sql"]), connection=str(conn_path))
        value = str(value.get("path", ""))
    path = Path(value)
    if base is not None and not path.is_absolute():
        path = base / path
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return Source(name, "parquet", path=path)
    if suffix in (".csv", ".tsv"):
        return Source(name, "csv", path=path)
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
            self._con = duckdb.connect()
            self._con.execute(f"SET TimeZone = '{self.timezone}'")  # checked name: no quoting needed
        return self._con

    def view(self, table: str) -> str:
        """Register ``table`` as a DuckDB view and return its (quoted) name, for use in SQL."""
        if not SQL_NAME.match(table):
            raise DataError(f"table name '{table}' is not a plain identifier")
        src = self.source(table)
        if src.kind == "duckdb":
            db = _quote(Path(str(src.connection)))
            self.con.execute(f"ATTACH IF NOT EXISTS {db} AS src_{table} (READ_ONLY)")
            self.con.execute(f"USE src_{table}")
            self.con.execute(f'CREATE OR REPLACE TEMP VIEW "{table}" AS SELECT * FROM ({src.sql})')
            self.con.execute("USE memory")
        else:
            self.con.execute(f"CREATE OR REPLACE VIEW \"{table}\" AS SELECT * FROM {src.scan_sql()}")
        return f'"{table}"'

    def columns(self, table: str) -> dict[str, str]:
        """Column name → DuckDB type of ``table``."""
        name = self.view(table)
        rows = self.con.execute(f"DESCRIBE SELECT * FROM {name}").fetchall()
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
        """Run ``query`` with DuckDB and return a DataFrame. Call :meth:`view` for each table first."""
        return self.con.execute(query, params or []).df()

    def df(self, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        """The whole table (or ``columns``) as a pandas DataFrame. For small tables only."""
        name = self.view(table)
        if columns:
            self.require(table, columns)
        cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        return self.con.execute(f"SELECT {cols} FROM {name}").df()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
