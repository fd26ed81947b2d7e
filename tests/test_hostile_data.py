"""Hostile data, end to end: every template over a warehouse whose names are script payloads,
published, then opened in headless Chromium.

The sample warehouse (scale 0.2) is rewritten so that its string values hold the two payloads
``<script>alert(1)</script>`` and ``<img src=x onerror=alert(1)>``: devices, regions,
channels, event names, process steps, experiment and variant names, idea titles, plus a users
column and a process_log column *named* by a payload. One campaign (title and hypothesis are
payloads too) runs all five templates with those names as parameters (funnel steps, SLA keys,
the experiment, the control arm, a metric unit...). Every published page (index, campaign,
each report) must open no JavaScript dialog in Chromium, and show the payloads as text.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml
from tests.browser import CHROME_ARGS, require_chromium, serve
from tests.conftest import ROOT, run_cli

from playbook.publish import publish
from playbook.sample import generate
from playbook.tags import write_tag_set

CHROMIUM = require_chromium()
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is a dev "
                               "dependency: pip install -e '.[dev]'")

S = "<script>alert(1)</script>"
I = "<img src=x onerror=alert(1)>"  # noqa: E741 - the payload's initial
PAYLOADS = (S, I)
CAMPAIGN = "hostile-data"

#: table -> column -> {sample value: payload}
RENAME: dict[str, dict[str, dict[str, str]]] = {
    "users": {"device": {"ios": S, "web": I}, "region": {"north": S, "east": I},
              "channel": {"search": S, "display": I}},
    "spend": {"channel": {"search": S, "display": I}},
    "events": {"event": {"verify_identity": S, "apply": I}},
    "process_log": {"step": {"manual_review": S, "document_check": I}},
    "assignments": {"experiment": {"limit-banner": S, "onboarding-copy": I},
                    "variant": {"control": I, "treatment": S}},
    "metrics_pre": {"experiment": {"limit-banner": S, "onboarding-copy": I}},
}
#: table -> a column named by a payload, whose values alternate between the payloads
NAMED = {"users": I, "process_log": S}

METRICS = [
    {"name": "apply_rate", "kind": "binary", "event": I, "role": "primary"},
    {"name": "approval_rate", "kind": "ratio", "numerator_event": "approve", "denominator_event": I,
     "role": "guardrail", "margin": 0.1},
    {"name": "loan_size", "kind": "ratio", "table": "orders", "numerator_value": "amount",
     "role": "guardrail", "margin": 0.1, "unit": S},
    {"name": "revenue_per_user", "kind": "mean", "event": "disburse", "value": "revenue",
     "role": "secondary", "unit": I},
]
SPEC = {
    "campaign": CAMPAIGN,
    "title": f"Hostile names {S}",
    "owner": "growth-team",
    "hypothesis": f"Names like {I} are shown as text",
    "ice": {"impact": 5, "confidence": 5, "ease": 5},
    "tags": ["test"],
    "idea": "IDEA-001",
    "area": f"area {S} {I}",  # shown on the campaign page and in the knowledge view
    "runs": [
        {"template": "data_quality", "parameters": {"sample_rows": 3}},
        {"template": "funnel_diagnosis",
         "parameters": {"steps": ["visit", "register", S, I, "approve", "disburse"],
                        "breakdowns": ["device", "channel", "region", I],
                        "entry_start": "2026-09-01", "entry_end": "2026-10-15"}},
        {"template": "process_efficiency",
         "parameters": {"sla_hours": {"submit": 1.0, I: 4.0, S: 24.0, "credit_decision": 4.0,
                                      "payout": 2.0},
                        "segment_col": S}},
        {"template": "experiment_design",
         "parameters": {"metrics": METRICS, "eligible_event": S, "before": "2026-08-17",
                        "rho_experiment": S, "control": I, "max_days": 84}},
        {"template": "experiment_readout",
         "parameters": {"experiment": S, "control": I, "metrics": METRICS, "start": "2026-08-17",
                        "end": "2026-11-09", "segments": ["device", I]}},
        {"template": "retention_cohorts", "parameters": {"breakdown": I, "activity_events": [S, "visit"]}},
        {"template": "channel_roi",
         "parameters": {"value_table": "events", "value_col": "revenue", "value_event": "disburse"}},
        {"template": "segmentation", "parameters": {"channel_col": "channel", "tag_owner": S}},
    ],
}
#: a tag set whose definitions come from a hostile team file
HOSTILE_TAGS = {S: {"meaning": f"meaning {I}", "rule": f"rule {S}"}, I: {"meaning": S, "rule": I}}


def poison(warehouse: Path) -> None:
    """Rewrite the generated tables in place (same schema, payload values and columns)."""
    for table in sorted(set(RENAME) | set(NAMED)):
        path = warehouse / f"{table}.parquet"
        data = pq.read_table(path)
        for column, mapping in RENAME.get(table, {}).items():
            values = data[column]
            for old, new in mapping.items():
                values = pc.if_else(pc.equal(values, old), new, values)
            data = data.set_column(data.schema.get_field_index(column), column, values)
        if table in NAMED:
            data = data.append_column(NAMED[table], pa.array([PAYLOADS[i % 2] for i in range(len(data))]))
        pq.write_table(data, path)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("hostile")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    (root / "playbooks").mkdir()
    generate(root / "data" / "sample", scale=0.2, seed=7, progress=False)
    poison(root / "data" / "sample")
    (root / "playbooks" / f"{CAMPAIGN}.yml").write_text(yaml.safe_dump(SPEC, sort_keys=False))
    result = run_cli(root, "run", "--quiet", f"playbooks/{CAMPAIGN}.yml")
    assert result.exit_code == 0, result.output
    (run_dir,) = (root / "outputs" / "runs" / CAMPAIGN).iterdir()
    outcomes = {p.name.split(".")[0]: json.loads(p.read_text()) for p in run_dir.glob("*.outcome.json")}
    users = pq.read_table(root / "data" / "sample" / "users.parquet", columns=["user_id"]).to_pandas()
    write_tag_set(users.assign(tag=[PAYLOADS[i % 2] for i in range(len(users))]), tag_set="hostile",
                  as_of="2026-11-24", root=root / "data" / "tags", tags=HOSTILE_TAGS, description=S,
                  computed=I, owner=S, run={"campaign": CAMPAIGN, "run_id": I})
    published = publish(root / "outputs" / "runs", root / "outputs" / "archive", tags_dir=root / "data" / "tags")
    assert published.failures == [] and published.reports == 8
    return root / "outputs" / "archive", outcomes


def test_the_templates_ran_on_the_hostile_names(project: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    """The payloads went all the way through the analyses (the planted truths, renamed)."""
    _, out = project
    assert sorted(out) == ["channel_roi", "data_quality", "experiment_design", "experiment_readout",
                           "funnel_diagnosis", "process_efficiency", "retention_cohorts", "segmentation"]
    assert all(o["status"] == "ok" for o in out.values()), {k: o.get("error") for k, o in out.items()}
    assert out["funnel_diagnosis"]["details"]["bottleneck_loss"] == S
    assert out["funnel_diagnosis"]["details"]["weakest"]["segment"] == I
    assert out["process_efficiency"]["details"]["step_to_fix"] == S
    assert S in out["experiment_readout"]["headline"] or I in out["experiment_readout"]["headline"]
    assert out["data_quality"]["decision"] == "fail"  # the payloads are not allowed values


@pytest.fixture(scope="module")
def pages(project: tuple[Path, dict[str, dict[str, Any]]]) -> Iterator[dict[str, tuple[list[str], str, list[str]]]]:
    """Every published page, opened in one headless Chromium: (dialogs, visible text of the
    report body, or of the whole page where there is no report, alt texts of its images)."""
    archive, _ = project
    paths = sorted(p.relative_to(archive).as_posix() for p in archive.rglob("*.html"))
    seen: dict[str, tuple[list[str], str, list[str]]] = {}
    with serve(archive) as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        try:
            page = browser.new_page()
            dialogs: list[str] = []

            def on_dialog(dialog: Any) -> None:
                dialogs.append(f"{dialog.type}: {dialog.message}")
                dialog.dismiss()

            page.on("dialog", on_dialog)
            for path in paths:
                dialogs.clear()
                page.goto(base + path, wait_until="networkidle")  # broken images have fired
                body = "section.nb" if path.startswith("reports/") else "body"
                alts = page.eval_on_selector_all("img", "images => images.map(i => i.alt)")
                seen[path] = (list(dialogs), page.inner_text(body), alts)
        finally:
            browser.close()
    yield seen


Pages = dict[str, tuple[list[str], str, list[str]]]


def test_no_page_runs_a_script_from_data(pages: Pages) -> None:
    reports = [p for p in pages if p.startswith("reports/")]
    assert "index.html" in pages and f"campaigns/{CAMPAIGN}.html" in pages and len(reports) == 8
    assert "tags.html" in pages
    opened = {path: dialogs for path, (dialogs, _, _) in pages.items() if dialogs}
    assert opened == {}, f"JavaScript dialogs opened: {opened}"


def test_every_page_shows_the_payloads_as_text(pages: Pages) -> None:
    for path, (_, text, _) in pages.items():
        for payload in PAYLOADS:
            assert payload in text, f"{path}: {payload} not shown as text"


def test_every_chart_has_an_alt_text_from_its_titles(pages: Pages) -> None:
    alts = {path: alts for path, (_, _, alts) in pages.items() if path.startswith("reports/")}
    assert sum(map(len, alts.values())) >= 10
    for path, texts in alts.items():
        assert all(t.startswith("Chart: ") and len(t) > 20 for t in texts), (path, texts)
    # names from data stay text in the alt attribute too
    assert any(S in t for texts in alts.values() for t in texts)
