"""process_efficiency and experiment_design in Simplified Chinese: the same decisions and
numbers as in English, Chinese prose, every glyph drawn; and process weeks that start on the
spec's ``data.week_start``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.conftest import make_demo_project, run_cli

from playbook.analyses.process.analysis import analyze_process
from playbook.i18n import using
from playbook.sources import Warehouse

TEMPLATES = ("process_efficiency", "experiment_design")
CJK = re.compile(r"[\u4e00-\u9fff]")
SPEC = """campaign: {campaign}
title: Process and design in {language}
owner: growth-product
hypothesis: Manual review is the slowest step; the limit banner is worth an experiment.
ice: {{impact: 5, confidence: 5, ease: 5}}
language: {language}
runs:
  - template: process_efficiency
    parameters:
      sla_hours: {{submit: 1.0, document_check: 4.0, manual_review: 24.0, credit_decision: 4.0, payout: 2.0}}
  - template: experiment_design
    parameters:
      eligible_event: verify_identity
      before: "2026-08-17"
      lookback_days: 56
      mde_rel: 0.08
      max_days: 84
      rho_experiment: limit-banner
"""


def _run(root: Path, language: str) -> dict[str, tuple[dict[str, Any], str]]:
    """{template: (outcome, the executed notebook's text)} of the spec in ``language``."""
    campaign = f"i18n-{language.lower()}"
    spec = root / "playbooks" / f"{campaign}.yml"
    spec.write_text(SPEC.format(campaign=campaign, language=language), encoding="utf-8")
    result = run_cli(root, "run", "--quiet", str(spec.relative_to(root)))
    assert result.exit_code == 0, result.output
    (run_dir,) = (root / "outputs" / "runs" / campaign).iterdir()
    out = {}
    for name in TEMPLATES:
        outcome = json.loads((run_dir / f"{name}.outcome.json").read_text(encoding="utf-8"))
        (notebook,) = run_dir.glob(f"{name}*.ipynb")
        out[name] = (outcome, notebook.read_text(encoding="utf-8"))
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, tuple[dict[str, Any], str]]]:
    root = make_demo_project(tmp_path_factory, "i18n-process-design")
    return {language: _run(root, language) for language in ("en", "zh-CN")}


@pytest.mark.parametrize("name", TEMPLATES)
def test_chinese_report_decides_as_the_english_one(runs: dict[str, Any], name: str) -> None:
    (en, _), (zh, notebook) = runs["en"][name], runs["zh-CN"][name]
    assert zh["status"] == en["status"] == "ok", zh.get("error")
    assert zh["language"] == "zh-CN" and en["language"] == "en"
    assert CJK.search(zh["headline"]), zh["headline"]
    assert not CJK.search(en["headline"])
    assert zh["decision"] == en["decision"]
    # numbers do not depend on the language (DuckDB's parallel sums differ in the last bits)
    assert zh["metrics"] == pytest.approx(en["metrics"], rel=1e-9)
    assert "Glyph" not in notebook and "missing from font" not in notebook


def test_chinese_headlines_carry_the_numbers(runs: dict[str, Any]) -> None:
    process, _ = runs["zh-CN"]["process_efficiency"]
    runs_of = process["metrics"]["step.manual_review.rows"]  # 7,803 at scale 1, seed 7
    assert process["headline"].startswith(f"需改进“manual_review”：其 {runs_of:,.0f} 次运行中 56% 超出 24 小时的 SLA")
    assert process["headline"].endswith("。")
    design, notebook = runs["zh-CN"]["experiment_design"]
    assert design["headline"] == ("运行 33 天、每组 539 名用户，可检测 apply_rate +8.0% 的相对提升"
                                  "（基线 76.8%，统计功效 80%）")
    assert "建议：可行。" in notebook  # the decision word in the summary, through pgettext
    assert "# 实验设计" in notebook and "# Experiment design" not in notebook


def _log(tmp_path: Path, week_start: str | None) -> Warehouse:
    """One step run on Sunday 2026-11-22 and one on Saturday 2026-11-28, each an hour long."""
    starts = pd.to_datetime(["2026-11-22 10:00", "2026-11-28 10:00"]).astype("datetime64[us]")
    pd.DataFrame({"case_id": [1, 2], "step": ["review", "review"], "start_ts": starts,
                  "end_ts": starts + pd.Timedelta(hours=1)}).to_parquet(tmp_path / "process_log.parquet")
    return Warehouse(tmp_path, {"week_start": week_start} if week_start else {})


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_weeks_start_on_the_specs_week_start(tmp_path: Path, language: str) -> None:
    with using(language):
        sunday = analyze_process(_log(tmp_path, "sunday"), min_week_rows=1).weekly
        monday = analyze_process(_log(tmp_path, None), min_week_rows=1).weekly
    # Sunday first: the Sunday run and the Saturday after it share the week of that Sunday
    assert [str(w)[:10] for w in sunday["week"]] == ["2026-11-22"]
    assert sunday["rows"].tolist() == [2]
    # Monday first (en and zh-CN alike): the Sunday closes the week of Monday 16 November
    assert [str(w)[:10] for w in monday["week"]] == ["2026-11-16", "2026-11-23"]
    assert monday["rows"].tolist() == [1, 1]
