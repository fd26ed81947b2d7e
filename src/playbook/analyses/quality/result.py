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
from playbook.analyses.quality.words import rule_words, severity_word, share, verdict_word, whole
from playbook.i18n import gettext as _
from playbook.i18n import ngettext, pgettext
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
        """Label, unit and kind of each metric in :meth:`metrics` (labels in the report's language)."""
        out = [Metric("coverage", _("Coverage of required values"), MetricKind.SHARE),
               Metric("pass_rate", _("Rules' mean pass rate"), MetricKind.SHARE),
               Metric("rules.total", _("Rules checked"), MetricKind.COUNT, "rules"),
               Metric("rules.failed", _("Rules failing"), MetricKind.COUNT, "rules"),
               Metric("rules.skipped", _("Rules not checked"), MetricKind.COUNT, "rules"),
               Metric("rules.failed_error", _("Rules failing with severity error"), MetricKind.COUNT, "rules"),
               Metric("volume.anomalies", _("Days with abnormal volume"), MetricKind.COUNT, "days")]
        out += [Metric(f"fail.{r.table}.{r.rule}.{r.column}",
                       _("Failing share: {table} {rule} {column}").format(
                           table=r.table, rule=r.rule, column=r.column).rstrip(), MetricKind.SHARE)
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
        """One sentence for a stakeholder, in the report's language."""
        n, f = len(self.judged), len(self.failing)
        warn = int((self.failing["severity"] == "warn").sum())
        nums = _("pass rate {pass_rate} against {pass_target} target; coverage {coverage} against "
                 "{coverage_target}").format(pass_rate=share(self.pass_rate), pass_target=share(self.pass_target, 0),
                                            coverage=share(self.coverage),
                                            coverage_target=share(self.coverage_target, 0))
        if self.decision == "pass":
            what = _("all {n} rules pass").format(n=n) if f == 0 else ngettext(
                "{passed} of {n} rules pass, {warn} warning to review",
                "{passed} of {n} rules pass, {warn} warnings to review", warn).format(passed=n - f, n=n, warn=warn)
            return _("Data is fit to decide on: {what} ({nums})").format(what=what, nums=nums)
        errors = int((self.failing["severity"] == "error").sum())
        if errors and self.pass_rate >= self.pass_target and self.coverage >= self.coverage_target:
            # the rates meet their targets: the reader is told that a rule marked error decides
            return ngettext(
                "Data is not fit to decide on: {errors} rule marked error fails ({failed} of {n} "
                "rules fail), though the targets are met ({nums})",
                "Data is not fit to decide on: {errors} rules marked error fail ({failed} of {n} "
                "rules fail), though the targets are met ({nums})", errors).format(
                    errors=errors, failed=f, n=n, nums=nums)
        return _("Data is not fit to decide on: {failed} of {n} rules fail ({nums})").format(
            failed=f, n=n, nums=nums)

    #: How the notebook formats the rules table (pass_pct and threshold are shares 0..1).
    table_formats = {"checked": "{:,.0f}", "passed": "{:,.0f}", "failed": "{:,.0f}",
                     "pass_pct": "{:.2%}", "threshold": "{:.0%}"}

    @staticmethod
    def readable(rules: pd.DataFrame) -> pd.DataFrame:
        """``rules`` (:attr:`rules` or a part) with verdicts and severities in the report's
        language, for a table a stakeholder reads (``verdict_word("fail")`` marks failing rows)."""
        out = rules.copy()
        for col, word in (("verdict", verdict_word), ("severity", severity_word)):
            if col in out.columns:
                out[col] = out[col].map(word)
        return out

    def summary(self) -> str:
        """Markdown prose for a stakeholder: what fails, how much, and what to do. Table, column
        and rule names are escaped (report.esc, report.code)."""
        time = f"{self.as_of:%Y-%m-%d %H:%M}"
        when = (_("as of the snapshot time {time}") if self.snapshot
                else _("against the clock at {time} (no snapshot time)")).format(time=time)
        lines = [
            _("We checked **{rules} rules** on **{tables} tables** {when}. Collection coverage is "
              "**{coverage}** (target {coverage_target}) and the overall pass rate is **{pass_rate}** "
              "(target {pass_target}).").format(
                rules=len(self.judged), tables=len(self.table_names), when=when,
                coverage=share(self.coverage), coverage_target=share(self.coverage_target, 0),
                pass_rate=share(self.pass_rate), pass_target=share(self.pass_target, 0)),
        ]
        if self.inferred:
            lines += ["", _("No rules file was given, so the rules were **inferred from the data**: "
                            "types, missing keys and timestamps, duplicate keys and rows, timestamps in "
                            "the future and daily volume. Value sets, ranges and freshness need a rules "
                            "file (`playbook rules infer` writes a starting one).")]
        if len(self.skipped):
            k = len(self.skipped)
            lines += ["", ngettext("**{n} rule not checked**: {why}.", "**{n} rules not checked**: {why}.",
                                   k).format(n=k, why=pgettext("separator", "; ").join(
                                       dict.fromkeys(self.skipped["note"])))]
        failing = self.failing
        if len(failing):
            lines += ["", _("What fails, and what to do about it:"), ""]
            lines += [self._failing_line(r) for r in failing.itertuples()]
            lines += ["", _("Ask the owners of these tables to fix the load or the source before "
                            "decisions are taken on the affected columns; the samples below show "
                            "example rows.")]
        else:
            lines += ["", _("Every rule passes: the tables are fit to decide on.")]
        return "\n".join(lines)

    @staticmethod
    def _failing_line(r: Any) -> str:
        """The summary's bullet of one failing rule (a row of :attr:`failing`)."""
        return _("- **{table}**: {column} {what}: {failed} of {checked} fail ({share}; allowed "
                 "{allowed}){note}{severity}.").format(
            table=esc(r.table), column=code(r.column) if r.column else _("the table"),
            what=rule_words(r.rule) or esc(r.rule), failed=whole(r.failed), checked=whole(r.checked),
            share=share(1 - float(r.pass_pct), 2), allowed=share(1 - float(r.threshold), 0),
            note=_(" ({note})").format(note=r.note) if r.note else "",
            severity=_(" (warning)") if r.severity == "warn" else "")

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

