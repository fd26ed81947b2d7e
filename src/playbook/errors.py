"""Errors raised by Growth Playbook.

Every message names the file, the key or column, the bad value and the fix, so that a
growth analyst can act on it without reading a traceback.

    PlaybookError            base of everything below
    ├── SpecError            a playbooks/*.yml spec is malformed or refers to something missing
    ├── TemplateError        a notebook template is missing or its parameters cell is unusable
    ├── DataError            an input table or column is missing or unusable
    ├── ParameterError       an analysis was given a parameter outside its range (a ValueError too)
    ├── RunError             a run could not be executed or recorded
    └── PublishError         the archive could not be written
"""

from __future__ import annotations

import errno
from pathlib import Path


class PlaybookError(Exception):
    """Base class of all errors that Growth Playbook raises on purpose."""


class SpecError(PlaybookError):
    """A campaign spec is invalid; the message names the file and the key."""


class TemplateError(PlaybookError):
    """A template notebook is missing or malformed."""


class DataError(PlaybookError):
    """An input table, file or column is missing or unusable."""


class ParameterError(PlaybookError, ValueError):
    """A parameter of an analysis is outside its range or of the wrong kind; the message names
    the parameter, the value and what to give instead. Also a ``ValueError``."""


class RunError(PlaybookError):
    """A run failed to execute or to be recorded."""


class PublishError(PlaybookError):
    """The archive could not be written (the previous archive is left whole)."""


#: errno values of a disk (or a quota) that is full.
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def write_problem(path: str | Path, exc: OSError, what: str) -> str:
    """What went wrong writing ``path`` under outputs/, and what to do, for an error message."""
    if exc.errno in DISK_FULL:
        fix = "the disk holding outputs/ is full: free space (or move outputs/ to a larger disk) and try again"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = ("outputs/ is not writable: make it writable (e.g. `chmod -R u+w outputs`) or run "
               "playbook from a project folder you can write to")
    else:
        fix = "outputs/ must be a folder you can write to"
    return f"{path}: cannot {what} ({exc.strerror or exc}); {fix}"


class ArchiveError(PlaybookError):
    """An archive command names a campaign or run that is not there, or is not a safe name."""
