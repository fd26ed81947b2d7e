"""Shared fixtures: a throw-away project folder with fixture templates and a tiny warehouse,
the generated sample warehouse, and demo projects (the real templates over that warehouse)."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from playbook.cli import main
from playbook.sample import generate

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_NOTEBOOKS = Path(__file__).parent / "fixtures" / "notebooks"

SPEC = """\
campaign: {campaign}
title: Trivial campaign
owner: growth-team
hypothesis: Saying hello more often lifts nothing
ice: {{impact: 5, confidence: 6, ease: 7}}
tags: [test]
runs:
{runs}
"""


def write_spec(path: Path, campaign: str = "trivial-campaign", runs: str = "  - template: trivial\n",
               extra: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SPEC.format(campaign=campaign, runs=runs) + extra, encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root holding notebooks/ (fixture templates), playbooks/ and a tiny warehouse."""
    (tmp_path / "notebooks").mkdir()
    for nb in FIXTURE_NOTEBOOKS.glob("*.ipynb"):
        shutil.copy(nb, tmp_path / "notebooks" / nb.name)
    sample = tmp_path / "data" / "sample"
    sample.mkdir(parents=True)
    pd.DataFrame({"user_id": [1, 2, 3], "channel": ["a", "b", "a"]}).to_parquet(sample / "users.parquet")
    (tmp_path / "playbooks").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated sample warehouse at scale 1 (the demo's size), seed 7; read it, don't write it."""
    out = tmp_path_factory.mktemp("wh_sample")
    generate(out, scale=1.0, seed=7, progress=False)
    return out


def make_demo_project(
    tmp_path_factory: pytest.TempPathFactory, name: str, scale: float = 1.0, seed: int = 7
) -> Path:
    """A copy of the project's notebooks/ and playbooks/ over a freshly generated warehouse."""
    root = tmp_path_factory.mktemp(name)
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    shutil.copytree(ROOT / "playbooks", root / "playbooks")
    generate(root / "data" / "sample", scale=scale, seed=seed, progress=False)
    return root


def run_cli(root: Path, *args: str) -> Result:
    """``playbook *args`` through click's test runner, run in ``root`` (the working directory is restored)."""
    with contextlib.chdir(root):
        return CliRunner().invoke(main, list(args))
