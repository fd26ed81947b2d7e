"""Retract runs from the archive: ``playbook archive remove <campaign>[/<run_id>]``.

A retracted run folder moves from outputs/runs to outputs/retracted/<campaign>/<run_id>/
(nothing is lost), the archive is published again without it, and only then are its report
pages (and the campaign page, when no run of the campaign is left) deleted: every link in the
archive resolves at every moment."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from playbook.errors import ArchiveError
from playbook.project import paths
from playbook.publish.site import PublishResult, publish

NAME = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass
class Retraction:
    """What :func:`retract` moved, and the publish that followed."""

    moved: list[Path] = field(default_factory=list)
    result: PublishResult | None = None


def _check_name(name: str, what: str) -> str:
    if not NAME.match(name) or set(name) == {"."}:
        raise ArchiveError(f"'{name}' is not a {what} name: use letters, digits, '.', '_' and '-'")
    return name


def _listing(folder: Path) -> str:
    names = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) \
        if folder.is_dir() else []
    return ", ".join(names) if names else "none"


def _targets(runs_dir: Path, target: str) -> tuple[str, list[Path]]:
    campaign, _, run_id = target.partition("/")
    _check_name(campaign, "campaign")
    campaign_dir = runs_dir / campaign
    if not campaign_dir.is_dir():
        raise ArchiveError(f"no campaign '{campaign}' in {runs_dir}; campaigns: {_listing(runs_dir)}")
    if run_id:
        _check_name(run_id, "run")
        if not (campaign_dir / run_id).is_dir():
            raise ArchiveError(f"no run '{run_id}' of campaign '{campaign}'; its runs: {_listing(campaign_dir)}")
        folders = [campaign_dir / run_id]
    else:
        folders = [p for p in sorted(campaign_dir.iterdir()) if p.is_dir() and not p.name.startswith(".")]
        if not folders:
            raise ArchiveError(f"campaign '{campaign}' has no runs in {runs_dir}")
    for folder in folders:
        if not folder.resolve().is_relative_to(runs_dir.resolve()):
            raise ArchiveError(f"{folder}: not inside {runs_dir}")
        try:
            status = json.loads((folder / "run.json").read_text(encoding="utf-8")).get("status")
        except (OSError, ValueError, AttributeError):
            status = None
        if status == "running":
            raise ArchiveError(f"run '{campaign}/{folder.name}' is still running; retract it when it ends")
    return campaign, folders


def _published_campaigns(archive_dir: Path) -> set[str]:
    try:
        catalog = json.loads((archive_dir / "catalog.json").read_text(encoding="utf-8"))
        return {str(c["slug"]) for c in catalog.get("campaigns", [])}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()


def retract(target: str, *, runs_dir: Path | None = None, archive_dir: Path | None = None,
            retracted_dir: Path | None = None, include_drafts: bool = False) -> Retraction:
    """Retract ``<campaign>/<run_id>``, or every run of ``<campaign>`` (module docstring).

    An unknown or unsafe name is an :class:`ArchiveError` naming it and what exists."""
    project = paths()
    runs_dir = project.runs if runs_dir is None else Path(runs_dir)
    archive_dir = project.archive if archive_dir is None else Path(archive_dir)
    retracted_dir = project.root / "outputs" / "retracted" if retracted_dir is None else Path(retracted_dir)
    campaign, folders = _targets(runs_dir, target)
    for folder in folders:
        if (retracted_dir / campaign / folder.name).exists():
            raise ArchiveError(f"{retracted_dir / campaign / folder.name} already exists; move it away first")
    done = Retraction()
    for folder in folders:
        dest = retracted_dir / campaign / folder.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(folder, dest)
        done.moved.append(dest)
    # the index, catalog and campaign pages no longer link the runs; then their pages go
    done.result = publish(runs_dir, archive_dir, include_drafts=include_drafts)
    reports = archive_dir / "reports" / campaign
    for folder in folders:
        shutil.rmtree(reports / folder.name, ignore_errors=True)
    if campaign not in _published_campaigns(archive_dir):
        (archive_dir / "campaigns" / f"{campaign}.html").unlink(missing_ok=True)
        if reports.is_dir() and not any(reports.iterdir()):
            reports.rmdir()
    return done


__all__ = ["NAME", "Retraction", "retract"]
