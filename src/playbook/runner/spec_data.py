"""A spec's ``data`` section: what it may read (inside the project or a declared data root),
SQL sources checked against their database, no credentials, encodings (:func:`check_data`).
The rules are in :mod:`playbook.runner.spec`'s docstring."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from playbook.errors import DataError
from playbook.runner.spec_models import DATA_ROOTS_ENV, EnvConnection, PathSource, Spec, SqlSource
from playbook.zones import (
    WEEKDAYS,
    check_currency,
    check_snapshot,
    check_timezone,
    check_week_start,
)


def data_roots(root: Path) -> list[Path]:
    """Folders a spec may read: the project root and those listed in ``PLAYBOOK_DATA_ROOTS``."""
    roots = [root.resolve()]
    for part in os.environ.get(DATA_ROOTS_ENV, "").split(os.pathsep):
        if part.strip():
            roots.append(Path(part.strip()).expanduser().resolve())
    return roots


def _outside(given: str, file: Path, roots: list[Path]) -> str | None:
    """Why ``file`` may not be read, or None when it resolves inside one of ``roots``."""
    resolved = file.resolve()
    if any(resolved.is_relative_to(r) for r in roots):
        return None
    return (
        f"'{given}' is outside the project (after following '..' and symlinks); a spec reads "
        f"files inside the project or under a folder listed in {DATA_ROOTS_ENV}: move the data "
        f"there or add its folder to {DATA_ROOTS_ENV}"
    )


def _credential_problem(key: str, text: str) -> str | None:
    from playbook.sql_guard import credential_hint

    what = credential_hint(text)
    if what is None:
        return None
    return (
        f"{key}: looks like it holds {what}; never write credentials in a spec (run records and "
        "the archive would publish them): put the connection in an environment variable and "
        "write connection: {env: NAME}"
    )


def _sql_connection(key: str, value: SqlSource, root: Path, roots: list[Path],
                    problems: list[str]) -> tuple[Path, str, str | dict[str, str], str] | None:
    """(database file, its label in messages, the connection as recorded, the secret to redact)."""
    if isinstance(value.connection, EnvConnection):
        env = value.connection.env
        secret = os.environ.get(env, "")
        if not secret:
            problems.append(
                f"{key}.connection: environment variable {env} is not set; export it with the "
                "path of the DuckDB file before running"
            )
            return None
        return Path(secret).expanduser(), f"${env}", {"env": env}, secret
    db = root / value.connection
    why = _outside(value.connection, db, roots)
    if why:
        problems.append(f"{key}.connection: {why}")
        return None
    return db, f"'{value.connection}'", str(db), ""


def _check_sql_source(name: str, value: SqlSource, root: Path, roots: list[Path],
                      problems: list[str]) -> dict[str, Any] | None:
    """Check one ``sql:`` entry: credentials, its connection, its query against the tables."""
    import duckdb

    from playbook.sources import database_tables, open_source_database
    from playbook.sql_guard import check_select

    key = f"data.{name}"
    texts = [(f"{key}.sql", value.sql)]
    if isinstance(value.connection, str):
        texts.append((f"{key}.connection", value.connection))
    found = [p for p in (_credential_problem(k, t) for k, t in texts) if p]
    if found:
        problems.extend(found)
        return None
    try:
        check_select(value.sql, f"{key}.sql")
    except DataError as exc:
        problems.append(str(exc))
        return None
    conn = _sql_connection(key, value, root, roots, problems)
    if conn is None:
        return None
    db, label, connection, secret = conn

    def redact(text: str) -> str:
        return text.replace(secret, label) if secret else text

    if not db.is_file():
        problems.append(f"{key}.connection: database file {label} not found")
        return None
    try:
        con = open_source_database(db)
    except duckdb.Error as exc:
        problems.append(redact(f"{key}.connection: cannot open {label} read-only: {exc}"))
        return None
    try:
        check_select(value.sql, f"{key}.sql", database_tables(con))
    except DataError as exc:
        problems.append(redact(str(exc)))
        return None
    finally:
        con.close()
    return {"sql": value.sql, "connection": connection}


def _check_warehouse(value: Any, root: Path, roots: list[Path], problems: list[str]) -> None:
    """``data.warehouse``: a folder inside the roots whose tables are too."""
    if not isinstance(value, str):
        problems.append("data.warehouse: give a folder path holding <table>.parquet files")
        return
    folder = root / value
    why = _outside(value, folder, roots)
    if why:
        problems.append(f"data.warehouse: {why}")
    elif not folder.is_dir():
        problems.append(f"data.warehouse: folder '{value}' not found")
    else:
        for file in sorted(folder.iterdir()):
            if file.suffix.lower() in (".parquet", ".csv") and _outside(file.name, file, roots):
                problems.append(f"data.warehouse: {_outside(f'{value}/{file.name}', file, roots)}")


def _check_file(name: str, value: str | PathSource, root: Path, roots: list[Path],
                problems: list[str]) -> str | dict[str, str] | None:
    """One table from a file: its source entry (None when it names a credential)."""
    rel = value if isinstance(value, str) else value.path
    bad = _credential_problem(f"data.{name}", rel)
    if bad:
        problems.append(bad)
        return None
    file = root / rel
    if file.suffix.lower() not in (".parquet", ".pq", ".csv", ".tsv"):
        problems.append(f"data.{name}: '{rel}' is neither a .parquet nor a .csv file")
    elif _outside(rel, file, roots):
        problems.append(f"data.{name}: {_outside(rel, file, roots)}")
    elif not file.exists():
        problems.append(f"data.{name}: file '{rel}' not found; fix the path or export the table there")
    encoding = value.encoding if isinstance(value, PathSource) else None
    return str(file) if encoding is None else _with_encoding(name, file, encoding, problems)


#: The settings of the data section (not tables), each checked by its function.
def _week_start(value: object) -> str:
    return WEEKDAYS[check_week_start(value)]


def _timezone(value: object) -> str:
    return check_timezone(value if isinstance(value, str) else "")


_SETTINGS: dict[str, Callable[[Any], str]] = {
    "snapshot": check_snapshot,
    "timezone": _timezone,
    "currency": check_currency,
    "week_start": _week_start,
}


def check_data(spec: Spec, root: Path) -> tuple[dict[str, Any], list[str]]:
    """The sources of a spec's ``data`` section and the problems found (without the file)."""
    roots = data_roots(root)
    problems: list[str] = []
    sources: dict[str, Any] = {}
    for name, value in spec.data.items():
        if name == "warehouse":
            _check_warehouse(value, root, roots, problems)
        elif name in _SETTINGS:
            try:
                sources[name] = _SETTINGS[name](value)
            except DataError as exc:
                problems.append(str(exc))
        elif isinstance(value, datetime):
            problems.append(f"data.{name}: a time is not a table; give a file path "
                            "(only data.snapshot takes a time)")
        else:
            checked = (_check_sql_source(name, value, root, roots, problems) if isinstance(value, SqlSource)
                       else _check_file(name, value, root, roots, problems))
            if checked is not None:
                sources[name] = checked
    return sources, problems


def _with_encoding(name: str, file: Path, encoding: str, problems: list[str]) -> dict[str, str]:
    """The source entry of a CSV with a declared encoding (its name checked)."""
    from playbook.sources import check_encoding

    if file.suffix.lower() not in (".csv", ".tsv"):
        problems.append(f"data.{name}.encoding: only a CSV file takes an encoding (Parquet "
                        "records its own); remove the key")
        return {"path": str(file)}
    try:
        return {"path": str(file), "encoding": check_encoding(encoding, f"data.{name}.encoding")}
    except DataError as exc:
        problems.append(str(exc))
        return {"path": str(file)}
