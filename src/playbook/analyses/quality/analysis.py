"""Is the data fit to decide on? Data-quality rules declared as data, counted with DuckDB.

Rules live in a YAML file (default: the packaged ``quality/rules.yaml``, which documents the
format): per table a ``key``, a ``timestamp``, a ``freshness_sla_hours`` and per column
``required``/``completeness``, ``dtype``, ``min``/``max``, ``allowed``, ``pattern``,
``not_future`` and ``severity``. :func:`check_warehouse` turns them into rules and counts each
with one SQL scan per table (:mod:`~playbook.analyses.quality.checks`), so it works the same on
2,000 rows and on 10 million. Reading
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

from datetime import UTC, datetime
from typing import Any

import pandas as pd

from playbook.analyses.base import QualityDecision
from playbook.analyses.quality.checks import NO_SNAPSHOT, VOLUME_COLUMNS, CheckSettings, check_table
from playbook.analyses.quality.infer import generic_rules
from playbook.analyses.quality.result import QualityResult
from playbook.analyses.quality.rules import load_rules, pandera_schema, validate_rules
from playbook.analyses.quality.volume import daily_volume
from playbook.errors import DataError
from playbook.sources import Warehouse

RULE_COLUMNS = ["table", "rule", "column", "checked", "passed", "failed", "pass_pct",
                "threshold", "severity", "verdict", "note"]


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


def check_warehouse(warehouse: Warehouse, tables: list[str] | None = None,
                    rules: dict[str, Any] | None = None, *, as_of: datetime | str | None = None,
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
    settings = CheckSettings(when, snapshot, rule_threshold, sample_rows, volume_z)
    samples: dict[str, pd.DataFrame] = {}
    records: list[dict[str, Any]] = []
    volumes = []
    for t in tables:
        recs, vol = check_table(warehouse, t, rules[t], where=where, settings=settings, samples=samples)
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
              pd.DataFrame(columns=VOLUME_COLUMNS))
    return QualityResult(rules=frame, coverage=coverage, pass_rate=pass_rate,
                         coverage_target=coverage_target, pass_target=pass_target,
                         decision=decision, failing_samples=samples, daily_volume=volume,
                         table_names=list(tables), as_of=when, rules_file=where,
                         inferred=bool(rules.get("__inferred__")), snapshot=snapshot)


__all__ = ["NO_SNAPSHOT", "QualityResult", "check_warehouse", "daily_volume", "load_rules", "pandera_schema",
           "validate_rules"]
