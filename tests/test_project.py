"""Project conventions: templates stored clean, environment.yml in step with pyproject."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml

from playbook.runner.templates import CONTEXT_PARAMETERS, discover, load_template

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = sorted((ROOT / "notebooks").glob("*.ipynb"))
CONDA_NAMES = {"python-duckdb": "duckdb", "types-pyyaml": "types-pyyaml"}


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[]", req, maxsplit=1)[0].strip().lower().replace("_", "-")


def test_environment_yml_mirrors_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r): r for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    have = {}
    for dep in env["dependencies"]:
        if not isinstance(dep, str) or _name(dep) in ("python", "pip"):
            continue
        name = CONDA_NAMES.get(_name(dep), _name(dep))
        have[name] = dep
    assert set(have) == set(wanted), (
        f"environment.yml and pyproject.toml differ: only in pyproject {set(wanted) - set(have)}, "
        f"only in environment.yml {set(have) - set(wanted)}"
    )
    for name, req in wanted.items():
        pin = req[len(_name(req)):].strip()
        assert have[name].endswith(pin), f"environment.yml pins {have[name]!r}, pyproject {req!r}"


@pytest.mark.parametrize("path", TEMPLATES, ids=[p.stem for p in TEMPLATES])
def test_template_is_stored_clean_with_a_documented_parameters_cell(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip outputs"
    assert "parameters" in code[0].metadata.get("tags", []), "the parameters cell is the first code cell"
    assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1
    assert nb.cells[0].cell_type == "markdown", "a report opens with prose for the stakeholder"
    tpl = load_template(path)
    assert set(CONTEXT_PARAMETERS) <= set(tpl.parameters)
    for p in tpl.parameters.values():
        assert p.type_name not in ("None", ""), f"{path.name}: parameter {p.name} needs a type hint"
        assert p.help, f"{path.name}: parameter {p.name} needs a short comment"
    assert tpl.purpose, f"{path.name}: metadata.playbook.purpose or an opening sentence"
    assert len(code) <= 14, f"{path.name}: keep templates thin; move logic into the package"


def test_every_example_playbook_validates() -> None:
    from playbook.runner.spec import Spec, read_yaml

    templates = discover(ROOT / "notebooks")
    specs = sorted((ROOT / "playbooks").glob("*.yml"))
    assert specs
    for path in specs:
        spec = Spec.model_validate(read_yaml(path))
        for run in spec.runs:
            assert run.template in templates
            assert set(run.parameters) <= set(templates[run.template].user_parameters)
