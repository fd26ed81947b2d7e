"""Scheduled runs: which campaigns are due, and running them once each.

A spec's ``schedule`` is a cron expression (UTC). A campaign is **due** when its most recent
scheduled time is later than the start of its latest run (or it never ran). ``playbook
schedule`` lists the campaigns with their next and last scheduled times; ``playbook schedule
--run`` runs the due ones; call it from the system's cron, e.g. every 15 minutes::

    */15 * * * *  cd /path/to/project && .venv/bin/playbook schedule --run --publish

A lock file per campaign (``outputs/runs/<campaign>/.lock``, created exclusively) keeps two
overlapping invocations from running the same campaign twice; a lock older than
``STALE_LOCK_S`` (a crashed run) is taken over.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from playbook.errors import RunError
from playbook.runner.spec import read_yaml

STALE_LOCK_S = 6 * 3600


@dataclass(frozen=True)
class Scheduled:
    spec_path: Path
    campaign: str
    cron: str
    previous: datetime  # the most recent scheduled time at or before ``now``
    next: datetime
    last_run: datetime | None

    @property
    def due(self) -> bool:
        return self.last_run is None or self.last_run < self.previous


def last_run_start(runs_dir: Path, campaign: str) -> datetime | None:
    """Start time of the campaign's newest run (any status), from its run.json files."""
    starts = []
    for manifest in (runs_dir / campaign).glob("*/run.json"):
        try:
            started = json.loads(manifest.read_text(encoding="utf-8")).get("started_at")
            starts.append(datetime.fromisoformat(started))
        except (OSError, ValueError, TypeError):
            continue
    return max(starts) if starts else None


def scheduled(playbooks_dir: Path = Path("playbooks"), runs_dir: Path = Path("outputs/runs"),
              now: datetime | None = None) -> list[Scheduled]:
    """Every spec with a ``schedule``, with its previous and next times (UTC)."""
    from croniter import croniter

    now = now or datetime.now(UTC)
    out = []
    for path in sorted(playbooks_dir.glob("*.yml")):
        raw = read_yaml(path)
        cron = raw.get("schedule")
        if not cron:
            continue
        if not croniter.is_valid(cron):
            raise RunError(f"{path}: schedule: '{cron}' is not a cron expression")
        it = croniter(cron, now)
        previous = it.get_prev(datetime)
        nxt = croniter(cron, now).get_next(datetime)
        campaign = str(raw.get("campaign", path.stem))
        out.append(Scheduled(path, campaign, cron, previous, nxt, last_run_start(runs_dir, campaign)))
    return out


@contextmanager
def campaign_lock(runs_dir: Path, campaign: str) -> Iterator[bool]:
    """Yield True when this process holds the campaign's lock, False when another one does."""
    path = runs_dir / campaign / ".lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and time.time() - path.stat().st_mtime > STALE_LOCK_S:
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
