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
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from playbook.audience import SETTING as AUDIENCE
from playbook.errors import DISK_FULL, PlaybookError, RunError, write_problem
from playbook.i18n.cells import for_language
from playbook.project import ProjectPaths, paths
from playbook.redact import Redactor, env_secrets
from playbook.report import outcome_path, record_outcome, write_json_atomic
from playbook.runner.clock import SYSTEM_CLOCK, Clock, FixedClock, kernel_env
from playbook.runner.kernels import engine_options
from playbook.runner.run_record import (
    RUN_ID,
    VERSIONED,
    RunRecord,
    TemplateResult,
    fingerprint,
    input_fingerprints,
    inside,
    iso,
    new_run_dir,
    timings,
    versions,
)
from playbook.runner.spec import CampaignSpec, ResolvedRun, load_specs, resolve_audience
from playbook.zones import DEFAULT_TIMEZONE

KERNEL_NAME = "python3"


def execute_one(cs: CampaignSpec, run: ResolvedRun, run_id: str, run_dir: Path, root: Path, *,
                clock: Clock = SYSTEM_CLOCK) -> TemplateResult:
    """Run one template through papermill; never raises for a failing notebook."""
    from playbook.runner.papermill_io import install

    install()  # papermill's own I/O would os.chdir, process-wide, around every read and write

    out_nb = inside(run_dir, run_dir / f"{run.name}.ipynb")
    inside(run_dir, outcome_path(run_dir, run.name))
    res = TemplateResult(
        name=run.name, template=run.template.name, notebook=str(run.notebook),
        parameters=dict(run.parameters), output_notebook=out_nb.name,
        outcome=outcome_path(run_dir, run.name).name,
    )
    params = dict(run.parameters)
    params.update(
        campaign=cs.spec.campaign, run_id=run_id, report_name=run.name, spec_path=str(cs.path),
        output_dir=str(run_dir), data_dir=str(cs.data_dir), sources=dict(cs.sources),
        language=cs.spec.language,
    )
    redactor = Redactor(env_secrets(cs.sources), root)
    started = clock.now()
    res.started_at = iso(started)
    t0 = time.perf_counter()
    res.error = _papermill(run, out_nb, params, root=root, clock=clock, redactor=redactor)
    res.status = "ok" if res.error is None else "failed"
    try:
        redactor.notebook(out_nb)
    except OSError:  # could not rewrite it: an unredacted notebook must not stay
        out_nb.unlink(missing_ok=True)
    if res.status == "failed":
        _drop_partial(out_nb)
    res.duration_s = round(time.perf_counter() - t0, 4)
    res.finished_at = iso(clock.now())
    res.timings = timings(out_nb)

    path = outcome_path(run_dir, run.name)
    redactor.json_file(path)
    outcome = _read_outcome(path)
    if res.status == "ok" and outcome is None:
        res.status = "failed"
        res.error = {"ename": "RunError", "evalue": f"{run.notebook} finished without recording an "
                     "outcome; end the template with playbook.report.record(...)", "traceback": ""}
    if res.status != "ok":
        _record_failure(cs, run, run_id, run_dir, res=res, outcome=outcome)
    elif outcome is not None:
        res.headline, res.decision = outcome.get("headline"), outcome.get("decision")
    return res


def _papermill(run: ResolvedRun, out_nb: Path, params: dict[str, Any], *, root: Path, clock: Clock,
               redactor: Redactor) -> dict[str, str] | None:
    """Execute the notebook; the error (redacted) if it failed, else None."""
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    try:
        # Absolute paths, and the kernel's working folder set through nbclient's resources:
        # papermill's own `cwd=` calls os.chdir, which is process-wide and races between the
        # templates that run in parallel threads.
        # the template's cells in the report's language only (playbook.i18n.cells)
        source = for_language(nbformat.read(run.notebook, as_version=4), params["language"])
        pm.execute_notebook(
            source, str(out_nb.resolve()), parameters=params,
            kernel_name=KERNEL_NAME, progress_bar=False, log_output=False,
            resources={"metadata": {"path": str(root.resolve())}}, **engine_options(kernel_env(clock)),
        )
    except PapermillExecutionError as exc:
        return {"ename": exc.ename, "evalue": redactor.error(exc.evalue),
                "traceback": redactor.error(_strip_ansi("\n".join(exc.traceback))),
                "cell": str(exc.exec_count)}
    except Exception as exc:  # kernel died, notebook unreadable, disk full...: recorded, never lost
        error = {"ename": type(exc).__name__, "evalue": redactor.error(str(exc)),
                 "traceback": redactor.error("".join(traceback.format_exception(exc)))}
        if isinstance(exc, OSError) and exc.errno is not None:
            error["errno"] = errno.errorcode.get(exc.errno, str(exc.errno))
        return error
    return None


def _read_outcome(path: Path) -> dict[str, Any] | None:
    """The outcome the notebook wrote, if it wrote whole JSON."""
    if not path.exists():
        return None
    try:
        return cast(dict[str, Any], json.loads(path.read_text(encoding="utf-8")))
    except ValueError:
        return None


def _record_failure(cs: CampaignSpec, run: ResolvedRun, run_id: str, run_dir: Path, *, res: TemplateResult,
                    outcome: dict[str, Any] | None) -> None:
    """Write the failed template's outcome (the run record still says why should that fail)."""
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


def _drop_partial(nb_path: Path) -> None:
    """Remove an executed notebook that is not whole JSON (a write cut short by a full disk):
    the archive then shows the failure from run.json instead of half a notebook."""
    try:
        json.loads(nb_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except (OSError, ValueError):
        nb_path.unlink(missing_ok=True)


def _in_worker(cs: CampaignSpec, run: ResolvedRun, run_id: str, run_dir: Path, root: Path, *,
               clock: Clock) -> TemplateResult:
    """Run one template in a pool thread, closing the event loop nbclient made for the thread."""
    import asyncio

    try:
        return execute_one(cs, run, run_id, run_dir, root, clock=clock)
    finally:
        try:
            loop = asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            loop = None
        if loop is not None and not loop.is_running():
            loop.close()
            asyncio.set_event_loop(None)


def _strip_ansi(text: str) -> str:

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _manifest(cs: CampaignSpec, run_id: str, status: str, started: datetime, results: list[TemplateResult], *,
              inputs: dict[str, Any], finished: datetime | None = None,
              slot: datetime | None = None, tags: dict[str, Any] | None = None) -> dict[str, Any]:
    # Redactor.tree rebuilds any JSON tree (Any); a dict goes in, so a dict comes out
    return cast(dict[str, Any], Redactor(env_secrets(cs.sources)).tree({
        "campaign": cs.spec.campaign, "run_id": run_id, "spec_path": str(cs.path),
        "spec": cs.spec.model_dump(mode="json"), "status": status,
        "trigger": "schedule" if slot else "manual", "slot": iso(slot or started),
        "started_at": iso(started), "finished_at": iso(finished) if finished else None,
        "duration_s": round((finished - started).total_seconds(), 3) if finished else None,
        "data_dir": str(cs.data_dir), "sources": cs.sources,
        "timezone": {"naive_timestamps": cs.sources.get("timezone", DEFAULT_TIMEZONE),
                     "rule": "naive timestamps are read in this zone; zoned ones are converted to it"},
        "versions": versions(), "host": {"platform": platform.platform(), "executable": Path(sys.executable).name},
        "inputs": inputs, "templates": [r.__dict__ for r in results], **({"tags": tags} if tags else {}),
    }))


def _promote_tags(run_dir: Path, store: Path) -> dict[str, Any]:
    """Copy the tag sets a successful run wrote (``<run>/tags/``) into the tag store:
    ``{"promoted": [names]}``, ``{"error": why}``, or ``{}`` when it wrote none."""
    from playbook.tags import TagStore

    written = run_dir / "tags"
    if not written.is_dir():
        return {}
    try:
        return {"promoted": TagStore(store).promote(written)}
    except (OSError, PlaybookError) as exc:
        return {"error": f"the tag sets of this run could not be added to {store}: {exc}"}


def run_campaign(
    cs: CampaignSpec,
    *,
    runs_dir: Path | None = None,
    root: Path | None = None,
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
    project = paths()
    runs_dir = project.runs if runs_dir is None else runs_dir
    root = project.root if root is None else root
    cs = resolve_audience(cs, root)
    started = clock.now()
    rid, run_dir = new_run_dir(runs_dir, cs.spec.campaign, run_id, clock=FixedClock(started))
    try:
        for r in cs.runs:
            inside(run_dir, run_dir / f"{r.name}.ipynb")
            inside(run_dir, outcome_path(run_dir, r.name))
    except RunError:
        run_dir.rmdir()
        raise
    inputs = input_fingerprints(cs, root)
    pending = [TemplateResult(r.name, r.template.name, str(r.notebook), dict(r.parameters)) for r in cs.runs]
    manifest, fallback = run_dir / "run.json", run_dir / FAILED_RECORD
    try:
        write_json_atomic(manifest, _manifest(cs, rid, "running", started, pending, inputs=inputs, slot=slot))
        write_json_atomic(fallback, _manifest(cs, rid, "failed", started, [
            TemplateResult(r.name, r.template.name, str(r.notebook), dict(r.parameters), status="failed",
                           error={"ename": "RunError", "evalue": "the run could not record its result "
                                  "(outputs/ full or not writable)", "traceback": ""})
            for r in cs.runs], inputs=inputs, slot=slot))
    except OSError as exc:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise RunError(write_problem(manifest, exc, "record the run")) from None

    results: dict[str, TemplateResult] = {}
    workers = max(1, min(jobs or os.cpu_count() or 1, len(cs.runs)))
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_in_worker, cs, r, rid, run_dir, root, clock=clock): r for r in cs.runs}
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
        tags = _promote_tags(run_dir, ProjectPaths(root).tags) if status == "ok" else {}
        status = "failed" if "error" in tags else status
        unwritten = _record(manifest, fallback, _manifest(cs, rid, status, started, ordered, inputs=inputs,
                                                          finished=clock.now(), slot=slot, tags=tags))
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


def run_specs(spec_paths: Iterable[str | Path], *, runs_dir: Path | None = None, root: Path | None = None,
              jobs: int | None = None, progress: bool = True, clock: Clock = SYSTEM_CLOCK,
              slot: datetime | None = None) -> list[RunRecord]:
    """Validate every spec first (nothing starts if one is invalid; the problems of every spec
    are reported together), then run them in turn: campaigns with an ``audience`` last.

    ``clock`` stamps the runs; ``slot`` is the cron slot they serve (see :func:`run_campaign`).
    """
    specs = load_specs(spec_paths, root=root)
    # campaigns on an audience run after the others, which may write the tag sets they read
    specs.sort(key=lambda cs: AUDIENCE in cs.sources)
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


__all__ = ["KERNEL_NAME", "RUN_ID", "VERSIONED", "RunRecord", "TemplateResult", "execute_one",
           "fingerprint", "input_fingerprints", "new_run_dir", "run_campaign", "run_specs", "versions"]
