"""Atomic file writes: a reader sees the old file or the new one, never half of one.

:func:`write_text` writes to a temporary file in the same folder (so the rename stays on one
file system) and renames it over the target with ``os.replace``; if anything fails the
temporary file is removed and the old file is left as it was. The file gets the permissions of
any file the user writes (the umask), not those of a private temporary file. Run records and
outcomes (:func:`playbook.report.write_json_atomic`), archive pages
(:func:`playbook.publish.site.write_atomic`) and redacted records all go through it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

__all__ = ["temporary_beside", "write_text"]


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically, creating its folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        with suppress(FileNotFoundError):
            tmp.unlink()


@contextmanager
def temporary_beside(path: Path) -> Iterator[Path]:
    """A temporary path in ``path``'s folder to write a file of any kind to; when the block
    ends without an error it replaces ``path`` (``os.replace``), else it is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with suppress(FileNotFoundError):
            tmp.unlink()
