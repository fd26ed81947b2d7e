"""outputs/ that cannot be written: not a folder, not writable, a full disk during a run or a
publish. Each is an error (exit 2) naming the file and what to do; a run that started is
recorded as failed, and nothing half-written is left to publish.

A full disk is simulated by making the write function raise ``OSError(ENOSPC)``, after writing
half of what it was given where it writes in place (as a real full disk does).
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tests.conftest import write_spec

from playbook.cli import main
from playbook.recording import write_json_atomic
from playbook.runner import execute

FULL = ("the disk holding outputs/ is full: free space (or move outputs/ to a larger disk) and "
        "try again")
NOT_WRITABLE = ("outputs/ is not writable: make it writable (e.g. `chmod -R u+w outputs`) or run "
                "playbook from a project folder you can write to")


def disk_full(path: object = "") -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.fixture
def spec(project: Path) -> Path:
    return write_spec(project / "playbooks" / "t.yml")


def only_run(project: Path) -> Path:
    (run_dir,) = (project / "outputs" / "runs" / "trivial-campaign").iterdir()
    return run_dir


def test_outputs_that_is_a_file(project: Path, spec: Path) -> None:
    (project / "outputs").write_text("not a folder")
    code, output = run_cli("run", "--quiet", "playbooks/t.yml")
    assert (code, output) == (2, "error: outputs/runs/trivial-campaign: cannot create the run folder "
                                 "(Not a directory); outputs/ must be a folder you can write to\n")


def test_outputs_not_writable(project: Path, spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run as root, for whom chmod does not forbid: mkdir is made to refuse instead."""
    mkdir = Path.mkdir

    def refuse(self: Path, *args: Any, **kwargs: Any) -> None:
        if self.parts[:1] == ("outputs",):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refuse)
    code, output = run_cli("run", "--quiet", "playbooks/t.yml")
    assert (code, output) == (2, "error: outputs/runs/trivial-campaign: cannot create the run folder "
                                 f"(Permission denied); {NOT_WRITABLE}\n")


def test_disk_full_before_the_run_starts(project: Path, spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(path: Path, data: Any) -> None:
        raise disk_full(path)

    monkeypatch.setattr(execute, "write_json_atomic", full)
    code, output = run_cli("run", "--quiet", "playbooks/t.yml")
    assert code == 2
    assert output.startswith("error: outputs/runs/trivial-campaign/")
    assert output.endswith(f"/run.json: cannot record the run (No space left on device); {FULL}\n")
    assert list((project / "outputs" / "runs" / "trivial-campaign").iterdir()) == []


def test_disk_full_while_a_template_writes_its_notebook(project: Path, spec: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from playbook.runner.papermill_io import NoChdirLocalHandler

    def half(self: object, buf: str, path: str) -> None:
        Path(path).write_text(buf[: len(buf) // 2], encoding="utf-8")
        raise disk_full(path)

    with monkeypatch.context() as patch:
        patch.setattr(NoChdirLocalHandler, "write", half)
        code, output = run_cli("run", "--quiet", "playbooks/t.yml")
    run_dir = only_run(project)
    assert (code, output) == (2, f"error: outputs/runs/trivial-campaign/{run_dir.name}: cannot write the "
                                 f"results of trivial (No space left on device); {FULL}; the run is "
                                 "recorded as failed\n")
    manifest = json.loads((run_dir / "run.json").read_text())
    (template,) = manifest["templates"]
    assert manifest["status"] == "failed" and template["status"] == "failed"
    assert template["error"]["ename"] == "OSError" and template["error"]["errno"] == "ENOSPC"
    assert not (run_dir / "trivial.ipynb").exists()  # half a notebook is never published
    assert sorted(p.name for p in run_dir.iterdir()) == ["run.json", "trivial.outcome.json"]
    assert json.loads((run_dir / "trivial.outcome.json").read_text())["status"] == "failed"

    code, output = run_cli("publish")
    assert code == 0, output
    page = (project / "outputs" / "archive" / "reports" / "trivial-campaign" / run_dir.name
            / "trivial.html").read_text()
    assert "The executed notebook is missing" in page and "No space left on device" in page


def test_disk_full_when_the_run_is_recorded(project: Path, spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The final run.json does not fit: the failed record prepared at the start takes its place."""
    write = write_json_atomic

    def full_at_the_end(path: Path, data: Any) -> None:
        if path.name == "run.json" and data["status"] != "running":
            raise disk_full(path)
        write(path, data)

    monkeypatch.setattr(execute, "write_json_atomic", full_at_the_end)
    code, output = run_cli("run", "--quiet", "playbooks/t.yml")
    run_dir = only_run(project)
    assert (code, output) == (2, f"error: outputs/runs/trivial-campaign/{run_dir.name}/run.json: cannot "
                                 f"record the run's result (No space left on device); {FULL}; the run "
                                 "is recorded as failed\n")
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["templates"][0]["error"]["evalue"] == (
        "the run could not record its result (outputs/ full or not writable)")
    assert not (run_dir / execute.FAILED_RECORD).exists()


def test_a_run_that_records_leaves_no_prepared_record(project: Path, spec: Path) -> None:
    code, output = run_cli("run", "--quiet", "playbooks/t.yml")
    assert code == 0, output
    assert sorted(p.name for p in only_run(project).iterdir()) == [
        "run.json", "trivial.ipynb", "trivial.outcome.json"]


def test_disk_full_while_publishing_leaves_the_archive_whole(project: Path, spec: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli("run", "--quiet", "playbooks/t.yml")[0] == 0
    assert run_cli("publish")[0] == 0
    archive = project / "outputs" / "archive"
    before = {p: p.read_bytes() for p in archive.rglob("*") if p.is_file()}
    from playbook import atomic

    real_open = open

    class Half:  # a file that writes half of what it is given, then finds the disk full
        def __init__(self, path: Path, fh: Any) -> None:
            self.path, self.fh = path, fh

        def __enter__(self) -> Half:
            return self

        def __exit__(self, *exc: Any) -> None:
            self.fh.close()

        def write(self, text: str) -> int:
            self.fh.write(text[: len(text) // 2])
            raise disk_full(self.path)

    def half(file: Any, *args: Any, **kwargs: Any) -> Any:
        fh = real_open(file, *args, **kwargs)
        path = Path(file)
        if "archive" in path.parts and path.name.startswith(".index.html"):
            return Half(path, fh)
        return fh

    monkeypatch.setattr(atomic, "open", half, raising=False)
    code, output = run_cli("publish", "--force")
    assert (code, output) == (2, "error: outputs/archive/index.html: cannot write the archive (No space "
                                 f"left on device); {FULL}; the archive is left as the last publish "
                                 "wrote it\n")
    after = {p: p.read_bytes() for p in archive.rglob("*") if p.is_file()}
    assert after.keys() == before.keys()  # no temporary file left
    assert after[archive / "index.html"] == before[archive / "index.html"]
    assert after[archive / ".published.json"] == before[archive / ".published.json"]
