"""data_quality end to end: papermill run on a generated warehouse, outcome checked, published."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import make_demo_project, run_cli

from playbook.sample import generate

#: the defects the generator plants, as failing rules of data_quality (table.rule.column)
PLANTED_FAILURES = {
    "fail.users.completeness.region",
    "fail.orders.min.amount",
    "fail.orders.uniqueness.order_id",
    "fail.orders.not_future.ts",
    "fail.spend.freshness.date",
}


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project's templates and playbooks over a freshly generated warehouse."""
    return make_demo_project(tmp_path_factory, "demo")


@pytest.fixture(scope="module")
def published(demo_project: Path) -> Path:
    """`playbook run` and `playbook publish` through the CLI, as `make demo` does."""
    result = run_cli(demo_project, "run", "--quiet", "playbooks/weekly-data-quality.yml")
    assert result.exit_code == 0, result.output
    result = run_cli(demo_project, "publish")
    assert result.exit_code == 0, result.output
    assert "archive: " in result.output and result.output.strip().endswith("index.html")
    return demo_project


def outcome(project: Path) -> dict[str, Any]:
    (path,) = (project / "outputs" / "runs" / "weekly-data-quality").glob("*/data_quality.outcome.json")
    return json.loads(path.read_text())


def test_every_planted_defect_fails_and_nothing_else(published: Path) -> None:
    out = outcome(published)
    assert out["status"] == "ok"
    assert out["decision"] == "fail"
    failing = {k for k in out["metrics"] if k.startswith("fail.")}
    assert failing == PLANTED_FAILURES
    meta = json.loads((published / "data" / "sample" / "_warehouse.json").read_text())
    defects = meta["planted_defects"]
    rules = {(r["table"], r["rule"], r["column"]): r for r in out["details"]["failing_rules"]}
    assert rules[("users", "completeness", "region")]["failed"] == defects["users.region.missing"]
    assert rules[("orders", "min", "amount")]["failed"] == defects["orders.amount.negative"]
    assert rules[("orders", "not_future", "ts")]["failed"] == defects["orders.ts.future"]
    assert rules[("orders", "uniqueness", "order_id")]["failed"] == defects["orders.order_id.duplicate_rows"]
    assert out["metrics"]["rules.failed"] == 5
    assert 0.9 < out["metrics"]["coverage"] <= 1 and 0.95 < out["metrics"]["pass_rate"] < 1


def test_clean_tables_pass_every_rule(published: Path) -> None:
    out = outcome(published)
    failing_tables = {r["table"] for r in out["details"]["failing_rules"]}
    assert failing_tables == {"users", "orders", "spend"}
    for clean in ("events", "assignments", "metrics_pre", "process_log", "tickets", "campaigns", "backlog"):
        assert not any(k.startswith(f"fail.{clean}.") for k in out["metrics"])


def test_archive_lists_report_and_hides_code(published: Path) -> None:
    archive = published / "outputs" / "archive"
    index = (archive / "index.html").read_text()
    out = outcome(published)
    from html import escape

    assert escape(out["headline"]) in index
    assert "99.4%" in index or f"{out['metrics']['pass_rate']:.1%}" in index  # pass rate shown
    assert ">fail<" in index.replace(" ", "")  # decision badge
    (page,) = (archive / "reports" / "weekly-data-quality").glob("*/data_quality.html")
    html = page.read_text()
    assert "check_warehouse(" not in html and "record_outcome(" not in html
    assert "import " not in re.sub(r"<[^>]+>", "", html.split("Traceback")[0])
    assert "<img" in html  # the charts
    assert "Which rules fail" in html
    catalog = json.loads((archive / "catalog.json").read_text())
    assert any(r.get("outcome", {}).get("template") == "data_quality" for r in catalog["reports"])


def test_another_warehouse_folder_via_spec_data(demo_project: Path) -> None:
    """A spec's data.warehouse points every template at another export with the same tables."""
    export = demo_project / "exports" / "clean"
    generate(export, scale=0.2, seed=11, progress=False)
    spec = (demo_project / "playbooks" / "weekly-data-quality.yml").read_text()
    spec = spec.replace("campaign: weekly-data-quality", "campaign: export-check")
    spec = spec.replace("warehouse: data/sample", "warehouse: exports/clean")
    spec = spec.replace("tables: []", "tables: [events, tickets]")
    (demo_project / "playbooks" / "export-check.yml").write_text(spec)
    result = run_cli(demo_project, "run", "--quiet", "playbooks/export-check.yml")
    assert result.exit_code == 0, result.output
    (path,) = (demo_project / "outputs" / "runs" / "export-check").glob("*/data_quality.outcome.json")
    out = json.loads(path.read_text())
    assert out["decision"] == "pass"
    assert out["details"]["tables"] == ["events", "tickets"]
    manifest = json.loads(path.with_name("run.json").read_text())
    assert manifest["data_dir"] == "exports/clean"
    assert manifest["inputs"]["events"]["path"] == "exports/clean/events.parquet"
