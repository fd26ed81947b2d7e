"""The rules of one table counted with DuckDB (:func:`check_table`), for
:func:`~playbook.analyses.quality.analysis.check_warehouse`, whose docstring defines each rule.

One scan counts the row count, completeness and every validity rule; uniqueness, exact copies,
mixed time zones, freshness and the daily volume take a query each. A failing rule keeps a few
of its rows as a sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from playbook.analyses.quality.volume import daily_volume
from playbook.analyses.quality.words import whole
from playbook.errors import DataError
from playbook.i18n import gettext, ngettext
from playbook.sources import Warehouse
from playbook.sql import quote_ident, quote_string, quote_timestamp, quote_value
from playbook.zones import OFFSET_SUFFIX

#: The note of a freshness rule that cannot be checked, in English (the report's language:
#: ``gettext(NO_SNAPSHOT)``).
NO_SNAPSHOT = gettext("not checked: no snapshot time; set data.snapshot in the spec (or as_of) to "
                      "the time the export was taken", "en")
VOLUME_COLUMNS = ["table", "day", "rows", "expected", "z", "anomaly"]

_FAMILY = {
    "int": ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT"),
    "str": ("VARCHAR",),
    "timestamp": ("TIMESTAMP",),
    "date": ("DATE",),
}
_FAMILY["float"] = _FAMILY["int"] + ("FLOAT", "DOUBLE", "DECIMAL", "REAL")


@dataclass(frozen=True)
class CheckSettings:
    """How every table is checked: the reference time ``as_of`` (``snapshot``: a known snapshot
    time, else freshness is not checked), the rules' pass ``threshold``, the rows kept of a
    failing rule (``sample_rows``) and the daily volume rule's robust-z threshold (``volume_z``)."""

    as_of: datetime
    snapshot: bool
    threshold: float
    sample_rows: int
    volume_z: float


def _value(col: str, dtype: str | None) -> str:
    """SQL for the column's values as its declared type (NULL when not castable)."""
    cast = {"int": "DOUBLE", "float": "DOUBLE", "str": "VARCHAR", "timestamp": "TIMESTAMP",
            "date": "DATE", None: None}[dtype]
    return f"TRY_CAST({quote_ident(col)} AS {cast})" if cast else quote_ident(col)


def _type_condition(col: str, dtype: str, physical: str) -> str:
    """The failing-row condition of the ``type`` rule."""
    q = quote_ident(col)
    if physical.upper().startswith(_FAMILY[dtype]):
        return "FALSE"
    if dtype == "int":
        v = _value(col, "int")
        return f"{q} IS NOT NULL AND ({v} IS NULL OR {v} <> floor({v}))"
    return f"{q} IS NOT NULL AND {_value(col, dtype)} IS NULL"


def _column_conditions(col: str, c: dict[str, Any], physical: str,
                       as_of: datetime) -> list[tuple[str, str]]:
    """(rule, failing-row condition) pairs for the validity rules of one column."""
    q, dtype = quote_ident(col), c.get("dtype")
    out: list[tuple[str, str]] = [("type", _type_condition(col, dtype, physical))] if dtype else []
    v = _value(col, dtype)
    for bound, op in (("min", "<"), ("max", ">")):
        if c.get(bound) is not None:
            lit = quote_value(c[bound])
            if dtype in ("timestamp", "date"):
                lit = f"CAST({lit} AS {dtype.upper()})"
            out.append((bound, f"{v} {op} {lit}"))
    if c.get("allowed") is not None:
        values = ", ".join(quote_value(str(a)) for a in c["allowed"])
        out.append(("allowed", f"{q} IS NOT NULL AND CAST({q} AS VARCHAR) NOT IN ({values})"))
    if c.get("pattern") is not None:
        out.append(("pattern", f"{q} IS NOT NULL AND NOT regexp_full_match("
                               f"CAST({q} AS VARCHAR), {quote_value(c['pattern'])})"))
    if c.get("not_future"):
        if dtype == "date":
            out.append(("not_future", f"TRY_CAST({q} AS DATE) > DATE '{as_of.date()}'"))
        else:
            out.append(("not_future", f"TRY_CAST({q} AS TIMESTAMP) > {quote_timestamp(as_of)}"))
    return out


def _checked_expr(col: str, rule: str, dtype: str | None) -> str:
    if rule in ("min", "max", "not_future"):
        ty = "DATE" if rule == "not_future" and dtype == "date" else None
        expr = f"TRY_CAST({quote_ident(col)} AS {ty or 'TIMESTAMP'})" if rule == "not_future" \
            else _value(col, dtype)
        return f"count({expr})"
    return f"count({quote_ident(col)})"


def _record(table: str, rule: str, column: str, checked: int, failed: int, *, threshold: float,
            severity: str) -> dict[str, Any]:
    passed = checked - failed
    pct = passed / checked if checked else 1.0
    return {"table": table, "rule": rule, "column": column, "checked": checked, "passed": passed,
            "failed": failed, "pass_pct": pct, "threshold": threshold, "severity": severity,
            "verdict": "pass" if pct >= threshold else "fail", "note": ""}


@dataclass(frozen=True)
class _Table:
    """One table being checked: its view, physical columns and declared column rules, the
    settings, and the failing samples of the whole run (``samples``, added to)."""

    warehouse: Warehouse
    table: str
    view: str
    have: dict[str, str]
    cols: dict[str, dict[str, Any]]
    settings: CheckSettings
    samples: dict[str, pd.DataFrame]

    def record(self, rule: str, column: str, checked: int, failed: int, *, severity: str,
               threshold: float | None = None) -> dict[str, Any]:
        return _record(self.table, rule, column, checked, failed, severity=severity,
                       threshold=self.settings.threshold if threshold is None else threshold)

    def severity(self, col: str, default: str = "error") -> str:
        return str(self.cols.get(col, {}).get("severity", default))

    def sample(self, name: str, sql: str) -> None:
        """Keep the first ``sample_rows`` rows of ``sql`` (ordered) as the sample of rule ``name``."""
        self.samples[f"{self.table}.{name}"] = self.warehouse.sql(
            f"{sql} ORDER BY ALL LIMIT {int(self.settings.sample_rows)}")

    def column_rules(self) -> list[dict[str, Any]]:
        """Completeness and every validity rule, counted in one scan."""
        checks: list[tuple[str, str, str, str, str]] = []  # rule, column, checked sql, failed sql, cond
        for col, c in self.cols.items():
            if c.get("required"):
                cond = f"{quote_ident(col)} IS NULL"
                checks.append(("completeness", col, "count(*)", f"count_if({cond})", cond))
            for rule, cond in _column_conditions(col, c, self.have[col], self.settings.as_of):
                checks.append((rule, col, _checked_expr(col, rule, c.get("dtype")),
                               f"count_if(coalesce({cond}, FALSE))", cond))
        exprs = [f"{chk} AS c{i}, {fail} AS f{i}" for i, (_, _, chk, fail, _) in enumerate(checks)]
        row = self.warehouse.con.execute(f"SELECT {', '.join(exprs) or '1'} FROM {self.view}").fetchone() or ()
        out: list[dict[str, Any]] = []
        for i, (rule, col, _, _, cond) in enumerate(checks):
            checked, failed = int(row[2 * i] or 0), int(row[2 * i + 1] or 0)  # NULL on no rows
            c = self.cols[col]
            th = float(c.get("completeness", self.settings.threshold)) if rule == "completeness" else None
            rec = self.record(rule, col, checked, failed, threshold=th, severity=c.get("severity", "error"))
            out.append(rec)
            if failed and rec["verdict"] == "fail":
                self.sample(f"{rule}.{col}", f"SELECT * FROM {self.view} WHERE coalesce({cond}, FALSE)")
        return out

    def uniqueness(self, key: list[str]) -> dict[str, Any]:
        keys = ", ".join(quote_ident(k) for k in key)
        notnull = " AND ".join(f"{quote_ident(k)} IS NOT NULL" for k in key)
        checked, failed, keys_dup = self.warehouse.con.execute(
            f"SELECT coalesce(sum(n), 0), coalesce(sum(n) FILTER (WHERE n > 1), 0), "
            f"count(*) FILTER (WHERE n > 1) FROM "
            f"(SELECT count(*) AS n FROM {self.view} WHERE {notnull} GROUP BY {keys})"
        ).fetchone() or (0, 0, 0)
        rec = self.record("uniqueness", "+".join(key), int(checked), int(failed), severity="error")
        if keys_dup:
            words = (ngettext("{n} duplicated key in {rows} rows", "{n} duplicated keys in {rows} rows",
                              int(keys_dup)) if len(key) > 1 else
                     ngettext("{n} duplicated id in {rows} rows", "{n} duplicated ids in {rows} rows",
                              int(keys_dup)))
            rec["note"] = words.format(n=whole(keys_dup), rows=whole(failed))
        if failed and rec["verdict"] == "fail":
            self.sample(f"uniqueness.{rec['column']}",
                        f"SELECT * FROM {self.view} SEMI JOIN (SELECT {keys} FROM {self.view} WHERE {notnull} "
                        f"GROUP BY {keys} HAVING count(*) > 1) USING ({keys})")
        return rec

    def distinct_rows(self) -> dict[str, Any]:
        every = ", ".join(quote_ident(c) for c in self.have)
        rows, copies = self.warehouse.con.execute(
            f"SELECT coalesce(sum(n), 0), coalesce(sum(n - 1), 0) FROM "
            f"(SELECT count(*) AS n FROM {self.view} GROUP BY {every})").fetchone() or (0, 0)
        rec = self.record("distinct_rows", "", int(rows), int(copies), severity="error")
        if copies:
            rec["note"] = gettext("{n} rows are exact copies of another row").format(n=whole(copies))
            self.sample("distinct_rows", f"SELECT {every}, count(*) AS copies FROM {self.view} GROUP BY {every} "
                                         "HAVING count(*) > 1")
        return rec

    def zone_rules(self, timestamp: str | None) -> list[dict[str, Any]]:
        """One ``zones`` rule per timestamp column whose text can mix zoned and naive values."""
        src = self.warehouse.source(self.table)
        is_csv = src.kind == "csv" and src.path is not None
        names = [c for c, t in self.have.items()
                 if (is_csv and t.upper().startswith("TIMESTAMP"))
                 or (t.upper() == "VARCHAR" and (self.cols.get(c, {}).get("dtype") == "timestamp"
                                                 or c == timestamp))]
        if not names:
            return []
        rel = (f"read_csv({quote_string(str(src.path))}, all_varchar = true)" if is_csv
               else self.warehouse.view(self.table))
        exprs = ", ".join(
            f"count({quote_ident(c)}) AS n{i}, count_if(regexp_matches(trim({quote_ident(c)}), "
            f"{quote_string(OFFSET_SUFFIX)})) AS z{i}" for i, c in enumerate(names))
        row = self.warehouse.con.execute(f"SELECT {exprs} FROM {rel}").fetchone() or ()
        out = []
        for i, col in enumerate(names):
            checked, zoned = int(row[2 * i]), int(row[2 * i + 1])
            minority_zoned = zoned <= checked - zoned
            rec = self.record("zones", col, checked, min(zoned, checked - zoned), severity=self.severity(col))
            out.append(rec)
            if rec["failed"] and rec["verdict"] == "fail":
                cond = f"regexp_matches(trim({quote_ident(col)}), {quote_string(OFFSET_SUFFIX)})"
                self.sample(f"zones.{col}",
                            f"SELECT * FROM {rel} WHERE {'' if minority_zoned else 'NOT '}coalesce({cond}, FALSE)")
        return out

    def freshness(self, ts: str, sla_hours: Any) -> dict[str, Any]:
        """Whether the newest timestamp at or before ``as_of`` is at most ``sla_hours`` old."""
        as_of = self.settings.as_of
        if not self.settings.snapshot:
            rec = self.record("freshness", ts, 0, 0, severity=self.severity(ts))
            rec.update(verdict="skipped", note=gettext(NO_SNAPSHOT))
            return rec
        is_date = self.have[ts].upper() == "DATE" or self.cols.get(ts, {}).get("dtype") == "date"
        tsx = f"TRY_CAST({quote_ident(ts)} AS TIMESTAMP)"
        sla = float(sla_hours)
        newest = (self.warehouse.con.execute(
            f"SELECT max({tsx}) FROM {self.view} WHERE {tsx} <= {quote_timestamp(as_of)}"
        ).fetchone() or (None,))[0]
        end = None if newest is None else newest + (timedelta(days=1) if is_date else timedelta(0))
        age = None if end is None else max((as_of - end).total_seconds() / 3600, 0.0)
        ok = age is not None and age <= sla
        rec = self.record("freshness", ts, 1, 0 if ok else 1, severity=self.severity(ts))
        if not ok:
            self.samples[f"{self.table}.freshness.{ts}"] = pd.DataFrame(
                {"newest": [newest], "as_of": [as_of], "age_hours": [age], "sla_hours": [sla]})
        return rec

    def volume(self, ts: str) -> tuple[dict[str, Any], pd.DataFrame]:
        """The daily volume rule and the scored days."""
        tsx = f"TRY_CAST({quote_ident(ts)} AS TIMESTAMP)"
        counts = self.warehouse.sql(
            f"SELECT CAST({tsx} AS DATE) AS day, count(*) AS n FROM {self.view} "
            f"WHERE {tsx} <= {quote_timestamp(self.settings.as_of)} GROUP BY 1 ORDER BY 1")
        volume = daily_volume(counts["day"], counts["n"], z_threshold=self.settings.volume_z)
        volume.insert(0, "table", self.table)
        scored = volume["z"].notna()
        n_anom = int(volume["anomaly"].sum())
        rec = self.record("volume", ts, int(scored.sum()), n_anom, severity=self.severity(ts, "warn"))
        if n_anom:
            self.samples[f"{self.table}.volume.{ts}"] = volume[volume["anomaly"]].head(self.settings.sample_rows)
        return rec, volume


def check_table(warehouse: Warehouse, table: str, spec: dict[str, Any], *, where: str, settings: CheckSettings,
                samples: dict[str, pd.DataFrame]) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """The rule records of ``table`` (``spec``: its rules from the file ``where``) and its scored
    days; the samples of failing rules are added to ``samples``."""
    view = warehouse.view(table)
    have = warehouse.columns(table)
    cols: dict[str, dict[str, Any]] = spec.get("columns") or {}
    wanted = list(cols) + list(spec.get("key") or []) + ([spec["timestamp"]]
                                                          if spec.get("timestamp") else [])
    missing = [c for c in dict.fromkeys(wanted) if c not in have]
    if missing:
        raise DataError(
            f"{warehouse.source(table).location}: table '{table}' has no column "
            f"{', '.join(repr(c) for c in missing)} (it has {', '.join(have)}); rules in {where} "
            f"({table}.columns) refer to it: rename the column or fix the rules")
    t = _Table(warehouse, table, view, have, cols, settings, samples)
    out = t.column_rules()
    key = spec.get("key") or []
    if key:
        out.append(t.uniqueness(key))
    if spec.get("distinct_rows", not key):
        out.append(t.distinct_rows())
    out += t.zone_rules(spec.get("timestamp"))
    ts = spec.get("timestamp")
    volume = pd.DataFrame(columns=VOLUME_COLUMNS)
    if ts:
        if spec.get("freshness_sla_hours") is not None:
            out.append(t.freshness(ts, spec["freshness_sla_hours"]))
        if spec.get("volume", True):
            rec, volume = t.volume(ts)
            out.append(rec)
    return out, volume


__all__ = ["NO_SNAPSHOT", "VOLUME_COLUMNS", "CheckSettings", "check_table"]
