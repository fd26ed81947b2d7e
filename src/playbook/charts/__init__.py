"""Charts the templates show to stakeholders: one function per chart, returning the figure.

Each chart has a title that states what it shows and axes with units; colours are the tones'
(:mod:`playbook.palette`). One module per template family; every chart is importable from
here (``charts.funnel(...)``, ``charts.forest(...)``):

    theme                 plain text for names from data, alt text, colours
    data_quality          rule_pass_rates, daily_volumes
    funnel_diagnosis      funnel, segment_gaps, time_to_convert
    process_efficiency    step_durations, weekly_medians, work_in_progress
    experiment            forest, segment_forest, cumulative_lift, mde_curve
    kpi_review            kpi_weeks, kpi_changes
    retention             cohort_heatmap, retention_curves, day_trend
    segmentation          segment_sizes, rf_grid, migration_matrix
"""

from playbook.charts.data_quality import daily_volumes, rule_pass_rates
from playbook.charts.experiment import cumulative_lift, forest, mde_curve, segment_forest
from playbook.charts.funnel_diagnosis import funnel, segment_gaps, time_to_convert
from playbook.charts.kpi_review import kpi_changes, kpi_weeks
from playbook.charts.process_efficiency import step_durations, weekly_medians, work_in_progress
from playbook.charts.retention import cohort_heatmap, day_trend, retention_curves
from playbook.charts.segmentation import migration_matrix, rf_grid, segment_sizes
from playbook.charts.theme import alt_text, chart, plain_text

__all__ = [
    "alt_text", "chart", "cohort_heatmap", "cumulative_lift", "daily_volumes", "day_trend", "forest", "funnel", "kpi_changes", "kpi_weeks",
    "mde_curve", "migration_matrix", "plain_text", "retention_curves", "rf_grid", "rule_pass_rates",
    "segment_forest", "segment_gaps", "segment_sizes", "step_durations",
    "time_to_convert", "weekly_medians", "work_in_progress",
]
