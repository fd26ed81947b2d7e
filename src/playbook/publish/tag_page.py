"""The archive's tag catalogue (``tags.html``): every tag set of the store with what its tags
mean and how they are computed, its owner, its size over time, coverage and last refresh, and
the run that wrote each snapshot (linked to its campaign page). Read from the tag store's YAML
files alone (:mod:`playbook.tags`), never from the snapshots' rows."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from playbook.i18n import formats
from playbook.tag_overview import overview
from playbook.tags import TagStore


def tag_views(store_dir: Path, now: datetime, language: str = "en") -> list[dict[str, Any]]:
    """What the page shows of each tag set (plain values; the page escapes them)."""
    out = []
    for row in overview(TagStore(store_dir), now.date()):
        ts, latest = row.tag_set, row.latest
        snaps = sorted(ts.snapshots, key=lambda s: s.as_of, reverse=True)
        biggest = max((s.users for s in snaps), default=0) or 1
        out.append({
            "name": ts.name, "description": ts.description, "owner": ts.owner, "computed": ts.computed,
            "as_of": latest.as_of.isoformat() if latest else None,
            "age_days": row.age_days,
            "users": formats.count(latest.users, language=language) if latest else "–",
            "coverage": formats.percent(row.coverage, language=language) if row.coverage is not None else "–",
            "tags": [{"tag": tag, "meaning": d.get("meaning", ""), "rule": d.get("rule", ""),
                      "users": formats.count(latest.counts.get(tag, 0), language=language) if latest else "–",
                      "share": (formats.percent(latest.counts.get(tag, 0) / latest.users, language=language)
                                if latest and latest.users else "–")}
                     for tag, d in ts.tags.items()],
            "snapshots": [{"as_of": s.as_of.isoformat(), "users": formats.count(s.users, language=language),
                           "bar": round(100 * s.users / biggest, 1),
                           "coverage": formats.percent(s.coverage, language=language) if s.coverage is not None else "–",
                           "campaign": s.run.get("campaign", ""), "run_id": s.run.get("run_id", "")}
                          for s in snaps],
        })
    return out


__all__ = ["tag_views"]
