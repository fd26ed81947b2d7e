"""The two tag sets segmentation writes: ``rfm`` (named segment per user) and ``value_tier``.

:func:`write_segment_tags` writes both into a run folder's ``tags/`` through
:func:`playbook.tags.write_tag_set` (the runner promotes them into the tag store after the run
succeeded). Definitions are in English: a tag set is a company-wide asset read by every team.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from playbook.analyses.segments.result import SegmentationResult
from playbook.analyses.segments.rules import NO_PURCHASE, OTHER, tier_meaning
from playbook.tags import TagSet, write_tag_set

SCORE_COLUMNS = ["r", "f", "m", "recency_days", "frequency", "monetary"]


def rfm_definitions(result: SegmentationResult) -> dict[str, dict[str, str]]:
    """Each segment's meaning and its rule in words (from the segments file), plus other and
    no_purchase."""
    out = {r.name: {"meaning": r.meaning, "rule": f"{r.in_words()} (first matching rule of {result.rules.source})"}
           for r in result.rules.rules}
    out[OTHER] = {"meaning": "Buyers whose scores match no rule of the mapping",
                  "rule": f"no rule of {result.rules.source} matches"}
    out[NO_PURCHASE] = {"meaning": "Users without a valid purchase before the snapshot (not scored)",
                        "rule": "no order at or before the snapshot with an amount above 0"}
    return out


def tier_definitions(result: SegmentationResult) -> dict[str, dict[str, str]]:
    out = {}
    for name in result.tier_order:
        meaning, rule = tier_meaning(name, result.tier_cuts)
        out[name] = {"meaning": meaning, "rule": rule}
    out[NO_PURCHASE] = {"meaning": "Users without a valid purchase before the snapshot",
                        "rule": "no order at or before the snapshot with an amount above 0"}
    return out


def write_segment_tags(result: SegmentationResult, *, root: Path, run: Mapping[str, str], owner: str,
                       rfm_tag_set: str = "rfm", tier_tag_set: str = "value_tier") -> list[TagSet]:
    """Write the ``rfm`` and ``value_tier`` snapshots of ``result.as_of`` below ``root``."""
    users = result.users
    computed = ("RFM from the orders at or before the snapshot with an amount above 0: recency in whole days "
                "since the last order, frequency = orders, monetary = their sum; each scored 1-5 by quantiles "
                "of the buyers as 1 + floor(5 x (buyers with a worse value) / buyers): equal values share a "
                "score, ties go to the lower score")
    rfm = write_tag_set(
        users[["user_id", "segment", *SCORE_COLUMNS]].rename(columns={"segment": "tag"}), tag_set=rfm_tag_set,
        as_of=result.day, root=root, tags=rfm_definitions(result),
        description="RFM segment of each user: who buys recently, often and much, and who is slipping away",
        computed=computed + f"; segments from {result.rules.source}, the first matching rule wins",
        owner=owner, run=run, population=len(users))
    cuts = ", ".join(f"{c:g}" for c in result.tier_cuts)
    tiers = write_tag_set(
        users[["user_id", "tier", "monetary"]].rename(columns={"tier": "tag"}), tag_set=tier_tag_set,
        as_of=result.day, root=root, tags=tier_definitions(result),
        description="Value tier of each user by money spent up to the snapshot",
        computed=f"buyers ranked by the sum of their valid orders; cut points {cuts} of the buyers "
                 "(equal spending, equal tier, ties to the higher tier)", owner=owner, run=run,
        population=len(users))
    return [rfm, tiers]
