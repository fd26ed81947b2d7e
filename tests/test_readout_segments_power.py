"""experiment readout: does the effect differ between segments (Cochran's Q), and the power of a
running experiment from both arms' observed variances."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st
from statsmodels.stats.meta_analysis import combine_effects
from tests.test_readout import BINARY, MEAN, make_warehouse

from playbook.analyses.experiment.arms import heterogeneity
from playbook.analyses.experiment.readout import analyze_experiment
from playbook.sources import Warehouse
from playbook.stats import MetricSpec, power_at


def test_cochran_q_matches_statsmodels_meta_analysis() -> None:
    lifts, ses = np.array([0.05, 0.12, -0.02, 0.30]), np.array([0.04, 0.05, 0.06, 0.08])
    seg = pd.DataFrame({"segment": "channel", "arm": "treatment", "level": list("abcd"), "lift_rel": lifts,
                        "lift_se": ses})
    (row,) = heterogeneity(seg, 0.05, "holm").to_dict("records")
    ref = combine_effects(lifts, ses**2)
    assert row["q"] == pytest.approx(ref.q, rel=1e-12) and row["df"] == 3
    assert row["p_value"] == pytest.approx(st.chi2.sf(ref.q, 3), rel=1e-12)
    assert row["i2"] == pytest.approx(ref.i2, rel=1e-9)
    assert (row["level_min"], row["level_max"]) == ("c", "d")


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_a_uniform_lift_gives_no_evidence_of_a_difference_by_segment(tmp_path: Path, seed: int) -> None:
    # before: "Segments where the lift differs from zero after correction: device = ios", a
    # different segment for each seed, read as "the effect differs between segments"
    make_warehouse(tmp_path, n=(900, 900), lift=0.25, seed=seed)
    res = analyze_experiment(Warehouse(tmp_path), "exp", [BINARY], segments=["device"], min_segment_users=50)
    assert "no evidence that the effect differs by device" in res.summary()
    assert "Segments where the lift differs from zero" not in res.summary()
    (row,) = res.details()["heterogeneity"]
    assert row["segment"] == "device" and row["levels"] == 2 and not row["differs"]


def test_planted_heterogeneity_is_found(tmp_path: Path) -> None:
    make_warehouse(tmp_path, n=(1500, 1500), lift=0.0, web_lift=0.8, seed=6)  # web +80%, ios unchanged
    res = analyze_experiment(Warehouse(tmp_path), "exp", [BINARY], segments=["device"], min_segment_users=50)
    het = res.heterogeneity.iloc[0]
    assert het["differs"] and het["p_value_adj"] < 0.01
    assert (het["level_max"], het["level_min"]) == ("web", "ios")
    assert "**the effect differs by device** (Cochran's Q p" in res.summary()
    assert "from " in res.summary() and "(ios) to +" in res.summary()


def _per_arm_variance_warehouse(root: Path, n: int = 300) -> pd.DataFrame:
    """A mean metric whose treatment arm is four times as variable as control (sd 20 vs 10)."""
    rng = np.random.default_rng(12)
    arm = np.array(["control"] * n + ["treatment"] * n)
    value = np.where(arm == "control", rng.normal(50, 10, 2 * n), rng.normal(50, 20, 2 * n))
    uid = np.arange(1, 2 * n + 1)
    t0 = pd.Timestamp("2026-09-01") + pd.to_timedelta(np.arange(2 * n) * 600, unit="s")
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"user_id": uid, "experiment": "exp", "variant": arm, "assigned_ts": t0}).to_parquet(
        root / "assignments.parquet")
    pd.DataFrame({"user_id": uid, "ts": t0 + pd.Timedelta(hours=1), "event": "disburse", "revenue": value}
                 ).to_parquet(root / "events.parquet")
    return pd.DataFrame({"arm": arm, "value": value})


def test_running_power_reads_both_arms_variances_and_says_how_many_more_users(tmp_path: Path) -> None:
    truth = _per_arm_variance_warehouse(tmp_path)
    metric = {**MEAN, "role": "primary"}
    res = analyze_experiment(Warehouse(tmp_path), "exp", [metric], cuped=False, mde_rel=0.05, power=0.8,
                             planned_users_per_arm=2000)
    assert res.decision == "keep-running"
    c, t = truth[truth.arm == "control"].value, truth[truth.arm == "treatment"].value
    se = math.sqrt(c.var(ddof=1) / len(c) + t.var(ddof=1) / len(t))
    delta, z = 0.05 * c.mean(), st.norm.isf(0.025)
    expected = st.norm.sf(z - delta / se) + st.norm.cdf(-z - delta / se)
    running = res.plan["running"]["treatment"]
    assert running["power"] == pytest.approx(expected, rel=1e-6)
    # the control-only figure assumes the control's variance in both arms: far too optimistic here
    control_only = power_at(MetricSpec("mean", c.mean(), c.var(ddof=1)), 0.05, len(c))
    assert res.plan["power_now"] > running["power"] + 0.1 and res.plan["power_now"] == pytest.approx(
        control_only, abs=0.02)
    # users to reach 80%: se shrinks with sqrt(n) at the current split
    need = se**2 * len(c) * (z + st.norm.isf(0.2)) ** 2 / delta**2
    assert abs(running["users_per_arm"] - need) <= 1.5
    assert running["more_users_per_arm"] == running["users_per_arm"] - len(c)
    assert running["more_users_total"] == pytest.approx(2 * running["more_users_per_arm"], abs=1)
    metrics = res.metrics()
    assert metrics["power_observed"] == pytest.approx(expected, rel=1e-6)
    assert metrics["more_users_per_arm"] == running["more_users_per_arm"]
    text = res.summary()
    assert (f"has {round(100 * expected)}% power for a +5.0% relative lift on the primary metric; about "
            f"{running['more_users_per_arm']:,} more users per arm") in text
    assert "reach 80%." in text


def test_running_power_is_not_shown_when_the_decision_is_made(tmp_path: Path) -> None:
    make_warehouse(tmp_path, n=(400, 400), lift=0.6)
    res = analyze_experiment(Warehouse(tmp_path), "exp", [BINARY])
    assert res.decision == "ship"
    assert "more users per arm" not in res.summary() and "more_users_per_arm" not in res.metrics()
    assert "treatment" in res.details()["plan"]["running"]
