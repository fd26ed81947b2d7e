"""kpi_review: the difference in differences against hand computations and statsmodels, the
parallel-trends check, the target verdicts; end to end through `playbook run` on the sample
warehouse (the planted win-back campaign inside the interval), on the second warehouse (renamed
regions, no marker file) and in Chinese."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from tests.conftest import make_demo_project, run_cli
from tests.other_warehouse import REGIONS, SNAPSHOT, write_other_warehouse

from playbook.analyses.kpi import (
    KpiDecision,
    KpiResult,
    KpiRow,
    difference_in_differences,
    kpi_definitions,
    verdict,
)
from playbook.errors import DataError, ParameterError
from playbook.sample import PLANTED

TRUTH = PLANTED["kpi_campaign"]


def panel(did: float = 0.02, treated_slope: float = 0.0, noise: float = 0.005, seed: int = 3) -> pd.DataFrame:
    """Units a (treated), b, c; weeks -6..3; unit and week effects, a known DiD."""
    rng = np.random.default_rng(seed)
    rows = []
    for unit, base in (("a", 0.10), ("b", 0.08), ("c", 0.12)):
        for week in range(-6, 4):
            y = base + 0.002 * week + rng.normal(0, noise)
            if unit == "a":
                y += did * (week >= 0) + treated_slope * week
            rows.append({"unit": unit, "week": week, "treated": unit == "a", "y": y})
    return pd.DataFrame(rows)


def test_did_is_the_hand_computation_with_statsmodels_hc1_errors() -> None:
    p = panel()
    est = difference_in_differences(p)
    mean = p.groupby([p.treated, p.week >= 0])["y"].mean()
    hand = (mean[True, True] - mean[True, False]) - (mean[False, True] - mean[False, False])
    assert est.did == pytest.approx(hand, abs=1e-12)
    assert est.did == pytest.approx(0.02, abs=0.006)
    # reference: the same design built by hand, statsmodels OLS with HC1
    x = pd.get_dummies(p[["unit", "week"]].astype(str), drop_first=True).astype(float)
    x["tp"] = (p.treated & (p.week >= 0)).astype(float)
    ref = sm.OLS(p["y"], sm.add_constant(x)).fit(cov_type="HC1")
    assert est.se == pytest.approx(ref.bse["tp"], rel=1e-9)
    assert est.ci_high - est.ci_low == pytest.approx(2 * ref.bse["tp"] * 2.0, rel=0.1)
    level = p[p.treated & (p.week >= 0)]["y"].mean()
    assert est.level == pytest.approx(level)
    assert est.change == pytest.approx(hand / (level - hand))
    assert est.change_low < est.change < est.change_high
    assert est.pre_slope_p > 0.05


def test_relative_interval_is_the_delta_method() -> None:
    p = panel(noise=0.01, seed=8)
    est = difference_in_differences(p)
    # numeric delta method from the reference fit: change = did / (level - did)
    x = pd.get_dummies(p[["unit", "week"]].astype(str), drop_first=True).astype(float)
    x["tp"] = (p.treated & (p.week >= 0)).astype(float)
    x = sm.add_constant(x)
    fit = sm.OLS(p["y"], x).fit(cov_type="HC1")
    c = x[p.treated & (p.week >= 0)].mean().to_numpy()
    beta, cov = fit.params.to_numpy(), fit.cov_params().to_numpy()

    def change(b: np.ndarray) -> float:
        d = b[-1]
        return float(d / (c @ b - d))

    h = 1e-7
    grad = np.array([(change(beta + h * e) - change(beta - h * e)) / (2 * h) for e in np.eye(len(beta))])
    se = float(np.sqrt(grad @ cov @ grad))
    assert (est.change_high - est.change_low) / 2 == pytest.approx(se * 2.0, rel=0.1)
    assert (est.change_high - est.change) / se == pytest.approx((est.ci_high - est.did) / est.se, rel=1e-6)


def test_diverging_pre_trends_are_detected() -> None:
    est = difference_in_differences(panel(treated_slope=0.004, noise=0.002))
    assert est.pre_slope == pytest.approx(0.004, abs=0.001)
    assert est.pre_slope_p < 0.01
    assert verdict(est.change_low, est.change_high, 0.0, valid=est.pre_slope_p >= 0.05) == "invalid"
    assert difference_in_differences(panel(treated_slope=0.0, noise=0.002)).pre_slope_p > 0.05


def test_a_group_without_weeks_is_refused() -> None:
    p = panel()
    with pytest.raises(DataError, match="treated units after"):
        difference_in_differences(p[~(p.treated & (p.week >= 0))])


@pytest.mark.parametrize(("low", "high", "target", "expected"), [
    (0.09, 0.30, 0.08, "met"), (0.08, 0.30, 0.08, "met"), (-0.1, 0.05, 0.08, "missed"),
    (0.02, 0.20, 0.08, "undecided"), (-0.30, -0.16, -0.15, "met"), (-0.10, 0.02, -0.15, "missed"),
    (-0.20, -0.10, -0.15, "undecided"), (float("nan"), 0.1, 0.0, "invalid")])
def test_target_verdicts(low: float, high: float, target: float, expected: str) -> None:
    assert verdict(low, high, target, valid=True) == expected


def _row(name: str, word: str) -> KpiRow:
    est = difference_in_differences(panel())
    return KpiRow(name, "repeat_orders", 0.05, est, word != "invalid", word)


@pytest.mark.parametrize(("words", "decision"), [
    (["met", "met"], KpiDecision.MET), (["met", "undecided"], KpiDecision.UNDECIDED),
    (["undecided", "missed"], KpiDecision.MISSED), (["missed", "invalid"], KpiDecision.INVALID)])
def test_the_review_decision(words: list[str], decision: KpiDecision) -> None:
    result = KpiResult([_row(f"k{i}", w) for i, w in enumerate(words)], pd.DataFrame(), "region",
                       ["a"], ["b"], pd.Timestamp("2026-10-12").to_pydatetime(), 6, 4, 0.05)
    assert result.decision is decision
    assert result.metrics()["kpi.k0.met"] == float(words[0] == "met")


def test_kpi_definitions_name_what_to_set() -> None:
    assert kpi_definitions({"repeat_orders": 0.1}, {})[0].kind == "repeat_orders"
    with pytest.raises(ParameterError, match="targets: no KPI targets"):
        kpi_definitions({}, {})
    with pytest.raises(ParameterError, match="kpis.repurchase: define the KPI"):
        kpi_definitions({"repurchase": 0.08}, {})
    with pytest.raises(ParameterError, match="kpis.conv.event"):
        kpi_definitions({"conv": 0.1}, {"conv": {"kind": "event_rate"}})


# -- end to end -------------------------------------------------------------------------------

ZH = """\
campaign: win-back-zh
title: 回流活动复盘
owner: growth-crm
hypothesis: 南区回流活动让老客户复借率提升至少 8%。
ice: {impact: 6, confidence: 5, ease: 7}
language: zh-CN
targets: {repurchase: 0.08}
runs:
  - template: kpi_review
    parameters: {kpis: {repurchase: {kind: repeat_orders}}, group_col: region, treated: [south],
                 campaign_start: "2026-10-12", campaign_end: "2026-11-23"}
"""
OTHER = f"""\
campaign: win-back-export
title: Win-back review on the CRM export
owner: growth-crm
hypothesis: The win-back campaign lifts repeat loans in sud.
ice: {{impact: 6, confidence: 5, ease: 7}}
targets: {{repurchase: 0.08, loan_requests: 0.0}}
data:
  warehouse: exports/crm
  snapshot: "{SNAPSHOT}"
runs:
  - template: kpi_review
    parameters:
      kpis: {{repurchase: {{kind: repeat_orders}}, loan_requests: {{kind: event_rate, event: loan_request}}}}
      group_col: region
      treated: [{REGIONS[TRUTH["region"]]}]
      comparison: [{", ".join(REGIONS[r] for r in TRUTH["comparison"])}]
      campaign_start: "{TRUTH["start"]}"
      campaign_end: "{TRUTH["end"]}"
"""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, Any]]]:
    root = make_demo_project(tmp_path_factory, "kpi")
    write_other_warehouse(root / "data" / "sample", root / "exports" / "crm")
    (root / "playbooks" / "win-back-zh.yml").write_text(ZH, encoding="utf-8")
    (root / "playbooks" / "win-back-export.yml").write_text(OTHER, encoding="utf-8")
    names = ["win-back-kpi-review", "win-back-zh", "win-back-export"]
    result = run_cli(root, "run", "--quiet", *[f"playbooks/{n}.yml" for n in names])
    assert result.exit_code == 0, result.output
    out = {}
    for n in names:
        (path,) = (root / "outputs" / "runs" / n).glob("*/kpi_review.outcome.json")
        out[n] = json.loads(path.read_text(encoding="utf-8"))
        assert out[n]["status"] == "ok", out[n].get("error")
    return root, out


def _weekly_repeat_rate(orders: pd.DataFrame, users: pd.DataFrame, region: str, start: pd.Timestamp,
                        weeks: int) -> float:
    """Plain pandas: repeat orders per existing customer and week of one region, mean over weeks."""
    o = orders[orders.ts <= pd.Timestamp(PLANTED["as_of"][:19])].merge(users[["user_id", "region"]])
    first = o.groupby("user_id").ts.min()
    rates = []
    for w in range(weeks):
        lo, hi = start + pd.Timedelta(weeks=w), start + pd.Timedelta(weeks=w + 1)
        cust = set(first[first < lo].index) & set(users[users.region == region].user_id)
        rates.append(((o.ts >= lo) & (o.ts < hi) & o.user_id.isin(cust)).sum() / len(cust))
    return float(np.mean(rates))


def test_the_planted_campaign_lies_in_the_interval(outcomes: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    root, out = outcomes
    o = out["win-back-kpi-review"]
    m = o["metrics"]
    assert m["kpi.repurchase.target"] == 0.08  # from the spec's targets
    assert m["kpi.repurchase.ci_low"] < TRUTH["lift_rel"] < m["kpi.repurchase.ci_high"]
    assert m["kpi.repurchase.ci_low"] < m["kpi.repurchase.change"] < m["kpi.repurchase.ci_high"]
    assert o["decision"] in {"met", "undecided"} and o["tone"] in {"good", "neutral"}
    assert m["kpi.repurchase.met"] == float(o["decision"] == "met")
    assert m["kpi.repurchase.pre_trend_p"] > 0.05  # the regions moved together before the start
    assert o["details"]["comparison"] == sorted(TRUTH["comparison"])
    assert o["metric_info"]["kpi.repurchase.change"]["low"] == m["kpi.repurchase.ci_low"]
    sample = root / "data" / "sample"
    level = _weekly_repeat_rate(pd.read_parquet(sample / "orders.parquet"), pd.read_parquet(sample / "users.parquet"),
                                TRUTH["region"], pd.Timestamp(TRUTH["start"]), 6)
    assert m["kpi.repurchase.level"] == pytest.approx(level, rel=1e-9)


def test_the_chinese_report_decides_as_the_english(outcomes: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    _, out = outcomes
    zh, en = out["win-back-zh"], out["win-back-kpi-review"]
    assert zh["language"] == "zh-CN" and zh["decision"] == en["decision"]
    assert zh["metrics"] == pytest.approx(en["metrics"])
    assert "目标" in zh["headline"] and "置信区间" in zh["headline"]


def test_the_second_warehouse_finds_it_under_other_names(outcomes: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    _, out = outcomes
    o, en = out["win-back-export"], out["win-back-kpi-review"]
    m = o["metrics"]
    assert o["details"]["treated"] == ["sud"]
    assert m["kpi.repurchase.ci_low"] < TRUTH["lift_rel"] < m["kpi.repurchase.ci_high"]
    assert m["kpi.repurchase.change"] == pytest.approx(en["metrics"]["kpi.repurchase.change"], abs=0.1)
    # loan requests per active user: the campaign only adds repeat applications
    assert m["kpi.loan_requests.ci_low"] < 0.3 and "kpi.loan_requests.change" in m


def test_sample_names_are_not_defaults(outcomes: tuple[Path, dict[str, dict[str, Any]]], tmp_path: Path) -> None:
    root, _ = outcomes
    spec = (root / "playbooks" / "win-back-zh.yml").read_text(encoding="utf-8")
    bad = spec.replace("group_col: region, treated: [south],", "").replace("win-back-zh", "win-back-bad")
    (root / "playbooks" / "win-back-bad.yml").write_text(bad, encoding="utf-8")
    result = run_cli(root, "run", "--quiet", "playbooks/win-back-bad.yml")
    assert result.exit_code != 0
    (path,) = (root / "outputs" / "runs" / "win-back-bad").glob("*/kpi_review.outcome.json")
    assert "group_col, treated" in str(json.loads(path.read_text(encoding="utf-8"))["error"])
    shutil.rmtree(root / "outputs" / "runs" / "win-back-bad")


def test_the_weekly_counterfactual_gap_is_the_did() -> None:
    p = panel().assign(kpi="k", num=1.0, den=1.0)
    est = difference_in_differences(p)
    result = KpiResult([KpiRow("k", "repeat_orders", 0.0, est, True, "met")], p, "region", ["a"], ["b", "c"],
                       pd.Timestamp("2026-10-12").to_pydatetime(), 6, 4, 0.05)
    w = result.weekly()
    post = w[w.week >= 0]
    assert (post.treated - post.counterfactual).mean() == pytest.approx(est.did, abs=1e-12)
    assert list(w.week) == list(range(-6, 4))


@pytest.mark.slow
def test_at_scale_4_the_interval_narrows_around_the_planted_lift(tmp_path: Path) -> None:
    from playbook.analyses.kpi import review_kpis
    from playbook.sample import generate
    from playbook.sources import Warehouse

    generate(tmp_path, scale=4.0, seed=7, progress=False)
    r = review_kpis(Warehouse(tmp_path), targets={"repeat_orders": 0.08}, group_col="region",
                    treated=[TRUTH["region"]], campaign_start=TRUTH["start"], campaign_end=TRUTH["end"])
    (row,) = r.kpis
    assert row.est.change_low < TRUTH["lift_rel"] < row.est.change_high
    assert row.est.change_high - row.est.change_low < 0.45
    assert row.parallel


def test_a_run_takes_the_spec_targets_unless_it_sets_its_own() -> None:
    from playbook.runner.spec_models import Spec

    spec = Spec.model_validate({"campaign": "c", "title": "t", "owner": "o", "hypothesis": "h",
                                "ice": {"impact": 5, "confidence": 5, "ease": 5},
                                "targets": {"repurchase": 0.08}, "runs": [{"template": "kpi_review"}]})
    assert spec.filled({"targets", "kpis"}, {}) == {"targets": {"repurchase": 0.08}}
    assert spec.filled({"targets"}, {"targets": {"cac": -0.15}}) == {}
    assert spec.filled({"kpis"}, {}) == {}  # a template without the parameter gets nothing
