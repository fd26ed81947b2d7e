"""Kernel management tuned for short report notebooks.

papermill starts one kernel per template. Two defaults of jupyter_client cost more than the
notebooks themselves: a graceful shutdown (which can stall for seconds) and a 100 ms polling
loop while waiting for a killed kernel to exit. Kernels here are killed immediately and
reaped with a 5 ms poll, and talk over IPC sockets in a private folder (no TCP ports to
allocate, no plain-text-transport warning in the analyst's terminal). ``extra_env`` adds
variables to one kernel's environment (the runner's clock offset, see runner/clock.py) without
touching the runner's own ``os.environ``, which threads running other templates share.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import Dict

_KERNEL_DIR: str | None = None


class QuickKernelManager(AsyncKernelManager):
    """An AsyncKernelManager that reaps a killed kernel without 100 ms sleeps."""

    extra_env = Dict(config=True, help="variables added to the kernel's environment")

    async def _async_pre_start_kernel(self, **kw: Any) -> Any:
        if self.extra_env:
            kw["env"] = {**(kw.get("env") or os.environ), **self.extra_env}
        return await super()._async_pre_start_kernel(**kw)

    async def _async_wait(self, pollinterval: float = 0.005) -> None:
        while await self._async_is_alive():
            await asyncio.sleep(pollinterval)


def kernel_config(env: dict[str, str] | None = None) -> Any:
    """Config for one kernel: IPC transport with a socket prefix of its own.

    IPC "ports" are chosen by probing for free file names, which races between kernels that
    start at the same moment; a unique prefix per kernel avoids that.
    """
    global _KERNEL_DIR
    from traitlets.config import Config

    if _KERNEL_DIR is None or not Path(_KERNEL_DIR).is_dir():
        _KERNEL_DIR = tempfile.mkdtemp(prefix="playbook-kernels-")
    prefix = os.path.join(_KERNEL_DIR, uuid.uuid4().hex[:12])
    return Config({"KernelManager": {"transport": "ipc", "ip": prefix},
                   "QuickKernelManager": {"extra_env": dict(env or {})}})


def engine_options(env: dict[str, str] | None = None) -> dict[str, Any]:
    """Keyword arguments for papermill.execute_notebook (passed on to nbclient)."""
    return {"shutdown_kernel": "immediate", "config": kernel_config(env),
            "kernel_manager_class": QuickKernelManager}
