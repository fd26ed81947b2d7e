"""Scheduled runs: which campaigns are due, and running them once each.

A spec's ``schedule`` is a cron expression (UTC). Each time the expression matches is a
**slot** (Airflow calls it the logical date). A run records the slot it serves in run.json
(``slot``; a run started by hand serves its own start time, ``trigger: manual``). A campaign
is **due** when its most recent slot at or before now is newer than the newest slot any of its
runs served, or it never ran. A slot counts as served as soon as a run for it has started,
whatever that run's status: a failed scheduled run is not retried every few minutes; the next
slot runs again, and ``playbook run`` re-runs by hand. Run records written before slots were
recorded count with their ``started_at``. Times come from one :class:`~playbook.runner.clock.Clock`,
so ``playbook schedule --now`` pretends consistently for the scheduler and the runs it starts.

``playbook schedule`` lists the campaigns with their slots; ``playbook schedule --run`` runs the
due ones; call it from the system's cron, e.g. every 15 minutes::

    */15 * * * *  cd /path/to/project && .venv/bin/playbook schedule --run --publish

A lock file per campaign (``outputs/runs/<campaign>/.lock``, created exclusively) keeps two
overlapping invocations from running the same campaign twice (the one that gets the lock checks
again that the slot is still unserved); a lock older than ``STALE_LOCK_S`` (a crashed run) is
taken over. A lock's age is read on the file system's clock (against a fresh file's mtime), not
the process's, so a pretend clock (``--now``, faketime) cannot make a live lock look stale.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playbook.errors import RunError, SpecError
from playbook.project import paths
from playbook.runner.clock import SYSTEM_CLOCK, Clock
from playbook.runner.spec import SLUG, read_yaml
from playbook.zones import parse_utc

STALE_LOCK_S = 6 * 3600


@dataclass(frozen=True)
class Scheduled:
    spec_path: Path
    campaign: str
    cron: str
    previous: datetime  # the most recent slot at or before ``now``
    next: datetime  # the first slot after ``now``
    last_slot: datetime | None  # the newest slot served by a run of the campaign

    @property
    def due(self) -> bool:
        return self.last_slot is None or self.last_slot < self.previous


def served_slot(manifest: dict[str, Any]) -> datetime | None:
    """The slot a run record serves: its ``slot``, else (older records) its ``started_at``."""
    for key in ("slot", "started_at"):
        value = manifest.get(key)
        if value:
            try:
                return parse_utc(str(value))
            except ValueError:
                continue
    return None


def last_served_slot(runs_dir: Path, campaign: str) -> datetime | None:
    """The newest slot served by any run of the campaign (any status), from its run.json files."""
    slots = []
    for manifest in (runs_dir / campaign).glob("*/run.json"):
        try:
            slot = served_slot(json.loads(manifest.read_text(encoding="utf-8")))
        except (OSError, ValueError, AttributeError):
            continue
        if slot is not None:
            slots.append(slot)
    return max(slots) if slots else None


def scheduled(playbooks_dir: Path | None = None, runs_dir: Path | None = None,
              now: datetime | None = None, clock: Clock = SYSTEM_CLOCK) -> list[Scheduled]:
    """Every spec with a ``schedule``, with its previous and next slots (UTC).

    ``now`` defaults to ``clock.now()``; a naive ``now`` is UTC.
    """
    from croniter import croniter

    project = paths()
    playbooks_dir = project.playbooks if playbooks_dir is None else playbooks_dir
    runs_dir = project.runs if runs_dir is None else runs_dir
    moment = now or clock.now()
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    out = []
    for path in sorted(playbooks_dir.glob("*.yml")):
        raw = read_yaml(path)
        cron = raw.get("schedule")
        if not cron:
            continue
        if not croniter.is_valid(cron):
            raise RunError(f"{path}: schedule: '{cron}' is not a cron expression")
        campaign = str(raw.get("campaign", path.stem))
        if not SLUG.match(campaign):
            raise SpecError(f"{path}: campaign: '{campaign}' is not a campaign slug: use lower-case "
                            "letters, digits and dashes (e.g. 'spring-limit-banner')")
        # croniter's get_prev is strictly before its start; a slot at exactly ``now`` is due now
        previous = croniter(cron, moment + timedelta(microseconds=1)).get_prev(datetime).astimezone(UTC)
        nxt = croniter(cron, moment).get_next(datetime).astimezone(UTC)
        out.append(Scheduled(path, campaign, cron, previous, nxt, last_served_slot(runs_dir, campaign)))
    return out


def _age_s(path: Path) -> float:
    """Seconds since ``path`` was modified, both times taken from the file system."""
    fd, probe = tempfile.mkstemp(dir=path.parent, prefix=".probe-")
    try:
        now = os.fstat(fd).st_mtime
    finally:
        os.close(fd)
        os.unlink(probe)
    return now - path.stat().st_mtime


@contextmanager
def campaign_lock(runs_dir: Path, campaign: str) -> Iterator[bool]:
    """Yield True when this process holds the campaign's lock, False when another one does."""
    path = runs_dir / campaign / ".lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and _age_s(path) > STALE_LOCK_S:
        path.unlink(missing_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        yield False
        return
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
        os.close(fd)
        yield True
    finally:
        path.unlink(missing_ok=True)
