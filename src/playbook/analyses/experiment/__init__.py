"""Experiments: design a test (sample size, duration, MDE) and read it out (lifts, SRM, decision).

    design_experiment(...)    experiment_design's analysis   -> DesignResult
    analyze_experiment(...)   experiment_readout's analysis  -> ReadoutResult

Modules: ``spec`` (metric definitions), ``sql`` (per-arm sums pushed to DuckDB, in one statement
that ``query`` writes), ``arms``
(the statistics glue over :mod:`playbook.stats`), ``decide`` (the readout's decision rules),
``readout_result`` and ``design_result`` (the results, implementing
:class:`playbook.analyses.base.Result`).
"""

from playbook.analyses.experiment.design import design_experiment, spec_hypothesis
from playbook.analyses.experiment.design_result import DesignResult
from playbook.analyses.experiment.readout import analyze_experiment
from playbook.analyses.experiment.readout_result import ReadoutResult

__all__ = ["DesignResult", "ReadoutResult", "analyze_experiment", "design_experiment",
           "spec_hypothesis"]
