"""segmentation end to end through `playbook run`: on the sample warehouse (segment sizes equal
an independent pandas computation; the tag files are in the run folder and read back with
pandas), in zh-CN, and on the second test warehouse (other names, amounts in cents, no marker)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from tests.conftest import ROOT, make_demo_project, run_cli
from tests.other_warehouse import SNAPSHOT, write_other_warehouse

from playbook.sample import PLANTED

SPEC = "playbooks/user-segments.yml"
RULES = ROOT / "src" / "playbook" / "analyses" / "segments" / "segments.yaml"


def run_spec(root: Path, spec: str, campaign: str) -> tuple[Path, dict[str, Any]]:
    result = run_cli(root, "run", "--quiet", spec)
    assert result.exit_code == 0, result.output
    (run_dir,) = (root / "outputs" / "runs" / campaign).iterdir()
    out = json.loads((run_dir / "segmentation.outcome.json").read_text(encoding="utf-8"))
    assert out["status"] == "ok", out.get("error")
    return run_dir, out


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_project(tmp_path_factory, "segments")


@pytest.fixture(scope="module")
def english(demo: Path) -> tuple[Path, dict[str, Any]]:
    return run_spec(demo, SPEC, "user-segments")


def pandas_segments(folder: Path, as_of: str, scale: float = 1.0) -> pd.Series:
    """Segment sizes computed with pandas alone, from the Parquet files and segments.yaml."""
    when = pd.Timestamp(as_of).tz_convert("UTC").tz_localize(None)
    users = pd.read_parquet(folder / "users.parquet")
    users = users[users.user_id.notna() & (users.signup_ts <= when)]
    orders = pd.read_parquet(folder / "orders.parquet")
    valid = orders[(orders.ts <= when) & (orders.amount > 0) & orders.user_id.isin(users.user_id)]
    g = valid.groupby("user_id")
    rfm = pd.DataFrame({"recency": ((when - g.ts.max()).dt.total_seconds() // 86400).astype(int),
                        "frequency": g.size(), "monetary": g.amount.sum() * scale})
    n = len(rfm)
    score = {"r": 1 + (5 * ((-rfm.recency).rank(method="min") - 1)) // n,
             "f": 1 + (5 * (rfm.frequency.rank(method="min") - 1)) // n,
             "m": 1 + (5 * (rfm.monetary.rank(method="min") - 1)) // n}
    rules = yaml.safe_load(RULES.read_text())["segments"]

    def name(i: int) -> str:
        for rule in rules:
            if all(rule[k][0] <= score[k].iloc[i] <= rule[k][1] for k in "rfm" if k in rule):
                return str(rule["name"])
        return "other"

    seg = pd.Series([name(i) for i in range(n)], index=rfm.index)
    counts = seg.value_counts()
    counts["no_purchase"] = users.user_id.nunique() - n
    return counts


def test_segment_sizes_equal_a_pandas_computation(demo: Path, english: tuple[Path, dict[str, Any]]) -> None:
    _, out = english
    assert out["template"] == "segmentation" and out["language"] == "en"
    assert (out["decision"], out["tone"]) == ("baseline", "neutral")  # the first run: nothing to compare with
    expected = pandas_segments(demo / "data" / "sample", PLANTED["as_of"])
    m = out["metrics"]
    for seg, n in expected.items():
        assert m[f"segment.{seg}.users"] == n, seg
    assert m["overall.users"] == expected.sum()
    assert sum(m[f"segment.{s}.revenue_share"] for s in expected.index) == pytest.approx(1.0, abs=1e-5)
    assert "no previous run" in out["headline"]
    assert list(m)[:4] == ["watch.share", list(m)[1], "overall.buyers", "overall.users"]


def test_metrics_carry_labels_units_and_intervals(english: tuple[Path, dict[str, Any]]) -> None:
    _, out = english
    info = out["metric_info"]
    champ = info["segment.champions.revenue_share"]
    assert champ["kind"] == "share" and champ["low"] < out["metrics"]["segment.champions.revenue_share"] < champ["high"]
    assert info["segment.champions.users"]["unit"] == "users"
    assert info["tier.top_1pct.share"]["label"] == "Share of users in top_1pct"
    assert info["segment.loyal.mean_monetary"]["kind"] == "money"


def test_tag_files_are_in_the_run_folder_and_read_back(demo: Path, english: tuple[Path, dict[str, Any]]) -> None:
    run_dir, out = english
    day = PLANTED["as_of"][:10]
    rfm = pd.read_parquet(run_dir / "tags" / "rfm" / f"as_of={day}.parquet")
    tiers = pd.read_parquet(run_dir / "tags" / "value_tier" / f"as_of={day}.parquet")
    assert list(rfm.columns[:3]) == ["user_id", "as_of", "tag"] and rfm.user_id.is_unique
    counts = rfm.tag.value_counts()
    for seg, n in counts.items():
        assert out["metrics"][f"segment.{seg}.users"] == n
    assert len(tiers) == len(rfm) and tiers.tag.value_counts()["top_1pct"] == out["metrics"]["tier.top_1pct.users"]
    # the top tier holds the buyers who spent the most
    buyers = tiers[tiers.tag != "no_purchase"]
    assert buyers.loc[buyers.tag == "top_1pct", "monetary"].min() >= buyers.loc[buyers.tag == "rest", "monetary"].max()
    defs = yaml.safe_load((run_dir / "tags" / "rfm" / "tags.yaml").read_text())
    assert defs["snapshots"][0]["run"] == {"campaign": "user-segments", "run_id": run_dir.name,
                                           "template": "segmentation"}
    assert defs["tags"]["champions"]["rule"].startswith("R 4-5, F 4-5, M 4-5")
    assert defs["owner"] == "growth-crm"  # the spec's tag_owner


def test_a_second_run_shows_the_migration(demo: Path, english: tuple[Path, dict[str, Any]]) -> None:
    """The previous run's snapshot, put in a tag store (as the runner's promotion does) under an
    earlier date, is compared with today's segments."""
    run_dir, _ = english
    store = demo / "team-tags" / "rfm"
    store.mkdir(parents=True)
    defs = yaml.safe_load((run_dir / "tags" / "rfm" / "tags.yaml").read_text())
    day = PLANTED["as_of"][:10]
    snap = pd.read_parquet(run_dir / "tags" / "rfm" / f"as_of={day}.parquet")
    snap.assign(as_of=pd.Timestamp("2026-10-24").date()).to_parquet(store / "as_of=2026-10-24.parquet")
    defs["snapshots"][0]["as_of"] = "2026-10-24"
    (store / "tags.yaml").write_text(yaml.safe_dump(defs))
    spec = yaml.safe_load((demo / SPEC).read_text())
    spec["campaign"] = "user-segments-again"
    spec["runs"][0]["parameters"]["tags_dir"] = "team-tags"
    (demo / "playbooks" / "user-segments-again.yml").write_text(yaml.safe_dump(spec))
    _, out = run_spec(demo, "playbooks/user-segments-again.yml", "user-segments-again")
    assert out["details"]["previous"]["as_of"] == "2026-10-24"
    mig = pd.DataFrame(out["details"]["migration"])
    stay = mig[mig.previous == mig.current]
    assert stay.users.sum() == len(snap)  # same data, same segments: everyone stays
    assert out["metrics"]["watch.change"] == pytest.approx(0.0, abs=1e-9)
    assert out["decision"] == "steady"
    (demo / "playbooks" / "user-segments-again.yml").unlink()


def test_the_report_in_chinese(demo: Path) -> None:
    spec = yaml.safe_load((demo / SPEC).read_text())
    spec["campaign"], spec["language"] = "user-segments-zh", "zh-CN"
    (demo / "playbooks" / "user-segments-zh.yml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    run_dir, out = run_spec(demo, "playbooks/user-segments-zh.yml", "user-segments-zh")
    (demo / "playbooks" / "user-segments-zh.yml").unlink()
    assert out["language"] == "zh-CN"
    assert "贡献了" in out["headline"] and "没有可比较的上次运行" in out["headline"]
    nb = (run_dir / "segmentation.ipynb").read_text(encoding="utf-8")
    assert "冠军用户" in nb and "用户分群" in nb


def test_on_the_second_warehouse(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("crm-segments")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    wh = write_other_warehouse(sample, root / "exports" / "crm-2026-11")
    (root / "playbooks").mkdir()
    spec = {"campaign": "crm-segments", "title": "CRM segments", "owner": "growth-data",
            "hypothesis": "A few customers bring most of the revenue", "ice": {"impact": 6, "confidence": 5, "ease": 8},
            "tags": ["segments"], "data": {"warehouse": "exports/crm-2026-11", "snapshot": SNAPSHOT},
            "runs": [{"template": "segmentation"}]}
    (root / "playbooks" / "crm-segments.yml").write_text(yaml.safe_dump(spec))
    run_dir, out = run_spec(root, "playbooks/crm-segments.yml", "crm-segments")
    m = out["metrics"]
    assert m["excluded.after_snapshot"] == 10  # the planted 2099 orders
    expected = pandas_segments(wh, SNAPSHOT)
    for seg, n in expected.items():
        assert m[f"segment.{seg}.users"] == n, seg
    cents = pd.read_parquet(run_dir / "tags" / "value_tier" / f"as_of={SNAPSHOT[:10]}.parquet")
    assert np.isclose(cents.monetary.sum(), m["overall.revenue"])
