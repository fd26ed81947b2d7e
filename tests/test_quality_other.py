"""data_quality on a warehouse it has never seen: rules inferred, snapshot time, edge cases.

The packaged rules describe the sample warehouse alone; on the second test warehouse
(tests/other_warehouse.py: other names, other value sets, no marker file) the rules that hold
for any data must find exactly its planted defects and nothing on its clean tables.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml
from tests.conftest import ROOT, run_cli
from tests.other_warehouse import DEFECTS, SNAPSHOT, write_other_warehouse

from playbook.analyses.quality.analysis import (
    NO_SNAPSHOT,
    check_warehouse,
    load_rules,
    validate_rules,
)
from playbook.analyses.quality.infer import INFERRED, generic_rules, infer_rules
from playbook.errors import DataError
from playbook.sources import Warehouse

NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # an injected clock, never the wall clock


@pytest.fixture(scope="module")
def other(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_other_warehouse(sample, tmp_path_factory.mktemp("other") / "wh")


def _failing(res) -> dict[tuple[str, str, str], int]:
    return {(r.table, r.rule, r.column): int(r.failed) for r in res.failing.itertuples()}


def test_inferred_rules_find_exactly_the_planted_defects(other: Path) -> None:
    assert not (other / "_warehouse.json").exists()
    res = check_warehouse(Warehouse(other), now=NOW)
    assert _failing(res) == DEFECTS
    assert res.inferred and res.rules_file == INFERRED and not res.snapshot
    assert set(res.table_names) == {p.stem for p in other.glob("*.parquet")}
    dup = res.rules[(res.rules.rule == "uniqueness") & (res.rules.table == "orders")].iloc[0]
    assert dup["note"] == "40 duplicated ids in 80 rows"
    summary = res.summary()
    assert "inferred from the data" in summary
    assert "40 duplicated ids in 80 rows" in summary
    assert "60 rows are exact copies of another row" in summary
    copies = res.failing_samples["process_log.distinct_rows"]
    assert (copies["copies"] == 2).all() and len(copies) == 5


def test_the_packaged_rules_stay_with_the_sample_warehouse(sample: Path, other: Path) -> None:
    assert Warehouse(sample).is_sample and not Warehouse(other).is_sample
    assert not check_warehouse(Warehouse(sample)).inferred
    # forced onto the other warehouse, the sample's value sets fail clean tables: why they don't apply
    forced = check_warehouse(Warehouse(other), rules=load_rules(), now=NOW)
    assert len(_failing(forced)) > len(DEFECTS) + 5


def test_generic_rules_read_the_schema_only(other: Path) -> None:
    rules = generic_rules(Warehouse(other))
    assert rules["orders"]["key"] == ["order_id"] and rules["orders"]["timestamp"] == "ts"
    assert rules["users"]["key"] == ["user_id"] and rules["users"]["timestamp"] == "signup_ts"
    assert rules["process_log"]["distinct_rows"] and "key" not in rules["process_log"]
    assert rules["spend"]["timestamp"] == "date"
    for spec in rules.values():
        if isinstance(spec, dict):
            for c in spec["columns"].values():
                assert not {"allowed", "pattern", "min", "max"} & set(c)


def test_without_a_snapshot_time_freshness_is_not_checked(other: Path, tmp_path: Path) -> None:
    rules = validate_rules({"orders": {"key": ["order_id"], "timestamp": "ts",
                                       "freshness_sla_hours": 48, "columns": {}}}, "mine.yaml")
    res = check_warehouse(Warehouse(other), rules=rules, now=NOW)
    fresh = res.rules[res.rules.rule == "freshness"].iloc[0]
    assert fresh["verdict"] == "skipped" and fresh["note"] == NO_SNAPSHOT
    assert len(res.skipped) == 1 and len(res.judged) == len(res.rules) - 1
    assert "1 rule not checked" in res.summary() and "no snapshot time" in res.summary()
    assert res.details()["not_checked"][0]["why"] == NO_SNAPSHOT
    assert res.metrics()["rules.skipped"] == 1
    # declared, in the spec's data section or the marker file, it is checked
    for wh in (Warehouse(other, {"snapshot": SNAPSHOT}), _with_marker(other, tmp_path)):
        res = check_warehouse(wh, rules=rules)
        fresh = res.rules[res.rules.rule == "freshness"].iloc[0]
        assert fresh["verdict"] in ("pass", "fail") and res.snapshot
        assert res.as_of == datetime(2026, 11, 24, 6, 0)


def _with_marker(other: Path, tmp_path: Path) -> Warehouse:
    wh = tmp_path / "marked"
    wh.mkdir()
    (wh / "orders.parquet").write_bytes((other / "orders.parquet").read_bytes())
    (wh / "_warehouse.json").write_text(json.dumps({"as_of": SNAPSHOT}))
    return Warehouse(wh)


def test_not_future_without_a_snapshot_uses_the_injected_clock(other: Path) -> None:
    res = check_warehouse(Warehouse(other), tables=["orders"], now=NOW)
    fut = res.rules[(res.rules.rule == "not_future") & (res.rules.column == "ts")].iloc[0]
    assert fut["failed"] == DEFECTS[("orders", "not_future", "ts")]
    assert res.as_of == datetime(2026, 11, 24, 6, 0)


def test_an_empty_table_gives_the_documented_result(tmp_path: Path) -> None:
    empty = pd.DataFrame({"order_id": pd.Series([], dtype="int64"),
                          "user_id": pd.Series([], dtype="int64"),
                          "ts": pd.Series([], dtype="datetime64[us]"),
                          "amount": pd.Series([], dtype="float64")})
    empty.to_parquet(tmp_path / "orders.parquet")
    for rules in (None, load_rules()):
        res = check_warehouse(Warehouse(tmp_path), tables=["orders"], rules=rules, now=NOW)
        judged = res.judged
        assert len(judged) and (judged["checked"] == 0).all() and (judged["verdict"] == "pass").all()
        assert res.decision == "pass"


def test_infer_writes_a_rules_file_that_passes_on_its_own_data(sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "rules" / "crm.yml"
    result = run_cli(tmp_path, "rules", "infer", str(sample / "campaigns.parquet"), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    rules = load_rules(out)
    spec = rules["campaigns"]
    assert spec["columns"]["channel"]["allowed"] == ["email", "in_app", "push", "sms"]
    budget = pd.read_parquet(sample / "campaigns.parquet")["budget"]
    lo, hi = spec["columns"]["budget"]["min"], spec["columns"]["budget"]["max"]
    margin = 0.1 * (budget.max() - budget.min())
    assert lo == pytest.approx(max(budget.min() - margin, 0), rel=1e-3)
    assert hi == pytest.approx(budget.max() + margin, rel=1e-3)
    assert "allowed" not in spec["columns"]["campaign"]  # unique names are no value set
    res = check_warehouse(Warehouse(sample, {"campaigns": str(sample / "campaigns.parquet")}),
                          tables=["campaigns"], rules=rules)
    assert res.decision == "pass", res.failing
    again = run_cli(tmp_path, "rules", "infer", str(sample / "campaigns.parquet"), "-o", str(out))
    assert again.exit_code == 2 and f"error: {out}: exists already" in again.output


def test_infer_profiles_a_whole_warehouse(other: Path) -> None:
    rules = infer_rules(Warehouse(other))
    assert set(rules) == {p.stem for p in other.glob("*.parquet")}
    assert rules["users"]["columns"]["device"]["allowed"] == ["android_app", "desktop", "iphone"]
    assert rules["users"]["columns"]["user_id"]["completeness"] == 0.99  # 12 of 20,000 missing
    assert rules["tickets"]["key"] == ["ticket_id"]


def test_infer_names_a_bad_target(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    result = run_cli(tmp_path, "rules", "infer", "notes.txt")
    assert result.exit_code == 2
    assert result.output.strip() == ("error: notes.txt: give a warehouse folder or a "
                                     ".parquet/.csv table file")


def test_snapshot_in_the_spec_is_checked(project: Path) -> None:
    from tests.conftest import write_spec

    write_spec(project / "playbooks" / "s.yml", campaign="s", extra="data: {snapshot: yesterday}\n")
    result = run_cli(project, "run", "--quiet", "playbooks/s.yml")
    assert result.exit_code == 2
    assert ("playbooks/s.yml: data.snapshot: 'yesterday' is not an ISO 8601 time" in result.output)
    write_spec(project / "playbooks" / "s.yml", campaign="s",
               extra="data: {snapshot: 2026-11-24T06:00:00Z}\n")
    from playbook.runner.spec import load_spec

    cs = load_spec(project / "playbooks" / "s.yml", root=project)
    snapshot = Warehouse(cs.data_dir, cs.sources).snapshot
    assert snapshot is not None and snapshot.startswith("2026-11-24T06:00:00")


def test_data_quality_template_on_the_other_warehouse(other: Path, tmp_path: Path) -> None:
    """Through the CLI with parameters only: the spec names the warehouse and its snapshot."""
    import shutil

    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    shutil.copytree(other, tmp_path / "exports" / "2026-11")
    spec = {"campaign": "crm-quality", "title": "CRM export quality", "owner": "data-team",
            "hypothesis": "The November export is fit to decide on",
            "ice": {"impact": 5, "confidence": 5, "ease": 9},
            "data": {"warehouse": "exports/2026-11", "snapshot": SNAPSHOT},
            "runs": [{"template": "data_quality"}]}
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "crm.yml").write_text(yaml.safe_dump(spec))
    result = run_cli(tmp_path, "run", "--quiet", "playbooks/crm.yml")
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "outputs" / "runs" / "crm-quality").iterdir()
    out = json.loads((run_dir / "data_quality.outcome.json").read_text())
    assert out["status"] == "ok", out.get("error")
    assert out["decision"] == "fail"
    failing = {(r["table"], r["rule"], r["column"]): r["failed"]
               for r in out["details"]["failing_rules"]}
    assert failing == DEFECTS
    assert out["details"]["rules_inferred"] and out["details"]["snapshot"]


def test_bad_as_of_is_named() -> None:
    with pytest.raises(DataError, match="as_of: 'soon' is not an ISO 8601 time"):
        check_warehouse(Warehouse(ROOT / "tests"), rules=validate_rules({"t": {"columns": {}}}),
                        tables=[], as_of="soon")


def test_list_shows_only_specs_as_campaigns(project: Path) -> None:
    from tests.conftest import write_spec

    write_spec(project / "playbooks" / "real.yml", campaign="real-campaign")
    (project / "playbooks" / "stray-rules.yml").write_text("orders:\n  columns: {}\n")
    (project / "playbooks" / "rules").mkdir()
    (project / "playbooks" / "rules" / "crm.yml").write_text("orders:\n  columns: {}\n")
    result = run_cli(project, "list")
    assert result.exit_code == 0, result.output
    campaigns = result.output.split("Campaigns\n")[1].split("\n\n")[0]
    assert "real-campaign" in campaigns and "stray" not in campaigns and "orders" not in campaigns
    assert "rules/crm.yml: data-quality rules (rules_path)" in result.output
    assert ("stray-rules.yml: not a campaign spec (no 'campaign' or 'runs'); a rules file "
            "belongs in playbooks/rules/") in result.output
