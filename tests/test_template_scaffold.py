"""`playbook template new`: what a newcomer does, in a copy of the project.

The copy holds src/, notebooks/, the contract test and conftest; every command runs in a
process of its own with the copy's src/ on PYTHONPATH, so the runner, the kernels and the
publisher import the copy's playbook package, which the scaffold extends with
playbook.analyses.demo_count (as an editable install does in a real checkout).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import ROOT, run_cli

from playbook.errors import SpecError
from playbook.runner.template_scaffold import new_template
from playbook.sample import generate

FILES = ["notebooks/demo_count.ipynb", "src/playbook/analyses/demo_count/__init__.py",
         "src/playbook/analyses/demo_count/analysis.py", "src/playbook/analyses/demo_count/result.py",
         "tests/test_demo_count.py", "src/playbook/locale/zh_CN/LC_MESSAGES/demo_count.po"]


def playbook(root: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    return subprocess.run([sys.executable, "-m", "playbook.cli", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project's layout after `playbook template new demo_count`, run, published."""
    root = tmp_path_factory.mktemp("newcomer")
    shutil.copytree(ROOT / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    (root / "tests").mkdir()
    for name in ("conftest.py", "test_notebook_contract.py", "test_i18n.py"):
        shutil.copy(ROOT / "tests" / name, root / "tests" / name)
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    generate(root / "data" / "sample", scale=0.1, seed=7, progress=False)

    made = playbook(root, "template", "new", "demo_count")
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines()[:len(FILES)] == [f"wrote {f}" for f in FILES]
    assert made.stderr == ""  # no note: the kernels import this project's src/playbook
    spec = playbook(root, "new", "count-check", "--template", "demo_count")
    assert spec.returncode == 0, spec.stderr
    ran = playbook(root, "run", "--quiet", "playbooks/count-check.yml")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    published = playbook(root, "publish", "--include-drafts")  # a spec `playbook new` wrote is a draft
    assert published.returncode == 0, published.stderr
    return root


def test_the_spec_offers_the_new_parameters(newcomer: Path) -> None:
    spec = (newcomer / "playbooks" / "count-check.yml").read_text(encoding="utf-8")
    assert "  - template: demo_count\n    parameters:\n" in spec
    assert "      table: events  # table whose rows are counted\n" in spec
    assert "      min_rows: 1  # fewest rows for the decision 'enough' [min 0]\n" in spec


def test_the_new_template_runs_and_records_its_outcome(newcomer: Path) -> None:
    (path,) = (newcomer / "outputs" / "runs" / "count-check").glob("*/demo_count.outcome.json")
    outcome = json.loads(path.read_text(encoding="utf-8"))
    rows = len(pd.read_parquet(newcomer / "data" / "sample" / "events.parquet"))
    assert outcome["status"] == "ok" and outcome["template"] == "demo_count"
    assert outcome["headline"] == f"events holds {rows:,} rows"
    assert (outcome["decision"], outcome["tone"]) == ("enough", "good")
    assert outcome["metrics"] == {"rows": rows}
    assert outcome["metric_info"] == {"rows": {"label": "Rows", "kind": "count"}}
    assert outcome["details"] == {"table": "events", "min_rows": 1}


def test_the_archive_shows_it_with_its_tone(newcomer: Path) -> None:
    (page,) = (newcomer / "outputs" / "archive" / "reports" / "count-check").glob("*/demo_count.html")
    html = page.read_text(encoding="utf-8")
    rows = len(pd.read_parquet(newcomer / "data" / "sample" / "events.parquet"))
    assert f"events holds {rows:,} rows" in html
    # the publisher never imported playbook.analyses.demo_count: the badge's tone is the recorded one
    assert '<span class="badge decision good">enough</span>' in html
    index = (newcomer / "outputs" / "archive" / "index.html").read_text(encoding="utf-8")
    assert '<span class="badge decision good">enough</span>' in index


def test_the_new_template_keeps_the_contract(newcomer: Path) -> None:
    checked = playbook(newcomer, "template", "check", "demo_count")
    assert (checked.returncode, checked.stdout) == (0, "demo_count: ok\n"), checked.stderr
    # the contract test as it is, and the generated test, in the copy
    env = {**os.environ, "PYTHONPATH": str(newcomer / "src")}
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider",
         "tests/test_notebook_contract.py", "tests/test_demo_count.py", "tests/test_i18n.py",
         "-k", "demo_count or every_marked_string"],
        cwd=newcomer, env=env, capture_output=True, text=True, timeout=600)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    passed = {line.split(" ")[0] for line in tests.stdout.splitlines() if " PASSED" in line}
    assert {"tests/test_notebook_contract.py::test_template_keeps_the_contract[demo_count]",
            "tests/test_demo_count.py::test_the_notebook_records_its_outcome",
            "tests/test_demo_count.py::test_too_few_rows",
            "tests/test_demo_count.py::test_a_negative_minimum_is_refused",
            # born bilingual: its cells in both languages, its strings in its own catalogue
            "tests/test_i18n.py::test_every_template_cell_has_its_translation[demo_count]",
            "tests/test_i18n.py::test_every_marked_string_is_translated_for_zh_cn"} <= passed, tests.stdout


def test_the_generated_code_is_lint_clean(newcomer: Path) -> None:
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        pytest.skip("ruff is not installed beside this Python")
    linted = subprocess.run([str(ruff), "check", "src/playbook/analyses/demo_count",
                             "tests/test_demo_count.py"], cwd=newcomer, capture_output=True, text=True)
    assert linted.returncode == 0, linted.stdout


def test_an_existing_template_is_not_overwritten(newcomer: Path) -> None:
    before = {f: (newcomer / f).read_bytes() for f in FILES}
    again = playbook(newcomer, "template", "new", "demo_count")
    assert again.returncode == 2
    assert again.stderr == ("error: notebooks/demo_count.ipynb: already exists; template 'demo_count' "
                            "is taken (choose another name, or edit the existing files)\n")
    assert {f: (newcomer / f).read_bytes() for f in FILES} == before


# -- in this process: names and files refused before anything is written ---------------------------

@pytest.fixture
def layout(tmp_path: Path) -> Path:
    for folder in ("notebooks", "src/playbook/analyses", "tests"):
        (tmp_path / folder).mkdir(parents=True)
    return tmp_path


@pytest.mark.parametrize("name", ["Demo", "demo-count", "2nd", "demo__count", "demo_", "class", ""])
def test_a_name_that_is_not_an_identifier_is_refused(layout: Path, name: str) -> None:
    with pytest.raises(SpecError) as info:
        new_template(name, layout)
    assert str(info.value) == (f"template name '{name}' is not a lower-case identifier: use letters, "
                               "digits and single underscores, starting with a letter (e.g. 'channel_roi')")
    assert not any((layout / "notebooks").iterdir())


@pytest.mark.parametrize("taken", ["tests/test_demo_count.py", "src/playbook/analyses/demo_count.py",
                                   "src/playbook/analyses/demo_count/result.py"])
def test_any_existing_file_stops_the_scaffold(layout: Path, taken: str) -> None:
    (layout / taken).parent.mkdir(parents=True, exist_ok=True)
    (layout / taken).write_text("# mine\n", encoding="utf-8")
    with pytest.raises(SpecError) as info:
        new_template("demo_count", layout)
    assert str(info.value).startswith(f"{taken}: already exists; template 'demo_count' is taken")
    assert not (layout / "notebooks" / "demo_count.ipynb").exists()
    assert (layout / taken).read_text(encoding="utf-8") == "# mine\n"


def test_outside_a_project_root_nothing_is_written(tmp_path: Path) -> None:
    (tmp_path / "notebooks").mkdir()
    result = run_cli(tmp_path, "template", "new", "demo_count")
    assert result.exit_code == 2
    assert result.output == ("error: src/playbook/analyses: folder not found; run `playbook template new` "
                             "from the project's root (the folder holding notebooks/, src/playbook/ and "
                             "tests/)\n")
    assert list(tmp_path.iterdir()) == [tmp_path / "notebooks"]


def test_a_scaffold_outside_the_package_in_use_says_so(layout: Path) -> None:
    made = new_template("demo_count", layout)
    assert [p.as_posix() for p in made.paths] == FILES
    assert made.note is not None and made.note.startswith(
        "the playbook package in use is not src/playbook of this project, so kernels will not find "
        "playbook.analyses.demo_count")
