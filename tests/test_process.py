"""process_efficiency logic: quantiles, waits, SLA breaches, WIP, trend, segments, planted step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from playbook.analyses.process.analysis import analyze_process
from playbook.errors import DataError
from playbook.sources import Warehouse
from playbook.stats.trend import mann_kendall

T0 = pd.Timestamp("2026-03-02")  # a Monday
STEPS = ["submit", "document_check", "manual_review", "credit_decision", "payout"]


def write_log(tmp_path: Path, rows: list[tuple[Any, ...]], extra: dict[str, Any] | None = None) -> Warehouse:
    """rows: (case_id, step, start hours after T0, end hours or None)."""
    df = pd.DataFrame(rows, columns=["case_id", "step", "s", "e"])
    df["start_ts"] = (T0 + pd.to_timedelta(df["s"], unit="h")).astype("datetime64[us]")
    df["end_ts"] = (T0 + pd.to_timedelta(df["e"].astype(float), unit="h")).astype("datetime64[us]")
    for k, v in (extra or {}).items():
        df[k] = v
    df.drop(columns=["s", "e"]).to_parquet(tmp_path / "process_log.parquet")
    return Warehouse(tmp_path)


HAND = [
    # case 1: submit 0-1, review 3-13 (waits 2 h), payout 13-14
    (1, "submit", 0, 1), (1, "review", 3, 13), (1, "payout", 13, 14),
    # case 2: submit 24-26, review 26-30, payout still open
    (2, "submit", 24, 26), (2, "review", 26, 30), (2, "payout", 31, None),
    # case 3: submit 48-48.5, review 50-70 (waits 1.5 h), payout 71-72 (waits 1 h)
    (3, "submit", 48, 48.5), (3, "review", 50, 70), (3, "payout", 71, 72),
]


def test_hand_worked_log(tmp_path: Path) -> None:
    r = analyze_process(write_log(tmp_path, HAND), sla_hours={"review": 8, "payout": 2})
    s = r.steps.set_index("step")
    assert list(s.index) == ["submit", "review", "payout"]  # by median offset from case start
    # review durations 10, 4, 20: median 10; SLA 8 breached by cases 1 and 3: 2 + 12 = 14 h
    assert s.loc["review", "p50_h"] == 10
    assert s.loc["review", "breaches"] == 2
    assert s.loc["review", "sla_breach"] == pytest.approx(2 / 3)
    assert s.loc["review", "hours_at_stake"] == pytest.approx(14)
    lo, hi = proportion_confint(2, 3, method="wilson")
    assert (s.loc["review", "sla_breach_ci_low"], s.loc["review", "sla_breach_ci_high"]) == \
        pytest.approx((lo, hi))
    # waits before review: 2, 0, 1.5 -> median 1.5; before payout: 0, 1, 1 -> median 1
    assert s.loc["review", "wait_p50_h"] == pytest.approx(1.5)
    assert s.loc["payout", "wait_p50_h"] == pytest.approx(1.0)
    # payout: 2 closed rows (1 h each), 1 open, no breach
    assert (s.loc["payout", "rows"], s.loc["payout", "open_rows"]) == (2, 1)
    assert s.loc["payout", "hours_at_stake"] == 0
    assert np.isnan(s.loc["submit", "sla_breach"])  # no SLA for submit
    assert r.slowest_step == "review" and r.step_to_fix == "review"
    # cycle: case 1: 14 h, case 3: 24 h (case 2 is open) -> median 19
    assert (r.cases, r.closed_cases) == (3, 2)
    assert r.cycle_p50_h == pytest.approx(19)
    # WIP at the end of each day: day 0: case 1 done -> 0; day 1: case 2 open -> 1;
    # day 2: case 2 and case 3 (ends 72 h = day 3 00:00) -> 2; day 3: case 2 -> 1
    assert r.wip["open_cases"].tolist() == [0, 1, 2, 1]
    assert r.wip["day"].iloc[0] == pd.Timestamp("2026-03-02")
    head = r.headline()
    assert "'review'" in head and "14 hours above SLA" in head
    m = r.metrics()
    assert m["step.review.p50_h"] == 10 and m["step.review.sla_breach"] == pytest.approx(2 / 3,
                                                                                          abs=1e-6)
    assert m["overall.cycle_p50_h"] == 19 and m["overall.hours_at_stake"] == 14
    json.dumps(r.details(), allow_nan=False)


def test_quantiles_match_numpy(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rows: list[tuple[Any, ...]] = []
    durs: dict[str, list[float]] = {"a": [], "b": []}
    for c in range(40):
        t = rng.uniform(0, 500)
        for name in ("a", "b"):
            d = float(rng.lognormal(1, 1))
            rows.append((c, name, t, t + d))
            durs[name].append(d)
            t += d + 1
    r = analyze_process(write_log(tmp_path, rows))
    s = r.steps.set_index("step")
    for name in ("a", "b"):
        want = np.percentile(durs[name], [50, 75, 90, 95, 99])
        got = s.loc[name, ["p50_h", "p75_h", "p90_h", "p95_h", "p99_h"]].to_numpy(float)
        np.testing.assert_allclose(got, want, rtol=1e-9)
    assert np.isnan(s.loc["a", "wait_p50_h"])  # a is every case's first step
    assert s.loc["b", "wait_p50_h"] == pytest.approx(1.0, abs=1e-6)
    # no SLAs: the step to fix carries the most hours (duration + waits)
    total = {n: sum(durs[n]) + (40.0 if n == "b" else 0.0) for n in durs}
    assert r.step_to_fix == max(total, key=total.__getitem__)
    assert "hours above SLA" not in r.headline()


def test_trend_detects_slowing_step(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    rows = []
    for c in range(400):
        week = c // 40  # 10 weeks, 40 cases each
        t = week * 168 + rng.uniform(0, 100)
        rows.append((c, "fast", t, t + rng.uniform(0.5, 1.5)))
        rows.append((c, "slow", t + 2, t + 2 + 5 + 2 * week + rng.uniform(0, 1)))
    r = analyze_process(write_log(tmp_path, rows))
    tr = r.trend.set_index("step")
    assert tr.loc["slow", "weeks"] == 10
    assert tr.loc["slow", "p_value"] < 0.01 and tr.loc["slow", "slope_h_per_week"] == \
        pytest.approx(2, abs=0.3)
    assert tr.loc["fast", "p_value"] > 0.01
    assert np.isnan(mann_kendall([1, 2, 3])[1])
    assert mann_kendall([2, 2, 2, 2]) == (0.0, 1.0, 0.0)


def test_segments_from_column_and_frame(tmp_path: Path) -> None:
    wh = write_log(tmp_path, HAND, extra={"region": ["n", "n", "n", "s", "s", "s", "n", "n", "n"]})
    r = analyze_process(wh, sla_hours={"review": 8}, segment_col="region")
    seg = r.segments.set_index(["segment", "step"])
    assert seg.loc[("n", "review"), "rows"] == 2  # cases 1 and 3: 10 h and 20 h
    assert seg.loc[("n", "review"), "p50_h"] == 15
    assert seg.loc[("n", "review"), "sla_breach"] == 1.0
    assert seg.loc[("s", "review"), "sla_breach"] == 0.0
    frame = pd.DataFrame({"case_id": [1, 2], "segment": ["web", "app"]})  # case 3 unmapped
    r = analyze_process(wh, sla_hours={"review": 8}, segments=frame)
    seg = r.segments.set_index(["segment", "step"])
    assert seg.loc[("(missing)", "review"), "p50_h"] == 20
    assert seg.loc[("web", "review"), "breaches"] == 1


def test_errors_name_the_column_and_step(tmp_path: Path) -> None:
    wh = write_log(tmp_path, HAND)
    with pytest.raises(DataError, match=r"no step 'reveiw' named in sla_hours; steps present: "
                                        r"payout, review, submit"):
        analyze_process(wh, sla_hours={"reveiw": 8})
    with pytest.raises(DataError, match=r"process_log\.parquet.*no column 'opened'"):
        analyze_process(wh, start_col="opened")
    with pytest.raises(DataError, match="segments: expected a DataFrame"):
        analyze_process(wh, segments=pd.DataFrame({"id": [1]}))


def test_planted_slow_step(tmp_path: Path) -> None:
    """~50k rows shaped like the sample warehouse: manual_review is slow and over its SLA."""
    rng = np.random.default_rng(11)
    med = {"submit": 0.07, "document_check": 0.7, "manual_review": 26.0, "credit_decision": 1.5,
           "payout": 0.75}
    n = 10_000
    t = rng.uniform(0, 24 * 90, n)
    frames = []
    for name, m in med.items():
        s = t + rng.exponential(0.3, n)
        e = s + m * rng.lognormal(0, 0.5, n)
        frames.append(pd.DataFrame({"case_id": np.arange(n), "step": name, "s": s, "e": e}))
        t = e
    rows = list(pd.concat(frames).itertuples(index=False, name=None))
    sla = {"submit": 1.0, "document_check": 4.0, "manual_review": 24.0, "credit_decision": 4.0,
           "payout": 4.0}
    r = analyze_process(write_log(tmp_path, rows), sla_hours=sla)
    assert list(r.steps["step"]) == list(med)
    assert r.slowest_step == "manual_review" and r.step_to_fix == "manual_review"
    s = r.steps.set_index("step")
    assert s.loc["manual_review", "p50_h"] == pytest.approx(26, rel=0.05)
    assert s.loc["manual_review", "sla_breach"] == pytest.approx(0.56, abs=0.03)
    assert "Fix 'manual_review'" in r.headline()


# -- order-statistic intervals for the median and p90 -----------------------------------------------
def ci_reference(x: np.ndarray, q: float) -> tuple[float, float]:
    """numpy reference: np.sort and the ranks floor(nq - z s), ceil(nq + z s) + 1, clipped."""
    n, z = len(x), 1.959963984540054
    s = np.sqrt(n * q * (1 - q))
    lo = min(max(int(np.floor(n * q - z * s)), 1), n)
    hi = min(max(int(np.ceil(n * q + z * s)) + 1, 1), n)
    xs = np.sort(x)
    return float(xs[lo - 1]), float(xs[hi - 1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_duration_intervals_match_numpy(tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    sizes = {"one": 1, "two": 2, "three": 3, "small": 7, "mid": 45, "big": 313}
    rows: list[tuple[Any, ...]] = []
    durs = {}
    c = 0
    for name, n in sizes.items():
        d = rng.lognormal(1, 1, n)
        durs[name] = d
        for v in d:
            t = float(rng.uniform(0, 500))
            rows.append((c, name, t, t + float(v)))
            c += 1
    rows.append((c, "never_closed", 0.0, None))  # no closed row: no interval
    r = analyze_process(write_log(tmp_path, rows))
    s = r.steps.set_index("step")
    m = r.metrics()
    for name, d in durs.items():
        for col, q in (("p50", 0.5), ("p90", 0.9)):
            lo, hi = ci_reference(d, q)
            got = s.loc[name, [f"{col}_ci_low", f"{col}_ci_high"]].to_numpy(float)
            np.testing.assert_allclose(got, [lo, hi], rtol=1e-9)
            assert got[0] <= s.loc[name, f"{col}_h"] <= got[1]
            assert m[f"step.{name}.{col}_h_ci_low"] == pytest.approx(lo, abs=1e-6)
            assert m[f"step.{name}.{col}_h_ci_high"] == pytest.approx(hi, abs=1e-6)
    one = s.loc["one", ["p50_ci_low", "p50_ci_high", "p90_ci_low", "p90_ci_high"]]
    assert one.tolist() == pytest.approx([durs["one"][0]] * 4)  # n = 1: the single value
    two = s.loc["two", ["p50_ci_low", "p50_ci_high"]].tolist()
    assert two == pytest.approx([durs["two"].min(), durs["two"].max()])  # n = 2: the whole range
    assert s.loc["never_closed", ["p50_ci_low", "p90_ci_high"]].isna().all()
    assert not any(k.startswith("step.never_closed.p50_h_ci") for k in m)
    assert all(np.isfinite(v) for v in m.values())
    json.dumps(r.details(), allow_nan=False)


def test_interval_ranks_and_coverage() -> None:
    from scipy.stats import binom

    from playbook.stats.proportions import quantile_ci_probs, quantile_ci_ranks

    lo, hi = quantile_ci_ranks([0, 1, 2, 100], 0.5)
    assert lo.tolist() == [0, 1, 1, 40] and hi.tolist() == [0, 1, 2, 61]
    assert quantile_ci_probs(0, 0.5) is None
    # exact binomial coverage P(l <= B <= u - 1) is >= 95% from 6 (median) / 31 (p90) values
    for q, first in ((0.5, 6), (0.9, 31)):
        n = np.arange(1, 5000)
        lo, hi = quantile_ci_ranks(n, q)
        cover = binom.cdf(hi - 1, n, q) - binom.cdf(lo - 1, n, q)
        assert (cover[n >= first] >= 0.95).all() and cover[first - 2] < 0.95


def test_quantile_disc_probabilities_pick_the_rank() -> None:
    """(r - 1/2) / n makes DuckDB's quantile_disc return the r-th smallest value, for every r."""
    import duckdb

    con = duckdb.connect()
    for n in [*range(1, 80), 997, 1000, 4099]:
        con.execute(f"CREATE OR REPLACE TABLE t AS SELECT range::DOUBLE + 1 AS x FROM range({n})")
        ranks = sorted(r for r in {1, 2, n // 2, n // 2 + 1, n - 1, n,
                                    *range(1, n + 1, max(n // 17, 1))} if 1 <= r <= n)
        probs = ", ".join(repr((r - 0.5) / n) for r in ranks)
        row = con.execute(f"SELECT quantile_disc(x, [{probs}]) FROM t").fetchone()
        assert row is not None and row[0] == [float(r) for r in ranks]


# -- the two paths of the step pass (process_sql): slots per case, or a window ----------------------
def run_both(wh: Warehouse, monkeypatch: pytest.MonkeyPatch, **kw) -> tuple[Any, ...]:
    """analyze_process via the slots (asserting no window ran) and via the window."""
    import playbook.analyses.process.sql as ps

    windows = []
    real = ps.ProcessSQL._window_rows

    def counted(self: ps.ProcessSQL) -> Any:
        windows.append(1)
        return real(self)

    monkeypatch.setattr(ps.ProcessSQL, "_window_rows", counted)
    slots = analyze_process(wh, **kw)
    assert not windows
    monkeypatch.setattr(ps, "MAX_SLOTS", 0)
    window = analyze_process(wh, **kw)
    assert windows
    return slots, window


def assert_same(a, b) -> None:
    for name in ("steps", "wip", "weekly", "trend", "segments"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=False,
                                      rtol=1e-12)
    assert (a.cases, a.closed_cases, a.invalid_rows, a.slowest_step, a.step_to_fix) == \
        (b.cases, b.closed_cases, b.invalid_rows, b.slowest_step, b.step_to_fix)
    np.testing.assert_allclose([a.cycle_p50_h, a.cycle_p90_h], [b.cycle_p50_h, b.cycle_p90_h])


def test_slot_and_window_paths_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No case repeats a step: ties, overlaps, open and invalid rows, a NULL step, a quote."""
    rng = np.random.default_rng(7)
    names = ["a", "b", "it's", "c", None]
    rows: list[tuple[Any, ...]] = []
    for c in range(600):
        t = float(rng.uniform(0, 24 * 40))
        for j in rng.permutation(len(names))[: int(rng.integers(1, 6))]:
            s = t if rng.random() < 0.3 else t + float(np.round(rng.normal(0.5, 1), 1))
            e: float | None = s + float(np.round(rng.lognormal(0, 1), 1))
            u = rng.random()
            e = None if u < 0.06 else s - 1.0 if u < 0.1 else e
            rows.append((c, names[j], s, e))
            t = e if e is not None and rng.random() < 0.7 else t
    wh = write_log(tmp_path, rows, extra={"region": rng.choice(["n", "s"], len(rows))})
    slots, window = run_both(wh, monkeypatch, sla_hours={"a": 1.0, "it's": 0.5},
                             segment_col="region", min_week_rows=2)
    assert_same(slots, window)
    assert slots.invalid_rows > 0 and slots.steps["open_rows"].sum() > 0
    null_step = slots.steps[slots.steps["step"].isna()].iloc[0]
    assert np.isfinite(null_step[["p50_ci_low", "p50_ci_high"]].astype(float)).all()


def test_exact_ties_break_by_step_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """b and a both run 2-3 h after x (0-1 h): a comes first (name order), so a waits 1 h and b
    waits 2 - 3 = -1 h, on both paths."""
    rows = [(1, "x", 0, 1), (1, "b", 2, 3), (1, "a", 2, 3), (2, "x", 10, 11), (2, "a", 12, 14)]
    slots, window = run_both(write_log(tmp_path, rows), monkeypatch)
    assert_same(slots, window)
    s = slots.steps.set_index("step")
    assert s.loc["b", "wait_p50_h"] == -1 and s.loc["b", "wait_total_h"] == -1
    assert s.loc["a", "wait_total_h"] == 2  # 1 h in case 1, 1 h in case 2


def test_repeated_step_takes_the_window(tmp_path: Path) -> None:
    """A rework loop (review twice in case 1): waits follow the case's row order."""
    rows = [(1, "submit", 0, 1), (1, "review", 2, 4), (1, "fix", 5, 6), (1, "review", 8, 9),
            (2, "submit", 0, 1), (2, "review", 1.5, 3)]
    r = analyze_process(write_log(tmp_path, rows), sla_hours={"review": 1.5})
    s = r.steps.set_index("step")
    assert s.loc["review", "rows"] == 3
    assert s.loc["review", "wait_total_h"] == pytest.approx(1 + 2 + 0.5)  # 2-1, 8-6, 1.5-1
    assert s.loc["fix", "wait_total_h"] == pytest.approx(1)
    assert s.loc["review", "breaches"] == 1 and s.loc["review", "hours_at_stake"] == 0.5
    assert (r.cases, r.closed_cases) == (2, 2) and r.cycle_p50_h == pytest.approx(6)


def test_log_without_rows(tmp_path: Path) -> None:
    empty = pd.DataFrame(columns=["case_id", "step", "s", "e"]).astype(
        {"case_id": "int64", "step": object, "s": float, "e": float})
    r = analyze_process(write_log(tmp_path, list(empty.itertuples(index=False))))
    assert r.cases == 0 and r.steps.empty and r.step_to_fix is None


def test_log_whose_start_column_is_all_null_is_a_data_error(tmp_path: Path) -> None:
    """Rows without a start are left out; when that is every row, say so (it was reported as
    a log without rows: 'No completed step', a silent wrong answer)."""
    with pytest.raises(DataError, match=r"column 'start_ts' of table 'process_log' is null in "
                                        r"all 2 rows"):
        analyze_process(write_log(tmp_path, [(1, "a", None, 1.0), (2, "b", None, None)]))
