"""The data-quality rules file: reading and validating it, and its pandera equivalent.

The format is documented in the packaged ``quality/rules.yaml`` (the default rules).
:func:`load_rules` reads a rules file and :func:`validate_rules` checks its structure, naming the
file and the key in every :class:`DataError`; :func:`pandera_schema` turns one table's
declarations into a pandera schema for DataFrames in memory. Counting the rules on a warehouse
is :func:`playbook.analyses.quality.analysis.check_warehouse`.
"""

from __future__ import annotations

import re
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from playbook.errors import DataError
from playbook.suggest import suggest

TABLE_KEYS = {"key", "timestamp", "freshness_sla_hours", "volume", "distinct_rows", "columns",
              "description"}
COLUMN_KEYS = {"required", "completeness", "dtype", "min", "max", "allowed", "pattern",
               "not_future", "severity", "description"}
DTYPES = {"int", "float", "str", "timestamp", "date"}
SEVERITIES = {"error", "warn"}
DEFAULT_RULES = "rules.yaml"


# -- rules file ------------------------------------------------------------------------------------
def load_rules(path: str | Path | None = None) -> dict[str, Any]:
    """Read and validate a rules file (default: the packaged ``quality/rules.yaml``, the rules
    of the sample warehouse alone).

    Raises :class:`DataError` naming the file and the key for anything it does not understand.
    """
    if path is None:
        ref = resources.files("playbook.analyses.quality").joinpath(DEFAULT_RULES)
        text, where = ref.read_text(encoding="utf-8"), f"playbook/analyses/quality/{DEFAULT_RULES}"
    else:
        p = Path(path)
        if not p.is_file():
            raise DataError(f"{p}: rules file not found; pass an existing YAML file or None "
                            "for the packaged rules")
        text, where = p.read_text(encoding="utf-8"), str(p)
    try:
        rules = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DataError(f"{where}: not valid YAML ({exc})") from exc
    return validate_rules(rules, where)


def _unknown(where: str, at: str, key: str, allowed: set[str]) -> DataError:
    hint = suggest(key, sorted(allowed)) or f" (allowed: {', '.join(sorted(allowed))})"
    return DataError(f"{where}: {at}: unknown key '{key}'{hint}")


def _validate_column(where: str, at: str, c: dict[str, Any]) -> None:
    """One column's rules (``at`` names it: ``table.columns.col``)."""
    if not isinstance(c, dict):
        raise DataError(f"{where}: {at}: expected a mapping of rule to value")
    for k in c:
        if k not in COLUMN_KEYS:
            raise _unknown(where, at, str(k), COLUMN_KEYS)
    if "dtype" in c and c["dtype"] not in DTYPES:
        raise DataError(f"{where}: {at}.dtype: unknown type {c['dtype']!r} "
                        f"(allowed: {', '.join(sorted(DTYPES))})")
    if "severity" in c and c["severity"] not in SEVERITIES:
        raise DataError(f"{where}: {at}.severity: expected 'error' or 'warn', "
                        f"got {c['severity']!r}")
    if "allowed" in c and not isinstance(c["allowed"], list):
        raise DataError(f"{where}: {at}.allowed: expected a list of values")
    comp = c.get("completeness")
    if comp is not None and not (isinstance(comp, int | float) and 0 <= comp <= 1):
        raise DataError(f"{where}: {at}.completeness: expected a share between 0 and 1, "
                        f"got {comp!r}")
    if "pattern" in c:
        try:
            re.compile(str(c["pattern"]))
        except re.error as exc:
            raise DataError(f"{where}: {at}.pattern: invalid regex ({exc})") from exc


def _validate_table(where: str, table: str, spec: Any) -> None:
    """One table's rules; a column without rules (``col:``) becomes an empty mapping."""
    if not isinstance(spec, dict):
        raise DataError(f"{where}: {table}: expected a mapping with 'columns'")
    for k in spec:
        if k not in TABLE_KEYS:
            raise _unknown(where, str(table), str(k), TABLE_KEYS)
    cols = spec.get("columns") or {}
    if not isinstance(cols, dict):
        raise DataError(f"{where}: {table}.columns: expected a mapping of column to rules")
    key = spec.get("key", [])
    if not isinstance(key, list) or not all(isinstance(c, str) for c in key):
        raise DataError(f"{where}: {table}.key: expected a list of column names, got {key!r}")
    sla = spec.get("freshness_sla_hours")
    if sla is not None and (not isinstance(sla, int | float) or sla <= 0):
        raise DataError(f"{where}: {table}.freshness_sla_hours: expected a positive number, "
                        f"got {sla!r}")
    if sla is not None and not spec.get("timestamp"):
        raise DataError(f"{where}: {table}.freshness_sla_hours needs {table}.timestamp")
    for col, c in cols.items():
        if c is None:
            cols[col] = c = {}
        _validate_column(where, f"{table}.columns.{col}", c)


def validate_rules(rules: Any, where: str = "<rules>") -> dict[str, Any]:
    """Check the structure of parsed rules; return them. ``where`` names the file in errors."""
    if not isinstance(rules, dict) or not rules:
        raise DataError(f"{where}: expected a mapping of table name to its rules")
    inferred = bool(rules.get("__inferred__"))
    rules = {k: v for k, v in rules.items() if not str(k).startswith("__")}
    for table, spec in rules.items():
        _validate_table(where, table, spec)
    return {**rules, "__file__": where, **({"__inferred__": True} if inferred else {})}


# -- pandera ------------------------------------------------------------------------------------------
def pandera_schema(spec: dict[str, Any], as_of: datetime | None = None) -> Any:
    """A pandera ``DataFrameSchema`` equivalent to one table's declarations, for DataFrames.

    Nulls are allowed unless ``required``; ``key`` becomes the schema's ``unique``; patterns
    must match the whole value; ``not_future`` needs ``as_of``. Use it to validate a frame in
    memory (``schema.validate(df, lazy=True)``);
    :func:`~playbook.analyses.quality.analysis.check_warehouse` counts the same rules with SQL so that it
    scales to tables that do not fit in memory.
    """
    import pandera.pandas as pa

    columns = {}
    for col, c in (spec.get("columns") or {}).items():
        checks = []
        if c.get("min") is not None:
            checks.append(pa.Check.ge(c["min"], name="min"))
        if c.get("max") is not None:
            checks.append(pa.Check.le(c["max"], name="max"))
        if c.get("allowed") is not None:
            checks.append(pa.Check.isin([str(a) for a in c["allowed"]], name="allowed"))
        if c.get("pattern") is not None:
            checks.append(pa.Check.str_matches(rf"(?:{c['pattern']})\Z", name="pattern"))
        if c.get("not_future") and as_of is not None:
            limit = pd.Timestamp(as_of)
            checks.append(pa.Check(lambda s, lim=limit: pd.to_datetime(s) <= lim,
                                   element_wise=False, name="not_future"))
        columns[col] = pa.Column(nullable=not c.get("required", False), checks=checks,
                                 required=True)
    return pa.DataFrameSchema(columns, unique=spec.get("key") or None,
                              report_duplicates="all", strict=False)
