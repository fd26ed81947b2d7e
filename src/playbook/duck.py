"""Every DuckDB connection of the package: one place for session settings (the time zone) and
for the sandbox a SQL source runs in (read-only, no file or network access, locked)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from playbook.zones import DEFAULT_TIMEZONE, check_timezone

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


def to_arrow(rel: duckdb.DuckDBPyRelation) -> Any:
    """A relation's rows as an Arrow table (``to_arrow_table`` in DuckDB 1.4+, ``arrow`` before)."""
    return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
