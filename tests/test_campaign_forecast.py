"""campaign_forecast: known rates recovered from simulated campaigns, prediction intervals that
hold about 95% of new campaigns, MAPE by hand, errors that name the parameter; end to end through
``playbook run`` on the sample warehouse (English and zh-CN) and on the second warehouse."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from tests.conftest import ROOT, make_demo_project, run_cli
from tests.other_warehouse import CAMPAIGN_CHANNELS, write_other_warehouse

from playbook.analyses.forecast import ForecastDecision, columns_from, forecast_campaign
from playbook.analyses.forecast.backtest import Settings, backtest, mape, scores
from playbook.analyses.forecast.model import choose_design, fit
from playbook.errors import DataError, ParameterError
from playbook.sources import Warehouse

RATES = {"a": (0.10, 0.20), "b": (0.04, 0.10)}  # channel -> (participation, conversion)
CJK = re.compile(r"[\u4e00-\u9fff]")


def campaigns(n: int, seed: int, noise: float = 0.1) -> pd.DataFrame:
    """``n`` campaigns with known channel rates and lognormal campaign noise, budget and duration
    without effect."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        ch = "a" if i % 2 else "b"
        aud = int(rng.integers(5_000, 80_000))
        p = int(rng.binomial(aud, RATES[ch][0] * np.exp(noise * rng.standard_normal())))
        rows.append({"campaign": f"c{i:03d}", "channel": ch, "start": pd.Timestamp("2025-01-01") + pd.Timedelta(days=7 * i),
                     "duration_days": float(rng.integers(7, 29)), "budget": aud * 0.02 * np.exp(0.2 * rng.standard_normal()),
                     "audience": float(aud), "participants": float(p),
                     "conversions": float(rng.binomial(p, RATES[ch][1] * np.exp(noise * rng.standard_normal())))})
    return pd.DataFrame(rows)


def test_the_model_recovers_known_rates() -> None:
    frame = campaigns(120, seed=3)
    design = choose_design(frame, min_channel=3, per_coef=3)
    assert set(design.channels) == {"a", "b"} and not design.pooled
    part = fit(frame, design, "participants", frame["audience"].to_numpy())
    conv = fit(frame, design, "conversions", frame["participants"].to_numpy())
    idx = {c: i for i, c in enumerate(design.channels)}
    for ch, (p, c) in RATES.items():
        # the mean of exp(0.1 z) is exp(0.005): the rates' means are 0.5% above the medians
        assert np.exp(part.beta[idx[ch]]) == pytest.approx(p * np.exp(0.005), rel=0.04)
        assert np.exp(conv.beta[idx[ch]]) == pytest.approx(c * np.exp(0.005), rel=0.05)
    # the lognormal sd 0.1 shows as alpha = exp(0.01) - 1 (plus the binomial part, small)
    assert part.alpha == pytest.approx(np.exp(0.01) - 1, rel=0.35)


def test_prediction_intervals_hold_about_95_percent_of_new_campaigns() -> None:
    inside = []
    for seed in range(4):
        points = backtest(campaigns(50, seed=seed), 30, Settings(draws=1000, seed=seed))
        inside += [*points["participation_inside"], *points["conversion_inside"]]
    assert len(inside) == 160
    assert 0.88 <= np.mean(inside) <= 0.995


def test_mape_and_coverage_by_hand() -> None:
    assert mape(np.array([100, 200, 0]), np.array([110, 150, 5])) == pytest.approx((0.10 + 0.25) / 2)
    points = pd.DataFrame({"participation_actual": [100.0, 200.0], "participation_forecast": [90.0, 200.0],
                           "participation_inside": [True, False], "conversion_actual": [10.0, 20.0],
                           "conversion_forecast": [12.0, 15.0], "conversion_inside": [True, True]})
    s = scores(points).set_index("target")
    assert s.loc["participation", "mape"] == pytest.approx(0.05)
    assert s.loc["conversion", "mape"] == pytest.approx((0.2 + 0.25) / 2)
    assert (s.loc["participation", "coverage"], s.loc["conversion", "coverage"]) == (0.5, 1.0)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fc_small")
    frame = campaigns(24, seed=5)
    frame["end"] = frame["start"] + pd.to_timedelta(frame["duration_days"] - 1, unit="D")
    frame.drop(columns="duration_days").rename(columns={"start": "launch"}).to_parquet(out / "crm.parquet")
    return out


def test_the_analysis_on_a_table_with_other_names(small: Path) -> None:
    r = forecast_campaign(Warehouse(small), channel="a", budget=800, duration_days=14, audience=40_000,
                          table="crm", columns=columns_from({"start": "launch"}), draws=1000)
    m = r.metrics()
    assert m["forecast.participation.pi_low"] < m["forecast.participation"] < m["forecast.participation.pi_high"]
    assert m["forecast.participation_rate"] == pytest.approx(0.10, rel=0.1)
    assert m["backtest.points"] == 14 and r.decision in set(ForecastDecision)
    assert r.similar["channel"].iloc[0] == "a"
    info = {i.name: i for i in r.metric_info()}
    assert set(m) <= set(info) and info["forecast.conversion"].level == 0.95
    assert forecast_campaign(Warehouse(small), channel="a", budget=800, duration_days=14, audience=40_000,
                             table="crm", columns=columns_from({"start": "launch"}), backtest_start=22,
                             draws=500).decision is ForecastDecision.INSUFFICIENT


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"channel": None}, "channel: the planned campaign's channel is missing; set channel to one of .*a, b"),
    ({"channel": "email"}, "channel='email': no past campaign in table 'crm' used this channel"),
    ({"budget": None}, "budget: the planned campaign's budget is missing"),
    ({"audience": -5}, "audience=-5: give the planned campaign's audience"),
    ({"duration_days": 2.5}, "duration_days=2.5: .* whole number"),
    ({"max_mape": 0}, "max_mape=0: give the largest backtest MAPE"),
])
def test_bad_plans_name_the_parameter(small: Path, kwargs: dict[str, Any], message: str) -> None:
    plan: dict[str, Any] = {"channel": "a", "budget": 800, "duration_days": 14, "audience": 40_000} | kwargs
    with pytest.raises(ParameterError, match=message):
        forecast_campaign(Warehouse(small), table="crm", columns=columns_from({"start": "launch"}), **plan)


def test_missing_columns_and_unknown_keys(small: Path) -> None:
    with pytest.raises(DataError, match="has no column 'start'"):
        forecast_campaign(Warehouse(small), table="crm", channel="a", budget=1, duration_days=1, audience=1)
    with pytest.raises(ParameterError, match="columns: unknown key 'begin'"):
        columns_from({"begin": "launch"})


def _outcome(root: Path, campaign: str) -> dict[str, Any]:
    (run_dir,) = (root / "outputs" / "runs" / campaign).iterdir()
    return dict(json.loads((run_dir / "campaign_forecast.outcome.json").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def runs(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The demo spec in English and zh-CN on the sample warehouse, and on the second warehouse."""
    root = make_demo_project(tmp_path_factory, "forecast")
    spec = yaml.safe_load((ROOT / "playbooks" / "next-campaign-forecast.yml").read_text(encoding="utf-8"))
    zh = spec | {"campaign": "next-campaign-forecast-zh", "language": "zh-CN"}
    (root / "playbooks" / "next-campaign-forecast-zh.yml").write_text(yaml.safe_dump(zh), encoding="utf-8")
    other = tmp_path_factory.mktemp("forecast-other")
    shutil.copytree(ROOT / "notebooks", other / "notebooks")
    write_other_warehouse(sample, other / "exports" / "crm")
    (other / "playbooks").mkdir()
    renamed = spec | {"campaign": "crm-forecast", "data": {"warehouse": "exports/crm"}}
    renamed["runs"] = [{"template": "campaign_forecast",
                        "parameters": spec["runs"][0]["parameters"] | {"channel": CAMPAIGN_CHANNELS["email"]}}]
    (other / "playbooks" / "crm-forecast.yml").write_text(yaml.safe_dump(renamed), encoding="utf-8")
    for project, path in ((root, "playbooks/next-campaign-forecast.yml"), (root, "playbooks/next-campaign-forecast-zh.yml"),
                          (other, "playbooks/crm-forecast.yml")):
        result = run_cli(project, "run", "--quiet", path)
        assert result.exit_code == 0, result.output
    return {"en": _outcome(root, "next-campaign-forecast"), "zh": _outcome(root, "next-campaign-forecast-zh"),
            "other": _outcome(other, "crm-forecast")}


def test_the_sample_backtest_covers_within_10_points_of_nominal(runs: dict[str, dict[str, Any]],
                                                                 sample: Path) -> None:
    en = runs["en"]
    assert en["status"] == "ok", en.get("error")
    m = en["metrics"]
    for t in ("participation", "conversion"):
        assert abs(m[f"backtest.{t}.coverage"] - 0.95) <= 0.10
        assert m[f"backtest.{t}.mape"] < 0.25
    assert en["decision"] == "trustworthy" and en["tone"] == "good"
    assert f"{m['backtest.participation.coverage']:.0%} of participation" in en["headline"]
    # the planted email participation rate (sample.params: 8%) lies inside the forecast's interval
    assert m["forecast.participation_rate.pi_low"] < 0.08 < m["forecast.participation_rate.pi_high"]
    past = pd.read_parquet(sample / "campaigns.parquet")
    assert m["history.campaigns"] == len(past) and m["backtest.points"] == len(past) - 10
    assert en["metric_info"]["forecast.participation"]["level"] == 0.95
    assert all(not re.search("email|push|sms|in_app", k) for k in m)


def test_zh_cn_and_the_second_warehouse_give_the_same_numbers(runs: dict[str, dict[str, Any]]) -> None:
    en, zh, other = runs["en"], runs["zh"], runs["other"]
    assert (zh["status"], other["status"]) == ("ok", "ok"), (zh.get("error"), other.get("error"))
    assert CJK.search(zh["headline"]) and zh["decision"] == en["decision"]
    assert zh["metrics"] == pytest.approx(en["metrics"], rel=1e-9)
    assert all(CJK.search(v["label"]) for v in zh["metric_info"].values())
    assert CAMPAIGN_CHANNELS["email"] in other["headline"]
    assert other["decision"] == en["decision"]  # the same campaigns; channel order (by name) moves the draws
    assert other["metrics"] == pytest.approx(en["metrics"], rel=0.05)
