"""A Chinese archive in a real browser: two templates (data_quality, experiment_readout) run in
zh-CN through the runner on the sample warehouse (scale 0.2), published beside an English report,
then opened in headless Chromium (Debian's package, driven by playwright; fonts-noto-cjk gives
the glyphs, ``make fonts``).

Checked: ``<html lang="zh-CN">`` on the report and campaign pages; the archive's own prose on them
(headings, facts, panels, the campaign's spec) is mostly Chinese; screenshots at desktop
(1280x800) and phone (390x844) width are PNG files; the index shows each report's language and
its language select filters the rows.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.browser import CHROME_ARGS, require_chromium, serve
from tests.conftest import ROOT, run_cli
from tests.test_publish import OK_OUTCOME, make_run, ok_notebook

from playbook.publish import publish
from playbook.sample import generate

CHROMIUM = require_chromium()
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is a dev "
                               "dependency: pip install -e '.[dev]'")

CAMPAIGN = "zh-browser"
SPEC = {
    "campaign": CAMPAIGN,
    "title": "中文报告：数据质量与额度横幅实验",
    "owner": "增长分析组",
    "hypothesis": "在身份验证页展示预计额度能提升申请率，且数据仓库的数据足以支撑这一决策。",
    "ice": {"impact": 8, "confidence": 6, "ease": 8},
    "tags": ["中文", "实验"],
    "language": "zh-CN",
    "runs": [
        {"template": "data_quality", "parameters": {"sample_rows": 3}},
        {"template": "experiment_readout",
         "parameters": {"experiment": "limit-banner", "start": "2026-08-17", "end": "2026-11-09"}},
    ],
}
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
#: The prose the archive writes on a page (headings, facts, panels, notes, the campaign's spec),
#: outside the notebook's body and without names (slugs, run ids, template names, code).
PROSE = "main h1:not(.headline), main h2, p.verdict, dt, summary, p.lede, p.muted, table.list:not(.history) thead th, footer"
VISIBLE_PROSE = """els => els.filter(e => !e.closest('section.nb')).map(e => {
    const copy = e.cloneNode(true);
    copy.querySelectorAll('.slug, code, .decision, a[href$=".json"]').forEach(n => n.remove());
    return copy.textContent;
})"""
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def cjk_share(text: str) -> float:
    """CJK characters among the letters of ``text`` (digits, signs and spaces left out)."""
    letters = [c for c in text if c.isalpha()]
    return sum(bool(_CJK.match(c)) for c in letters) / max(1, len(letters))


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("zh-browser")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    (root / "playbooks").mkdir()
    generate(root / "data" / "sample", scale=0.2, seed=7, progress=False)
    (root / "playbooks" / f"{CAMPAIGN}.yml").write_text(yaml.safe_dump(SPEC, allow_unicode=True, sort_keys=False),
                                                       encoding="utf-8")
    result = run_cli(root, "run", "--quiet", f"playbooks/{CAMPAIGN}.yml")
    assert result.exit_code == 0, result.output
    (run_dir,) = (root / "outputs" / "runs" / CAMPAIGN).iterdir()
    make_run(root / "outputs" / "runs", "weekly-data-quality", "20261117T060000Z",  # an English report
             [{"name": "data_quality", "status": "ok", "notebook": ok_notebook(), "outcome": OK_OUTCOME}])
    published = publish(root / "outputs" / "runs", root / "outputs" / "archive")
    assert published.failures == [] and published.reports == 3
    return root / "outputs" / "archive", run_dir.name


@pytest.fixture(scope="module")
def browser(archive: tuple[Path, str]) -> Iterator[tuple[Any, str]]:
    with serve(archive[0]) as base, sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        try:
            yield chromium, base
        finally:
            chromium.close()


def open_page(browser: tuple[Any, str], path: str, size: tuple[int, int] = SIZES["desktop"]) -> Any:
    chromium, base = browser
    page = chromium.new_page(viewport={"width": size[0], "height": size[1]})
    page.goto(base + path, wait_until="networkidle")
    return page


def test_report_and_campaign_pages_are_chinese(archive: tuple[Path, str], browser: tuple[Any, str]) -> None:
    _, run_id = archive
    for path in (f"reports/{CAMPAIGN}/{run_id}/experiment_readout.html",
                 f"reports/{CAMPAIGN}/{run_id}/data_quality.html", f"campaigns/{CAMPAIGN}.html"):
        page = open_page(browser, path)
        try:
            assert page.evaluate("document.documentElement.lang") == "zh-CN", path
            prose = "\n".join(page.eval_on_selector_all(PROSE, VISIBLE_PROSE))
            assert cjk_share(prose) > 0.3, (path, prose[:500])
            if path.startswith("reports/"):  # the report itself: the template's prose and headline
                body = "\n".join(page.eval_on_selector_all(
                    "section.nb p, section.nb h1, section.nb h2, section.nb li, .headline",
                    "els => els.map(e => e.textContent)"))
                assert cjk_share(body) > 0.5, (path, cjk_share(body), body[:500])
        finally:
            page.close()
    index = open_page(browser, "index.html")
    try:
        assert index.evaluate("document.documentElement.lang") == "en"
    finally:
        index.close()


@pytest.mark.parametrize("device", sorted(SIZES))
def test_screenshots_of_a_chinese_report(archive: tuple[Path, str], browser: tuple[Any, str],
                                         tmp_path: Path, device: str) -> None:
    _, run_id = archive
    page = open_page(browser, f"reports/{CAMPAIGN}/{run_id}/experiment_readout.html", SIZES[device])
    try:
        shot = tmp_path / f"experiment_readout-zh-{device}.png"
        page.screenshot(path=str(shot), full_page=True)
        # the page fits the phone: nothing wider than the viewport but what scrolls inside its box
        width = page.evaluate("document.documentElement.scrollWidth")
    finally:
        page.close()
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, (shot, len(data))
    assert int.from_bytes(data[16:20], "big") == SIZES[device][0]  # the PNG's width
    assert width <= SIZES[device][0]


def test_the_index_shows_and_filters_by_language(browser: tuple[Any, str]) -> None:
    page = open_page(browser, "index.html")
    try:
        rows = "#reports tbody tr"
        shown = "els => els.filter(e => !e.hidden).map(e => e.querySelector('[data-language]').innerText)"
        assert sorted(page.eval_on_selector_all(rows, shown)) == ["EN", "中文", "中文"]
        select = page.locator("select[data-filter-language=reports]")
        assert select.is_visible()  # the JavaScript revealed it
        select.select_option("zh-CN")
        assert page.eval_on_selector_all(rows, shown) == ["中文", "中文"]
        select.select_option("en")
        assert page.eval_on_selector_all(rows, shown) == ["EN"]
        page.fill("input[data-filter=reports]", "data_quality")  # both filters at once
        select.select_option("zh-CN")
        assert page.eval_on_selector_all(rows, shown) == ["中文"]
        select.select_option("")
        assert sorted(page.eval_on_selector_all(rows, shown)) == ["EN", "中文"]
    finally:
        page.close()
