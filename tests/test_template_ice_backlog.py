"""ice_backlog end to end through `playbook run`: on the sample warehouse with no archive (no
evidence), with a published archive in which one area always wins and another never (the win
rates change the ranking), in zh-CN, and on the second test warehouse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import ROOT, run_cli
from tests.other_warehouse import SNAPSHOT, write_other_warehouse
from tests.test_publish import make_run, ok_notebook

from playbook.publish import publish
from playbook.sample import generate


def readout(decision: str, lift: float) -> dict[str, Any]:
    return {"status": "ok", "headline": f"{decision} at {lift:+.0%}", "decision": decision,
            "metrics": {"apply_rate.treatment.lift_rel": lift, "apply_rate.treatment.p_value": 0.01},
            "metric_info": {"apply_rate.treatment.lift_rel": {"label": "Apply rate", "kind": "lift",
                                                              "low": lift - 0.03, "high": lift + 0.03}}}


def publish_history(root: Path) -> Path:
    """Activation wins 5 of 5 (lifts 6-10%), acquisition 0 of 8; a retention readout without an
    area counts by its tag; keep-running and invalid readouts, and an earlier run, do not count."""
    runs = root / "team-runs"
    outcomes = ([(f"act-{i}", "activation", "ship", 0.06 + 0.01 * i) for i in range(5)]
                + [(f"acq-{i}", "acquisition", "no-ship", 0.0) for i in range(8)]
                + [("act-pending", "activation", "keep-running", 0.02), ("act-srm", "activation", "invalid", 0.0)])
    for campaign, area, decision, lift in outcomes:
        make_run(runs, campaign, "20261101T0600Z", [{"name": "experiment_readout", "status": "ok",
                                                     "notebook": ok_notebook(), "outcome": readout(decision, lift)}],
                 spec_extra={"area": area})
    make_run(runs, "acq-0", "20261001T0600Z", [{"name": "experiment_readout", "status": "ok", "notebook": ok_notebook(),
                                                "outcome": readout("ship", 0.2)}], spec_extra={"area": "acquisition"})
    make_run(runs, "loyalty", "20261101T0600Z", [{"name": "experiment_readout", "status": "ok",
                                                  "notebook": ok_notebook(), "outcome": readout("ship", 0.05)}],
             spec_extra={"tags": ["retention"]})
    publish(runs, root / "team-archive")
    return root / "team-archive"


IDEAS = {"ideas": [
    {"idea_id": "IDEA-A", "idea": "Payroll partner", "area": "acquisition", "impact": 9, "confidence": 8, "ease": 9,
     "created": "2026-09-01", "status": "idea"},
    {"idea_id": "IDEA-B", "idea": "Save progress", "area": "activation", "impact": 8, "confidence": 7, "ease": 9,
     "created": "2026-09-15", "status": "idea"},
    {"idea_id": "IDEA-C", "idea": "Loyalty discount", "area": "retention", "impact": 5, "confidence": 5, "ease": 5,
     "status": "idea"}]}


def spec(campaign: str, runs: list[dict[str, Any]], **extra: Any) -> str:
    return yaml.safe_dump({"campaign": campaign, "title": "Next round", "owner": "growth", "hypothesis": "h",
                           "ice": {"impact": 5, "confidence": 5, "ease": 5}, "tags": ["backlog"], **extra,
                           "runs": runs}, allow_unicode=True)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ice")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    shutil.copytree(ROOT / "playbooks", root / "playbooks")
    generate(root / "data" / "sample", scale=0.2, seed=7, progress=False)
    publish_history(root)
    (root / "playbooks" / "ideas.yml").write_text(yaml.safe_dump(IDEAS), encoding="utf-8")
    runs = [{"template": "ice_backlog", "name": "no_archive", "parameters": {"archive_dir": "no-archive-here"}},
            {"template": "ice_backlog", "name": "with_archive",
             "parameters": {"backlog": "playbooks/ideas.yml", "archive_dir": "team-archive", "rare_win_rate": 0.35,
                            "top_n": 2, "baselines": {"activation": {"baseline": 0.3, "daily_users": 400}}}}]
    (root / "playbooks" / "ice-test.yml").write_text(spec("ice-test", runs), encoding="utf-8")
    return root


def outcomes(root: Path, spec_file: str, campaign: str) -> dict[str, dict[str, Any]]:
    result = run_cli(root, "run", "--quiet", spec_file)
    assert result.exit_code == 0, result.output
    (run_dir,) = (root / "outputs" / "runs" / campaign).iterdir()
    out = {p.name.split(".")[0]: json.loads(p.read_text(encoding="utf-8")) for p in run_dir.glob("*.outcome.json")}
    for name, o in out.items():
        assert o["status"] == "ok", (name, o.get("error"))
    return out


@pytest.fixture(scope="module")
def english(project: Path) -> dict[str, dict[str, Any]]:
    return outcomes(project, "playbooks/ice-test.yml", "ice-test")


def test_the_archive_win_rates_change_the_ranking(english: dict[str, dict[str, Any]]) -> None:
    out = english["with_archive"]
    ideas = {i["id"]: i for i in out["details"]["ideas"]}
    # raw: A 9 x 8 x 9 = 648 first, B 8 x 7 x 9 = 504, C 125
    assert (ideas["IDEA-A"]["score"], ideas["IDEA-B"]["score"]) == (648, 504)
    assert (ideas["IDEA-A"]["raw_rank"], ideas["IDEA-B"]["raw_rank"]) == (1, 2)
    # acquisition 0 of 8 (the October ship is an earlier run of acq-0): w = 8/13, C' = 5/13 x 8
    assert ideas["IDEA-A"]["calibrated_score"] == pytest.approx(9 * 9 * 8 * 5 / 13, abs=1e-5)
    # activation 5 of 5 (keep-running and invalid left out): w = 5/10, C' = 0.5 x 7 + 0.5 x 10 = 8.5
    assert ideas["IDEA-B"]["calibrated_score"] == pytest.approx(8 * 8.5 * 9)
    # retention 1 of 1 by its tag: w = 1/6, C' = 5/6 x 5 + 1/6 x 10
    assert ideas["IDEA-C"]["calibrated_score"] == pytest.approx(25 * (25 / 6 + 10 / 6))
    assert (ideas["IDEA-B"]["rank"], ideas["IDEA-A"]["rank"]) == (1, 2)  # the evidence reorders the top
    assert ideas["IDEA-A"]["rarely_wins"] and not ideas["IDEA-B"]["rarely_wins"]  # 0/8: upper bound 0.32 < 0.35
    assert ideas["IDEA-A"]["created"] == "2026-09-01" and ideas["IDEA-C"]["created"] is None
    assert "'Save progress' (IDEA-B, activation)" in out["headline"]
    m = out["metrics"]
    assert m["area.activation.experiments"] == 5 and m["area.activation.win_rate"] == 1
    assert m["area.acquisition.win_rate"] == 0 and m["archive.experiments"] == 14
    assert m["area.activation.median_win_lift"] == pytest.approx(0.08)
    info = out["metric_info"]["area.acquisition.win_rate"]
    assert info["kind"] == "share" and info["low"] == 0 and info["high"] == pytest.approx(0.3244, abs=1e-4)
    assert m["top.calibrated_score"] == pytest.approx(612) and m["top.score"] == 504
    (design, todo) = out["details"]["next_round"]
    # activation's winners' median lift (+8%) sizes the design; 400 users a day
    assert design["idea_id"] == "IDEA-B" and design["mde_rel"] == pytest.approx(0.08) and design["days"] > 0
    assert todo["idea_id"] == "IDEA-A" and "set baselines.acquisition" in todo["todo"]


def test_no_archive_means_no_evidence(english: dict[str, dict[str, Any]]) -> None:
    out = english["no_archive"]
    assert out["template"] == "ice_backlog" and out["decision"] in ("clear-leader", "close-call")
    ideas = out["details"]["ideas"]
    assert len(ideas) == 25 and all(i["score"] == i["calibrated_score"] for i in ideas)
    assert {"id", "idea", "area", "created", "status", "score", "calibrated_score", "rank", "stable"} <= set(ideas[0])
    top = min(ideas, key=lambda i: (i["rank"], i["id"]))
    assert top["id"] in out["headline"] and out["metrics"]["top.score"] == top["score"]
    assert out["metrics"]["ideas"] == 25 and out["metrics"]["archive.experiments"] == 0
    assert out["metrics"]["ideas_ranked_stably"] == sum(bool(i["stable"]) for i in ideas)
    assert list(out["metrics"])[:2] == ["top.score", "top.calibrated_score"]


def test_the_demo_spec_and_chinese(project: Path) -> None:
    demo = yaml.safe_load((project / "playbooks" / "next-round-ideas.yml").read_text(encoding="utf-8"))
    demo["campaign"], demo["language"] = "ideas-zh", "zh-CN"
    (project / "playbooks" / "ideas-zh.yml").write_text(yaml.safe_dump(demo, allow_unicode=True), encoding="utf-8")
    out = outcomes(project, "playbooks/ideas-zh.yml", "ideas-zh")["ice_backlog"]
    assert out["language"] == "zh-CN"
    assert out["headline"].startswith(("下一个测试", "难分高下"))
    assert out["metric_info"]["ideas"]["label"] == "已排序的想法"
    designs = out["details"]["next_round"]
    assert len(designs) == 3 and all(d["days"] > 0 and 0 < d["baseline"] < 1 for d in designs)


def test_on_the_second_warehouse(project: Path) -> None:
    other = project / "exports" / "crm"
    write_other_warehouse(project / "data" / "sample", other)
    runs = [{"template": "ice_backlog", "parameters": {
        "top_n": 2, "baselines": {a: {"event": "signup", "eligible_event": "landing"} for a in
                                  ("acquisition", "activation", "retention", "revenue", "referral")}}}]
    (project / "playbooks" / "crm.yml").write_text(
        spec("crm-ideas", runs, data={"warehouse": "exports/crm", "snapshot": SNAPSHOT}), encoding="utf-8")
    out = outcomes(project, "playbooks/crm.yml", "crm-ideas")["ice_backlog"]
    designs = out["details"]["next_round"]
    assert [d["metric"] for d in designs] == ["signup within 14 days of landing"] * 2
    assert all(d["days"] > 0 for d in designs)
