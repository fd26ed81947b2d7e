"""process_efficiency's weekly trend tests, one per step, corrected across the steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from playbook.analyses.process.analysis import analyze_process
from playbook.analyses.process.trend import trend_tests
from playbook.errors import ParameterError
from playbook.sources import Warehouse
from playbook.stats.corrections import CORRECTIONS, holm

T0 = pd.Timestamp("2026-03-02")  # a Monday


@pytest.mark.parametrize("n_sim", [pytest.param(600, id="n600"),
                                   pytest.param(6000, id="n6000", marks=pytest.mark.slow)])
def test_family_wise_false_positives_on_trendless_steps_are_near_alpha_after_correction(
        n_sim: int) -> None:
    """Five steps, 20 weeks of weekly medians without any trend, seeded replications: a raw
    p <= 0.05 on some step happens in ~23% of them (1 - 0.95^5); after Holm in ~5%."""
    rng = np.random.default_rng(2026)
    steps, weeks, alpha = 5, 20, 0.05
    raw_any = corrected_any = 0
    for _ in range(n_sim):
        series = {f"s{k}": rng.lognormal(1.0, 0.3, weeks) for k in range(steps)}
        t = trend_tests(series, alpha=alpha)
        raw_any += bool((t["p_value"] <= alpha).any())
        corrected_any += bool(t["significant"].any())
    raw, corrected = raw_any / n_sim, corrected_any / n_sim
    se = (alpha * (1 - alpha) / n_sim) ** 0.5
    uncorrected = 1 - (1 - alpha) ** steps
    assert raw > alpha + 6 * se and abs(raw - uncorrected) < 0.04, raw
    assert abs(corrected - alpha) < 3 * se, corrected


def test_trend_tests_report_raw_and_corrected_p_and_decide_on_corrected() -> None:
    rising = np.arange(12) + np.random.default_rng(1).normal(0, 0.5, 12)
    flat = np.random.default_rng(2).normal(5, 1, 12)
    t = trend_tests({"a": rising, "b": flat, "c": flat[::-1], "short": [1.0, 2.0, 3.0]})
    t = t.set_index("step")
    tested = t["p_value"].notna()
    assert list(t.index[~tested]) == ["short"]  # fewer than 4 weeks: no test, not in the family
    assert t.loc[tested, "p_adjusted"].to_numpy() == pytest.approx(holm(t.loc[tested, "p_value"]))
    assert np.isnan(t.loc["short", "p_adjusted"]) and not t.loc["short", "significant"]
    assert t.loc["a", "significant"] and t.loc["a", "trend"] == "slower"
    assert t.loc["b", "trend"] == "none" and t.loc["short", "trend"] == "too few weeks"
    assert (t["significant"] == (t["p_adjusted"] <= 0.05)).all()
    # a p-value just under alpha that the correction lifts above it is not a trend
    none = trend_tests({"a": rising, "b": flat}, correction="none").set_index("step")
    assert none["p_adjusted"].equals(none["p_value"])
    assert set(CORRECTIONS) == {"holm", "bh", "bonferroni", "none"}
    with pytest.raises(ParameterError, match=r"trend_correction='sidak': give one of holm, bh, "
                                             r"bonferroni, none"):
        trend_tests({"a": rising}, correction="sidak")


def _log(tmp_path: Path, slope_h: dict[str, float], weeks: int = 12, seed: int = 3) -> Warehouse:
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(weeks * 30):
        week = c // 30
        t = T0 + pd.Timedelta(hours=week * 168 + rng.uniform(0, 100))
        for step, slope in slope_h.items():
            dur = 5 + slope * week + rng.uniform(0, 1)
            rows.append((c, step, t, t + pd.Timedelta(hours=dur)))
            t = t + pd.Timedelta(hours=dur + 0.5)
    df = pd.DataFrame(rows, columns=["case_id", "step", "start_ts", "end_ts"])
    df[["start_ts", "end_ts"]] = df[["start_ts", "end_ts"]].astype("datetime64[us]")
    df.to_parquet(tmp_path / "process_log.parquet")
    return Warehouse(tmp_path)


def test_process_trend_table_is_corrected_across_steps(tmp_path: Path) -> None:
    r = analyze_process(_log(tmp_path, {"a": 0.0, "b": 2.0, "c": 0.0, "d": 0.0}))
    t = r.trend.set_index("step")
    assert {"p_value", "p_adjusted", "significant", "trend"} <= set(t.columns)
    assert t["p_adjusted"].to_numpy() == pytest.approx(holm(t["p_value"].to_numpy()))
    assert t.loc["b", "trend"] == "slower" and t.loc["b", "significant"]
    assert "'b' is getting slower" in r.headline()
    m = r.metrics()
    assert m["step.b.trend_p_adjusted"] == pytest.approx(t.loc["b", "p_adjusted"], abs=1e-6)
    assert m["step.b.trend_p_value"] == pytest.approx(t.loc["b", "p_value"], abs=1e-6)
    assert r.details()["trend_correction"] == "holm"
    bonf = analyze_process(_log(tmp_path, {"a": 0.0, "b": 2.0}), trend_correction="bonferroni",
                           alpha=0.01).trend.set_index("step")
    assert bonf["p_adjusted"].to_numpy() == pytest.approx(
        np.minimum(bonf["p_value"].to_numpy() * 2, 1.0))
