"""Is the data fit to decide on? Data-quality rules declared as data, counted with DuckDB.

Rules live in a YAML file (default: the packaged ``quality/rules.yaml``, which documents the
format): per table a ``key``, a ``timestamp``, a ``freshness_sla_hours`` and per column
``required``/``completeness``, ``dtype``, ``min``/``max``, ``allowed``, ``pattern``,
``not_future`` and ``severity``. :func:`check_warehouse` turns them into rules and counts each
with one SQL scan per table, so it works the same on 2,000 rows and on 10 million. Reading
and validating the rules file, and its pandera equivalent, live in
:mod:`playbook.analyses.quality.rules` (re-exported here).

Rules (one row each in :attr:`QualityResult.rules`; ``column`` is ``a+b`` for composite keys):

    completeness  rows with a non-null value / rows            (required columns only)
    type          non-null values of, or castable to, ``dtype`` / non-null values
    min, max      non-null values inside the inclusive bound / non-null values
    allowed       non-null values in the list / non-null values
    pattern       non-null values fully matching the regex / non-null values
    not_future    non-null timestamps at or before ``as_of`` / non-null timestamps
    uniqueness    rows whose key occurs once / rows with a complete key; the note gives the
                  duplicated keys too ("40 ids in 80 rows")
    distinct_rows rows that are not an exact copy of an earlier row / rows (tables without a
                  key, or ``distinct_rows: true``): a load that ran twice counts work twice
    freshness     1 if the newest timestamp at or before ``as_of`` is at most
                  ``freshness_sla_hours`` old (a date counts until its end), else 0; checked = 1.
                  Without a snapshot time (below) the rule is ``not checked``, not failed
    volume        days whose row count is not anomalous / days scored (see :func:`daily_volume`)
    zones         timestamps written in the column's majority form (all with a zone or offset,
                  or all without) / non-null timestamps; checked on text (CSV columns read as
                  timestamps, text columns declared ``dtype: timestamp``), where one column can
                  mix ``10:00`` and ``10:00+02:00``: both are read by the warehouse's time-zone
                  rule (:mod:`playbook.zones`), but a mix usually means two loaders disagree

A rule fails when ``pass_pct`` (the passing share, 0..1, same unit as ``threshold``) is below its
threshold: ``completeness`` from the YAML, else ``rule_threshold`` (default 1.0: every value must
pass). Rules with nothing to check pass. Severity is ``error`` except ``volume`` (``warn``: an
anomalous day is a lead to follow, not proof of bad data); a column's ``severity`` overrides it.

Summary numbers:

    coverage   sum of non-null required values / sum of required values (all completeness rules)
    pass_rate  mean of pass_pct over all rules: every rule weighs the same, however many rows
               it checks, so a small table's broken key is not drowned by a clean 10M-row table
    decision   "pass" if coverage >= coverage_target, pass_rate >= pass_target and no rule of
               severity "error" fails; "fail" otherwise

**Rules.** ``rules=None`` takes the packaged rules on the sample warehouse (its marker file says
it was written by ``playbook demo-data``) and, on any other warehouse, the rules that hold for
any data (:func:`~playbook.analyses.quality.infer.generic_rules`): the result says the rules
were inferred. Tables: ``tables=None`` checks every table of the rules that the warehouse has;
a table named explicitly must exist and must have rules (a :class:`DataError` otherwise).

**Snapshot time.** ``as_of`` defaults to the warehouse's snapshot time: the spec's
``data.snapshot``, else ``as_of`` in the folder's ``_warehouse.json``. Without one, timestamps
are checked against the wall clock (UTC) for ``not_future``, and freshness is not checked:
an export's age is not known.

A rule with nothing to check passes (an empty table: every count is 0); ``not checked`` rules
(``verdict`` ``skipped``) count in neither the pass rate nor the headline's rules.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from playbook.analyses.base import QualityDecision
from playbook.analyses.quality.infer import generic_rules
from playbook.analyses.quality.result import QualityResult
from playbook.analyses.quality.rules import load_rules, pandera_schema, validate_rules
from playbook.analyses.quality.volume import daily_volume
from playbook.errors import DataError
from playbook.sources import Warehouse
from playbook.sql import quote_ident, quote_string, quote_timestamp, quote_value
from playbook.zones import OFFSET_SUFFIX

RULE_COLUMNS = ["table", "rule", "column", "checked", "passed", "failed", "pass_pct",
                "threshold", "severity", "verdict", "note"]
NO_SNAPSHOT = ("not checked: no snapshot time; set data.snapshot in the spec (or as_of) to the "
               "time the export was taken")


def _tables_of(rules: dict[str, Any]) -> list[str]:
    return [t for t in rules if not t.startswith("__")]


# -- checking -----------------------------------------------------------------------------------------
def _as_of(warehouse: Warehouse, as_of: datetime | str | None,
           now: datetime | None) -> tuple[datetime, bool]:
    """The reference time (naive UTC) and whether it is a known snapshot time."""
    known = True
    if as_of is None:
        as_of = warehouse.snapshot
    if as_of is None:
        as_of, known = (now or datetime.now(UTC)).replace(microsecond=0), False
    try:
        ts = pd.Timestamp(as_of)
    except ValueError as exc:
        raise DataError(f"as_of: {as_of!r} is not an ISO 8601 time ({exc})") from None
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime(), known


_FAMILY = {
    "int": ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT"),
    "str": ("VARCHAR",),
    "timestamp": ("TIMESTAMP",),
    "date": ("DATE",),
}
_FAMILY["float"] = _FAMILY["int"] + ("FLOAT", "DOUBLE", "DECIMAL", "REAL")


def _value(col: str, dtype: str | None) -> str:
    """SQL for the column's values as its declared type (NULL when not castable)."""
    cast = {"int": "DOUBLE", "float": "DOUBLE", "str": "VARCHAR", "timestamp": "TIMESTAMP",
            "date": "DATE", None: None}[dtype]
    return f"TRY_CAST({quote_ident(col)} AS {cast})" if cast else quote_ident(col)


def _column_conditions(col: str, c: dict[str, Any], physical: str,
                       as_of: datetime) -> list[tuple[str, str]]:
    """(rule, failing-row condition) pairs for the validity rules of one column."""
    q, dtype = quote_ident(col), c.get("dtype")
    out: list[tuple[str, str]] = []
    if dtype:
        if physical.upper().startswith(_FAMILY[dtype]):
            out.append(("type", "FALSE"))
        elif dtype == "int":
            v = _value(col, "int")
            out.append(("type", f"{q} IS NOT NULL AND ({v} IS NULL OR {v} <> floor({v}))"))
        else:
            out.append(("type", f"{q} IS NOT NULL AND {_value(col, dtype)} IS NULL"))
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


def _location(warehouse: Warehouse, table: str) -> str:
    return warehouse.source(table).location


def _check_table(warehouse: Warehouse, table: str, spec: dict[str, Any], where: str,
                 as_of: datetime, snapshot: bool, threshold: float, sample_rows: int,
                 samples: dict[str, pd.DataFrame], volume_z: float) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    view = warehouse.view(table)
    have = warehouse.columns(table)
    cols: dict[str, dict[str, Any]] = spec.get("columns") or {}
    wanted = list(cols) + list(spec.get("key") or []) + ([spec["timestamp"]]
                                                          if spec.get("timestamp") else [])
    missing = [c for c in dict.fromkeys(wanted) if c not in have]
    if missing:
        raise DataError(
            f"{_location(warehouse, table)}: table '{table}' has no column "
            f"{', '.join(repr(c) for c in missing)} (it has {', '.join(have)}); rules in {where} "
            f"({table}.columns) refer to it: rename the column or fix the rules")

    # one scan: row count, completeness and every validity rule
    checks: list[tuple[str, str, str, str, str]] = []  # rule, column, checked sql, failed sql, cond
    for col, c in cols.items():
        if c.get("required"):
            cond = f"{quote_ident(col)} IS NULL"
            checks.append(("completeness", col, "count(*)", f"count_if({cond})", cond))
        for rule, cond in _column_conditions(col, c, have[col], as_of):
            checks.append((rule, col, _checked_expr(col, rule, c.get("dtype")),
                           f"count_if(coalesce({cond}, FALSE))", cond))
    exprs = [f"{chk} AS c{i}, {fail} AS f{i}" for i, (_, _, chk, fail, _) in enumerate(checks)]
    row = warehouse.con.execute(f"SELECT {', '.join(exprs) or '1'} FROM {view}").fetchone() or ()
    out: list[dict[str, Any]] = []
    for i, (rule, col, _, _, cond) in enumerate(checks):
        checked, failed = int(row[2 * i] or 0), int(row[2 * i + 1] or 0)  # NULL on no rows
        c = cols[col]
        th = float(c.get("completeness", threshold)) if rule == "completeness" else threshold
        rec = _record(table, rule, col, checked, failed, th, c.get("severity", "error"))
        out.append(rec)
        if failed and rec["verdict"] == "fail":
            samples[f"{table}.{rule}.{col}"] = warehouse.sql(
                f"SELECT * FROM {view} WHERE coalesce({cond}, FALSE) "
                f"ORDER BY ALL LIMIT {int(sample_rows)}")

    key = spec.get("key") or []
    if key:
        keys = ", ".join(quote_ident(k) for k in key)
        notnull = " AND ".join(f"{quote_ident(k)} IS NOT NULL" for k in key)
        checked, failed, keys_dup = warehouse.con.execute(
            f"SELECT coalesce(sum(n), 0), coalesce(sum(n) FILTER (WHERE n > 1), 0), "
            f"count(*) FILTER (WHERE n > 1) FROM "
            f"(SELECT count(*) AS n FROM {view} WHERE {notnull} GROUP BY {keys})"
        ).fetchone() or (0, 0, 0)
        rec = _record(table, "uniqueness", "+".join(key), int(checked), int(failed), threshold,
                      "error")
        if keys_dup:
            ids = "key" if len(key) > 1 else "id"
            rec["note"] = (f"{int(keys_dup):,} duplicated {ids}{'s' if keys_dup != 1 else ''} "
                           f"in {int(failed):,} rows")
        out.append(rec)
        if failed and rec["verdict"] == "fail":
            samples[f"{table}.uniqueness.{rec['column']}"] = warehouse.sql(
                f"SELECT * FROM {view} SEMI JOIN (SELECT {keys} FROM {view} WHERE {notnull} "
                f"GROUP BY {keys} HAVING count(*) > 1) USING ({keys}) "
                f"ORDER BY ALL LIMIT {int(sample_rows)}")

    if spec.get("distinct_rows", not key):
        every = ", ".join(quote_ident(c) for c in have)
        rows, copies = warehouse.con.execute(
            f"SELECT coalesce(sum(n), 0), coalesce(sum(n - 1), 0) FROM "
            f"(SELECT count(*) AS n FROM {view} GROUP BY {every})").fetchone() or (0, 0)
        rec = _record(table, "distinct_rows", "", int(rows), int(copies), threshold, "error")
        if copies:
            rec["note"] = f"{int(copies):,} rows are exact copies of another row"
            samples[f"{table}.distinct_rows"] = warehouse.sql(
                f"SELECT {every}, count(*) AS copies FROM {view} GROUP BY {every} HAVING count(*) > 1 "
                f"ORDER BY ALL LIMIT {int(sample_rows)}")
        out.append(rec)

    out += _zone_rules(warehouse, table, cols, have, spec.get("timestamp"), threshold, sample_rows,
                       samples)

    ts = spec.get("timestamp")
    volume = pd.DataFrame(columns=["table", "day", "rows", "expected", "z", "anomaly"])
    if ts:
        is_date = have[ts].upper() == "DATE" or cols.get(ts, {}).get("dtype") == "date"
        tsx = f"TRY_CAST({quote_ident(ts)} AS TIMESTAMP)"
        if spec.get("freshness_sla_hours") is not None and not snapshot:
            rec = _record(table, "freshness", ts, 0, 0, threshold,
                          cols.get(ts, {}).get("severity", "error"))
            rec.update(verdict="skipped", note=NO_SNAPSHOT)
            out.append(rec)
        elif spec.get("freshness_sla_hours") is not None:
            sla = float(spec["freshness_sla_hours"])
            newest = (warehouse.con.execute(
                f"SELECT max({tsx}) FROM {view} WHERE {tsx} <= {quote_timestamp(as_of)}"
            ).fetchone() or (None,))[0]
            end = None if newest is None else newest + (timedelta(days=1) if is_date
                                                         else timedelta(0))
            age = None if end is None else max((as_of - end).total_seconds() / 3600, 0.0)
            ok = age is not None and age <= sla
            rec = _record(table, "freshness", ts, 1, 0 if ok else 1, threshold,
                          cols.get(ts, {}).get("severity", "error"))
            out.append(rec)
            if not ok:
                samples[f"{table}.freshness.{ts}"] = pd.DataFrame(
                    {"newest": [newest], "as_of": [as_of], "age_hours": [age],
                     "sla_hours": [sla]})
        if spec.get("volume", True):
            counts = warehouse.sql(
                f"SELECT CAST({tsx} AS DATE) AS day, count(*) AS n FROM {view} "
                f"WHERE {tsx} <= {quote_timestamp(as_of)} GROUP BY 1 ORDER BY 1")
            volume = daily_volume(counts["day"], counts["n"], z_threshold=volume_z)
            volume.insert(0, "table", table)
            scored = volume["z"].notna()
            n_anom = int(volume["anomaly"].sum())
            rec = _record(table, "volume", ts, int(scored.sum()), n_anom, threshold,
                          cols.get(ts, {}).get("severity", "warn"))
            out.append(rec)
            if n_anom:
                samples[f"{table}.volume.{ts}"] = volume[volume["anomaly"]].head(sample_rows)
    return out, volume


def _zone_rules(warehouse: Warehouse, table: str, cols: dict[str, dict[str, Any]],
                have: dict[str, str], timestamp: str | None, threshold: float, sample_rows: int,
                samples: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """One ``zones`` rule per timestamp column whose text can mix zoned and naive values."""
    src = warehouse.source(table)
    is_csv = src.kind == "csv" and src.path is not None
    names = [c for c, t in have.items()
             if (is_csv and t.upper().startswith("TIMESTAMP"))
             or (t.upper() == "VARCHAR" and (cols.get(c, {}).get("dtype") == "timestamp"
                                             or c == timestamp))]
    if not names:
        return []
    rel = (f"read_csv({quote_string(str(src.path))}, all_varchar = true)" if is_csv
           else warehouse.view(table))
    exprs = ", ".join(
        f"count({quote_ident(c)}) AS n{i}, count_if(regexp_matches(trim({quote_ident(c)}), "
        f"{quote_string(OFFSET_SUFFIX)})) AS z{i}" for i, c in enumerate(names))
    row = warehouse.con.execute(f"SELECT {exprs} FROM {rel}").fetchone() or ()
    out = []
    for i, col in enumerate(names):
        checked, zoned = int(row[2 * i]), int(row[2 * i + 1])
        minority_zoned = zoned <= checked - zoned
        rec = _record(table, "zones", col, checked, min(zoned, checked - zoned), threshold,
                      cols.get(col, {}).get("severity", "error"))
        out.append(rec)
        if rec["failed"] and rec["verdict"] == "fail":
            cond = f"regexp_matches(trim({quote_ident(col)}), {quote_string(OFFSET_SUFFIX)})"
            samples[f"{table}.zones.{col}"] = warehouse.sql(
                f"SELECT * FROM {rel} WHERE {'' if minority_zoned else 'NOT '}coalesce({cond}, FALSE) "
                f"ORDER BY ALL LIMIT {int(sample_rows)}")
    return out


def _record(table: str, rule: str, column: str, checked: int, failed: int, threshold: float,
            severity: str) -> dict[str, Any]:
    passed = checked - failed
    pct = passed / checked if checked else 1.0
    return {"table": table, "rule": rule, "column": column, "checked": checked, "passed": passed,
            "failed": failed, "pass_pct": pct, "threshold": threshold, "severity": severity,
            "verdict": "pass" if pct >= threshold else "fail", "note": ""}


def check_warehouse(warehouse: Warehouse, tables: list[str] | None = None,
                    rules: dict[str, Any] | None = None, as_of: datetime | str | None = None,
                    coverage_target: float = 0.90, pass_target: float = 0.95,
                    sample_rows: int = 5, rule_threshold: float = 1.0,
                    volume_z: float = 4.5, now: datetime | None = None) -> QualityResult:
    """Run every declared rule on ``tables`` of ``warehouse`` (module docstring: definitions).

    ``volume_z`` is the robust-z threshold of the daily volume rule (see :func:`daily_volume`);
    ``now`` (default: the wall clock) is the reference time when there is no snapshot time.
    """
    if rules is None:
        rules = load_rules() if warehouse.is_sample else generic_rules(warehouse, tables)
    elif "__file__" not in rules:
        rules = validate_rules(dict(rules))
    where = rules["__file__"]
    declared = _tables_of(rules)
    if tables is None:
        available = set(warehouse.tables())
        tables = [t for t in declared if t in available]
        if not tables:
            raise DataError(f"{warehouse.data_dir}: none of the tables in {where} "
                            f"({', '.join(declared) or 'none'}) exists; run `playbook demo-data` "
                            "or point the data section of the spec at your tables")
    for t in tables:
        if t not in rules:
            raise DataError(f"{where}: no rules for table '{t}'; add a '{t}:' section with its "
                            f"columns or leave it out of tables (tables with rules: "
                            f"{', '.join(declared)})")
    when, snapshot = _as_of(warehouse, as_of, now)  # UTC; compared below with the warehouse's wall clock
    if warehouse.timezone and warehouse.timezone != "UTC":
        when = pd.Timestamp(when).tz_localize("UTC").tz_convert(warehouse.timezone) \
            .tz_localize(None).to_pydatetime()
    samples: dict[str, pd.DataFrame] = {}
    records: list[dict[str, Any]] = []
    volumes = []
    for t in tables:
        recs, vol = _check_table(warehouse, t, rules[t], where, when, snapshot, rule_threshold,
                                 sample_rows, samples, volume_z)
        records += recs
        if len(vol):
            volumes.append(vol)
    frame = pd.DataFrame(records, columns=RULE_COLUMNS)
    comp = frame[frame["rule"] == "completeness"]
    coverage = float(comp["passed"].sum() / comp["checked"].sum()) if comp["checked"].sum() \
        else 1.0
    judged = frame[frame["verdict"] != "skipped"]
    pass_rate = float(judged["pass_pct"].mean()) if len(judged) else 1.0
    errors = ((frame["verdict"] == "fail") & (frame["severity"] == "error")).any()
    decision = QualityDecision.PASS if (coverage >= coverage_target and pass_rate >= pass_target
                                        and not errors) else QualityDecision.FAIL
    volume = (pd.concat(volumes, ignore_index=True) if volumes else
              pd.DataFrame(columns=["table", "day", "rows", "expected", "z", "anomaly"]))
    return QualityResult(rules=frame, coverage=coverage, pass_rate=pass_rate,
                         coverage_target=coverage_target, pass_target=pass_target,
                         decision=decision, failing_samples=samples, daily_volume=volume,
                         table_names=list(tables), as_of=when, rules_file=where,
                         inferred=bool(rules.get("__inferred__")), snapshot=snapshot)


__all__ = ["QualityResult", "check_warehouse", "daily_volume", "load_rules", "pandera_schema",
           "validate_rules"]
