"""retention_cohorts end to end through `playbook run`: the demo spec on the sample warehouse
(the planted repeat decay recovered, D7 equal to a plain-pandas count), the same spec in
Simplified Chinese, and a spec for the second test warehouse (other names, no marker file)."""

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
from tests.other_warehouse import write_other_warehouse

from playbook.sample import PLANTED

SPEC = "playbooks/customer-retention.yml"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _outcome(root: Path, campaign: str) -> tuple[dict[str, Any], str]:
    (run_dir,) = (root / "outputs" / "runs" / campaign).iterdir()
    out = json.loads((run_dir / "retention_cohorts.outcome.json").read_text(encoding="utf-8"))
    return out, (run_dir / "retention_cohorts.ipynb").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, tuple[dict[str, Any], str]]]:
    root = make_demo_project(tmp_path_factory, "retention")
    spec = yaml.safe_load((root / SPEC).read_text(encoding="utf-8"))
    spec |= {"campaign": "customer-retention-zh", "language": "zh-CN"}
    (root / "playbooks" / "customer-retention-zh.yml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    result = run_cli(root, "run", "--quiet", SPEC, "playbooks/customer-retention-zh.yml")
    assert result.exit_code == 0, result.output
    return root, {"en": _outcome(root, "customer-retention"), "zh-CN": _outcome(root, "customer-retention-zh")}


def test_the_planted_repeat_decay_is_inside_the_interval(runs: tuple[Path, dict[str, Any]]) -> None:
    _, out = runs
    o = out["en"][0]
    assert o["status"] == "ok", o.get("error")
    m = o["metrics"]
    truth = PLANTED["cohorts"]["repeat_decay_per_month"]
    assert m["repeat_decay_ratio_ci_low"] < truth < m["repeat_decay_ratio_ci_high"]
    assert m["repeat_decay_ratio_ci_high"] - m["repeat_decay_ratio_ci_low"] < 0.15
    assert o["decision"] in ("stable", "improving", "declining")
    assert list(m)[:4] == ["d1", "d7", "d30", "repurchase_rate"]
    info = o["metric_info"]
    assert info["d7"]["kind"] == "share" and info["d7"]["low"] == pytest.approx(m["d7_ci_low"], abs=1e-6)
    assert info["repurchase_interval_days_p50"]["unit"] == "days"


def test_d7_matches_a_pandas_count_and_orders_are_cleaned(runs: tuple[Path, dict[str, Any]]) -> None:
    root, out = runs
    o = out["en"][0]
    data = root / "data" / "sample"
    users = pd.read_parquet(data / "users.parquet")
    ev = pd.read_parquet(data / "events.parquet", columns=["user_id", "ts"])
    d7 = next(d for d in o["details"]["day_marks"] if d["day"] == 7)
    week = users.signup_ts.dt.to_period("W-SUN").dt.start_time.dt.date.astype(str)
    members = users[week.isin(d7["latest_cohorts"])]
    e = ev.merge(members[["user_id", "signup_ts"]], on="user_id")
    day = (e.ts - e.signup_ts) // pd.Timedelta(days=1)
    active = e.loc[day == 7, "user_id"].nunique()
    assert (d7["users"], d7["retained"]) == (len(members), active)
    assert o["metrics"]["d7"] == pytest.approx(active / len(members), abs=1e-6)
    meta = json.loads((data / "_warehouse.json").read_text())["planted_defects"]
    ex = o["details"]["excluded_orders"]
    assert (ex["after_as_of"], ex["negative_amount"]) == (meta["orders.ts.future"], meta["orders.amount.negative"])


def test_the_chinese_report_measures_the_same(runs: tuple[Path, dict[str, Any]]) -> None:
    _, out = runs
    (en, _), (zh, notebook) = out["en"], out["zh-CN"]
    assert zh["status"] == "ok", zh.get("error")
    assert zh["language"] == "zh-CN" and CJK.search(zh["headline"]) and not CJK.search(en["headline"])
    assert zh["decision"] == en["decision"]
    assert zh["metrics"] == pytest.approx(en["metrics"], rel=1e-9)
    assert "Glyph" not in notebook and "missing from font" not in notebook


OTHER_SPEC = """\
campaign: crm-retention
title: CRM retention
owner: growth-data
hypothesis: Customers of the export come back for a second loan.
ice: {impact: 5, confidence: 5, ease: 5}
data:
  warehouse: exports/crm-2026-11
  snapshot: "2026-11-24T06:00:00Z"
runs:
  - template: retention_cohorts
    parameters:
      cohort_by: first_purchase
      cohort_period: month
      period_days: 30
      periods: 6
      activity: events
      activity_events: [loan_request, cash_out]
      breakdown: channel
"""


def test_the_second_warehouse_by_parameters_only(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("crm-retention")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    write_other_warehouse(sample, root / "exports" / "crm-2026-11")
    (root / "playbooks").mkdir()
    (root / "playbooks" / "crm-retention.yml").write_text(OTHER_SPEC, encoding="utf-8")
    nosnap = OTHER_SPEC.replace("crm-retention", "crm-nosnap").replace('  snapshot: "2026-11-24T06:00:00Z"\n', "")
    (root / "playbooks" / "crm-nosnap.yml").write_text(nosnap, encoding="utf-8")
    result = run_cli(root, "run", "--quiet", "playbooks/crm-retention.yml")
    assert result.exit_code == 0, result.output
    o, _ = _outcome(root, "crm-retention")
    assert o["status"] == "ok", o.get("error")
    m = o["metrics"]
    truth = PLANTED["cohorts"]["repeat_decay_per_month"]
    assert m["repeat_decay_ratio_ci_low"] < truth < m["repeat_decay_ratio_ci_high"]
    assert o["details"]["excluded_orders"]["after_as_of"] == 10  # the export's year-2099 orders
    assert {r["segment"] for r in o["details"]["segments"]} >= {"seo", "banners"}
    failed = run_cli(root, "run", "--quiet", "playbooks/crm-nosnap.yml")
    assert failed.exit_code == 1 and "data.snapshot" in failed.output, failed.output
