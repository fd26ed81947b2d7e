"""The CLI's exit codes (playbook.cli, README "Exit codes"): 0 done; 1 runs failed or some runs
could not be published; 2 something to fix (spec, parameter, data, outputs/, usage), with the
message on stderr and no traceback. Every command goes through the one converter of
PlaybookError to exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tests.conftest import ROOT, write_spec

from playbook.cli import main
from playbook.errors import DataError, ParameterError, PublishError, SpecError


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def test_a_bad_parameter_is_one_line_on_stderr_with_exit_2(tmp_path: Path) -> None:
    """As a shell sees it: a real process, stdout empty, one line on stderr, no traceback."""
    env = os.environ | {"PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-m", "playbook.cli", "demo-data", "--scale", "0", "--out", "wh"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == "error: --scale: must be above 0, got 0.0; 1 is the demo's size (20,000 users)\n"
    assert not (tmp_path / "wh").exists()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"`playbook demo-data --scale 0` prints `{done.stderr.strip()}`" in readme  # as documented


@pytest.mark.parametrize(
    ("module", "function", "args"),
    [
        ("playbook.sample", "generate", ["demo-data", "--quiet"]),
        ("playbook.runner.scaffold", "new_campaign", ["new", "x", "--template", "trivial"]),
        ("playbook.runner.execute", "run_specs", ["run", "--quiet", "playbooks/t.yml"]),
        ("playbook.publish", "publish", ["publish"]),
        ("playbook.runner.schedule", "scheduled", ["schedule"]),
        ("playbook.analyses.quality.infer", "infer_rules_file", ["rules", "infer", "data"]),
        ("playbook.runner.catalog", "describe", ["list"]),
    ],
)
@pytest.mark.parametrize("error", [SpecError, DataError, ParameterError, PublishError])
def test_every_command_turns_a_playbook_error_into_exit_2(
    project: Path, monkeypatch: pytest.MonkeyPatch, module: str, function: str, args: list[str],
    error: type[Exception],
) -> None:
    def fails(*a: Any, **k: Any) -> Any:
        raise error("somewhere.yml: key: what to do")

    monkeypatch.setattr(f"{module}.{function}", fails)
    result = cli(*args)
    assert (result.exit_code, result.output) == (2, "error: somewhere.yml: key: what to do\n")
    assert isinstance(result.exception, SystemExit)  # not an uncaught exception


def test_a_bug_is_not_disguised_as_something_to_fix(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(*a: Any, **k: Any) -> Any:
        raise KeyError("internal")

    monkeypatch.setattr("playbook.runner.catalog.describe", bug)
    result = cli("list")
    assert result.exit_code == 1 and isinstance(result.exception, KeyError)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run"], "Missing argument 'SPECS...'"),
        (["frobnicate"], "No such command 'frobnicate'"),
        (["demo-data", "--scale", "big"], "'big' is not a valid float"),
    ],
)
def test_usage_errors_exit_2(project: Path, args: list[str], message: str) -> None:
    result = cli(*args)
    assert result.exit_code == 2 and message in result.output


def test_a_failed_run_exits_1_and_an_ok_run_0(project: Path) -> None:
    write_spec(project / "playbooks" / "ok.yml", campaign="fine")
    write_spec(project / "playbooks" / "bad.yml", campaign="broken", runs="  - template: raises\n")
    assert cli("run", "--quiet", "playbooks/ok.yml").exit_code == 0
    result = cli("run", "--quiet", "playbooks/ok.yml", "playbooks/bad.yml")
    assert result.exit_code == 1
    assert "broken " in result.output and ": failed (" in result.output


def test_a_publish_that_skips_runs_names_them_and_exits_1(project: Path) -> None:
    write_spec(project / "playbooks" / "ok.yml", campaign="fine")
    assert cli("run", "--quiet", "playbooks/ok.yml").exit_code == 0
    assert cli("publish").exit_code == 0
    broken = project / "outputs" / "runs" / "fine" / "20261124T060000Z"
    broken.mkdir()
    (broken / "run.json").write_text("[]", encoding="utf-8")
    result = cli("publish")
    assert result.exit_code == 1
    assert ("not published: outputs/runs/fine/20261124T060000Z/run.json: unreadable: expected a JSON "
            "object\n") in result.output
    assert result.output.rstrip().endswith("index.html")  # the rest is published
    assert (project / "outputs" / "archive" / "campaigns" / "fine.html").is_file()
    result = cli("run", "--quiet", "--publish", "playbooks/ok.yml")
    assert result.exit_code == 1 and "not published: outputs/runs/fine/20261124T060000Z" in result.output
