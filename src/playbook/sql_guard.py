"""The check a spec's ``sql:`` source passes before it runs: exactly one read-only SELECT.

A SQL source is text from a spec, so it is checked by parsing, never by wrapping it in more
SQL (closing a parenthesis used to smuggle further statements through). Two parsers look at it:

1. DuckDB's own parser (``duckdb.extract_statements``) must find exactly one statement, of type
   SELECT: what DuckDB will run is what was checked, whatever the quoting or comments.
2. SQLGlot (duckdb dialect) walks the tree: the root is a SELECT or a set operation of SELECTs
   (UNION, INTERSECT, EXCEPT, with or without WITH), with no INTO or locking clause; every table
   it reads is a plain name (a table or view of the source database, or a CTE) and the only table
   functions are :data:`ALLOWED_TABLE_FUNCTIONS` (an allow-list: read_csv, read_parquet, glob,
   read_text, query and every other function that reaches files, URLs or other SQL are refused).

Both only decide what may run; the query then runs on a connection that cannot write or reach
files anyway (:func:`playbook.sources.open_source_database`).

:func:`credential_hint` spots a password, token or ``user:pass@`` URL written in a spec, so that
the spec can be refused before anything records it.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from playbook.errors import DataError

#: Table functions a SQL source may call: they make rows from their arguments, not from files.
ALLOWED_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})

_ROOTS = (exp.Select, exp.Union, exp.Intersect, exp.Except)
_REFUSED_NODES: dict[type[exp.Expression], str] = {
    exp.Into: "SELECT ... INTO",
    exp.Lock: "a locking clause (FOR UPDATE/SHARE)",
}
_PATH_LIKE = re.compile(r"[/\\:*?]|\.(csv|tsv|parquet|json|ndjson|jsonl|txt|gz|zst|duckdb|db|sqlite)$", re.I)


def _function_name(node: Any) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return type(node).__name__.lower()  # pragma: no cover - only functions reach here


def _one_select(sql: str, key: str, fix: str) -> exp.Expression:
    """The parsed tree of ``sql``, which DuckDB and sqlglot both read as exactly one SELECT."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{key}: not valid SQL ({first}); {fix}") from None
    if len(statements) != 1:
        raise DataError(f"{key}: holds {len(statements)} statements; {fix}")
    kind = statements[0].type.name
    if kind != "SELECT":
        raise DataError(f"{key}: is a statement of type {kind}; {fix} (nothing that writes, attaches or sets)")

    try:
        trees = [t for t in sqlglot.parse(sql, dialect="duckdb") if t is not None]
    except SqlglotError as exc:
        first = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).splitlines()[0]
        raise DataError(f"{key}: not valid SQL ({first}); {fix}") from None
    if len(trees) != 1:  # pragma: no cover - DuckDB's parser counted one already
        raise DataError(f"{key}: holds {len(trees)} statements; {fix}")
    tree = trees[0]
    while isinstance(tree, exp.Subquery | exp.Paren) and isinstance(tree.this, exp.Expression):
        tree = tree.this
    if not isinstance(tree, _ROOTS):
        raise DataError(f"{key}: is a statement of type {tree.key.upper()}, not a SELECT; {fix}")
    return tree


def check_select(sql: str, key: str, tables: Collection[str] | None = None) -> None:
    """Raise a :class:`DataError` starting with ``key`` unless ``sql`` is one read-only SELECT.

    ``tables`` are the (lower-case) table and view names of the source database, qualified or
    not (``tickets``, ``main.tickets``, ``crm.main.tickets``); when given, every table the query
    reads must be one of them or a CTE of the query.
    """
    fix = "a SQL source is exactly one SELECT over the tables of its database"
    tree = _one_select(sql, key, fix)
    ctes = {str(c.alias_or_name).lower() for c in tree.find_all(exp.CTE)}
    for node in tree.walk():
        for kind_, what in _REFUSED_NODES.items():
            if isinstance(node, kind_):
                raise DataError(f"{key}: {what} is not allowed; {fix}")
        if isinstance(node, exp.Table):
            _check_table(node, key, fix, ctes, tables)
        elif isinstance(node, exp.Func) and not isinstance(node, exp.Unnest):
            name = _function_name(node)
            if name in _table_functions() and name not in ALLOWED_TABLE_FUNCTIONS:
                raise DataError(
                    f"{key}: calls {name}(), which reads files, other databases or other SQL; "
                    f"{fix} (table functions allowed: {', '.join(sorted(ALLOWED_TABLE_FUNCTIONS))})"
                )


def _check_table(node: exp.Table, key: str, fix: str, ctes: set[str],
                 tables: Collection[str] | None) -> None:
    target = node.this
    if isinstance(target, exp.Func):
        name = _function_name(target)
        if name not in ALLOWED_TABLE_FUNCTIONS:
            raise DataError(
                f"{key}: reads from {name}(); {fix} (table functions allowed: "
                f"{', '.join(sorted(ALLOWED_TABLE_FUNCTIONS))})"
            )
        return
    if not isinstance(target, exp.Identifier):
        raise DataError(f"{key}: reads from {node.sql(dialect='duckdb')!r}, not a table name; {fix}")
    name = str(target.name)
    parts = [str(p).lower() for p in (node.catalog, node.db) if p] + [name.lower()]
    qualified = ".".join(parts)
    if _PATH_LIKE.search(name):
        raise DataError(f"{key}: reads the file or URL {name!r}; {fix}, never a file")
    if len(parts) == 1 and parts[0] in ctes:
        return
    if tables is not None and qualified not in tables:
        known = sorted({t.rsplit(".", 1)[-1] for t in tables})
        raise DataError(
            f"{key}: table {qualified!r} is not in the database (it has {', '.join(known) or 'no tables'}); "
            "fix the name, or export the table into that DuckDB file"
        )


_TABLE_FUNCTIONS: frozenset[str] | None = None


def _table_functions() -> frozenset[str]:
    """Names of DuckDB's table functions (asked of DuckDB once per process), plus the scan
    functions of extensions that are not loaded here."""
    global _TABLE_FUNCTIONS
    if _TABLE_FUNCTIONS is None:
        con = duckdb.connect(config={"autoload_known_extensions": False,
                                     "autoinstall_known_extensions": False})
        try:
            rows = con.execute(
                "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type = 'table'"
            ).fetchall()
        finally:
            con.close()
        extra = {"sqlite_scan", "sqlite_attach", "postgres_scan", "postgres_query", "mysql_query",
                 "iceberg_scan", "delta_scan", "read_xlsx", "st_read", "read_json_objects"}
        _TABLE_FUNCTIONS = frozenset({str(r[0]).lower() for r in rows} | extra)
    return _TABLE_FUNCTIONS


# ------------------------------------------------------------------------ credentials

_CREDENTIALS = (
    (re.compile(r"\b(password|passwd|pwd)\s*[=:]\s*\S", re.I), "a password"),
    # key=value as in connection strings and URLs (a SQL comparison `token = x` is left alone)
    (re.compile(r"\b(secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|encryption[_-]?key)=\S", re.I),
     "a secret or token"),
    (re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]*@", re.I), "a user:password@ URL"),
    (re.compile(r"\bcreate\s+(persistent\s+|temporary\s+)?secret\b", re.I), "a CREATE SECRET"),
)


def credential_hint(text: str) -> str | None:
    """What kind of credential ``text`` seems to hold (``"a password"``...), or None.

    The hint never quotes the text: the caller's message must not repeat the secret.
    """
    for pattern, what in _CREDENTIALS:
        if pattern.search(text):
            return what
    return None
