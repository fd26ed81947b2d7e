"""kpi_review: did the campaign meet its KPI targets? Difference in differences against a
comparison group, with a parallel-trends check (:mod:`playbook.analyses.kpi.analysis`)."""

from playbook.analyses.kpi.analysis import KpiDef, kpi_definitions, review_kpis
from playbook.analyses.kpi.did import DiD, difference_in_differences, parallel_trends, verdict
from playbook.analyses.kpi.result import KpiDecision, KpiResult, KpiRow
from playbook.analyses.kpi.sql import KINDS, Tables

__all__ = ["KINDS", "DiD", "KpiDecision", "KpiDef", "KpiResult", "KpiRow", "Tables",
           "difference_in_differences", "kpi_definitions", "parallel_trends", "review_kpis", "verdict"]
