"""Tags as a shared asset, end to end: segmentation writes its tag sets into its run folder, the
runner promotes them into data/tags after the run succeeded, and another campaign's audience
(playbooks/top-customers-retention.yml) runs retention_cohorts on the top value tiers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from tests.conftest import make_demo_project, run_cli

from playbook.tags import TagStore

AUDIENCE_SPEC = "playbooks/top-customers-retention.yml"
SEGMENTS_SPEC = "playbooks/user-segments.yml"
TOP = ["top_1pct", "top_1_10pct"]


def _run(root: Path, campaign: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(run.json, the first outcome) of the campaign's only run."""
    (run_dir,) = (root / "outputs" / "runs" / campaign).iterdir()
    (outcome,) = run_dir.glob("*.outcome.json")
    return json.loads((run_dir / "run.json").read_text()), json.loads(outcome.read_text())


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_demo_project(tmp_path_factory, "chain")
    # the audience's spec comes first on the command line: it still runs after the one writing its tags
    result = run_cli(root, "run", "--quiet", AUDIENCE_SPEC, SEGMENTS_SPEC)
    assert result.exit_code == 0, result.output
    assert result.output.index("user-segments") < result.output.index("top-customers-retention")
    return root


def test_segmentation_tags_are_promoted_into_the_store_and_read_back(chain: Path) -> None:
    manifest, outcome = _run(chain, "user-segments")
    assert manifest["tags"] == {"promoted": ["rfm", "value_tier"]}
    store = TagStore(chain / "data" / "tags")
    assert store.names() == ["rfm", "value_tier"]
    tiers = store.get("value_tier")
    snap = tiers.snapshot()
    assert snap.as_of.isoformat() == "2026-11-24"  # the warehouse's snapshot, not the clock
    assert snap.run["campaign"] == "user-segments" and snap.run["run_id"] == manifest["run_id"]
    assert tiers.owner == "growth-crm" and set(TOP) <= set(tiers.tags)
    # the store's file is the run folder's, byte for byte, and reads back with plain pandas
    (run_dir,) = (chain / "outputs" / "runs" / "user-segments").iterdir()
    written = run_dir / "tags" / "value_tier" / "as_of=2026-11-24.parquet"
    assert written.read_bytes() == tiers.file().read_bytes()
    frame = pd.read_parquet(tiers.file())
    for tier in TOP:
        assert (frame.tag == tier).sum() == outcome["metrics"][f"tier.{tier}.users"]
    assert not frame.user_id.duplicated().any()


def test_the_tags_drive_another_template_through_the_audience(chain: Path) -> None:
    manifest, outcome = _run(chain, "top-customers-retention")
    assert outcome["status"] == "ok", outcome.get("error")
    assert manifest["sources"]["audience"] == {"tag_set": "value_tier", "tags": TOP, "as_of": "2026-11-24"}
    assert "audience:value_tier" in manifest["inputs"]
    tags = pd.read_parquet(chain / "data" / "tags" / "value_tier" / "as_of=2026-11-24.parquet")
    users = pd.read_parquet(chain / "data" / "sample" / "users.parquet")
    top = set(tags.user_id[tags.tag.isin(TOP)])
    assert outcome["metrics"]["users"] == len(top & set(users.user_id))
    # the breakdown by the tag set's column: one row per top tier and day mark
    seen = {row["segment"] for row in outcome["details"]["segments"]}
    assert seen == set(TOP)
    assert sum(r["users"] for r in outcome["details"]["segments"] if r["day"] == 1) == len(top)
    # the whole warehouse retains far less on day 7 than its top customers
    everyone = run_cli(chain, "run", "--quiet", "playbooks/customer-retention.yml")
    assert everyone.exit_code == 0, everyone.output
    _, base = _run(chain, "customer-retention")
    assert outcome["metrics"]["d7_ci_low"] > base["metrics"]["d7_ci_high"]


def test_a_failed_segmentation_run_leaves_the_store_as_it_was(chain: Path) -> None:
    store = chain / "data" / "tags"
    before = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    spec = yaml.safe_load((chain / SEGMENTS_SPEC).read_text())
    spec["campaign"] = "broken-segments"
    (chain / "rules.yaml").write_text("segments: [{name: champions, r: [9, 1]}]\n")
    spec["runs"][0]["parameters"]["segments_file"] = "rules.yaml"
    (chain / "playbooks" / "broken-segments.yml").write_text(yaml.safe_dump(spec))
    result = run_cli(chain, "run", "--quiet", "playbooks/broken-segments.yml")
    assert result.exit_code == 1, result.output
    manifest, outcome = _run(chain, "broken-segments")
    assert manifest["status"] == "failed" and "tags" not in manifest and outcome["status"] == "failed"
    assert "rules.yaml" in outcome["error"] and "champions" in outcome["error"]
    assert {p: p.read_bytes() for p in store.rglob("*") if p.is_file()} == before


def test_the_campaign_page_names_its_audience(chain: Path) -> None:
    assert run_cli(chain, "publish").exit_code == 0
    page = (chain / "outputs" / "archive" / "campaigns" / "top-customers-retention.html").read_text()
    assert '<a href="../tags.html#tag-set-value-tier">value_tier</a>' in page
    assert '<span class="tag">top_1pct</span><span class="tag">top_1_10pct</span>' in page and "as of 2026-11-24" in page
    assert "tag-set-value-tier" in (chain / "outputs" / "archive" / "tags.html").read_text()


def test_the_tag_catalogue_reads_on_a_phone(chain: Path) -> None:
    """At 375 px the tag catalogue and the audience's campaign page are no wider than the screen
    (long rules and file names in the definitions wrap; tables scroll in their own boxes)."""
    from tests.browser import CHROME_ARGS, require_chromium, serve

    chromium = require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is a dev dependency")
    assert run_cli(chain, "publish").exit_code == 0
    widths = {}
    with serve(chain / "outputs" / "archive") as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROME_ARGS)
        try:
            page = browser.new_page(viewport={"width": 375, "height": 800})
            for path in ("tags.html", "campaigns/top-customers-retention.html"):
                page.goto(base + path)
                widths[path] = page.evaluate("document.documentElement.scrollWidth")
        finally:
            browser.close()
    assert widths == {"tags.html": 375, "campaigns/top-customers-retention.html": 375}
