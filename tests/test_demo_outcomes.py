"""The demo's outcomes pinned: every example playbook on the sample warehouse (scale 1, seed 7)
gives the headlines, decisions and metrics stored in tests/fixtures/demo_outcomes.json.

A restructuring must leave them as they are. When a change means to alter an outcome, write
the file again and say why in the commit:

    .venv/bin/python tests/test_demo_outcomes.py      # rewrites tests/fixtures/demo_outcomes.json

Numbers are compared at 9 significant digits (DuckDB's parallel sums differ in the last bits).

The fixture holds the English campaigns. The Chinese one (playbooks/growth-review-zh.yml) runs
ten templates with the English campaigns' parameters in zh-CN: its outcomes must record
their language and decide and measure exactly as their English twins (numbers do not depend on
the language); its headlines are the templates' translations, pinned by their own tests.

The same demo run, published, is then read as a stakeholder reads it: in headless Chromium
(Debian's, driven by Playwright), at 1366 and 390 px, with axe-core (make axe) checking every
page; screenshots land in outputs/test-artifacts/screenshots (PLAYBOOK_ARTIFACTS moves them).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "demo_outcomes.json"
DIGITS = 9
#: The Chinese demo campaign: each of its reports and the English report it repeats.
CHINESE = "growth-review-zh"
TWINS = {
    "data_quality": "weekly-data-quality/data_quality",
    "funnel_diagnosis": "loan-journey-diagnosis/funnel_diagnosis",
    "process_efficiency": "loan-journey-diagnosis/process_efficiency",
    "experiment_design": "limit-banner-experiment/experiment_design",
    "experiment_readout": "limit-banner-experiment/experiment_readout",
    "retention_cohorts": "customer-retention/retention_cohorts",
    "channel_roi": "channel-budget/channel_roi",
    "ice_backlog": "next-round-ideas/ice_backlog",
    "campaign_forecast": "next-campaign-forecast/campaign_forecast",
    "kpi_review": "win-back-kpi-review/kpi_review",
}


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.{DIGITS}g}")
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


def demo_outcomes(root: Path, language: str = "en") -> dict[str, dict[str, Any]]:
    """``{campaign/report: {headline, decision, status, metrics}}`` of every run under root
    whose outcome is in ``language`` (outcomes older than languages are English)."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((root / "outputs" / "runs").glob("*/*/*.outcome.json")):
        o = json.loads(path.read_text(encoding="utf-8"))
        if o.get("language", "en") != language:
            continue
        key = f"{path.parts[-3]}/{path.name.removesuffix('.outcome.json')}"
        out[key] = _round({k: o.get(k) for k in ("status", "headline", "decision", "metrics")})
    return out


def run_demo(root: Path) -> dict[str, dict[str, Any]]:
    """Runs every demo playbook (English and Chinese); the English outcomes."""
    from tests.conftest import run_cli

    specs = sorted(str(p.relative_to(root)) for p in (root / "playbooks").glob("*.yml"))
    result = run_cli(root, "run", "--quiet", *specs)
    assert result.exit_code == 0, result.output
    return demo_outcomes(root)


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import make_demo_project

    root = make_demo_project(tmp_path_factory, "demo-outcomes")
    run_demo(root)
    return root


@pytest.fixture(scope="module")
def outcomes(demo_root: Path) -> dict[str, dict[str, Any]]:
    return demo_outcomes(demo_root)


def test_demo_outcomes_are_unchanged(outcomes: dict[str, dict[str, Any]]) -> None:
    stored = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert sorted(outcomes) == sorted(stored)
    for key, want in stored.items():
        got = outcomes[key]
        for field in ("status", "headline", "decision"):
            assert got[field] == want[field], (key, field)
        assert got["metrics"] == want["metrics"], key


def test_the_chinese_demo_decides_and_measures_as_the_english_one(
        demo_root: Path, outcomes: dict[str, dict[str, Any]]) -> None:
    chinese = demo_outcomes(demo_root, "zh-CN")
    assert sorted(chinese) == sorted(f"{CHINESE}/{name}" for name in TWINS)
    assert not any(key.startswith(f"{CHINESE}/") for key in outcomes)  # none recorded as English
    for name, twin in TWINS.items():
        got, want = chinese[f"{CHINESE}/{name}"], outcomes[twin]
        assert (got["status"], got["decision"]) == (want["status"], want["decision"]), name
        assert got["metrics"] == want["metrics"], name
        # written in Chinese (the templates' own tests check their labels, tables and cells)
        assert re.search(r"[\u4e00-\u9fff]", got["headline"]), (name, got["headline"])


AXE = Path(__file__).resolve().parents[1] / ".cache/axe/node_modules/axe-core/axe.min.js"
WIDTHS = (1366, 390)


def _artifacts() -> Path:
    import os

    default = Path(__file__).resolve().parents[1] / "outputs" / "test-artifacts"
    folder = Path(os.environ.get("PLAYBOOK_ARTIFACTS") or default) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def demo_archive(demo_root: Path) -> Path:
    from playbook.publish import publish

    result = publish(demo_root / "outputs" / "runs", demo_root / "outputs" / "archive",
                     tags_dir=demo_root / "data" / "tags")
    assert result.failures == [], result.failures
    return demo_root / "outputs" / "archive"


def _pages(archive: Path) -> list[str]:
    """The index, the tag and knowledge pages, every campaign page, the newest report of each
    template of each campaign."""
    newest: dict[str, str] = {}
    for page in sorted(archive.glob("reports/*/*/*.html")):
        campaign, _, name = page.relative_to(archive / "reports").parts
        newest[f"{campaign}/{name}"] = str(page.relative_to(archive))
    campaigns = sorted(str(p.relative_to(archive)) for p in archive.glob("campaigns/*.html"))
    return ["index.html", "tags.html", "knowledge.html", *campaigns, *sorted(newest.values())]


def test_the_demo_archive_in_a_browser(demo_archive: Path) -> None:
    """Every page fits a phone (no sideways scroll) and a desktop, and axe-core finds no serious
    or critical violation; the index filters its campaigns and reports as a reader types."""
    from playwright import sync_api
    from tests.browser import CHROME_ARGS, require_chromium, serve

    chromium = require_chromium()
    if not AXE.exists():
        pytest.skip("axe-core is missing: run `make axe` (npm install of axe-core)")
    shots, pages = _artifacts(), _pages(demo_archive)
    assert len(pages) > 25
    problems: list[str] = []
    with serve(demo_archive) as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROME_ARGS)
        for width in WIDTHS:
            page = browser.new_page(viewport={"width": width, "height": 900})
            for path in pages:
                page.goto(base + path)
                scroll = page.evaluate("document.documentElement.scrollWidth")
                if scroll > width:
                    problems.append(f"{path} at {width} px scrolls sideways ({scroll} px)")
                page.screenshot(path=str(shots / f"{width}-{path.replace('/', '_')}.png"))
                if width == WIDTHS[0]:
                    page.add_script_tag(path=str(AXE))
                    found = page.evaluate("async () => (await axe.run(document, {resultTypes: "
                                          "['violations']})).violations.map(v => [v.id, v.impact, "
                                          "v.nodes[0].target.join(' ')])")
                    problems += [f"{path}: axe {v[0]} ({v[1]}) at {v[2]}" for v in found
                                 if v[1] in ("serious", "critical")]
            page.close()
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(base + "index.html")
        rows = page.locator("#reports tbody tr")
        total = rows.count()
        page.fill('input[data-filter="reports"]', "retention_cohorts")
        visible = page.locator("#reports tbody tr:visible")
        assert 0 < visible.count() < total
        assert all("retention_cohorts" in visible.nth(i).inner_text() for i in range(visible.count()))
        page.click("#campaigns a[href='campaigns/limit-banner-experiment.html']")
        assert page.locator("h1").first.inner_text().strip()
        assert "experiment_readout" in page.content()
        browser.close()
    assert problems == []


if __name__ == "__main__":  # pragma: no cover - writes the fixture
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.conftest import ROOT

    from playbook.sample import generate

    with tempfile.TemporaryDirectory() as tmp:
        import shutil

        root = Path(tmp)
        shutil.copytree(ROOT / "notebooks", root / "notebooks")
        shutil.copytree(ROOT / "playbooks", root / "playbooks")
        generate(root / "data" / "sample", scale=1.0, seed=7, progress=False)
        data = run_demo(root)
    FIXTURE.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                       encoding="utf-8")
    print(f"wrote {FIXTURE}: {len(data)} outcomes")
