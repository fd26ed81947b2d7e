"""Every record and page is written through one atomic write (playbook.atomic): a reader sees
the old file or the new one, never half of one, and a failed write leaves no temporary file."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from playbook import atomic
from playbook.errors import PublishError
from playbook.publish.site import write_atomic
from playbook.redact import Redactor
from playbook.report import write_json_atomic


def test_write_text_creates_replaces_and_leaves_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "page.html"
    atomic.write_text(path, "first")
    atomic.write_text(path, "second é")
    assert path.read_text(encoding="utf-8") == "second é"
    assert [p.name for p in path.parent.iterdir()] == ["page.html"]


def test_written_files_get_the_usual_permissions(tmp_path: Path) -> None:
    """As a file the user writes (umask), not the 0600 of a private temporary file."""
    plain = tmp_path / "plain.txt"
    plain.write_text("x", encoding="utf-8")
    path = tmp_path / "atomic.txt"
    atomic.write_text(path, "x")
    assert path.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777


def _redact(path: Path, data: str) -> None:
    Redactor({"TOKEN": "s3cr3t-value"}).json_file(path)


WRITERS: dict[str, Callable[[Path, str], None]] = {
    "atomic.write_text": atomic.write_text,
    "report.write_json_atomic": lambda path, data: write_json_atomic(path, {"data": data}),
    "publish.site.write_atomic": write_atomic,
    "redact.json_file": _redact,
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_failed_replace_keeps_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer: str
) -> None:
    path = tmp_path / "outcome.json"
    old = json.dumps({"data": "old s3cr3t-value"})
    path.write_text(old, encoding="utf-8")

    def refuse(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    # the archive's writer says what to do (a PublishError); the others pass the OSError on
    with pytest.raises((OSError, PublishError), match="disk full"):
        WRITERS[writer](path, "new")
    assert path.read_text(encoding="utf-8") == old
    assert [p.name for p in tmp_path.iterdir()] == ["outcome.json"]
