"""The demo's outcomes pinned: every example playbook on the sample warehouse (scale 1, seed 7)
gives the headlines, decisions and metrics stored in tests/fixtures/demo_outcomes.json.

A restructuring must leave them as they are. When a change means to alter an outcome, write
the file again and say why in the commit:

    .venv/bin/python tests/test_demo_outcomes.py      # rewrites tests/fixtures/demo_outcomes.json

Numbers are compared at 9 significant digits (DuckDB's parallel sums differ in the last bits).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "demo_outcomes.json"
DIGITS = 9


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.{DIGITS}g}")
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


def demo_outcomes(root: Path) -> dict[str, dict[str, Any]]:
    """``{campaign/report: {headline, decision, status, metrics}}`` of every run under root."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((root / "outputs" / "runs").glob("*/*/*.outcome.json")):
        o = json.loads(path.read_text(encoding="utf-8"))
        key = f"{path.parts[-3]}/{path.name.removesuffix('.outcome.json')}"
        out[key] = _round({k: o.get(k) for k in ("status", "headline", "decision", "metrics")})
    return out


def run_demo(root: Path) -> dict[str, dict[str, Any]]:
    from tests.conftest import run_cli

    specs = sorted(str(p.relative_to(root)) for p in (root / "playbooks").glob("*.yml"))
    result = run_cli(root, "run", "--quiet", *specs)
    assert result.exit_code == 0, result.output
    return demo_outcomes(root)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    from tests.conftest import make_demo_project

    return run_demo(make_demo_project(tmp_path_factory, "demo-outcomes"))


def test_demo_outcomes_are_unchanged(outcomes: dict[str, dict[str, Any]]) -> None:
    stored = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert sorted(outcomes) == sorted(stored)
    for key, want in stored.items():
        got = outcomes[key]
        for field in ("status", "headline", "decision"):
            assert got[field] == want[field], (key, field)
        assert got["metrics"] == want["metrics"], key


if __name__ == "__main__":  # pragma: no cover - writes the fixture
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.conftest import ROOT

    from playbook.sample import generate

    with tempfile.TemporaryDirectory() as tmp:
        import shutil

        root = Path(tmp)
        shutil.copytree(ROOT / "notebooks", root / "notebooks")
        shutil.copytree(ROOT / "playbooks", root / "playbooks")
        generate(root / "data" / "sample", scale=1.0, seed=7, progress=False)
        data = run_demo(root)
    FIXTURE.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                       encoding="utf-8")
    print(f"wrote {FIXTURE}: {len(data)} outcomes")
