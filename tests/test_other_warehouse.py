"""Every template on the second test warehouse, through the CLI, with parameters only.

tests/other_warehouse.py renames everything a template could assume (events, steps, channels,
devices, regions, experiments, arms) and has no marker file; its spec (``SPEC``, quoted in the
README) names the new values. The planted effects of the sample warehouse survive the
renaming, so each template must find them under the new names; a template left at the
sample's defaults must fail with a message that names what to set.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import ROOT, run_cli
from tests.other_warehouse import DEFECTS, SPEC, write_other_warehouse

from playbook.sample import PLANTED


@pytest.fixture(scope="module")
def project(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("crm-project")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    write_other_warehouse(sample, root / "exports" / "crm-2026-11")
    (root / "playbooks").mkdir()
    (root / "playbooks" / "crm-export-review.yml").write_text(SPEC, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def outcomes(project: Path) -> dict[str, dict[str, Any]]:
    result = run_cli(project, "run", "--quiet", "playbooks/crm-export-review.yml")
    assert result.exit_code == 0, result.output
    (run_dir,) = (project / "outputs" / "runs" / "crm-export-review").iterdir()
    out = {p.name.split(".")[0]: json.loads(p.read_text()) for p in run_dir.glob("*.outcome.json")}
    assert len(out) == 6
    for name, o in out.items():
        assert o["status"] == "ok", (name, o.get("error"))
    return out


def test_data_quality_fails_exactly_the_planted_defects(outcomes: dict[str, dict[str, Any]]) -> None:
    out = outcomes["data_quality"]
    assert out["decision"] == "fail" and out["details"]["rules_inferred"]
    failing = {(r["table"], r["rule"], r["column"]): r["failed"] for r in out["details"]["failing_rules"]}
    assert failing == DEFECTS


def test_funnel_finds_the_bottleneck_and_the_weak_segment(outcomes: dict[str, dict[str, Any]]) -> None:
    out = outcomes["funnel_diagnosis"]
    assert PLANTED["funnel"]["bottleneck"] == "verify_identity"  # renamed kyc_passed here
    assert out["details"]["bottleneck_loss"] == "kyc_passed"
    assert "kyc_passed" in out["headline"]
    weakest = out["details"]["weakest"]
    assert PLANTED["weak_segment"]["value"] == "web"  # renamed desktop here
    assert (weakest["breakdown"], weakest["segment"], weakest["step"]) == ("device", "desktop", "kyc_passed")
    assert weakest["significant"]


def test_process_finds_the_slow_step(outcomes: dict[str, dict[str, Any]]) -> None:
    out = outcomes["process_efficiency"]
    assert PLANTED["process"]["slowest"] == "manual_review"  # renamed underwriting here
    assert out["details"]["slowest_step"] == "underwriting"
    assert out["details"]["step_to_fix"] == "underwriting"


def test_design_sizes_the_test_on_the_new_events(outcomes: dict[str, dict[str, Any]]) -> None:
    out = outcomes["experiment_design"]
    assert out["metrics"]["sample_size_per_arm"] > 0
    assert out["metrics"]["rho"] > 0.2  # measured on exp_credit_line_2026's covariate
    assert out["details"]["rho_source"] == "measured in the A arm of exp_credit_line_2026"


def test_readouts_find_the_lift_and_the_srm(outcomes: dict[str, dict[str, Any]]) -> None:
    lift = outcomes["credit_line"]
    assert lift["decision"] == "ship"
    m = lift["metrics"]
    truth = PLANTED["experiments"]["limit-banner"]["lift_rel"]
    assert m["request_rate.B.ci_low"] < truth < m["request_rate.B.ci_high"]
    srm = outcomes["welcome_text"]
    assert srm["decision"] == "invalid"
    assert srm["metrics"]["srm.p_value"] < 0.001


@pytest.mark.parametrize(("template", "needle"), [
    ("funnel_diagnosis", "landing"),
    ("process_efficiency", "intake"),
    ("experiment_design", "kyc_passed"),
    ("experiment_readout", "exp_credit_line_2026"),
])
def test_sample_defaults_fail_naming_what_to_set(project: Path, template: str, needle: str) -> None:
    """Left at the sample warehouse's defaults, a template fails and lists what the data has."""
    spec = yaml.safe_load(SPEC)
    spec["campaign"] = f"defaults-{template.replace('_', '-')}"
    spec["runs"] = [{"template": template}]
    path = project / "playbooks" / f"{spec['campaign']}.yml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    result = run_cli(project, "run", "--quiet", str(path.relative_to(project)))
    path.unlink()
    assert result.exit_code == 1, result.output
    assert "DataError" in result.output, result.output
    assert needle in result.output, result.output
