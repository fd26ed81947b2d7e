"""The result of a data-quality check and how it reads to a stakeholder.

:class:`QualityResult` is what :func:`playbook.analyses.quality.analysis.check_warehouse` returns: the
per-rule table, coverage, pass rate and decision, with the flat outcome metrics, the headline
and the prose summary that the data_quality template shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from playbook.analyses.base import Metric, MetricKind, QualityDecision, register_result
from playbook.report import code, esc


@register_result("data_quality")
@dataclass(frozen=True)
class QualityResult:
    """The outcome of :func:`check_warehouse` (module docstring: how each number is defined)."""

    rules: pd.DataFrame
    coverage: float
    pass_rate: float
    coverage_target: float
    pass_target: float
    decision: QualityDecision
    failing_samples: dict[str, pd.DataFrame] = field(repr=False)
    daily_volume: pd.DataFrame = field(repr=False)
    table_names: list[str]  # the tables checked
    as_of: datetime
    rules_file: str = ""
    inferred: bool = False  # no rules file: the rules that hold for any data (quality_infer)
    snapshot: bool = True  # as_of is the warehouse's snapshot time (else the wall clock)

    @property
    def judged(self) -> pd.DataFrame:
        """The rules that were checked (not those ``skipped``, e.g. freshness without snapshot)."""
        return self.rules[self.rules["verdict"] != "skipped"]

    @property
    def skipped(self) -> pd.DataFrame:
        """Rules that could not be checked, with the reason in ``note``."""
        return self.rules[self.rules["verdict"] == "skipped"]

    @property
    def failing(self) -> pd.DataFrame:
        """The failing rules, errors first."""
        f = self.rules[self.rules["verdict"] == "fail"]
        return f.sort_values(["severity", "table", "rule"], kind="stable")

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"rules": self.rules, "failing": self.failing, "daily_volume": self.daily_volume,
                **{f"sample: {k}": v for k, v in self.failing_samples.items()}}

    def metric_info(self) -> list[Metric]:
        """Label, unit and kind of each metric in :meth:`metrics`."""
        out = [Metric("coverage", "Coverage of required values", MetricKind.SHARE),
               Metric("pass_rate", "Rules' mean pass rate", MetricKind.SHARE),
               Metric("rules.total", "Rules checked", MetricKind.COUNT, "rules"),
               Metric("rules.failed", "Rules failing", MetricKind.COUNT, "rules"),
               Metric("rules.skipped", "Rules not checked", MetricKind.COUNT, "rules"),
               Metric("rules.failed_error", "Rules failing with severity error", MetricKind.COUNT, "rules"),
               Metric("volume.anomalies", "Days with abnormal volume", MetricKind.COUNT, "days")]
        out += [Metric(f"fail.{r.table}.{r.rule}.{r.column}",
                       f"Failing share: {r.table} {r.rule} {r.column}".rstrip(), MetricKind.SHARE)
                for r in self.failing.itertuples()]
        return out

    def metrics(self) -> dict[str, float]:
        """Flat metrics for the outcome: summary numbers and the failed share of failing rules."""
        out: dict[str, float] = {
            "coverage": round(self.coverage, 6), "pass_rate": round(self.pass_rate, 6),
            "rules.total": float(len(self.judged)), "rules.failed": float(len(self.failing)),
            "rules.skipped": float(len(self.skipped)),
            "rules.failed_error": float((self.failing["severity"] == "error").sum()),
            "volume.anomalies": float(self.daily_volume["anomaly"].sum())
            if len(self.daily_volume) else 0.0,
        }
        for r in self.failing.itertuples():
            out[f"fail.{r.table}.{r.rule}.{r.column}"] = round(1.0 - float(r.pass_pct), 6)
        return out

    def headline(self) -> str:
        """One sentence for a stakeholder."""
        n, f = len(self.judged), len(self.failing)
        warn = int((self.failing["severity"] == "warn").sum())
        nums = (f"pass rate {self.pass_rate:.1%} against {self.pass_target:.0%} target; "
                f"coverage {self.coverage:.1%} against {self.coverage_target:.0%}")
        if self.decision == "pass":
            what = f"all {n} rules pass" if f == 0 else (
                f"{n - f} of {n} rules pass, {warn} warning{'s' if warn != 1 else ''} to review")
            return f"Data is fit to decide on: {what} ({nums})"
        return f"Data is not fit to decide on: {f} of {n} rules fail ({nums})"

    #: How the notebook formats the rules table (pass_pct and threshold are shares 0..1).
    table_formats = {"checked": "{:,.0f}", "passed": "{:,.0f}", "failed": "{:,.0f}",
                     "pass_pct": "{:.2%}", "threshold": "{:.0%}"}

    def summary(self) -> str:
        """Markdown prose for a stakeholder: what fails, how much, and what to do. Table, column
        and rule names are escaped (report.esc, report.code)."""
        when = (f"as of the snapshot time {self.as_of:%Y-%m-%d %H:%M}" if self.snapshot
                else f"against the clock at {self.as_of:%Y-%m-%d %H:%M} (no snapshot time)")
        lines = [
            f"We checked **{len(self.judged)} rules** on **{len(self.table_names)} tables** {when}. "
            f"Collection coverage is **{self.coverage:.1%}** "
            f"(target {self.coverage_target:.0%}) and the overall pass rate is "
            f"**{self.pass_rate:.1%}** (target {self.pass_target:.0%}).",
        ]
        if self.inferred:
            lines += ["", "No rules file was given, so the rules were **inferred from the data**: "
                      "types, missing keys and timestamps, duplicate keys and rows, timestamps in "
                      "the future and daily volume. Value sets, ranges and freshness need a rules "
                      "file (`playbook rules infer` writes a starting one)."]
        if len(self.skipped):
            lines += ["", f"**{len(self.skipped)} rule{'s' if len(self.skipped) != 1 else ''} "
                      "not checked**: " + "; ".join(dict.fromkeys(self.skipped["note"])) + "."]
        failing = self.failing
        if len(failing):
            lines.append("")
            lines.append("What fails, and what to do about it:")
            lines.append("")
            for r in failing.itertuples():
                what = _RULE_WORDS.get(r.rule) or esc(r.rule)
                col = code(r.column) if r.column else "the table"
                sev = " (warning)" if r.severity == "warn" else ""
                note = f" ({r.note})" if r.note else ""
                lines.append(
                    f"- **{esc(r.table)}**: {col} {what}: {int(r.failed):,} of {int(r.checked):,} "
                    f"fail ({1 - float(r.pass_pct):.2%}; allowed {1 - float(r.threshold):.0%})"
                    f"{note}{sev}."
                )
            lines.append("")
            lines.append("Ask the owners of these tables to fix the load or the source before "
                         "decisions are taken on the affected columns; the samples below show "
                         "example rows.")
        else:
            lines.append("")
            lines.append("Every rule passes: the tables are fit to decide on.")
        return "\n".join(lines)

    def details(self) -> dict[str, Any]:
        """JSON-able details for the outcome: the failing rules and the per-table summary."""
        failing = self.failing
        return {
            "as_of": self.as_of.isoformat(),
            "snapshot": self.snapshot,
            "rules_file": self.rules_file,
            "rules_inferred": self.inferred,
            "tables": list(self.table_names),
            "not_checked": [{"table": r.table, "rule": r.rule, "column": r.column, "why": r.note}
                            for r in self.skipped.itertuples()],
            "failing_rules": [
                {"table": r.table, "rule": r.rule, "column": r.column, "checked": int(r.checked),
                 "failed": int(r.failed), "pass_pct": float(r.pass_pct),
                 "threshold": float(r.threshold), "severity": r.severity, "note": r.note}
                for r in failing.itertuples()
            ],
        }


_RULE_WORDS = {
    "completeness": "is missing too often",
    "uniqueness": "has duplicate keys",
    "freshness": "is stale (newest row older than its SLA)",
    "not_future": "has timestamps in the future",
    "min": "has values below the allowed minimum",
    "max": "has values above the allowed maximum",
    "allowed": "has values outside the allowed list",
    "pattern": "has values in the wrong format",
    "dtype": "has values of the wrong type",
    "volume": "has days with abnormal row counts",
    "distinct_rows": "has rows that are exact copies of another row",
    "zones": "mixes timestamps with and without a time zone",
}
