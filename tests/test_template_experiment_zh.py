"""experiment_readout in Simplified Chinese, end to end on the generated sample warehouse.

The readout runs of both example specs, each run once as it is (English) and once with the
spec's ``language: zh-CN``: limit-banner ships in both with the same lift, onboarding-copy is
invalid in both and its sample-ratio warning reads in Chinese. Numbers do not depend on the
language; the words do (headline, summary, metric labels, table labels, chart titles).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from tests.conftest import make_demo_project, run_cli

SPECS = {"limit-banner": "playbooks/limit-banner-experiment.yml",
         "onboarding-copy": "playbooks/onboarding-copy-experiment.yml"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _readout_spec(root: Path, source: str, campaign: str, language: str | None) -> str:
    """The readout run of ``source`` alone (the design is another template's), as campaign
    ``campaign``, in ``language`` (None: the spec's default, English)."""
    spec = yaml.safe_load((root / source).read_text(encoding="utf-8"))
    spec["campaign"] = campaign
    spec["runs"] = [r for r in spec["runs"] if r["template"] == "experiment_readout"]
    if language:
        spec["language"] = language
    path = root / "playbooks" / f"{campaign}.yml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(path.relative_to(root))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, Any], Any]]:
    """``{"<experiment>/<language>": (outcome, executed notebook)}``."""
    root = make_demo_project(tmp_path_factory, "experiments-zh")
    specs = [_readout_spec(root, source, f"{name}-{lang.lower()}", None if lang == "en" else lang)
             for name, source in SPECS.items() for lang in ("en", "zh-CN")]
    result = run_cli(root, "run", "--quiet", *specs)
    assert result.exit_code == 0, result.output
    out = {}
    for name in SPECS:
        for lang in ("en", "zh-CN"):
            (run_dir,) = (root / "outputs" / "runs" / f"{name}-{lang.lower()}").iterdir()
            outcome = json.loads((run_dir / "experiment_readout.outcome.json").read_text(encoding="utf-8"))
            out[f"{name}/{lang}"] = (outcome, nbformat.read(run_dir / "experiment_readout.ipynb", as_version=4))
    return out


def _texts(nb: Any) -> list[str]:
    """Every text the executed notebook shows: Markdown cells and every output's text."""
    found = [c.source for c in nb.cells if c.cell_type == "markdown"]
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                found.append(str(output["text"]))
            for kind, value in output.get("data", {}).items():
                if kind.startswith("text/"):
                    found.append(value if isinstance(value, str) else "".join(value))
            found += [str(m.get("alt", "")) for m in output.get("metadata", {}).values() if isinstance(m, dict)]
    return found


def _same_numbers(zh: dict[str, float], en: dict[str, float]) -> None:
    assert sorted(zh) == sorted(en)
    for key, value in en.items():  # DuckDB's parallel sums may differ in the last bits
        assert zh[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


def test_limit_banner_ships_in_chinese_with_the_english_lift(runs: dict[str, tuple[dict[str, Any], Any]]) -> None:
    en, _ = runs["limit-banner/en"]
    zh, nb = runs["limit-banner/zh-CN"]
    assert (en["status"], zh["status"]) == ("ok", "ok"), zh.get("error")
    assert (en["language"], zh["language"]) == ("en", "zh-CN")
    assert zh["decision"] == en["decision"] == "ship"
    _same_numbers(zh["metrics"], en["metrics"])
    lift = zh["metrics"]["apply_rate.treatment.lift_rel"]
    assert lift == pytest.approx(en["metrics"]["apply_rate.treatment.lift_rel"], rel=1e-9)
    assert en["headline"].startswith("treatment lifts apply_rate by +9.0% (95% CI +5.8% to +12.4%)")
    assert zh["headline"] == "treatment 使 apply_rate 提升 +9.0%（95% 置信区间 +5.8% 至 +12.4%），显著；护栏指标均守住"
    assert CJK.search(zh["headline"])
    assert zh["details"]["reasons"] == ["主要指标 apply_rate 显著提升，且所有护栏指标均守住"]
    assert zh["metric_info"]["apply_rate.treatment.lift_rel"]["label"] == "Apply rate：treatment 对比 control"
    assert en["metric_info"]["apply_rate.treatment.lift_rel"]["label"] == "Apply rate, treatment vs control"
    shown = "\n".join(_texts(nb))
    for words in ("# 实验结果解读", "**决策：上线。**", "各组用户数：control 1,553 人，treatment 1,527 人",
                  "护栏指标", "胜出概率", "图表：相对对照组的提升及置信区间", "图表：按分组日期的累计提升",
                  "各组指标值、相对提升及其置信区间"):
        assert words in shown, words
    for english in ("# Experiment readout", "Decision:", "Users per arm", "chance to win"):
        assert english not in shown, english  # the English cells were dropped, the prose translated
    assert not re.search(r"Glyph \d+ .*missing", shown)


def test_onboarding_copy_is_invalid_and_warns_in_chinese(runs: dict[str, tuple[dict[str, Any], Any]]) -> None:
    en, _ = runs["onboarding-copy/en"]
    zh, nb = runs["onboarding-copy/zh-CN"]
    assert (en["status"], zh["status"]) == ("ok", "ok"), zh.get("error")
    assert zh["language"] == "zh-CN"
    assert zh["decision"] == en["decision"] == "invalid"
    _same_numbers(zh["metrics"], en["metrics"])
    assert "sample ratio mismatch" in en["headline"] and "no lift can be trusted" in en["headline"]
    assert zh["headline"] == ("onboarding-copy：结果无效，实际分流为 52.2%/47.8%，计划为 50%/50%"
                              "（样本比例不匹配，p 0.0003）；任何提升都不可信")
    assert zh["details"]["reasons"] == ["流量分配与设计不符（样本比例不匹配，SRM）"]
    shown = "\n".join(_texts(nb))
    assert "**决策：无效。**" in shown
    assert "：**分流已失衡，必须先修复分组或日志记录，才能解读任何提升。**" in shown
    assert "the split is broken" not in shown
    assert "**verify\\_rate**" not in shown  # an invalid readout shows no lift sentence
    assert not re.search(r"Glyph \d+ .*missing", shown)


def test_a_readout_still_running_reads_in_chinese(sample: Path) -> None:
    """Keep-running (one week of the limit banner) in both languages: the same decision and
    numbers; the Chinese summary has the reasons, the power still missing and no English left."""
    from playbook.analyses.experiment import analyze_experiment
    from playbook.i18n import using
    from playbook.sources import Warehouse

    spec = yaml.safe_load((Path(__file__).parents[1] / SPECS["limit-banner"]).read_text(encoding="utf-8"))
    params = next(r["parameters"] for r in spec["runs"] if r["template"] == "experiment_readout")
    params = {**params, "end": "2026-08-24"}
    en = analyze_experiment(Warehouse(str(sample), {}), **params)
    with using("zh-CN"):
        zh = analyze_experiment(Warehouse(str(sample), {}), **params)
        summary, table = zh.summary(), zh.table()
    assert zh.decision == en.decision == "keep-running"
    _same_numbers(zh.metrics(), en.metrics())
    assert en.summary().startswith("**Decision: keep-running.** Guardrail approval\\_rate, loan\\_size is not yet")
    assert summary.startswith("**决策：继续运行。** 护栏指标 approval\\_rate、loan\\_size 尚未证明在容忍幅度内非劣，"
                              "且尚未达到计划样本。")
    assert "；每组大约还需 " in summary and "（尚未达到）。" in summary
    assert not re.search(r"\b(?:in|vs|power|lift|guardrail|chance|planned)\b", summary)
    assert list(table.columns) == ["指标", "角色", "组别", "control", "实验组取值", "相对提升", "p", "校正后 p",
                                   "胜出概率", "护栏"]
    assert list(table["护栏"]) == ["", "未通过", "未通过", ""]
