"""Shared fixtures: a throw-away project folder with fixture templates and a tiny warehouse."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

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
