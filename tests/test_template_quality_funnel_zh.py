"""data_quality and funnel_diagnosis in Simplified Chinese, end to end: the same specs run in
English and in zh-CN on the sample warehouse give the same decisions and numbers, and the zh-CN
reports read in Chinese (headline, metric labels, Markdown cells, charts without missing glyphs)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from tests.conftest import make_demo_project, run_cli

CJK = re.compile(r"[\u4e00-\u9fff]")
TEMPLATES = ("data_quality", "funnel_diagnosis")


def spec(root: Path, language: str) -> str:
    """One spec running both templates with the demo's parameters, in ``language``."""
    quality = yaml.safe_load((root / "playbooks" / "weekly-data-quality.yml").read_text())
    funnel = yaml.safe_load((root / "playbooks" / "loan-journey-diagnosis.yml").read_text())
    campaign = f"quality-funnel-{language.lower()}"
    body = {"campaign": campaign, "title": f"Quality and funnel ({language})", "owner": "growth-data",
            "hypothesis": "The same analysis reads the same in every language.",
            "ice": quality["ice"], "language": language, "data": quality["data"],
            "runs": [quality["runs"][0], funnel["runs"][0]]}
    path = root / "playbooks" / f"{campaign}.yml"
    path.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    return str(path.relative_to(root))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, tuple[dict[str, Any], Any]]]:
    """``{language: {template: (outcome, executed notebook)}}`` of one run of both specs."""
    root = make_demo_project(tmp_path_factory, "zh-quality-funnel")
    specs = {lang: spec(root, lang) for lang in ("en", "zh-CN")}
    result = run_cli(root, "run", "--quiet", *specs.values())
    assert result.exit_code == 0, result.output
    out: dict[str, dict[str, tuple[dict[str, Any], Any]]] = {}
    for lang in specs:
        (run_dir,) = (root / "outputs" / "runs" / f"quality-funnel-{lang.lower()}").iterdir()
        out[lang] = {t: (json.loads((run_dir / f"{t}.outcome.json").read_text(encoding="utf-8")),
                         nbformat.read(run_dir / f"{t}.ipynb", as_version=4)) for t in TEMPLATES}
    return out


@pytest.mark.parametrize("template", TEMPLATES)
def test_zh_cn_outcome_reads_in_chinese_with_the_english_numbers(
        runs: dict[str, dict[str, tuple[dict[str, Any], Any]]], template: str) -> None:
    en, _ = runs["en"][template]
    zh, _ = runs["zh-CN"][template]
    assert (en["status"], zh["status"]) == ("ok", "ok"), zh.get("error")
    assert (en["language"], zh["language"]) == ("en", "zh-CN")
    assert CJK.search(zh["headline"]) and not CJK.search(en["headline"])
    assert zh["decision"] == en["decision"]
    assert zh["metrics"].keys() == en["metrics"].keys()
    assert zh["metrics"] == pytest.approx(en["metrics"], rel=1e-9)
    labels = {k: v["label"] for k, v in zh["metric_info"].items()}
    assert labels.keys() == {k: v["label"] for k, v in en["metric_info"].items()}.keys()
    untranslated = [k for k, label in labels.items() if not CJK.search(label)]
    assert untranslated == [], f"metric labels without Chinese: {untranslated}"


def test_the_demo_findings_are_named_in_chinese(runs: dict[str, dict[str, tuple[dict[str, Any], Any]]]) -> None:
    quality, _ = runs["zh-CN"]["data_quality"]
    assert quality["decision"] == "fail"
    assert quality["headline"].startswith("数据不宜用于决策：")
    assert "未通过" in quality["headline"] and "通过率" in quality["headline"]
    funnel, _ = runs["zh-CN"]["funnel_diagnosis"]
    assert funnel["decision"] == "act"
    assert "流失最多的环节是“register”→“verify_identity”" in funnel["headline"]
    assert "device=web" in funnel["headline"] and funnel["headline"].endswith("。")
    assert funnel["metric_info"]["overall.conv"]["label"] == "整体转化率"
    assert funnel["metric_info"]["step.verify_identity.users"]["label"] == "到达 verify_identity 的用户数"


def _text(nb: Any) -> tuple[str, str]:
    """The Markdown shown (cells and outputs) and the streams and errors of an executed notebook."""
    shown, streams = [], []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            shown.append(cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                streams.append(output.get("text", ""))
            for mime in ("text/markdown", "text/html"):
                shown.append(output.get("data", {}).get(mime, ""))
    return "\n".join(shown), "\n".join(streams)


@pytest.mark.parametrize("template", TEMPLATES)
def test_zh_cn_report_keeps_the_chinese_cells_and_draws_every_glyph(
        runs: dict[str, dict[str, tuple[dict[str, Any], Any]]], template: str) -> None:
    _, nb = runs["zh-CN"][template]
    shown, streams = _text(nb)
    title = {"data_quality": ("# 数据质量", "# Data quality"),
             "funnel_diagnosis": ("# 漏斗诊断", "# Funnel diagnosis")}[template]
    assert nb.cells[0].source.startswith(title[0])
    assert title[1] not in shown and "## Method" not in shown and "## 方法" in shown
    assert "Glyph" not in streams and "missing from font" not in streams
    assert any(o.get("data", {}).get("image/png") for c in nb.cells for o in c.get("outputs", []))
    _, en_nb = runs["en"][template]
    assert en_nb.cells[0].source.startswith(title[1]) and "## 方法" not in _text(en_nb)[0]


def test_zh_cn_tables_and_summary_are_in_chinese(runs: dict[str, dict[str, tuple[dict[str, Any], Any]]]) -> None:
    shown, _ = _text(runs["zh-CN"]["data_quality"][1])
    assert "未通过的规则" in shown and "我们以快照时间" in shown and "哪些规则未通过，以及如何处理：" in shown
    assert "存在重复的键" in shown and "Failing rules" not in shown
    shown, _ = _text(runs["zh-CN"]["funnel_diagnosis"][1])
    assert "到达各步骤的用户" in shown and "占上一步比例" in shown and "本周期与上一周期对比" in shown
    assert "of previous step" not in shown


def test_plural_notes_are_translated_for_any_count() -> None:
    from playbook.i18n import ngettext

    for n in (1, 23):
        assert ngettext("{n} duplicated id in {rows} rows", "{n} duplicated ids in {rows} rows", n,
                        "zh-CN") == "{rows} 行中有 {n} 个重复的 id"
