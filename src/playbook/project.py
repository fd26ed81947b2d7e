"""Where a project's folders are: found from its root, never assumed from the working directory.

The root is ``$PLAYBOOK_ROOT`` when set, else the nearest folder at or above the working
directory that holds both ``notebooks/`` and ``playbooks/`` (so ``playbook run`` from
``notebooks/`` or a notebook opened in JupyterLab, which runs in ``notebooks/``, find the same
folders), else the working directory itself (a new, empty project). Every default path of the
runner, the scheduler, the publisher and the CLI comes from :func:`paths`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT_ENV = "PLAYBOOK_ROOT"


def find_root(start: Path | None = None) -> Path:
    """The project root (module docstring). Found at or above the working directory, it is
    given relative to it (``.`` at the root, ``..`` from ``notebooks/``), so that the paths a
    run records name no machine's folders; ``$PLAYBOOK_ROOT`` is used as written."""
    env = os.environ.get(ROOT_ENV)
    if env:
        return Path(env).expanduser()
    cwd = Path.cwd().resolve()
    here = (cwd / start).resolve() if start is not None else cwd
    for folder in (here, *here.parents):
        if (folder / "notebooks").is_dir() and (folder / "playbooks").is_dir():
            return Path(os.path.relpath(folder, cwd)) if folder.is_relative_to(cwd) or \
                cwd.is_relative_to(folder) else folder
    return Path(os.path.relpath(here, cwd)) if here.is_relative_to(cwd) else here


@dataclass(frozen=True)
class ProjectPaths:
    """The folders of a project below its root."""

    root: Path

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    @property
    def playbooks(self) -> Path:
        return self.root / "playbooks"

    @property
    def runs(self) -> Path:
        return self.root / "outputs" / "runs"

    @property
    def archive(self) -> Path:
        return self.root / "outputs" / "archive"

    @property
    def tags(self) -> Path:
        """The tag store: ``data/tags/<tag_set>/`` (:mod:`playbook.tags`)."""
        return self.root / "data" / "tags"

    @property
    def sample_data(self) -> Path:
        return self.root / "data" / "sample"

    def resolve(self, path: str | Path) -> Path:
        """``path`` as given when it is absolute or exists from here; else below the root when it
        exists there (a relative data folder in a notebook run from ``notebooks/``)."""
        path = Path(path)
        if path.is_absolute() or path.exists() or not (self.root / path).exists():
            return path
        return self.root / path


def paths(start: Path | None = None) -> ProjectPaths:
    """The project's folders, from :func:`find_root`."""
    return ProjectPaths(find_root(start))


__all__ = ["ROOT_ENV", "ProjectPaths", "find_root", "paths"]
