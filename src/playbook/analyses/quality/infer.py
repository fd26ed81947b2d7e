"""Rules for a warehouse that has no rules file: what holds for any data, and a profile.

The packaged ``quality/rules.yaml`` describes the sample warehouse alone (its value sets, id
patterns, score ranges). On any other warehouse without a rules file, :func:`generic_rules`
checks only what holds for any data, read off the schema, never off the values:

- every column has its physical type (``type``), checked for text columns of CSV files;
- the key is not null and unique: the column named ``id`` or ``<table in singular>_id``
  (``orders`` → ``order_id``), when there is one;
- the timestamp column (``ts``, then a name ending ``_ts``/``_at``, then ``date``, then the
  first date or time column) is not null, its values are not in the future, and its daily
  volume has no anomalies;
- every other date or time column is not in the future;
- a table without a key has no row that is an exact copy of another (``distinct_rows``).

The result says so: its rules file reads ``rules inferred from the data``.

:func:`infer_rules` goes further for ``playbook rules infer``: it profiles the values and writes
a starting rules file for the analyst to edit, as pandera's ``infer_schema`` does: observed
completeness, ranges with a margin, value sets for low-cardinality text columns only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playbook.sources import Warehouse
from playbook.sql import quote_ident

INFERRED = "rules inferred from the data (no rules file)"
#: A text column gets a value set when it has at most this many distinct values ...
MAX_ALLOWED_VALUES = 20
#: ... and fewer than this share of its non-null values (each value repeats: ids never get one).
MAX_ALLOWED_SHARE = 0.5
#: Ranges are widened by this share of the observed range on each side.
RANGE_MARGIN = 0.1

_INT = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
        "UINTEGER", "UBIGINT")
_FLOAT = ("FLOAT", "DOUBLE", "DECIMAL", "REAL")


def dtype_of(physical: str) -> str | None:
    """The rules file's dtype for a DuckDB type (``None`` for types it has no name for)."""
    t = physical.upper()
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t == "DATE":
        return "date"
    if t.startswith(_INT):
        return "int"
    if t.startswith(_FLOAT):
        return "float"
    if t == "VARCHAR":
        return "str"
    return None


def _singular(table: str) -> str:
    if table.endswith("ies"):
        return table[:-3] + "y"
    return table[:-1] if table.endswith("s") and not table.endswith("ss") else table


def key_column(table: str, columns: dict[str, str]) -> str | None:
    """The conventional key of ``table``: ``id`` or ``<singular>_id``, if present."""
    for name in ("id", f"{_singular(table)}_id", f"{table}_id"):
        if name in columns:
            return name
    return None


def timestamp_column(columns: dict[str, str]) -> str | None:
    """The table's event time: ``ts``, ``*_ts``, ``*_at``, ``date``, else its first time column."""
    temporal = [c for c, t in columns.items() if dtype_of(t) in ("timestamp", "date")]
    for pick in (lambda c: c == "ts", lambda c: c.endswith(("_ts", "_at")),
                 lambda c: c == "date", lambda c: True):
        for c in temporal:
            if pick(c):
                return c
    return None


def _table_rules(table: str, columns: dict[str, str]) -> dict[str, Any]:
    key = key_column(table, columns)
    ts = timestamp_column(columns)
    cols: dict[str, dict[str, Any]] = {}
    for col, physical in columns.items():
        dtype = dtype_of(physical)
        c: dict[str, Any] = {}
        if dtype:
            c["dtype"] = dtype
        if col in (key, ts):
            c["required"] = True
        if dtype in ("timestamp", "date"):
            c["not_future"] = True
        cols[col] = c
    spec: dict[str, Any] = {"columns": cols}
    if key:
        spec["key"] = [key]
    else:
        spec["distinct_rows"] = True
    if ts:
        spec["timestamp"] = ts
    return spec


def generic_rules(warehouse: Warehouse, tables: list[str] | None = None) -> dict[str, Any]:
    """Rules that hold for any data (module docstring), for ``tables`` (default: all)."""
    out: dict[str, Any] = {}
    for table in tables or warehouse.tables():
        out[table] = _table_rules(table, warehouse.columns(table))
    return {**out, "__file__": INFERRED, "__inferred__": True}


# -- profiling ---------------------------------------------------------------------------------------
def _widen(low: float, high: float, integer: bool) -> tuple[float, float]:
    pad = (high - low) * RANGE_MARGIN or abs(high) * RANGE_MARGIN or 1.0
    lo, hi = low - pad, high + pad
    if low >= 0:
        lo = max(lo, 0.0)  # a non-negative column stays non-negative
    if integer:
        lo, hi = math.floor(lo), math.ceil(hi)
    return lo, hi


def _nice(x: float) -> float | int:
    if float(x).is_integer():
        return int(x)
    return float(f"{x:.4g}")


@dataclass(frozen=True)
class _Profile:
    """One column's profile: non-null values, approximate distinct values, range (numbers only)."""

    n: int
    distinct: int
    low: float | None = None
    high: float | None = None


def _profile(warehouse: Warehouse, view: str, have: dict[str, str]) -> tuple[int, dict[str, _Profile]]:
    """(rows, each column's profile) from one scan of the table."""
    parts = ["count(*)"]
    for col, physical in have.items():
        q = quote_ident(col)
        parts += [f"count({q})", f"approx_count_distinct({q})"]
        if dtype_of(physical) in ("int", "float"):
            parts += [f"min({q})::DOUBLE", f"max({q})::DOUBLE"]
    row = warehouse.con.execute(f"SELECT {', '.join(parts)} FROM {view}").fetchone() or ()
    rows, i = int(row[0] or 0), 1
    out = {}
    for col, physical in have.items():
        n, distinct = int(row[i] or 0), int(row[i + 1] or 0)
        i += 2
        if dtype_of(physical) in ("int", "float"):
            out[col] = _Profile(n, distinct, row[i], row[i + 1])
            i += 2
        else:
            out[col] = _Profile(n, distinct)
    return rows, out


def _observed(c: dict[str, Any], col: str, dtype: str | None, rows: int, p: _Profile) -> None:
    """The range (widened) and completeness observed, into the column's rules ``c``."""
    if p.low is not None and p.high is not None and not col.endswith("_id"):
        lo, hi = _widen(float(p.low), float(p.high), dtype == "int")
        c["min"], c["max"] = _nice(lo), _nice(hi)
    if rows and p.n == rows:
        c["required"] = True
    elif rows and p.n:
        c["required"] = True
        c["completeness"] = math.floor(100 * p.n / rows) / 100


def _find_key(warehouse: Warehouse, view: str, have: dict[str, str], rows: int) -> str | None:
    """The first ``*_id`` column that is unique and complete."""
    for col in have:
        if col.endswith("_id") and rows:
            unique = warehouse.con.execute(
                f"SELECT count(DISTINCT {quote_ident(col)}) = count(*) AND "
                f"count({quote_ident(col)}) = count(*) FROM {view}").fetchone()
            if unique and unique[0]:
                return col
    return None


def infer_rules(warehouse: Warehouse, tables: list[str] | None = None) -> dict[str, Any]:
    """A starting rules file from the data's values: one profiling scan per table.

    On top of :func:`generic_rules`: ``required`` where no value is missing (``completeness``
    at the observed share, rounded down to a percent, where some are), ``min``/``max`` widened
    by :data:`RANGE_MARGIN` of the range, ``allowed`` for text columns with at most
    :data:`MAX_ALLOWED_VALUES` distinct values, fewer than :data:`MAX_ALLOWED_SHARE` of the
    non-null values, and a key found as a unique, complete ``*_id`` column.
    """
    out: dict[str, Any] = {}
    for table in tables or warehouse.tables():
        have = warehouse.columns(table)
        spec = _table_rules(table, have)
        view = warehouse.view(table)
        rows, profiles = _profile(warehouse, view, have)
        for col, physical in have.items():
            c, p, dtype = spec["columns"][col], profiles[col], dtype_of(physical)
            _observed(c, col, dtype, rows, p)
            if dtype == "str" and p.n and p.distinct <= MAX_ALLOWED_VALUES \
                    and p.distinct < MAX_ALLOWED_SHARE * p.n:
                values = warehouse.con.execute(
                    f"SELECT DISTINCT {quote_ident(col)} FROM {view} WHERE {quote_ident(col)} "
                    "IS NOT NULL ORDER BY 1").fetchall()
                c["allowed"] = [v[0] for v in values]
        key = _find_key(warehouse, view, have, rows) if "key" not in spec else None
        if key is not None:
            spec["key"] = [key]
            spec.pop("distinct_rows", None)
            spec["columns"][key]["required"] = True
        out[table] = spec
    return out


def rules_yaml(rules: dict[str, Any], source: str) -> str:
    """The rules as a commented YAML file for the analyst to edit."""
    import yaml

    header = (
        f"# Data-quality rules inferred by `playbook rules infer` from {source}.\n"
        "# A starting point: check each value set and range, add freshness_sla_hours where the\n"
        "# table is loaded on a schedule, and set severity: warn for rules that should not block\n"
        "# decisions. The format is documented in playbook/analyses/quality/rules.yaml.\n\n")
    order = ("key", "timestamp", "freshness_sla_hours", "volume", "distinct_rows", "columns")
    body = {t: {k: spec[k] for k in order if k in spec}
            for t, spec in rules.items() if not t.startswith("__")}
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100,
                                   default_flow_style=None)


def infer_rules_file(target: str | Path, out: str | Path | None = None) -> tuple[str, Path | None]:
    """Profile ``target`` (a warehouse folder, or one .parquet/.csv table) into a rules file.

    Returns the YAML text and the path written (``None`` when ``out`` is ``None``). A
    :class:`DataError` names ``target`` when it is neither.
    """
    from playbook.errors import DataError

    path = Path(target)
    if path.is_dir():
        warehouse = Warehouse(path)
        tables = None
        if not warehouse.tables():
            raise DataError(f"{path}: no .parquet or .csv tables in this folder")
    elif path.is_file() and path.suffix.lower() in (".parquet", ".pq", ".csv", ".tsv"):
        warehouse = Warehouse(path.parent, {path.stem: str(path)})
        tables = [path.stem]
    else:
        raise DataError(f"{path}: give a warehouse folder or a .parquet/.csv table file")
    try:
        text = rules_yaml(infer_rules(warehouse, tables), str(path))
    finally:
        warehouse.close()
    if out is None:
        return text, None
    dest = Path(out)
    if dest.exists():
        raise DataError(f"{dest}: exists already; choose another file or remove it first")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text, encoding="utf-8")
    return text, dest
