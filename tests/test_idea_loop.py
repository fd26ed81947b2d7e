"""One idea from the backlog to a published decision: ``playbook new --from-idea`` writes the
spec, the growth analyst fills what is marked TODO, the runs carry the idea, and the archive's
knowledge view counts the days from idea to design to decision.

The runs are stamped by a FixedClock (run_specs(clock=...), the API ``playbook run`` wraps), so
the expected days are known; the idea's created date is the backlog's."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from tests.conftest import ROOT, make_demo_project, run_cli

from playbook.knowledge_view import knowledge
from playbook.runner.clock import FixedClock
from playbook.runner.execute import run_specs
from playbook.runner.spec import load_spec

IDEA = "IDEA-001"  # "Show pre-approved limit on home screen" (activation): the planted limit-banner test
DESIGNED_AT, KEEP_RUNNING_AT, DECIDED_AT = datetime(2026, 8, 10, 6), datetime(2026, 8, 25, 6), datetime(2026, 11, 16, 6)


def fill(text: str, end: str) -> str:
    """What the analyst sets in the TODO lines: the experiment's name and its dates; the spec is
    ready, so no longer a draft."""
    assert re.search(r"(?m)^draft: true", text)
    text = re.sub(r"(?m)^draft: true.*\n", "", text)
    text = re.sub(r"(?m)^(\s+experiment:) \S+", r"\1 limit-banner", text)
    text = re.sub(r"(?m)^(\s+start:) ''", r"\1 '2026-08-17'", text)
    return re.sub(r"(?m)^(\s+end:) '[^']*'", rf"\1 '{end}'", text)


def backlog_run(root: Path) -> None:
    """The ice_backlog template on the sample backlog (the demo's spec), stamped before the
    test's runs: its outcome's details.ideas give the knowledge view the ideas' created dates."""
    with contextlib.chdir(root):
        (record,) = run_specs([Path("playbooks/next-round-ideas.yml")], root=Path("."), progress=False,
                              clock=FixedClock(datetime(2026, 8, 1, 6)))
    assert record.status == "ok", [t.error for t in record.templates]


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = make_demo_project(tmp_path_factory, "idea_loop")
    made = run_cli(root, "new", "home-limit", "--from-idea", IDEA)
    assert made.exit_code == 0, made.output
    spec = root / "playbooks" / "home-limit.yml"
    written = spec.read_text(encoding="utf-8")
    backlog_run(root)
    records = []
    with contextlib.chdir(root):
        # a week into the test: the readout says keep running; after it ended: the decision
        for at, end in ((DESIGNED_AT, "2026-08-24"), (DECIDED_AT, "2026-11-09")):
            spec.write_text(fill(written, end), encoding="utf-8")
            records += run_specs([spec], root=Path("."), progress=False, clock=FixedClock(at), jobs=2)
    published = run_cli(root, "publish")
    assert published.exit_code == 0, published.output
    return {"root": root, "written": written, "records": records}


def test_the_spec_from_an_idea_carries_it_and_says_what_to_fill(loop: dict[str, Any]) -> None:
    raw = yaml.safe_load(loop["written"])
    backlog = pd.read_parquet(loop["root"] / "data" / "sample" / "backlog.parquet").set_index("idea_id")
    idea = backlog.loc[IDEA]
    assert (raw["title"], raw["owner"], raw["idea"], raw["area"]) == (idea.idea, idea.owner, IDEA, idea.area)
    assert raw["ice"] == {"impact": idea.impact, "confidence": idea.confidence, "ease": idea.ease}
    assert raw["tags"] == ["experiment", idea.area] and raw["hypothesis"].startswith(idea.idea)
    assert [r["template"] for r in raw["runs"]] == ["experiment_design", "experiment_readout"]
    todo = [line.split(":")[0].strip() for line in loop["written"].splitlines() if "# TODO" in line]
    assert todo == ["hypothesis", "metrics", "eligible_event", "before", "mde_rel", "rho_experiment",
                    "experiment", "metrics", "start", "end", "mde_rel"]
    assert raw["runs"][1]["parameters"]["experiment"] == "home-limit"  # the campaign until set


def test_the_idea_goes_from_design_to_a_published_decision(loop: dict[str, Any]) -> None:
    first, second = loop["records"]
    assert [t.status for t in first.templates + second.templates] == ["ok"] * 4
    readouts = {}
    for rec in (first, second):
        folder = loop["root"] / rec.run_dir
        manifest = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        assert manifest["spec"]["idea"] == IDEA
        readouts[rec.run_id] = json.loads((folder / "experiment_readout.outcome.json").read_text())["decision"]
    assert list(readouts.values()) == ["keep-running", "ship"]
    archive = loop["root"] / "outputs" / "archive"
    k = knowledge(json.loads((archive / "catalog.json").read_text(encoding="utf-8")))
    path = next(p for p in k.ideas if p.idea == IDEA)
    created = pd.read_parquet(loop["root"] / "data" / "sample" / "backlog.parquet").set_index("idea_id").loc[IDEA, "created"]
    created = date.fromisoformat(str(created))
    assert (path.created, path.designed, path.decided, path.decision) == (
        created, DESIGNED_AT.date(), DECIDED_AT.date(), "ship")
    assert k.medians["to_design"] == (DESIGNED_AT.date() - created).days  # the only idea tested
    assert k.medians["to_decision"] == (DECIDED_AT.date() - DESIGNED_AT.date()).days == 98
    assert k.per_month == {"2026-11": 1} and (k.rate.wins, k.rate.n) == (1, 1)
    (impact,) = k.impact
    assert impact.kpi == "apply_rate" and impact.low is not None and impact.low < impact.total < (impact.high or 0)
    page = (archive / "knowledge.html").read_text(encoding="utf-8")
    row = page[page.index(f'<tr id="idea-{IDEA.lower()}">'):]
    row = row[:row.index("</tr>")]
    assert f"<td>{created.isoformat()}</td><td>2026-08-10</td><td>2026-11-16</td>" in row
    assert ">ship</span>" in row and f"<td class=\"num\">{(DESIGNED_AT.date() - created).days}</td>" in row
    assert "98 days" in page and 'href="campaigns/home-limit.html"' in row
    campaign = (archive / "campaigns" / "home-limit.html").read_text(encoding="utf-8")
    assert f"<code>{IDEA}</code>" in campaign and "<dt>Area</dt><dd>activation</dd>" in campaign


def test_an_unknown_idea_names_the_closest_and_writes_nothing(project: Path) -> None:
    (project / "backlog.yml").write_text(yaml.safe_dump({"ideas": [
        {"idea_id": "GROW-12", "idea": "Shorter form", "impact": 5, "confidence": 4, "ease": 8},
        {"idea_id": "GROW-30", "idea": "Price test", "impact": 7, "confidence": 3, "ease": 2}]}))
    result = run_cli(project, "new", "short-form", "--from-idea", "GROW-13", "--backlog", "backlog.yml")
    assert result.exit_code == 2
    assert result.output.strip().endswith("backlog.yml: no idea 'GROW-13' (close ids: GROW-30, GROW-12)")
    far = run_cli(project, "new", "short-form", "--from-idea", "X", "--backlog", "backlog.yml")
    assert far.output.strip().endswith("backlog.yml: no idea 'X' (2 ideas, none close)")
    assert not (project / "playbooks" / "short-form.yml").exists()
    usage = run_cli(project, "new", "short-form", "--from-idea", "GROW-12", "-t", "trivial")
    assert usage.exit_code == 2 and "leave out --template and --fork" in usage.output
    assert "--backlog goes with --from-idea" in run_cli(project, "new", "x", "-t", "trivial", "--backlog", "b.yml").output


def test_a_spec_from_a_backlog_file_loads_as_written(project: Path) -> None:
    for name in ("experiment_design", "experiment_readout"):
        shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", project / "notebooks")
    (project / "ideas.csv").write_text("idea_id,idea,impact,confidence,ease,area,owner\n"
                                       'GROW-12,"Say ""hi"": a: b",5,4,8,onboarding,<ana>\n')
    result = run_cli(project, "new", "short-form", "--from-idea", "GROW-12", "--backlog", "ideas.csv")
    assert result.exit_code == 0, result.output
    cs = load_spec(project / "playbooks" / "short-form.yml", root=project)
    assert (cs.spec.idea, cs.spec.area, cs.spec.owner, cs.spec.title) == ("GROW-12", "onboarding", "<ana>",
                                                                          'Say "hi": a: b')
    assert cs.spec.tags == ["experiment", "onboarding"] and cs.spec.ice.ease == 8
    assert [r.name for r in cs.runs] == ["experiment_design", "experiment_readout"]
