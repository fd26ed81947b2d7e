"""The project root is found from its folders, not assumed to be the working directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from playbook.cli import main
from playbook.project import ROOT_ENV, find_root, paths


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(ROOT_ENV, raising=False)
    for folder in ("notebooks", "playbooks", "data/sample"):
        (tmp_path / folder).mkdir(parents=True)
    return tmp_path


def test_the_root_is_found_from_below_and_given_relative(project: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    assert find_root() == Path(".")
    monkeypatch.chdir(project / "notebooks")
    assert find_root() == Path("..")
    assert paths().runs == Path("../outputs/runs")
    # a relative data folder in a notebook run from notebooks/ is found below the root
    assert paths().resolve("data/sample") == Path("../data/sample")
    assert paths().resolve("data/missing") == Path("data/missing")
    monkeypatch.chdir(project / "data" / "sample")
    assert (Path.cwd() / find_root()).resolve() == project.resolve()


def test_outside_a_project_the_working_directory_is_the_root(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ROOT_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert find_root() == Path(".")
    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "elsewhere"))
    assert find_root() == tmp_path / "elsewhere"
    assert paths().archive == tmp_path / "elsewhere" / "outputs" / "archive"


def test_the_cli_lists_the_projects_templates_from_a_subfolder(monkeypatch: pytest.MonkeyPatch) -> None:
    """`playbook list` from notebooks/ shows the same templates and campaigns as from the root."""
    root = Path(__file__).resolve().parents[1]
    monkeypatch.delenv(ROOT_ENV, raising=False)
    monkeypatch.chdir(root)
    at_root = CliRunner().invoke(main, ["list"])
    monkeypatch.chdir(root / "notebooks")
    below = CliRunner().invoke(main, ["list"])
    assert at_root.exit_code == below.exit_code == 0, below.output
    assert "experiment_readout" in below.output and "limit-banner" in below.output
    assert below.output.split("Recent runs")[0] == at_root.output.split("Recent runs")[0]
