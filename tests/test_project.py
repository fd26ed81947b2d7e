"""Project conventions: environment.yml in step with pyproject, example playbooks valid (the
templates themselves keep the notebook contract: tests/test_notebook_contract.py)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from playbook.runner.templates import discover

ROOT = Path(__file__).resolve().parents[1]
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
