"""Funnel diagnosis: step conversion, the bottleneck, weak segments and time to convert.

    analyze_funnel(...)   funnel_diagnosis's analysis -> FunnelResult

Modules: ``sql`` (the per-user step times, pushed to DuckDB), ``aggregate`` (counts and
durations from them), ``tables`` (the step and segment tables with their tests), ``result``
(FunnelResult and its decision rule), ``analysis`` (the entry point).
"""

from playbook.analyses.funnel.analysis import analyze_funnel
from playbook.analyses.funnel.result import FunnelResult

__all__ = ["FunnelResult", "analyze_funnel"]
