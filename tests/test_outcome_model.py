"""Typed run records: outcomes validate against playbook.outcome.Outcome, old files still read,
and the JSON Schemas are exported for readers outside Python."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from playbook import report
from playbook.errors import RunError
from playbook.outcome import SCHEMA_VERSION, Outcome, RunManifest, Status, json_schema


def test_recorded_outcomes_are_typed(tmp_path: Path) -> None:
    out = report.record_outcome(template="t", campaign="c", run_id="r", output_dir=tmp_path,
                                headline="h", decision="ship", metrics={"a": 1.5},
                                metric_info={"a": {"label": "A", "kind": "share"}})
    on_disk = json.loads((tmp_path / "t.outcome.json").read_text())
    model = Outcome.model_validate(on_disk)
    assert model.status is Status.OK and model.tone == "good" and model.schema_version == SCHEMA_VERSION
    assert model.metric_info["a"].label == "A" and out["decision"] == "ship"
    assert report.SCHEMA_VERSION == SCHEMA_VERSION


def test_a_bad_outcome_is_refused_naming_the_field(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="status"):
        report.record_outcome(template="t", campaign="c", run_id="r", output_dir=tmp_path,
                              headline="h", decision=None, metrics={}, status="done")
    with pytest.raises(RunError, match="kind"):
        report.record_outcome(template="t", campaign="c", run_id="r", output_dir=tmp_path,
                              headline="h", decision=None, metrics={"a": 1},
                              metric_info={"a": {"label": "A", "kind": "percent"}})
    assert not (tmp_path / "t.outcome.json").exists()


def test_records_written_before_the_schema_version_still_read() -> None:
    old: dict[str, Any] = {"template": "t", "campaign": "c", "run_id": "r", "status": "failed", "headline": "h",
           "decision": None, "metrics": {}, "details": {}, "error": "DataError: x"}
    assert Outcome.model_validate(old).schema_version == 1
    run = RunManifest.model_validate({"campaign": "c", "run_id": "r", "status": "ok",
                                      "templates": [{"name": "t", "template": "t", "notebook": "n",
                                                     "status": "ok", "timings": {}}]})
    assert run.templates[0].status is Status.OK


def test_json_schemas_name_the_version() -> None:
    schema = json_schema(Outcome)
    assert schema["$schema"].endswith("2020-12/schema")
    assert f"schema_version {SCHEMA_VERSION}" in schema["description"]
    assert {"template", "campaign", "run_id", "status", "headline"} <= set(schema["required"])
    assert set(schema["$defs"]["Status"]["enum"]) == {"pending", "running", "ok", "failed"}
