"""experiment readout on small hand-made warehouses: numbers, bad inputs, decision rules."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as st

from playbook import report
from playbook.analyses.experiment.readout import analyze_experiment, decide
from playbook.analyses.experiment.spec import parse_metrics
from playbook.errors import DataError, ParameterError
from playbook.sources import Warehouse
from playbook.stats import (
    ProportionStats,
    RatioStats,
    SampleMeanStats,
    confidence_sequence_test,
    holm,
    srm_test,
    ttest,
)

T0 = pd.Timestamp("2026-09-01")
BINARY = {"name": "conv", "kind": "binary", "event": "apply", "role": "primary"}
MEAN = {"name": "rev", "kind": "mean", "event": "disburse", "value": "revenue", "role": "secondary"}
RATIO = {"name": "approval", "kind": "ratio", "numerator_event": "approve", "denominator_event": "apply",
         "role": "guardrail", "margin": 0.5}


def make_warehouse(root: Path, *, n: tuple[int, int] = (400, 400), lift: float = 0.0, seed: int = 1,
                   base: float = 0.3, web_split: tuple[int, int] | None = None,
                   web_lift: float | None = None) -> pd.DataFrame:
    """Users in two arms, apply / approve / disburse events, a pre-period covariate, devices.

    ``web_lift`` plants a different lift for web users (every third user) than ``lift`` for ios.
    Returns the per-user truth frame (arm, converted, revenue, approvals, applies, pre, device).
    """
    rng = np.random.default_rng(seed)
    total = sum(n)
    arm = np.array(["control"] * n[0] + ["treatment"] * n[1])
    z = rng.standard_normal(total)
    pre = 50 + 10 * (0.9 * z + 0.44 * rng.standard_normal(total))
    lifts = np.where((np.arange(total) % 3 == 0) & (web_lift is not None), web_lift or 0.0, lift)
    p = np.clip(base * np.where(arm == "treatment", 1 + lifts, 1.0) + 0.25 * z, 0.01, 0.99)
    conv = rng.uniform(size=total) < p
    applies = np.where(conv, 1 + (rng.uniform(size=total) < 0.3), 0)
    approvals = np.minimum(applies, rng.binomial(applies, 0.6))
    revenue = np.where(approvals > 0, rng.gamma(2.0, 20.0, total), 0.0)
    assigned = T0 + pd.to_timedelta(rng.integers(0, 10 * 86400, total), unit="s")
    device = np.where(np.arange(total) % 3 == 0, "web", "ios")
    if web_split is not None:  # override: web users only in one arm's share
        device = np.array(["ios"] * total, dtype=object)
        device[: web_split[0]] = "web"
        device[n[0]: n[0] + web_split[1]] = "web"
    uid = np.arange(1, total + 1)
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"user_id": uid, "experiment": "exp", "variant": arm, "assigned_ts": assigned}).to_parquet(
        root / "assignments.parquet")
    ev = []
    for i in range(total):
        t = assigned[i]
        for k in range(applies[i]):
            ev.append((uid[i], t + pd.Timedelta(hours=2 + k), "apply", 0.0))
        for k in range(approvals[i]):
            ev.append((uid[i], t + pd.Timedelta(hours=5 + k), "approve", 0.0))
        if revenue[i] > 0:
            ev.append((uid[i], t + pd.Timedelta(days=1), "disburse", revenue[i]))
        ev.append((uid[i], t + pd.Timedelta(days=30), "apply", 0.0))  # outside a 14-day window
        ev.append((uid[i], t - pd.Timedelta(days=1), "apply", 0.0))  # before assignment
    pd.DataFrame(ev, columns=["user_id", "ts", "event", "revenue"]).to_parquet(root / "events.parquet")
    pd.DataFrame({"user_id": uid, "experiment": "exp", "pre_value": pre}).to_parquet(root / "metrics_pre.parquet")
    pd.DataFrame({"user_id": uid, "device": device}).to_parquet(root / "users.parquet")
    return pd.DataFrame({"arm": arm, "converted": conv.astype(float), "revenue": revenue,
                         "approvals": approvals.astype(float), "applies": applies.astype(float), "pre": pre,
                         "device": device})


@pytest.fixture(scope="module")
def wh_truth(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, pd.DataFrame]:
    root = tmp_path_factory.mktemp("readout")
    truth = make_warehouse(root, lift=0.3)
    return Warehouse(root), truth


def _row(result, metric: str) -> pd.Series:
    return result.comparisons[result.comparisons["metric"] == metric].iloc[0]


def test_every_kind_matches_the_stats_engine_and_an_independent_computation(wh_truth) -> None:
    wh, truth = wh_truth
    res = analyze_experiment(wh, "exp", [BINARY, MEAN, RATIO], cuped=False, segments=[])
    c, t = truth[truth.arm == "control"], truth[truth.arm == "treatment"]
    # binary: the engine, and Fieller's relative interval by hand: its bounds r are where the Welch
    # statistic of pb - r pa = 0 reaches the critical value; its p-value is the absolute test's
    b = _row(res, "conv")
    ref = ttest(ProportionStats.from_values(c.converted), ProportionStats.from_values(t.converted),
                relative_method="fieller")
    assert b["lift_rel"] == pytest.approx(ref.effect, abs=1e-5)
    assert (b["ci_low"], b["ci_high"], b["p_value"]) == pytest.approx((ref.ci_low, ref.ci_high, ref.p_value), abs=1e-5)
    pa, pb = c.converted.mean(), t.converted.mean()
    va, vb = pa * (1 - pa) / len(c), pb * (1 - pb) / len(t)
    assert b["lift_rel"] == pytest.approx(pb / pa - 1, abs=1e-9)
    welch_df = (va + vb) ** 2 / (va**2 / (len(c) - 1) + vb**2 / (len(t) - 1))
    q = st.t.ppf(0.975, welch_df)
    for bound in (b["fixed_ci_low"], b["fixed_ci_high"]):
        r = 1 + bound
        assert abs(pb - r * pa) / math.sqrt(vb + r * r * va) == pytest.approx(q, rel=1e-9)
    assert b["fixed_p"] == pytest.approx(2 * st.t.sf(abs(pb - pa) / math.sqrt(va + vb), welch_df), rel=1e-9)
    # mean: Welch's test of scipy on the per-user values (absolute scale)
    m = _row(res, "rev")
    welch = st.ttest_ind(t.revenue, c.revenue, equal_var=False)
    ci = welch.confidence_interval(0.95)
    assert m["lift_abs"] == pytest.approx(t.revenue.mean() - c.revenue.mean(), abs=1e-6)
    assert (m["lift_abs_ci_low"], m["lift_abs_ci_high"]) == pytest.approx((ci.low, ci.high), abs=1e-5)
    ref_m = ttest(SampleMeanStats.from_values(c.revenue), SampleMeanStats.from_values(t.revenue),
                  relative_method="fieller")
    assert m["p_value"] == pytest.approx(welch.pvalue, abs=1e-9)  # Fieller's test of no lift is Welch's
    assert m["p_value"] == pytest.approx(ref_m.p_value, abs=1e-5)
    # ratio: delta method by hand (linearized per-user contributions)
    r = _row(res, "approval")
    ra = c.approvals.sum() / c.applies.sum()
    rb = t.approvals.sum() / t.applies.sum()

    def var_ratio(df: pd.DataFrame, rr: float) -> float:
        lin = (df.approvals - rr * df.applies) / df.applies.mean()
        return lin.var(ddof=1) / len(df)

    se = math.sqrt(var_ratio(c, ra) + var_ratio(t, rb))
    assert r["lift_abs"] == pytest.approx(rb - ra, abs=1e-9)
    assert r["lift_abs_ci_high"] - r["lift_abs"] == pytest.approx(st.norm.ppf(0.975) * se, rel=3e-3)
    ref_r = ttest(RatioStats.from_values(c.approvals, c.applies), RatioStats.from_values(t.approvals, t.applies),
                  relative_method="fieller")
    assert r["p_value"] == pytest.approx(ref_r.p_value, abs=1e-5)
    assert r["guardrail"] == "pass"  # margin 50%


def test_cuped_lift_is_the_ols_coefficient_and_narrows_the_interval(wh_truth) -> None:
    wh, truth = wh_truth
    plain = _row(analyze_experiment(wh, "exp", [BINARY], cuped=False), "conv")
    adj = _row(analyze_experiment(wh, "exp", [BINARY]), "conv")
    assert adj["cuped"] and 0.05 < adj["variance_reduction"] < 0.6
    x = np.column_stack([np.ones(len(truth)), (truth.arm == "treatment").astype(float), truth.pre - truth.pre.mean()])
    ols = sm.OLS(truth.converted.to_numpy(), x).fit(cov_type="HC1")
    assert adj["lift_abs"] == pytest.approx(ols.params[1], abs=1e-9)
    assert adj["ci_high"] - adj["ci_low"] < plain["ci_high"] - plain["ci_low"]
    assert adj["unadjusted_lift_rel"] == pytest.approx(plain["lift_rel"], abs=1e-12)


def test_correction_scope_all_and_intervals_agree_with_adjusted_p(wh_truth) -> None:
    wh, _ = wh_truth
    res = analyze_experiment(wh, "exp", [BINARY, MEAN, RATIO], correction="holm", correction_scope="all")
    table = res.comparisons
    assert table["p_value_adj"].to_numpy() == pytest.approx(holm(table["p_value"].to_numpy()))
    for _, r in table.iterrows():
        excludes_zero = r["ci_low"] > 0 or r["ci_high"] < 0
        assert excludes_zero == (r["p_value_adj"] < 0.05)
    primary_only = analyze_experiment(wh, "exp", [BINARY, MEAN, RATIO], correction_scope="primary").comparisons
    assert (primary_only["p_value_adj"] == primary_only["p_value"]).all()  # a family of one, others untouched


def test_sequential_view_governs_when_asked(wh_truth) -> None:
    wh, truth = wh_truth
    fixed = _row(analyze_experiment(wh, "exp", [BINARY], cuped=False), "conv")
    seq = analyze_experiment(wh, "exp", [BINARY], cuped=False, sequential=True)
    s = _row(seq, "conv")
    c, t = truth[truth.arm == "control"], truth[truth.arm == "treatment"]
    ref = confidence_sequence_test(ProportionStats.from_values(c.converted), ProportionStats.from_values(t.converted),
                                   tuning=seq.plan["tuning"], relative_method="fieller")
    assert (s["ci_low"], s["ci_high"], s["p_value"]) == pytest.approx((ref.ci_low, ref.ci_high, ref.p_value), abs=1e-9)
    assert s["ci_high"] - s["ci_low"] > fixed["ci_high"] - fixed["ci_low"]
    assert s["p_value"] >= fixed["p_value"]


def test_outcome_is_flat_finite_and_recordable(wh_truth, tmp_path: Path) -> None:
    wh, _ = wh_truth
    res = analyze_experiment(wh, "exp", [BINARY, MEAN, RATIO], segments=["device"], min_segment_users=50)
    metrics = res.metrics()
    for key in ("lift_abs", "lift_rel", "ci_low", "ci_high", "p_value", "p_value_adj", "chance_to_win"):
        assert f"conv.treatment.{key}" in metrics
    assert metrics["srm.p_value"] == pytest.approx(srm_test([400, 400]).p_value)
    # the archive's key metrics are an outcome's first four: the primary lift first, then SRM
    assert list(metrics)[:4] == ["conv.treatment.lift_rel", "conv.treatment.p_value_adj",
                                 "conv.treatment.chance_to_win", "srm.p_value"]
    out = report.record_outcome(template="experiment_readout", campaign="c", run_id="r", output_dir=tmp_path,
                                headline=res.headline(), decision=res.decision, metrics=metrics,
                                details=res.details())
    assert json.loads((tmp_path / "experiment_readout.outcome.json").read_text())["decision"] == out["decision"]
    assert set(res.segments["level"]) == {"web", "ios"}
    assert len(res.cumulative) and res.decision in ("ship", "keep-running", "no-ship")


def test_zero_variance_is_documented_not_nan(tmp_path: Path) -> None:
    make_warehouse(tmp_path, n=(50, 50))
    a = pd.read_parquet(tmp_path / "assignments.parquet")  # every user converts, in both arms
    pd.DataFrame({"user_id": a.user_id, "ts": a.assigned_ts + pd.Timedelta(hours=1), "event": "apply",
                  "revenue": 0.0}).to_parquet(tmp_path / "events.parquet")
    res = analyze_experiment(Warehouse(tmp_path), "exp", [BINARY], cuped=False)
    row = _row(res, "conv")
    assert row["degenerate"] == "zero_variance" and row["p_value"] == 1.0
    metrics = res.metrics()
    assert "conv.treatment.ci_low" not in metrics and "conv.treatment.lift_rel" in metrics
    assert all(math.isfinite(v) for v in metrics.values())
    assert "degenerate" in res.summary()
    report.record_outcome(template="t", campaign="c", run_id="r", output_dir=tmp_path, headline=res.headline(),
                          decision=res.decision, metrics=metrics)


def test_bad_inputs_name_the_table_column_and_fix(tmp_path: Path) -> None:
    make_warehouse(tmp_path, n=(30, 30))
    wh = Warehouse(tmp_path)
    with pytest.raises(DataError, match=r"events\.parquet.*'amount'") as exc:
        analyze_experiment(wh, "exp", [BINARY, {**MEAN, "value": "amount"}])
    assert "metric 'rev'" in str(exc.value)
    with pytest.raises(DataError, match=r"arm 'b' of experiment 'exp' has no users in column 'variant'"):
        analyze_experiment(wh, "exp", [BINARY], arms=["control", "treatment", "b"])
    with pytest.raises(DataError, match=r"no experiment 'nope' in column 'experiment' \(experiments: exp\); set the readout's experiment parameter"):
        analyze_experiment(wh, "nope", [BINARY])
    with pytest.raises(DataError, match=r"metrics\[0\] \(conv\): key 'evnt': unknown key"):
        analyze_experiment(wh, "exp", [{**BINARY, "evnt": "x"}])
    with pytest.raises(DataError, match="exactly one metric needs role 'primary'"):
        analyze_experiment(wh, "exp", [BINARY, {**MEAN, "role": "primary"}])
    with pytest.raises(ParameterError, match="correction='sidak': give one of holm, bh, bonferroni, none"):
        analyze_experiment(wh, "exp", [BINARY], correction="sidak")


def test_a_user_in_two_arms_is_an_error_or_excluded(tmp_path: Path) -> None:
    make_warehouse(tmp_path, n=(30, 30))
    a = pd.read_parquet(tmp_path / "assignments.parquet")
    dup = a.iloc[:3].assign(variant="treatment")
    pd.concat([a, dup]).to_parquet(tmp_path / "assignments.parquet")
    wh = Warehouse(tmp_path)
    with pytest.raises(DataError, match=r"assignments\.parquet: 3 users of experiment 'exp' appear in more than one "
                                        r"arm \(column 'variant'\).*multiple_arms='exclude'"):
        analyze_experiment(wh, "exp", [BINARY])
    res = analyze_experiment(wh, "exp", [BINARY], multiple_arms="exclude")
    assert res.excluded_multi_arm == 3 and res.counts == (27, 30)


def test_a_single_arm_is_an_error(tmp_path: Path) -> None:
    make_warehouse(tmp_path, n=(30, 30))
    a = pd.read_parquet(tmp_path / "assignments.parquet")
    a[a.variant == "control"].to_parquet(tmp_path / "assignments.parquet")
    with pytest.raises(DataError, match="has a single arm 'control' in column 'variant'"):
        analyze_experiment(Warehouse(tmp_path), "exp", [BINARY])


def test_srm_overall_and_in_a_segment_make_the_readout_invalid(tmp_path: Path) -> None:
    make_warehouse(tmp_path / "overall", n=(560, 440), lift=0.3)
    res = analyze_experiment(Warehouse(tmp_path / "overall"), "exp", [BINARY])
    assert res.decision == "invalid" and res.srm.p_value < 0.001
    assert "invalid" in res.headline() and "sample ratio mismatch" in res.headline()
    # balanced overall, but web users sit mostly in control (and ios mostly in treatment)
    make_warehouse(tmp_path / "segment", n=(500, 500), lift=0.3, web_split=(300, 150))
    res = analyze_experiment(Warehouse(tmp_path / "segment"), "exp", [BINARY], segments=["device"])
    assert not res.srm.mismatch and res.decision == "invalid"
    assert res.segment_srm["mismatch"].all()
    # the planned weights are honoured: 560/440 is exactly the plan
    ok = analyze_experiment(Warehouse(tmp_path / "overall"), "exp", [BINARY], weights=[0.56, 0.44])
    assert ok.srm.p_value == pytest.approx(1.0)


def _comparisons(primary: tuple[float, bool], guard: tuple[str, float, float] | None = None) -> pd.DataFrame:
    rows = [{"arm": "treatment", "role": "primary", "metric": "conv", "lift_rel": primary[0],
             "significant": primary[1], "higher_is_better": True, "guardrail": None, "p_value": 0.01,
             "degenerate": None}]
    if guard:
        rows.append({"arm": "treatment", "role": "guardrail", "metric": "approval", "lift_rel": guard[1],
                     "significant": False, "higher_is_better": True, "guardrail": guard[0], "p_value": guard[2],
                     "degenerate": None})
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("primary", "guard", "srm", "reached", "expected"),
    [
        ((0.05, True), ("pass", 0.0, 0.9), False, False, "ship"),
        ((0.05, True), ("pass", 0.0, 0.9), True, True, "invalid"),
        ((-0.05, True), ("pass", 0.0, 0.9), False, True, "no-ship"),
        ((0.05, True), ("fail", -0.2, 0.001), False, False, "no-ship"),  # guardrail significantly worse
        ((0.05, True), ("fail", -0.02, 0.6), False, False, "keep-running"),  # guardrail inconclusive, early
        ((0.05, True), ("fail", -0.02, 0.6), False, True, "no-ship"),  # inconclusive at the planned sample
        ((0.01, False), ("pass", 0.0, 0.9), False, False, "keep-running"),
        ((0.01, False), ("pass", 0.0, 0.9), False, True, "no-ship"),
        ((0.05, True), None, False, True, "ship"),
    ],
)
def test_decision_rules(primary, guard, srm, reached, expected) -> None:
    decision, arm, reasons = decide(_comparisons(primary, guard), srm, reached, 0.05)
    assert decision == expected and reasons
    assert arm == (None if expected == "invalid" else "treatment")


def test_keep_running_reports_power_below_the_plan(tmp_path: Path) -> None:
    make_warehouse(tmp_path, n=(60, 60), lift=0.0)
    res = analyze_experiment(Warehouse(tmp_path), "exp", [BINARY], mde_rel=0.05)
    assert res.decision == "keep-running"
    assert not res.plan["reached"] and 0 < res.plan["power_now"] < 0.8
    assert res.plan["planned_users_per_arm"] > 60
    done = analyze_experiment(Warehouse(tmp_path), "exp", [BINARY], planned_users_per_arm=50)
    assert done.plan["reached"] and done.decision == "no-ship"


def test_metric_spec_validation_names_metric_and_key() -> None:
    with pytest.raises(DataError, match=r"metrics\[1\] \(r\): key 'cuped'"):
        parse_metrics([BINARY, {**RATIO, "name": "r", "role": "secondary", "cuped": True}])
    with pytest.raises(DataError, match=r"metrics\[0\] \(conv\): key 'cap_quantile': a binary metric cannot be capped"):
        parse_metrics([{**BINARY, "cap_quantile": 0.99}])
    with pytest.raises(DataError, match=r"metrics\[0\] \(conv\): key 'margin'"):
        parse_metrics([{**BINARY, "margin": 5}])
    with pytest.raises(DataError, match="name 'conv' is used twice"):
        parse_metrics([BINARY, {**MEAN, "name": "conv"}])
    with pytest.raises(DataError, match=r"metrics\[0\]: key 'name'"):
        parse_metrics([{**BINARY, "name": "1x"}])


def test_cap_quantile_winsorizes_at_the_pooled_quantile(wh_truth) -> None:
    wh, truth = wh_truth
    res = analyze_experiment(wh, "exp", [BINARY, {**MEAN, "cap_quantile": 0.9}], cuped=False)
    cap = np.quantile(truth.revenue, 0.9)
    capped = truth.assign(revenue=np.minimum(truth.revenue, cap))
    row = _row(res, "rev")
    assert row["control_mean"] == pytest.approx(capped[capped.arm == "control"].revenue.mean(), rel=1e-9)
    assert row["arm_mean"] == pytest.approx(capped[capped.arm == "treatment"].revenue.mean(), rel=1e-9)


def test_per_user_table_without_time_and_a_shorter_metric_window(wh_truth, tmp_path: Path) -> None:
    wh, truth = wh_truth
    root = Path(str(wh.data_dir))
    for name in ("assignments", "events", "metrics_pre", "users"):
        (tmp_path / f"{name}.parquet").write_bytes((root / f"{name}.parquet").read_bytes())
    uid = np.arange(1, len(truth) + 1)
    pd.DataFrame({"user_id": uid[::-1], "paid": truth.converted.to_numpy()[::-1]}).to_parquet(tmp_path / "outcomes.parquet")
    per_user = {"name": "paid", "kind": "binary", "table": "outcomes", "ts": "", "value": "paid", "role": "primary"}
    short = {**MEAN, "name": "rev_6h", "window_days": 0.25}  # disburse comes a day after assignment
    res = analyze_experiment(Warehouse(tmp_path), "exp", [per_user, MEAN, short], cuped=False)
    paid, rev, rev6 = (_row(res, m) for m in ("paid", "rev", "rev_6h"))
    assert paid["control_mean"] == pytest.approx(truth[truth.arm == "control"].converted.mean(), rel=1e-12)
    assert rev["control_mean"] == pytest.approx(truth[truth.arm == "control"].revenue.mean(), rel=1e-12)
    assert rev6["control_mean"] == 0.0 and rev6["degenerate"] == "zero_variance"


def test_per_user_tables_with_several_rows_per_user_give_the_per_user_sums(wh_truth, tmp_path: Path) -> None:
    # the readout joins per-user tables to the assigned users when no user has two rows in them, and
    # falls back to summing per user otherwise: both must give the readout of the per-user totals
    wh, truth = wh_truth
    root = Path(str(wh.data_dir))
    uid = np.arange(1, len(truth) + 1)
    rev, pre = truth.revenue.to_numpy(), truth.pre.to_numpy()
    dev = truth.device.to_numpy()
    for sub, k in (("one", 0), ("split", 60)):
        d = tmp_path / sub
        d.mkdir()
        (d / "assignments.parquet").write_bytes((root / "assignments.parquet").read_bytes())
        # "split": the first users' revenue in two rows (0.25 + 0.75), their pre-period value twice, device twice
        pd.DataFrame({"user_id": np.concatenate([uid, uid[:k]]),
                      "paid": np.concatenate([truth.converted.to_numpy(), np.zeros(k)]),
                      "amount": np.concatenate([rev[:k] * 0.25, rev[k:], rev[:k] * 0.75])}
                     ).to_parquet(d / "outcomes.parquet")
        pd.DataFrame({"user_id": np.concatenate([uid, uid[:k]]), "experiment": "exp",
                      "pre_value": np.concatenate([pre, pre[:k]])}).to_parquet(d / "metrics_pre.parquet")
        pd.DataFrame({"user_id": np.concatenate([uid, uid[:k]]),
                      "device": np.concatenate([dev, dev[:k]])}).to_parquet(d / "users.parquet")
    metrics: list[dict[str, object]] = [{"name": "paid", "kind": "binary", "table": "outcomes", "ts": "", "value": "paid", "role": "primary"},
               {"name": "amount", "kind": "mean", "table": "outcomes", "ts": "", "value": "amount",
                "role": "secondary", "cuped": True}]
    one, split = (analyze_experiment(Warehouse(tmp_path / s), "exp", metrics, segments=["device"],
                                     min_segment_users=10) for s in ("one", "split"))
    assert one.counts == split.counts == tuple(int((truth.arm == a).sum()) for a in ("control", "treatment"))
    num = one.comparisons.select_dtypes("number").columns
    pd.testing.assert_frame_equal(one.comparisons[num], split.comparisons[num], rtol=1e-9)
    assert _row(split, "amount")["control_mean"] == pytest.approx(truth[truth.arm == "control"].revenue.mean(),
                                                                  rel=1e-12)
    seg_num = one.segments.select_dtypes("number").columns
    pd.testing.assert_frame_equal(one.segments[seg_num], split.segments[seg_num], rtol=1e-9)
