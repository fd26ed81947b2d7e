"""Retention cohorts: do users stay and come back?

    analyze_retention(warehouse, **parameters)   retention_cohorts' analysis -> RetentionResult

Modules: ``checks`` (parameters, tables, the snapshot time), ``sql`` (the cohort engine in
DuckDB), ``cells`` (windows, modes, complete cells), ``models`` (Wilson intervals, trends,
repeat decay, segment test), ``purchases`` (valid orders, repurchase, intervals, decay),
``result`` (RetentionResult, its decisions and their tones), ``analysis`` (the entry point).
"""

from playbook.analyses.retention.analysis import analyze_retention
from playbook.analyses.retention.checks import Options
from playbook.analyses.retention.result import RetentionDecision, RetentionResult

__all__ = ["Options", "RetentionDecision", "RetentionResult", "analyze_retention"]
