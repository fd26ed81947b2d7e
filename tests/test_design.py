"""experiment design on small hand-made event logs: baseline, traffic, CUPED, sample size, duration."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.test_readout import BINARY, MEAN, RATIO, make_warehouse

from playbook.analyses.experiment.design import design_experiment, spec_hypothesis
from playbook.errors import DataError, ParameterError
from playbook.sources import Warehouse
from playbook.stats import MetricSpec, duration_days, minimum_detectable_effect, sample_size

BEFORE = "2026-09-01"


def history(root: Path, users: int = 560, days: int = 28, rate: float = 0.4, seed: int = 3) -> pd.DataFrame:
    """``users`` verify in the ``days`` before BEFORE (plus some earlier, who are not eligible)."""
    rng = np.random.default_rng(seed)
    end = pd.Timestamp(BEFORE)
    first = end - pd.to_timedelta(rng.integers(1, days * 86400, users), unit="s")
    converted = rng.uniform(size=users) < rate
    approved = converted & (rng.uniform(size=users) < 0.7)
    revenue = np.where(converted, rng.gamma(2.0, 10.0, users), 0.0)
    uid = np.arange(users)
    rows: list[tuple[Any, ...]] = [(u, t, "verify_identity", 0.0) for u, t in zip(uid, first, strict=True)]
    rows += [(u, t + pd.Timedelta(days=2), "verify_identity", 0.0) for u, t in zip(uid, first, strict=True)]
    rows += [(u, t + pd.Timedelta(hours=3), "apply", 0.0) for u, t, c in zip(uid, first, converted, strict=True) if c]
    rows += [(u, t + pd.Timedelta(hours=4), "approve", 0.0) for u, t, c in zip(uid, first, approved, strict=True) if c]
    rows += [(u, t + pd.Timedelta(days=1), "disburse", r) for u, t, r in zip(uid, first, revenue, strict=True) if r]
    old = end - pd.Timedelta(days=days + 5)  # eligible before the lookback: left out
    rows += [(10_000 + k, old, "verify_identity", 0.0) for k in range(50)]
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["user_id", "ts", "event", "revenue"]).to_parquet(root / "events.parquet")
    return pd.DataFrame({"converted": converted.astype(float), "revenue": revenue})


def test_baseline_traffic_and_sample_size_follow_the_power_engine(tmp_path: Path) -> None:
    truth = history(tmp_path)
    res = design_experiment(Warehouse(tmp_path), [BINARY, MEAN, RATIO], before=BEFORE, lookback_days=28,
                            mde_rel=0.15, rho=0.5, max_days=120)
    assert res.history_users == 560
    assert res.baseline == pytest.approx(truth.converted.mean())
    assert res.daily_traffic == pytest.approx(560 / 28)
    assert res.variance_reduction == pytest.approx(0.25)
    ref = sample_size(MetricSpec.proportion(res.baseline), 0.15, variance_reduction=0.25)
    assert res.sample_size_per_arm == ref.units_control
    assert res.users_total == ref.units_total
    assert res.duration_days == duration_days(ref.units_total, 20.0)
    assert res.decision == "feasible"
    # the MDE curve shrinks with time and meets the target at the planned duration
    curve = res.curve.dropna()
    assert curve["mde_rel"].is_monotonic_decreasing
    assert (curve["mde_rel"] <= curve["mde_rel_no_cuped"]).all()
    at = curve.loc[curve["day"] == res.duration_days, "mde_rel"].iloc[0]
    assert at <= 0.15 < curve.loc[curve["day"] == res.duration_days - 1, "mde_rel"].iloc[0]
    # every metric gets a baseline; guardrails the power of their non-inferiority test
    table = res.metrics_table.set_index("metric")
    assert table.loc["rev", "baseline"] == pytest.approx(truth.revenue.mean())
    assert 0 < table.loc["approval", "ni_power"] <= 1
    assert set(res.metrics()) >= {"sample_size_per_arm", "duration_days", "mde_rel"}
    assert "Recommendation: feasible" in res.summary()


def test_too_long_names_the_mde_reachable_in_max_days(tmp_path: Path) -> None:
    history(tmp_path)
    res = design_experiment(Warehouse(tmp_path), [BINARY], before=BEFORE, lookback_days=28, mde_rel=0.02,
                            cuped=False, max_days=14)
    assert res.decision == "too-long" and res.duration_days > 14
    spec = MetricSpec.proportion(res.baseline)
    assert res.mde_at_max_days == pytest.approx(minimum_detectable_effect(spec, 20.0 * 14 / 2), rel=1e-6)
    assert "Too long" in res.headline()


def test_rho_measured_in_a_past_experiment(tmp_path: Path) -> None:
    truth = make_warehouse(tmp_path, n=(300, 300))
    events = pd.read_parquet(tmp_path / "events.parquet")
    extra = pd.DataFrame({"user_id": np.arange(1, 601), "ts": pd.Timestamp("2026-08-20"), "event": "verify_identity",
                          "revenue": 0.0})
    pd.concat([events, extra]).to_parquet(tmp_path / "events.parquet")
    res = design_experiment(Warehouse(tmp_path), [BINARY], before="2026-09-01", lookback_days=28,
                            rho_experiment="exp", mde_rel=0.2)
    c = truth[truth.arm == "control"]
    assert res.rho == pytest.approx(np.corrcoef(c.converted, c.pre)[0, 1], abs=1e-9)
    assert "measured in the control arm of exp" in res.rho_source


def test_bad_inputs(tmp_path: Path) -> None:
    history(tmp_path)
    wh = Warehouse(tmp_path)
    with pytest.raises(DataError, match=r"events\.parquet: column 'event' of table 'events' has no event 'signup' "
                                        r"\(events present: apply, approve, disburse, verify_identity\)"):
        design_experiment(wh, [BINARY], eligible_event="signup", before=BEFORE)
    with pytest.raises(DataError, match=r"events\.parquet: no user had a first 'verify_identity' event between"):
        design_experiment(wh, [BINARY], before="2020-01-01")
    with pytest.raises(DataError, match=r"allocation: give 2 positive shares"):
        design_experiment(wh, [BINARY], before=BEFORE, allocation=[1.0])
    with pytest.raises(DataError, match="sequential must be"):
        design_experiment(wh, [BINARY], before=BEFORE, sequential="daily")
    with pytest.raises(ParameterError, match="before=.* is not an ISO date"):
        design_experiment(wh, [BINARY], before="soon")
    with pytest.raises(DataError, match=r"metric 'rev'.*'amount'"):
        design_experiment(wh, [BINARY, {**MEAN, "value": "amount"}], before=BEFORE)


def test_unequal_allocation_and_sequential_designs_cost_more(tmp_path: Path) -> None:
    history(tmp_path)
    wh = Warehouse(tmp_path)
    kw: dict[str, Any] = dict(before=BEFORE, lookback_days=28, mde_rel=0.1, cuped=False, max_days=120)
    equal = design_experiment(wh, [BINARY], **kw)
    skewed = design_experiment(wh, [BINARY], allocation=[0.8, 0.2], **kw)
    seq = design_experiment(wh, [BINARY], sequential="confidence_sequence", **kw)
    assert skewed.ratio == pytest.approx(0.25)
    assert skewed.users_total > equal.users_total and skewed.duration_days > equal.duration_days
    assert seq.sample_size_per_arm > equal.sample_size_per_arm
    assert math.isfinite(equal.mde_at_max_days)


def test_spec_hypothesis(tmp_path: Path) -> None:
    (tmp_path / "s.yml").write_text("campaign: x\nhypothesis: >-\n  Banner lifts\n  applications\n")
    assert spec_hypothesis(str(tmp_path / "s.yml")) == "Banner lifts applications"
    assert spec_hypothesis("") == "" and spec_hypothesis(str(tmp_path / "missing.yml")) == ""


def test_a_missing_event_names_the_metric_and_the_events_present(tmp_path: Path) -> None:
    # before: "baseline rate must be strictly between 0 and 1, got 0.0", naming neither
    history(tmp_path)
    wh = Warehouse(tmp_path)
    with pytest.raises(DataError, match=r"metric 'conv': .*events\.parquet: column 'event' of table 'events' has no "
                                        r"event 'aply' \(events present: apply, approve, disburse, verify_identity\)"):
        design_experiment(wh, [{**BINARY, "event": "aply"}], before=BEFORE, lookback_days=28)
    # the event exists but no eligible user does it in the window: the metric and the users are named
    short = {**BINARY, "event": "disburse", "window_days": 0.5}
    with pytest.raises(DataError, match=r"metric 'conv' \(primary\): over the 560 users eligible between "
                                        r"2026-08-04 and 2026-08-31, baseline rate must be strictly between 0 and 1"):
        design_experiment(wh, [short], before=BEFORE, lookback_days=28)


def _past_experiment(root: Path) -> None:
    make_warehouse(root, n=(300, 300))
    events = pd.read_parquet(root / "events.parquet")
    extra = pd.DataFrame({"user_id": np.arange(1, 601), "ts": pd.Timestamp("2026-08-20"), "event": "verify_identity",
                          "revenue": 0.0})
    pd.concat([events, extra]).to_parquet(root / "events.parquet")


def test_rho_experiment_that_does_not_exist_or_lacks_the_control_arm(tmp_path: Path) -> None:
    # before: "experiment 'exp2' has no 'control' arm" for an experiment that does not exist
    _past_experiment(tmp_path)
    wh = Warehouse(tmp_path)
    kw: dict[str, Any] = dict(before="2026-09-01", lookback_days=28, mde_rel=0.2)
    with pytest.raises(DataError, match=r"rho_experiment: .*assignments\.parquet: no experiment 'exp2' in column "
                                        r"'experiment' \(experiments: exp\); .*or give rho"):
        design_experiment(wh, [BINARY], rho_experiment="exp2", **kw)
    with pytest.raises(DataError, match=r"rho_experiment: .*experiment 'exp' has no arm 'base' in column 'variant' "
                                        r"\(arms: control, treatment\)"):
        design_experiment(wh, [BINARY], rho_experiment="exp", control="base", **kw)


def test_rho_experiment_without_pre_period_rows_is_not_measured(tmp_path: Path) -> None:
    # before: reported as "measured in the control arm of exp" with rho 0
    _past_experiment(tmp_path)
    pre = pd.read_parquet(tmp_path / "metrics_pre.parquet")
    pre.assign(experiment="other").to_parquet(tmp_path / "metrics_pre.parquet")
    res = design_experiment(Warehouse(tmp_path), [BINARY], before="2026-09-01", lookback_days=28,
                            rho_experiment="exp", mde_rel=0.2)
    assert res.rho == 0.0 and res.variance_reduction == 0.0
    assert res.rho_source.startswith("not measured: ") and "no pre-period rows for experiment 'exp'" in res.rho_source
    assert "measured in the control arm" not in res.summary()
    assert "No pre-period covariate is used: the correlation was not measured: " in res.summary()
    assert res.details()["rho_source"] == res.rho_source
    pre.assign(pre_value=1.0).to_parquet(tmp_path / "metrics_pre.parquet")  # rows, but a constant covariate
    res = design_experiment(Warehouse(tmp_path), [BINARY], before="2026-09-01", lookback_days=28,
                            rho_experiment="exp", mde_rel=0.2)
    assert res.rho_source == "not measured: the pre-period covariate is constant in the control arm of exp"
