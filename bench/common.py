"""Helpers shared by the benchmark scripts: summary statistics, their formatting, machine info.

The scripts run as ``python bench/<script>.py``, which puts this folder on ``sys.path``, so
they import this module as ``common``.
"""

from __future__ import annotations

import os
import platform
import statistics
from pathlib import Path


def stats(xs: list[float]) -> dict[str, float]:
    """Median, min, max, p95 and count of a list of measurements."""
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
    return {"median": statistics.median(xs), "min": xs[0], "max": xs[-1], "p95": p95, "n": len(xs)}


def fmt(s: dict[str, float], unit: str = "s", p95: bool = False, digits: int = 3) -> str:
    """``median unit (min, max[, p95]; n=N)`` of a :func:`stats` summary."""
    text = f"{s['median']:.{digits}f} {unit} (min {s['min']:.{digits}f}, max {s['max']:.{digits}f}"
    if p95:
        text += f", p95 {s['p95']:.{digits}f}"
    return text + f"; n={s['n']})"


def machine() -> str:
    """CPU model, cores, RAM, OS and Python version of this machine, in one line."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        kb = int(next(x for x in meminfo if x.startswith("MemTotal")).split()[1])
        mem = f", {kb / 1024**2:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}, Python {platform.python_version()}"
