"""segmentation: RFM scores, named segments (an editable YAML mapping), value tiers, segment
profiles, migration since the previous run, and the ``rfm`` and ``value_tier`` tag sets.

    analyze_segments(warehouse, ...)   -> SegmentationResult
    write_segment_tags(result, ...)    the two tag sets, into a run folder's tags/
    load_segment_rules(path)           the segments file (default: the packaged segments.yaml)

Modules: ``analysis`` (entry point), ``sql`` (the DuckDB queries, the tie rule), ``rules`` (the
segments file and tier cut points), ``profile`` (shares and intervals), ``result`` (the
contract, decisions and tones), ``tagging`` (the tag sets and their definitions).
"""

from playbook.analyses.segments.analysis import (
    analyze_segments,
    open_tag_store,
    previous_snapshot,
    snapshot_time,
)
from playbook.analyses.segments.result import SegmentationResult, SegmentDecision
from playbook.analyses.segments.rules import (
    NO_PURCHASE,
    OTHER,
    SegmentRule,
    SegmentRules,
    load_segment_rules,
    parse_segment_rules,
    tier_names,
)
from playbook.analyses.segments.sql import Columns
from playbook.analyses.segments.tagging import write_segment_tags

__all__ = ["NO_PURCHASE", "OTHER", "Columns", "SegmentDecision", "SegmentRule", "SegmentRules",
           "SegmentationResult", "analyze_segments", "load_segment_rules", "open_tag_store", "parse_segment_rules",
           "previous_snapshot", "snapshot_time", "tier_names", "write_segment_tags"]
