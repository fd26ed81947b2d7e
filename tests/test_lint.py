"""The linters pass: mypy (strict on src/playbook, and over the tests) and ruff, each run as
``make lint`` runs it, with the project's own configuration in pyproject.toml."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=900, check=False)


def test_mypy_passes_on_src_and_tests() -> None:
    # the cache (.mypy_cache, as make lint uses it) makes a second run take about a second
    proc = _run("mypy")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mypy found problems (run `make lint`):\n{output}"
    # every module was checked: the configuration's files cover src/playbook and tests
    checked = re.search(r"no issues found in (\d+) source files", output)
    modules = [p for folder in ("src/playbook", "tests") for p in (ROOT / folder).rglob("*.py")]
    assert checked and int(checked[1]) == len(modules), output


def test_ruff_passes() -> None:
    proc = _run("ruff", "check", "src", "tests", "bench")
    assert proc.returncode == 0, f"ruff found problems (run `make lint`):\n{proc.stdout}{proc.stderr}"
