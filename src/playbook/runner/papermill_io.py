"""papermill's local file I/O without its process-wide ``os.chdir``.

``papermill.execute_notebook`` wraps every call in ``local_file_io_cwd()``, which stores the
current folder in the one shared ``LocalHandler``; the handler then does ``os.chdir`` to it
around every read and write and back afterwards. The working folder belongs to the whole
process, and the runner executes templates in parallel threads: when two calls overlap, the
one that ends first restores a stale folder (even one of an earlier run) while the other
still writes, and every thread's relative paths point elsewhere for a moment. Seen as a run
failing at random with "outside the run folder" or "finished without recording an outcome".

The runner passes absolute paths only, so the folder is not needed:
:func:`install` registers a handler that never changes it, for papermill's ``local`` lookups
and for absolute paths (papermill's registry is last-in, first-out).
"""

from __future__ import annotations

from typing import Any

from papermill.iorw import LocalHandler, papermill_io


class NoChdirLocalHandler(LocalHandler):  # type: ignore[misc]
    """papermill's LocalHandler whose working folder stays unset (no ``os.chdir``)."""

    def cwd(self, new_path: Any) -> None:
        return None


_INSTALLED = False


def install() -> None:
    """Register :class:`NoChdirLocalHandler` once per process."""
    global _INSTALLED
    if _INSTALLED:
        return
    handler = NoChdirLocalHandler()
    papermill_io.register("local", handler)  # what local_file_io_cwd() sets the folder on
    papermill_io.register("/", handler)  # what absolute paths are read and written with
    _INSTALLED = True
