"""The archive in the reports' languages: a page carries its full language tag (a report's from
its outcome, a campaign's from its spec, the index English), its interface words in that
language (archive.po), decisions through pgettext("decision", ...), dates and numbers by the
language's rules (playbook.i18n.formats); the index shows and filters each report's language.
English pages are as they were (tests/test_publish.py pins them)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from tests.test_publish import OK_OUTCOME, make_run, ok_notebook, read, report_page

from playbook.i18n import formats, translations
from playbook.publish import publish
from playbook.publish.metric_text import format_metric

CAMPAIGN, RUN_ID = "zh-readout", "20261124T060000Z"
INFO = {
    "apply_rate.B.lift_rel": {"label": "申请率（B 对比 A）", "kind": "lift", "low": 0.057, "high": 0.123,
                              "level": 0.95},
    "users.B": {"label": "B 组用户数", "kind": "count"},
    "loan_size.B": {"label": "平均借款金额", "kind": "money", "unit": "CNY"},
}
ZH_METRICS = {"apply_rate.B.lift_rel": 0.0903, "users.B": 123456, "loan_size.B": 1234.5}
ZH_OUTCOME: dict[str, Any] = {
    "status": "ok",
    "language": "zh-CN",
    "headline": "B 组把申请率提升了 +9.0%，显著；护栏指标稳定",
    "decision": "ship",
    "metrics": ZH_METRICS,
    "metric_info": INFO,
}


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    for run_id, lift in ((RUN_ID, 0.0903), ("20261117T060000Z", 0.05)):  # two runs: a sparkline
        outcome = ZH_OUTCOME | {"metrics": ZH_METRICS | {"apply_rate.B.lift_rel": lift}}
        make_run(runs, CAMPAIGN, run_id,
                 [{"name": "experiment_readout", "status": "ok", "notebook": ok_notebook(), "outcome": outcome}],
                 spec_extra={"language": "zh-CN", "title": "额度横幅实验", "tags": ["实验"]})
    make_run(runs, "weekly-data-quality", "20261117T060000Z",  # written before languages existed
             [{"name": "data_quality", "status": "ok", "notebook": ok_notebook(), "outcome": OK_OUTCOME}])
    result = publish(runs, tmp_path / "archive")
    assert result.failures == [] and result.reports == 3
    return tmp_path / "archive"


def html_lang(page: str) -> str:
    found = re.search(r'<html lang="([^"]+)">', page)
    assert found, page[:200]
    return found.group(1)


def test_each_page_carries_its_full_language_tag(archive: Path) -> None:
    assert html_lang(report_page(archive, CAMPAIGN, RUN_ID, "experiment_readout")) == "zh-CN"
    assert html_lang(read(archive / "campaigns" / f"{CAMPAIGN}.html")) == "zh-CN"
    assert html_lang(read(archive / "index.html")) == "en"
    older = report_page(archive, "weekly-data-quality", "20261117T060000Z", "data_quality")
    assert html_lang(older) == "en" and "Decision:" in older and "Inputs and versions" in older


def test_a_chinese_report_page_speaks_chinese(archive: Path) -> None:
    page = report_page(archive, CAMPAIGN, RUN_ID, "experiment_readout")
    for words in ("Growth Playbook 知识库", "决策：", "<dt>运行</dt>", "<dt>负责人</dt>", "输入与版本",
                  "指标（3）", "参数（2）"):
        assert words in page, words
    assert "status-ok" not in page  # a run status shows only when the run failed
    for english in ("Decision:", "Inputs and versions", "Parameters", "Metrics (", ">ok<"):
        assert english not in page, english
    # the run's day in Chinese, numbers by the zh-CN rules, labels as the report recorded them
    assert f"{formats.day(date(2026, 11, 24), 'zh-CN')} 06:00 UTC" == "2026年11月24日 06:00 UTC"
    assert "2026年11月24日 06:00 UTC" in page and "生成于" in page
    assert ">申请率（B 对比 A）</th><td class=\"num\">+9.0%（95% 置信区间 +5.7% 至 +12.3%）</td>" in page
    assert ">12.3万<" in page and ">¥1,234.50<" in page
    assert "3.2 秒" in page


def test_a_campaign_page_in_the_specs_language(archive: Path) -> None:
    page = read(archive / "campaigns" / f"{CAMPAIGN}.html")
    for words in ("<h1>额度横幅实验</h1>", "<dt>负责人</dt>", "<dt>运行计划</dt>", "历次运行的指标",
                  "运行记录（最新在前）", "<th>结论</th>", "2026年11月24日 06:00 UTC", "12.3 秒",
                  "申请率（B 对比 A），从最早到最新"):
        assert words in page, words
    assert "Runs, newest first" not in page and "Owner" not in page


def test_decision_words_are_shown_in_the_pages_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The badge says pgettext("decision", word): 上线 on Chinese pages, ship on the English index."""
    catalogue: Any = translations("zh-CN")
    monkeypatch.setitem(catalogue._catalog, "decision\x04ship", "上线")
    runs = tmp_path / "runs"
    make_run(runs, CAMPAIGN, RUN_ID,
             [{"name": "experiment_readout", "status": "ok", "notebook": ok_notebook(), "outcome": ZH_OUTCOME}],
             spec_extra={"language": "zh-CN"})
    publish(runs, tmp_path / "archive")
    badge = '<span class="badge decision good">{}</span>'
    assert badge.format("上线") in report_page(tmp_path / "archive", CAMPAIGN, RUN_ID, "experiment_readout")
    assert badge.format("上线") in read(tmp_path / "archive" / "campaigns" / f"{CAMPAIGN}.html")
    index = read(tmp_path / "archive" / "index.html")
    assert badge.format("ship") in index and "上线" not in index


def test_the_index_shows_and_filters_by_language(archive: Path) -> None:
    index = read(archive / "index.html")
    assert "<th>Language</th>" in index and "Knowledge archive" in index
    cells = re.findall(r'<td data-value="([^"]+)" data-language="\1"><span class="lang-tag" lang="\1">([^<]+)</span>',
                       index)
    assert sorted(cells) == [("en", "EN"), ("zh-CN", "中文"), ("zh-CN", "中文")]
    select = re.search(r'<select class="filter-language" data-filter-language="reports"[^>]*>(.*?)</select>',
                       index, re.S)
    assert select, "no language select"
    assert re.findall(r'<option value="([^"]*)"', select.group(1)) == ["", "en", "zh-CN"]
    # the Chinese row's own text is marked as Chinese inside the English page
    assert '<td class="prose" lang="zh-CN">B 组把申请率提升了' in index
    js = read(archive / "static" / "playbook.js")
    assert "data-filter-language" in js and 'getAttribute("data-language")' in js


def test_an_english_only_index_has_no_language_select(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    make_run(runs, "weekly-data-quality", "20261117T060000Z",
             [{"name": "data_quality", "status": "ok", "notebook": ok_notebook(), "outcome": OK_OUTCOME}])
    publish(runs, tmp_path / "archive")
    index = read(tmp_path / "archive" / "index.html")
    assert "<select" not in index and 'lang="zh-CN"' not in index
    assert '<span class="lang-tag" lang="en">EN</span>' in index


@pytest.mark.parametrize(("info", "value", "english", "chinese"), [
    ({"kind": "share", "low": 0.1, "high": 0.2, "level": 0.95}, 0.15,
     "15.0% (95% CI 10.0% to 20.0%)", "15.0%（95% 置信区间 10.0% 至 20.0%）"),
    ({"kind": "count"}, 123456, "123,456", "12.3万"),
    ({"kind": "count"}, 1234, "1,234", "1,234"),
    ({"kind": "money", "unit": "CNY"}, 17.63, "17.63 CNY", "¥17.63"),
    ({"kind": "duration", "unit": "h"}, 6.25, "6.2 h", "6.2 小时"),
    ({"kind": "duration", "unit": "days"}, 33, "33 days", "33 天"),
    ({"kind": "share"}, 0.9999, "> 99.9%", "> 99.9%"),
    ({"kind": "p_value"}, 0.0004, "p < 0.001", "p < 0.001"),
])
def test_metric_values_by_the_reports_language(info: dict[str, Any], value: float, english: str,
                                               chinese: str) -> None:
    assert format_metric("m", value, info) == english
    assert format_metric("m", value, info, "en") == english
    assert format_metric("m", value, info, "zh-CN") == chinese


def test_an_unknown_language_is_shown_as_english(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    make_run(runs, CAMPAIGN, RUN_ID,
             [{"name": "r", "status": "ok", "notebook": ok_notebook(), "outcome": OK_OUTCOME | {"language": "xx"}}],
             spec_extra={"language": "xx"})
    result = publish(runs, tmp_path / "archive")
    assert result.failures == []
    assert html_lang(report_page(tmp_path / "archive", CAMPAIGN, RUN_ID, "r")) == "en"
    assert html_lang(read(tmp_path / "archive" / "campaigns" / f"{CAMPAIGN}.html")) == "en"
