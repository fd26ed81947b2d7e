"""What a run records about itself: library versions, input fingerprints, a fresh run folder
(never a past run's), the paths it may write (only inside that folder), and the per-template
and per-run results that become ``run.json`` (:mod:`playbook.runner.execute`)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from playbook.audience import SETTING as AUDIENCE
from playbook.errors import RunError, write_problem
from playbook.project import ProjectPaths
from playbook.runner.clock import SYSTEM_CLOCK, Clock
from playbook.runner.spec import SLUG, CampaignSpec
from playbook.zones import DATA_SETTINGS

VERSIONED = ("playbook", "papermill", "nbclient", "nbconvert", "ipykernel", "pandas", "numpy",
             "duckdb", "pyarrow", "scipy", "statsmodels", "pandera", "seaborn", "matplotlib")
_DIST = {"playbook": "growth-playbook"}
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")


def versions() -> dict[str, str]:
    """Python and library versions, for the run manifest."""
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(_DIST.get(name, name))
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def iso(ts: datetime) -> str:
    return ts.isoformat(timespec="milliseconds")


_FINGERPRINTS: dict[tuple[str, int, int], str] = {}


def fingerprint(path: Path) -> dict[str, Any]:
    """Size and SHA-256 of an input file (memoised on path, size and mtime within a process)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    digest = _FINGERPRINTS.get(key)
    if digest is None:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        digest = _FINGERPRINTS[key] = h.hexdigest()
    return {"path": str(path), "bytes": st.st_size,
            "modified": iso(datetime.fromtimestamp(st.st_mtime, UTC)), "sha256": digest}


def _source_file(src: str | dict[str, Any]) -> tuple[Path, str | None]:
    """The file a spec's source reads, and the environment variable that names it (if one does)."""
    if isinstance(src, str):
        return Path(src), None
    if "path" in src:  # a CSV with its encoding
        return Path(src["path"]), None
    if isinstance(src["connection"], dict):
        env = src["connection"]["env"]
        return Path(os.environ.get(env, "")).expanduser(), env
    return Path(src["connection"]), None


def _audience_file(cs: CampaignSpec, root: Path | None) -> dict[str, Path]:
    """The tag snapshot the campaign's audience reads, once the store has it."""
    audience = cs.sources.get(AUDIENCE) or {}
    if not audience.get("as_of") or root is None:
        return {}
    name = audience["tag_set"]
    return {f"audience:{name}": ProjectPaths(root).tags / name / f"as_of={audience['as_of']}.parquet"}


def input_fingerprints(cs: CampaignSpec, root: Path | None = None) -> dict[str, Any]:
    files: dict[str, Path] = {}
    if cs.data_dir.is_dir():
        for p in sorted(cs.data_dir.iterdir()):
            if p.suffix in (".parquet", ".csv") or p.name == "_warehouse.json":
                files[p.stem] = p
    named: dict[str, str] = {}  # input -> environment variable holding its path
    for name, src in cs.sources.items():
        if name in DATA_SETTINGS or name == AUDIENCE:
            continue
        files[name], env = _source_file(src)
        if env is not None:
            named[name] = env
    files.update(_audience_file(cs, root))
    out = {name: fingerprint(p) for name, p in files.items() if p.is_file()}
    for name, env in named.items():
        if name in out:
            out[name]["path"] = f"${env}"
    return out


def new_run_dir(runs_dir: Path, campaign: str, run_id: str | None = None,
                clock: Clock = SYSTEM_CLOCK) -> tuple[str, Path]:
    """Create a fresh run folder; run ids are UTC timestamps, suffixed when one already exists.

    A past run's folder is never reused: an id that exists gets the next free ``-<n>`` suffix.
    """
    if run_id is not None and not RUN_ID.match(run_id):
        raise RunError(f"run id '{run_id}' is not a slug: use letters, digits and dashes "
                       "(e.g. '20261124T060000Z'), or leave it out for a timestamp")
    base = run_id or clock.now().strftime("%Y%m%dT%H%M%SZ")
    parent = runs_dir / campaign
    if not SLUG.match(campaign) or parent.resolve().parent != runs_dir.resolve():
        raise RunError(f"campaign '{campaign}' would write outside {runs_dir}; campaigns are slugs")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        for i in range(1000):
            rid = base if i == 0 else f"{base}-{i}"
            try:
                (parent / rid).mkdir()
            except FileExistsError:
                continue
            return rid, parent / rid
    except OSError as exc:
        raise RunError(write_problem(parent, exc, "create the run folder")) from None
    raise RunError(f"{parent}: could not allocate a run folder for {base}")  # pragma: no cover


def inside(run_dir: Path, path: Path) -> Path:
    """``path``, refused with a RunError unless it resolves to a file directly in ``run_dir``."""
    if path.resolve().parent != run_dir.resolve():
        raise RunError(f"{path}: outside the run folder {run_dir}; the runner writes only there "
                       "(run names are slugs: lower-case letters, digits, '-' and '_')")
    return path


@dataclass
class TemplateResult:
    name: str
    template: str
    notebook: str
    parameters: dict[str, Any]
    status: str = "pending"
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    error: dict[str, str] | None = None
    output_notebook: str = ""
    outcome: str = ""
    headline: str | None = None
    decision: str | None = None


@dataclass
class RunRecord:
    campaign: str
    run_id: str
    run_dir: Path
    status: str
    templates: list[TemplateResult]

    @property
    def failed(self) -> list[TemplateResult]:
        return [t for t in self.templates if t.status != "ok"]


def timings(nb_path: Path) -> dict[str, float]:
    """Kernel start and execution time from papermill's per-cell metadata."""
    try:
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    meta = nb.get("metadata", {}).get("papermill", {})
    starts = [c["metadata"]["papermill"].get("start_time") for c in nb.get("cells", [])
              if c.get("cell_type") == "code" and c.get("metadata", {}).get("papermill", {}).get("start_time")]
    ends = [c["metadata"]["papermill"].get("end_time") for c in nb.get("cells", [])
            if c.get("cell_type") == "code" and c.get("metadata", {}).get("papermill", {}).get("end_time")]
    try:
        t0 = datetime.fromisoformat(meta["start_time"])
        first = datetime.fromisoformat(min(starts))
        last = datetime.fromisoformat(max(ends))
    except (KeyError, ValueError, TypeError):
        return {}
    return {"kernel_start_s": round((first - t0).total_seconds(), 4),
            "execute_s": round((last - first).total_seconds(), 4)}
