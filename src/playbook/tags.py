"""User tags as a shared asset: tag sets written once, with their definitions, reused by any spec.

A tag set gives every user it covers exactly one tag (``rfm``: champions, loyal, at_risk...) as
of a date. The store is a folder per tag set (:attr:`playbook.project.ProjectPaths.tags`, i.e.
``data/tags/``)::

    data/tags/<tag_set>/as_of=<YYYY-MM-DD>.parquet   user_id, as_of, tag (+ the scores behind it)
    data/tags/<tag_set>/tags.yaml                    what each tag means and how it is computed,
                                                     the owner, and every snapshot: its date,
                                                     size, counts per tag and the run that made it

A template never writes into the store: it writes the tag set into its own run folder
(``<run>/tags/<tag_set>/``, :func:`write_tag_set`) and the runner promotes it into the store
after the run succeeded (:meth:`TagStore.promote`), one file at a time through an atomic
rename, the Parquet snapshot before the YAML that lists it. A failed run leaves the store as it
was; a reader sees a snapshot whole or not at all.

A spec reads a tag set back through its ``audience`` (:mod:`playbook.audience`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from playbook.atomic import temporary_beside, write_text
from playbook.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

#: A tag set's name: its folder, the column it adds to ``users`` in an audience (``rfm``).
TAG_SET = re.compile(r"^[a-z][a-z0-9_]*$")
DEFINITIONS = "tags.yaml"
SNAPSHOT = re.compile(r"^as_of=(\d{4}-\d{2}-\d{2})\.parquet$")
KEY = "user_id"


def check_tag_set(name: Any, key: str = "tag_set") -> str:
    """``name`` if it is a tag set's name; a :class:`DataError` naming ``key`` otherwise."""
    if isinstance(name, str) and TAG_SET.match(name):
        return name
    raise DataError(f"{key}: {name!r} is not a tag set name: use lower-case letters, digits and "
                    "underscores, starting with a letter (e.g. 'rfm' or 'value_tier')")


@dataclass(frozen=True)
class Snapshot:
    """One dated snapshot of a tag set."""

    as_of: date
    users: int
    counts: dict[str, int]
    run: dict[str, str] = field(default_factory=dict)  # campaign, run_id, template
    population: int | None = None  # users of the warehouse at as_of (coverage = users / population)

    @property
    def coverage(self) -> float | None:
        return self.users / self.population if self.population else None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"as_of": self.as_of.isoformat(), "users": self.users,
                               "counts": dict(self.counts), "run": dict(self.run)}
        if self.population is not None:
            out["population"] = self.population
        return out


@dataclass(frozen=True)
class TagSet:
    """A tag set's definitions and snapshots (its ``tags.yaml``)."""

    name: str
    description: str
    owner: str
    computed: str  # how the tags are computed, in words
    tags: dict[str, dict[str, str]]  # tag -> {meaning, rule}
    snapshots: list[Snapshot]
    folder: Path

    @property
    def latest(self) -> Snapshot | None:
        return max(self.snapshots, key=lambda s: s.as_of) if self.snapshots else None

    def snapshot(self, as_of: date | str | None = None) -> Snapshot:
        """The snapshot of ``as_of`` (the latest when None); a :class:`DataError` if absent."""
        if as_of is None:
            if self.latest is None:
                raise DataError(f"{self.folder}: tag set '{self.name}' has no snapshot yet; run the "
                                "template that writes it (e.g. segmentation) first")
            return self.latest
        day = as_of if isinstance(as_of, date) else _day(as_of, f"tag set '{self.name}' as_of")
        for snap in self.snapshots:
            if snap.as_of == day:
                return snap
        have = ", ".join(s.as_of.isoformat() for s in sorted(self.snapshots, key=lambda s: s.as_of))
        raise DataError(f"{self.folder}: tag set '{self.name}' has no snapshot as of {day} "
                        f"(it has {have or 'none'}); leave as_of out for the latest")

    def file(self, as_of: date | str | None = None) -> Path:
        return self.folder / f"as_of={self.snapshot(as_of).as_of.isoformat()}.parquet"

    def as_dict(self) -> dict[str, Any]:
        return {"tag_set": self.name, "description": self.description, "owner": self.owner,
                "key": KEY, "computed": self.computed, "tags": self.tags,
                "snapshots": [s.as_dict() for s in sorted(self.snapshots, key=lambda s: s.as_of)]}


def _day(value: Any, key: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise DataError(f"{key}: {value!r} is not a date; write it as YYYY-MM-DD") from None


def _check_frame(frame: pd.DataFrame, name: str, tags: Mapping[str, Any]) -> None:
    for column in (KEY, "tag"):
        if column not in frame.columns:
            raise DataError(f"tag set '{name}': the frame has no column '{column}' "
                            f"(it has {', '.join(map(str, frame.columns))})")
    if frame[KEY].isna().any():
        raise DataError(f"tag set '{name}': {int(frame[KEY].isna().sum())} rows have no user_id; drop them first")
    if frame[KEY].duplicated().any():
        raise DataError(f"tag set '{name}': {int(frame[KEY].duplicated().sum())} users appear twice; "
                        "a tag set gives each user one tag")
    unknown = sorted(set(frame["tag"].dropna().astype(str)) - set(tags))
    if frame["tag"].isna().any() or unknown:
        raise DataError(f"tag set '{name}': tags without a definition: "
                        f"{', '.join(unknown) or 'empty tags'}; define every tag (meaning and rule)")


def write_tag_set(frame: pd.DataFrame, *, tag_set: str, as_of: date | str, root: Path,
                  tags: Mapping[str, Mapping[str, str]], description: str, computed: str, owner: str,
                  run: Mapping[str, str] | None = None, population: int | None = None) -> TagSet:
    """Write ``frame`` (``user_id``, ``tag`` and any score columns) as the snapshot ``as_of`` of
    ``tag_set`` below ``root`` (a run folder's ``tags/``), with its definitions. ``population``
    is the number of users the warehouse had (the snapshot's coverage is its share of them)."""
    name = check_tag_set(tag_set)
    day = _day(as_of, f"tag set '{name}' as_of")
    _check_frame(frame, name, tags)
    folder = Path(root) / name
    out = frame.assign(as_of=day, tag=frame["tag"].astype(str))
    out = out[[KEY, "as_of", "tag", *[c for c in frame.columns if c not in (KEY, "tag", "as_of")]]]
    target = folder / f"as_of={day.isoformat()}.parquet"
    with temporary_beside(target) as tmp:
        out.to_parquet(tmp, index=False)
    counts = {t: int(n) for t, n in out["tag"].value_counts().sort_index().items()}
    snap = Snapshot(day, len(out), counts, {k: str(v) for k, v in (run or {}).items()},
                    int(population) if population is not None else None)
    existing = read_definitions(folder) if (folder / DEFINITIONS).exists() else None
    older = [s for s in (existing.snapshots if existing else []) if s.as_of != day]
    result = TagSet(name, description, owner, computed, {t: dict(d) for t, d in tags.items()},
                    [*older, snap], folder)
    _write_definitions(result)
    return result


def _write_definitions(tag_set: TagSet) -> None:
    write_text(tag_set.folder / DEFINITIONS,
               yaml.safe_dump(tag_set.as_dict(), allow_unicode=True, sort_keys=False))


def read_definitions(folder: Path) -> TagSet:
    """The tag set in ``folder`` from its ``tags.yaml``; a :class:`DataError` naming the file."""
    path = folder / DEFINITIONS
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: missing; a tag set's folder holds its definitions") from None
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("tags"), dict):
        raise DataError(f"{path}: expected a mapping with 'tags' (tag -> meaning and rule)")
    snaps = []
    for i, s in enumerate(raw.get("snapshots") or []):
        try:
            snaps.append(Snapshot(_day(s["as_of"], f"{path}: snapshots[{i}].as_of"), int(s["users"]),
                                  {str(k): int(v) for k, v in (s.get("counts") or {}).items()},
                                  {str(k): str(v) for k, v in (s.get("run") or {}).items()},
                                  int(s["population"]) if s.get("population") is not None else None))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{path}: snapshots[{i}] is not a snapshot ({exc}): it needs as_of and users") from None
    return TagSet(check_tag_set(raw.get("tag_set", folder.name), f"{path}: tag_set"),
                  str(raw.get("description", "")), str(raw.get("owner", "")), str(raw.get("computed", "")),
                  {str(t): {str(k): str(v) for k, v in (d or {}).items()} for t, d in raw["tags"].items()},
                  snaps, folder)


class TagStore:
    """The project's tag sets (``data/tags/`` unless ``root`` names another folder)."""

    def __init__(self, root: Path | str | None = None) -> None:
        if root is None:
            from playbook.project import paths

            root = paths().tags
        self.root = Path(root)

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / DEFINITIONS).is_file())

    def sets(self) -> list[TagSet]:
        return [read_definitions(self.root / n) for n in self.names()]

    def get(self, name: str, key: str = "tag_set") -> TagSet:
        name = check_tag_set(name, key)
        if name not in self.names():
            have = ", ".join(self.names()) or "none yet"
            raise DataError(f"{key}: no tag set '{name}' in {self.root} (tag sets: {have}); run the "
                            "template that writes it (e.g. segmentation) first")
        return read_definitions(self.root / name)

    def read(self, name: str, as_of: date | str | None = None,
             tags: Sequence[str] | None = None) -> pd.DataFrame:
        """The users of a snapshot (the latest by default), only those tagged ``tags`` if given."""
        import pandas as pd

        tag_set = self.get(name)
        check_tags(tag_set, tags or [])
        frame = pd.read_parquet(tag_set.file(as_of))
        return frame[frame["tag"].isin(list(tags))].reset_index(drop=True) if tags else frame

    def promote(self, source: Path) -> list[str]:
        """Copy the tag sets a run wrote (``source``/<tag_set>/) into the store; their names."""
        done = []
        for folder in sorted(p for p in Path(source).iterdir() if (p / DEFINITIONS).is_file()):
            incoming = read_definitions(folder)
            target = self.root / incoming.name
            for snap in incoming.snapshots:
                name = f"as_of={snap.as_of.isoformat()}.parquet"
                with temporary_beside(target / name) as tmp:
                    tmp.write_bytes((folder / name).read_bytes())
            existing = read_definitions(target) if (target / DEFINITIONS).exists() else None
            new_days = {s.as_of for s in incoming.snapshots}
            kept = [s for s in (existing.snapshots if existing else []) if s.as_of not in new_days]
            _write_definitions(TagSet(incoming.name, incoming.description, incoming.owner,
                                      incoming.computed, incoming.tags, [*kept, *incoming.snapshots], target))
            done.append(incoming.name)
        return done


def check_tags(tag_set: TagSet, tags: Sequence[str], key: str = "audience.tags") -> None:
    """A :class:`DataError` naming ``key`` for any tag the set does not define."""
    unknown = [t for t in tags if t not in tag_set.tags]
    if unknown:
        raise DataError(f"{key}: tag set '{tag_set.name}' has no tag {', '.join(map(repr, unknown))} "
                        f"(its tags: {', '.join(tag_set.tags)})")


__all__ = ["DEFINITIONS", "KEY", "TAG_SET", "Snapshot", "TagSet", "TagStore", "check_tag_set",
           "check_tags", "read_definitions", "write_tag_set"]
