"""Execute a campaign: one papermill kernel per template, in parallel, recorded as a run.

A run is an immutable record in ``outputs/runs/<campaign>/<run_id>/``:

    run.json                   manifest: spec, resolved parameters, input fingerprints,
                               versions, per-template status and timings, errors
    <name>.ipynb               the executed notebook (kept on failure, with its traceback cell)
    <name>.outcome.json        the result as data (written by the notebook, or by the runner
                               as ``status: failed`` when the notebook raised)

A template that raises is recorded as failed; the other templates still run. Kernels are shut
down immediately after the last cell (a graceful shutdown can stall for seconds).

Nothing recorded carries a secret: a SQL source's connection named by an environment variable
is passed to the kernel as ``{"env": NAME}`` and fingerprinted as ``$NAME``, and the value is
replaced by ``$NAME`` in every error, notebook and outcome of the run (:mod:`playbook.redact`);
errors are recorded without this machine's paths.

A run folder that cannot be made (outputs/ not writable, a full disk) is a :class:`RunError`
before anything starts. A full disk during a run fails the template that could not write (a
notebook left half-written is removed, never published), the run is recorded as failed
(``run.json`` is replaced by a failed record prepared at the start, should the final record
not fit) and ends with a :class:`RunError` that says to free space.

Times (the run id, ``started_at``, ``finished_at``, the ``slot`` a run serves) come from one
injectable :class:`~playbook.runner.clock.Clock`. Every file the runner writes is resolved and
refused unless it lies in the run's own folder, and a run folder is always new: run ids are
slugs, suffixed (``-1``, ``-2``) rather than reused when one exists.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import platform
import re
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from playbook.errors import DISK_FULL, RunError, write_problem
from playbook.redact import Redactor, env_secrets
from playbook.report import outcome_path, record_outcome, write_json_atomic
from playbook.runner.clock import SYSTEM_CLOCK, Clock, FixedClock, kernel_env
from playbook.runner.kernels import engine_options
from playbook.runner.spec import SLUG, CampaignSpec, ResolvedRun, load_specs
from playbook.zones import DATA_SETTINGS, DEFAULT_TIMEZONE

RUNS_DIR = Path("outputs/runs")
KERNEL_NAME = "python3"
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


def _iso(ts: datetime) -> str:
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
            "modified": _iso(datetime.fromtimestamp(st.st_mtime, UTC)), "sha256": digest}


def input_fingerprints(cs: CampaignSpec) -> dict[str, Any]:
    files: dict[str, Path] = {}
    if cs.data_dir.is_dir():
        for p in sorted(cs.data_dir.iterdir()):
            if p.suffix in (".parquet", ".csv") or p.name == "_warehouse.json":
                files[p.stem] = p
    named: dict[str, str] = {}  # input -> environment variable holding its path
    for name, src in cs.sources.items():
        if name in DATA_SETTINGS:
            continue
        if isinstance(src, str):
            files[name] = Path(src)
        elif "path" in src:  # a CSV with its encoding
            files[name] = Path(src["path"])
        elif isinstance(src["connection"], dict):
            env = src["connection"]["env"]
            files[name], named[name] = Path(os.environ.get(env, "")).expanduser(), env
        else:
            files[name] = Path(src["connection"])
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


def _inside(run_dir: Path, path: Path) -> Path:
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


def _timings(nb_path: Path) -> dict[str, float]:
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


def execute_one(cs: CampaignSpec, run: ResolvedRun, run_id: str, run_dir: Path, root: Path,
                clock: Clock = SYSTEM_CLOCK) -> TemplateResult:
    """Run one template through papermill; never raises for a failing notebook."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from playbook.runner.papermill_io import install

    install()  # papermill's own I/O would os.chdir, process-wide, around every read and write

    out_nb = _inside(run_dir, run_dir / f"{run.name}.ipynb")
    _inside(run_dir, outcome_path(run_dir, run.name))
    res = TemplateResult(
        name=run.name, template=run.template.name, notebook=str(run.notebook),
        parameters=dict(run.parameters), output_notebook=out_nb.name,
        outcome=outcome_path(run_dir, run.name).name,
    )
    params = dict(run.parameters)
    params.update(
        campaign=cs.spec.campaign, run_id=run_id, report_name=run.name, spec_path=str(cs.path),
        output_dir=str(run_dir), data_dir=str(cs.data_dir), sources=dict(cs.sources),
    )
    redactor = Redactor(env_secrets(cs.sources), root)
    started = clock.now()
    res.started_at = _iso(started)
    t0 = time.perf_counter()
    try:
        # Absolute paths, and the kernel's working folder set through nbclient's resources:
        # papermill's own `cwd=` calls os.chdir, which is process-wide and races between the
        # templates that run in parallel threads.
        pm.execute_notebook(
            str(run.notebook.resolve()), str(out_nb.resolve()), parameters=params,
            kernel_name=KERNEL_NAME, progress_bar=False, log_output=False,
            resources={"metadata": {"path": str(root.resolve())}}, **engine_options(kernel_env(clock)),
        )
        res.status = "ok"
    except PapermillExecutionError as exc:
        res.status = "failed"
        res.error = {"ename": exc.ename, "evalue": redactor.error(exc.evalue),
                     "traceback": redactor.error(_strip_ansi("\n".join(exc.traceback))),
                     "cell": str(exc.exec_count)}
    except Exception as exc:  # kernel died, notebook unreadable, disk full...: recorded, never lost
        res.status = "failed"
        res.error = {"ename": type(exc).__name__, "evalue": redactor.error(str(exc)),
                     "traceback": redactor.error("".join(traceback.format_exception(exc)))}
        if isinstance(exc, OSError) and exc.errno is not None:
            res.error["errno"] = errno.errorcode.get(exc.errno, str(exc.errno))
    try:
        redactor.notebook(out_nb)
    except OSError:  # could not rewrite it: an unredacted notebook must not stay
        out_nb.unlink(missing_ok=True)
    if res.status == "failed":
        _drop_partial(out_nb)
    res.duration_s = round(time.perf_counter() - t0, 4)
    res.finished_at = _iso(clock.now())
    res.timings = _timings(out_nb)

    path = outcome_path(run_dir, run.name)
    redactor.json_file(path)
    outcome: dict[str, Any] | None = None
    if path.exists():
        try:
            outcome = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            outcome = None
    if res.status == "ok" and outcome is None:
        res.status = "failed"
        res.error = {"ename": "RunError", "evalue": f"{run.notebook} finished without recording an "
                     "outcome; end the template with playbook.report.record_outcome(...)", "traceback": ""}
    if res.status != "ok":
        err = res.error or {}
        try:
            record_outcome(
                template=run.template.name, campaign=cs.spec.campaign, run_id=run_id, output_dir=run_dir,
                report_name=run.name, status="failed",
                headline=(outcome or {}).get("headline") or f"{run.template.name} failed: {err.get('ename')}",
                decision=None, metrics={}, details={},
                error=f"{err.get('ename')}: {err.get('evalue')}",
            )
        except OSError as exc:  # the run record (run.json) still says it failed, and why
            if res.error is not None and exc.errno is not None:
                res.error.setdefault("errno", errno.errorcode.get(exc.errno, str(exc.errno)))
    elif outcome is not None:
        res.headline, res.decision = outcome.get("headline"), outcome.get("decision")
    return res


def _drop_partial(nb_path: Path) -> None:
    """Remove an executed notebook that is not whole JSON (a write cut short by a full disk):
    the archive then shows the failure from run.json instead of half a notebook."""
    try:
        json.loads(nb_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except (OSError, ValueError):
        nb_path.unlink(missing_ok=True)


def _in_worker(cs: CampaignSpec, run: ResolvedRun, run_id: str, run_dir: Path, root: Path,
               clock: Clock) -> TemplateResult:
    """Run one template in a pool thread, closing the event loop nbclient made for the thread."""
    import asyncio

    try:
        return execute_one(cs, run, run_id, run_dir, root, clock)
    finally:
        try:
            loop = asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            loop = None
        if loop is not None and not loop.is_running():
            loop.close()
            asyncio.set_event_loop(None)


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _manifest(cs: CampaignSpec, run_id: str, status: str, started: datetime, results: list[TemplateResult],
              inputs: dict[str, Any], finished: datetime | None = None,
              slot: datetime | None = None) -> dict[str, Any]:
    return Redactor(env_secrets(cs.sources)).tree({
        "campaign": cs.spec.campaign, "run_id": run_id, "spec_path": str(cs.path),
        "spec": cs.spec.model_dump(mode="json"), "status": status,
        "trigger": "schedule" if slot else "manual", "slot": _iso(slot or started),
        "started_at": _iso(started), "finished_at": _iso(finished) if finished else None,
        "duration_s": round((finished - started).total_seconds(), 3) if finished else None,
        "data_dir": str(cs.data_dir), "sources": cs.sources,
        "timezone": {"naive_timestamps": cs.sources.get("timezone", DEFAULT_TIMEZONE),
                     "rule": "naive timestamps are read in this zone; zoned ones are converted to it"},
        "versions": versions(), "host": {"platform": platform.platform(), "executable": Path(sys.executable).name},
        "inputs": inputs, "templates": [r.__dict__ for r in results],
    })


def run_campaign(
    cs: CampaignSpec,
    *,
    runs_dir: Path = RUNS_DIR,
    root: Path = Path("."),
    run_id: str | None = None,
    jobs: int | None = None,
    on_done: Callable[[TemplateResult], None] | None = None,
    clock: Clock = SYSTEM_CLOCK,
    slot: datetime | None = None,
) -> RunRecord:
    """Execute every run of a validated spec and write the run record.

    ``slot`` is the cron time a scheduled run serves (recorded as ``slot``, ``trigger:
    schedule``); a run without one serves its own start (``trigger: manual``).
    """
    started = clock.now()
    rid, run_dir = new_run_dir(runs_dir, cs.spec.campaign, run_id, clock=FixedClock(started))
    try:
        for r in cs.runs:
            _inside(run_dir, run_dir / f"{r.name}.ipynb")
            _inside(run_dir, outcome_path(run_dir, r.name))
    except RunError:
        run_dir.rmdir()
        raise
    inputs = input_fingerprints(cs)
    pending = [TemplateResult(r.name, r.template.name, str(r.notebook), dict(r.parameters)) for r in cs.runs]
    manifest, fallback = run_dir / "run.json", run_dir / FAILED_RECORD
    try:
        write_json_atomic(manifest, _manifest(cs, rid, "running", started, pending, inputs, slot=slot))
        write_json_atomic(fallback, _manifest(cs, rid, "failed", started, [
            TemplateResult(r.name, r.template.name, str(r.notebook), dict(r.parameters), status="failed",
                           error={"ename": "RunError", "evalue": "the run could not record its result "
                                  "(outputs/ full or not writable)", "traceback": ""})
            for r in cs.runs], inputs, slot=slot))
    except OSError as exc:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise RunError(write_problem(manifest, exc, "record the run")) from None

    results: dict[str, TemplateResult] = {}
    workers = max(1, min(jobs or os.cpu_count() or 1, len(cs.runs)))
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_in_worker, cs, r, rid, run_dir, root, clock): r for r in cs.runs}
            for fut in as_completed(futures):
                res = fut.result()
                results[res.name] = res
                if on_done:
                    on_done(res)
    except KeyboardInterrupt:
        for r in cs.runs:
            results.setdefault(r.name, TemplateResult(
                r.name, r.template.name, str(r.notebook), dict(r.parameters), status="failed",
                error={"ename": "KeyboardInterrupt", "evalue": "run interrupted", "traceback": ""}))
        raise
    finally:
        ordered = [results.get(r.name) or TemplateResult(r.name, r.template.name, str(r.notebook), {},
                                                           status="failed") for r in cs.runs]
        status = "ok" if all(r.status == "ok" for r in ordered) else "failed"
        unwritten = _record(manifest, fallback, _manifest(cs, rid, status, started, ordered, inputs,
                                                          clock.now(), slot=slot))
    full = [t.name for t in ordered if (t.error or {}).get("errno") in _FULL_NAMES]
    if unwritten is not None or full:
        raise RunError(_unwritten_message(run_dir, full, unwritten))
    return RunRecord(cs.spec.campaign, rid, run_dir, status, ordered)


#: The failed record prepared at the start of a run, moved over run.json should the final one
#: not fit on the disk (a rename needs no room).
FAILED_RECORD = ".run.failed.json"
_FULL_NAMES = {errno.errorcode[e] for e in DISK_FULL}


def _record(manifest: Path, fallback: Path, data: dict[str, Any]) -> OSError | None:
    """Write the final run.json; on failure put the prepared failed record in its place."""
    try:
        write_json_atomic(manifest, data)
    except OSError as exc:
        with suppress(OSError):  # else run.json says "running": never published as a result
            os.replace(fallback, manifest)
        return exc
    fallback.unlink(missing_ok=True)
    return None


def _unwritten_message(run_dir: Path, full: list[str], unwritten: OSError | None) -> str:
    if unwritten is not None:
        return write_problem(run_dir / "run.json", unwritten, "record the run's result") + (
            "; the run is recorded as failed")
    names = ", ".join(full)
    return write_problem(run_dir, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
                         f"write the results of {names}") + "; the run is recorded as failed"


def run_specs(paths: Iterable[str | Path], *, runs_dir: Path = RUNS_DIR, root: Path = Path("."),
              jobs: int | None = None, progress: bool = True, clock: Clock = SYSTEM_CLOCK,
              slot: datetime | None = None) -> list[RunRecord]:
    """Validate every spec first (nothing starts if one is invalid; the problems of every spec
    are reported together), then run them in turn.

    ``clock`` stamps the runs; ``slot`` is the cron slot they serve (see :func:`run_campaign`).
    """
    specs = load_specs(paths, root=root)
    total = sum(len(cs.runs) for cs in specs)
    records = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="template", file=sys.stderr, leave=True)

    def done(res: TemplateResult) -> None:
        if bar is not None:
            bar.set_postfix_str(f"{res.name}: {res.status}")
            bar.update(1)

    try:
        for cs in specs:
            records.append(run_campaign(cs, runs_dir=runs_dir, root=root, jobs=jobs, on_done=done,
                                        clock=clock, slot=slot))
    finally:
        if bar is not None:
            bar.close()
    return records
