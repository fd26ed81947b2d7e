"""Data quality: rules per table (pandera), freshness, volume and duplicate checks.

    check_warehouse(...)   data_quality's analysis -> QualityResult
    load_rules(path)       a rules file, validated (default: the packaged ``rules.yaml``)
    infer_rules(...)       a starting rules file profiled from any warehouse

Modules: ``rules`` (the rules file), ``infer`` (profiling), ``volume`` (daily volumes),
``checks`` (the rules of one table, counted), ``result`` (QualityResult and its decision
rule), ``analysis`` (the entry point).
"""

from playbook.analyses.quality.analysis import check_warehouse
from playbook.analyses.quality.infer import infer_rules
from playbook.analyses.quality.result import QualityResult
from playbook.analyses.quality.rules import load_rules

__all__ = ["QualityResult", "check_warehouse", "infer_rules", "load_rules"]
