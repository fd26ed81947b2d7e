"""Channel ROI: CAC, conversion, retention, cohort LTV, payback, response curves and a budget shift.

    analyze_roi(...)   channel_roi's analysis -> RoiResult

Modules: ``sql`` (every pass over the warehouse, DuckDB), ``measures`` (pure arithmetic: means
from sufficient statistics, payback, ratios, metric keys), ``curves`` (response curves and
marginal CAC), ``realloc`` (the budget shift), ``result`` (RoiResult, its decisions and their
tones), ``analysis`` (the entry point and its definitions).
"""

from playbook.analyses.roi.analysis import analyze_roi
from playbook.analyses.roi.result import RoiDecision, RoiResult

__all__ = ["RoiDecision", "RoiResult", "analyze_roi"]
