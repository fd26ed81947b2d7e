"""papermill's file I/O must not change the process's working folder: templates run in
parallel threads that share it (runner/papermill_io.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from papermill.iorw import local_file_io_cwd, papermill_io

from playbook.runner.papermill_io import install


def test_reads_and_writes_never_change_the_working_folder(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    install()
    elsewhere = tmp_path / "an-earlier-run"
    elsewhere.mkdir()
    target = tmp_path / "out" / "report.ipynb"
    target.parent.mkdir()
    moves: list[str] = []
    real_chdir = os.chdir
    def chdir(p: str) -> None:
        moves.append(str(p))
        real_chdir(p)

    monkeypatch.setattr(os, "chdir", chdir)
    # what papermill does around execute_notebook, with a folder left over from another call
    with local_file_io_cwd(str(elsewhere)):
        papermill_io.write("{}", str(target))
        assert papermill_io.read(str(target)) == "{}"
    assert moves == []
    assert target.read_text() == "{}"
