"""Headless Chromium for the browser tests: where it is, why a test skips, an HTTP server.

Chromium is Debian's ``chromium`` package (``make setup`` installs it when run as root). The
tests drive it with the ``playwright`` package (a dev dependency) through
``executable_path``: playwright never downloads a browser of its own here.
"""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MISSING = (
    "headless Chromium is not installed: run `make setup` as root (it installs Debian's "
    "chromium package), or `sudo apt-get install chromium`, then re-run the tests"
)
#: Flags for a headless Chromium in a container: no sandbox (root), no GPU, no network chatter.
CHROME_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> str:
    """The Chromium executable; skips the calling test module without it."""
    if CHROMIUM is None:
        pytest.skip(MISSING, allow_module_level=True)
    return CHROMIUM


class _Handler(SimpleHTTPRequestHandler):
    timeout = 30  # a stalled connection cannot hang the server's shutdown

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins every request thread


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 from a background thread; yields the base URL."""
    server = _Server(("127.0.0.1", 0), functools.partial(_Handler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, name="archive-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        assert not thread.is_alive()
