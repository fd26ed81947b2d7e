"""channel_roi end to end through `playbook run`: on the sample warehouse (the planted
money-losing channel flagged and its budget moved; CAC against plain pandas), on the second
test warehouse (channels renamed: display is banners there) and in Chinese."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from tests.conftest import ROOT, make_demo_project, run_cli
from tests.other_warehouse import CHANNELS, SNAPSHOT, write_other_warehouse

from playbook.sample import PLANTED

SPEC = "playbooks/channel-budget.yml"


def _outcome(root: Path, campaign: str) -> dict[str, Any]:
    (run_dir,) = (root / "outputs" / "runs" / campaign).iterdir()
    out: dict[str, Any] = json.loads((run_dir / "channel_roi.outcome.json").read_text(encoding="utf-8"))
    assert out["status"] == "ok", out.get("error")
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_demo_project(tmp_path_factory, "roi")
    spec = yaml.safe_load((root / SPEC).read_text(encoding="utf-8"))
    spec["campaign"], spec["language"] = "channel-budget-zh", "zh-CN"
    (root / "playbooks" / "channel-budget-zh.yml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    result = run_cli(root, "run", "--quiet", SPEC, "playbooks/channel-budget-zh.yml")
    assert result.exit_code == 0, result.output
    return root


def test_the_money_losing_channel_is_flagged_and_its_budget_moved(demo: Path) -> None:
    out = _outcome(demo, "channel-budget")
    bad = PLANTED["channels"]["money_losing"]
    assert out["decision"] == "reallocate" and out["tone"] == "bad"
    assert out["details"]["flagged"] == [bad]
    assert bad in out["headline"]
    m = out["metrics"]
    assert m["budget_moved"] > 0 and m["shift.margin"] > 0
    assert m[f"channel.{bad}.ltv_cac"] < 1 and out["metric_info"][f"channel.{bad}.ltv_cac"]["high"] < 1
    shift = {r["channel"]: r for r in out["details"]["shift"]}
    assert shift[bad]["change"] < 0 and shift[bad]["role"] == "cut"
    assert sum(r["change"] for r in shift.values()) == pytest.approx(0, abs=1e-6)
    for ch in set(PLANTED["channels"]["cost_per_new_user"]) - {bad}:
        assert m[f"channel.{ch}.ltv_cac"] > 1, ch
    info = out["metric_info"]
    assert info["channel.display.ltv_90"]["kind"] == "money" and "low" in info["channel.display.ltv_90"]
    assert list(m)[:4] == ["budget_moved", "shift.margin", "shift.customers", "channels.flagged"]


def test_cac_matches_plain_pandas(demo: Path) -> None:
    out = _outcome(demo, "channel-budget")
    w = out["details"]["window"]
    assert w["spend_last"] < w["last_signup_day"]  # the sample's spend table is stale
    spend = pd.read_parquet(demo / "data" / "sample" / "spend.parquet")
    users = pd.read_parquet(demo / "data" / "sample" / "users.parquet")
    lo, hi = pd.Timestamp(w["start"]).date(), pd.Timestamp(w["end"]).date()
    s = spend[(spend.date >= lo) & (spend.date <= hi)].groupby("channel").spend.sum()
    day = users.signup_ts.dt.date
    n = users[(day >= lo) & (day <= hi)].groupby("channel").size()
    for ch in s.index:
        assert out["metrics"][f"channel.{ch}.cac"] == pytest.approx(s[ch] / n[ch], rel=1e-6)


def test_the_chinese_report(demo: Path) -> None:
    zh, en = _outcome(demo, "channel-budget-zh"), _outcome(demo, "channel-budget")
    assert zh["language"] == "zh-CN"
    assert (zh["decision"], zh["metrics"]) == (en["decision"], en["metrics"])
    assert re.search(r"[\u4e00-\u9fff]", zh["headline"])
    assert re.search(r"[\u4e00-\u9fff]", zh["metric_info"]["channel.display.cac"]["label"])


def test_on_the_second_warehouse(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("roi-other")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    write_other_warehouse(sample, root / "exports" / "crm")
    spec = {"campaign": "crm-channels", "title": "CRM channels", "owner": "growth-data",
            "hypothesis": "Banners do not pay back", "ice": {"impact": 7, "confidence": 5, "ease": 8},
            "tags": ["roi"], "data": {"warehouse": "exports/crm", "snapshot": SNAPSHOT},
            "runs": [{"template": "channel_roi", "parameters": {
                "value_table": "events", "value_col": "revenue", "value_event": "cash_out"}}]}
    (root / "playbooks").mkdir()
    (root / "playbooks" / "crm-channels.yml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    result = run_cli(root, "run", "--quiet", "playbooks/crm-channels.yml")
    assert result.exit_code == 0, result.output
    out = _outcome(root, "crm-channels")
    assert out["details"]["flagged"] == [CHANNELS[PLANTED["channels"]["money_losing"]]] == ["banners"]
    assert out["metrics"]["channel.banners.ltv_cac"] < 1 and out["metrics"]["budget_moved"] > 0
