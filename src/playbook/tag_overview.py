"""What the tag store holds, for ``playbook tags`` and the archive's tag page: each tag set's
size, coverage and freshness (:func:`overview`), and audience lists for campaigns (:func:`export`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from playbook.atomic import temporary_beside
from playbook.audience import Audience
from playbook.tags import Snapshot, TagSet, TagStore


@dataclass(frozen=True)
class TagSetOverview:
    """One line of the tag catalogue."""

    tag_set: TagSet
    latest: Snapshot | None
    age_days: int | None  # days from the latest snapshot to ``today``

    @property
    def name(self) -> str:
        return self.tag_set.name

    @property
    def coverage(self) -> float | None:
        return self.latest.coverage if self.latest else None

    def line(self) -> str:
        """``rfm: 14,233 users (71.2% of 20,000) as of 2026-11-24, 8 days old; 9 tags; owner growth-data``"""
        if self.latest is None:
            return f"{self.name}: no snapshot yet"
        cover = (f" ({self.coverage:.1%} of {self.latest.population:,})"
                 if self.coverage is not None and self.latest.population else "")
        age = "" if self.age_days is None else f", {self.age_days} day{'s' * (self.age_days != 1)} old"
        owner = f"; owner {self.tag_set.owner}" if self.tag_set.owner else ""
        return (f"{self.name}: {self.latest.users:,} users{cover} as of {self.latest.as_of}{age}; "
                f"{len(self.tag_set.tags)} tags, {len(self.tag_set.snapshots)} snapshot"
                f"{'s' * (len(self.tag_set.snapshots) != 1)}{owner}")


def overview(store: TagStore, today: date | None = None) -> list[TagSetOverview]:
    """Every tag set of ``store`` with its latest snapshot, and its age on ``today`` (if given)."""
    out = []
    for tag_set in store.sets():
        latest = tag_set.latest
        age = (today - latest.as_of).days if latest is not None and today is not None else None
        out.append(TagSetOverview(tag_set, latest, age))
    return out


def export(store: TagStore, audience: Audience, out: Path) -> tuple[Path, int]:
    """Write the users of ``audience`` (``user_id``, ``tag``, ``as_of``) to the CSV file ``out``
    atomically; the path and the number of users."""
    resolved = audience.resolved(store)
    frame = store.read(resolved.tag_set, resolved.as_of, list(resolved.tags) or None)
    with temporary_beside(out) as tmp:
        frame[["user_id", "tag", "as_of"]].to_csv(tmp, index=False)
    return out, len(frame)


__all__ = ["TagSetOverview", "export", "overview"]
