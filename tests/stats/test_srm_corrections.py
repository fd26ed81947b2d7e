"""SRM checks and multiple-comparison corrections."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats as st
from statsmodels.stats.multitest import multipletests

from playbook.errors import DataError
from playbook.stats import benjamini_hochberg, bonferroni, correct, holm, srm_by_segment, srm_test


def test_srm_multi_arm_matches_scipy() -> None:
    obs, w = [3300, 3350, 3450], [1, 1, 1]
    r = srm_test(obs, w)
    ref = st.chisquare(obs)
    assert (r.chi2, r.p_value) == pytest.approx((ref.statistic, ref.pvalue)) and r.df == 2


def test_srm_unequal_allocation_detects_mismatch() -> None:
    r = srm_test([9000, 1000], [0.8, 0.2])
    assert r.expected == (8000.0, 2000.0) and r.mismatch


def test_srm_by_segment() -> None:
    res = srm_by_segment({"ios": [5000, 5000], "android": [5000, 4000], "empty": [0, 0]})
    assert set(res) == {"ios", "android"}
    assert res["android"].mismatch and not res["ios"].mismatch


@pytest.mark.parametrize(
    ("args", "message"),
    [(([100],), "at least 2 arms"), (([0, 0],), "no units"), (([10, 10], [1, 1, 1]), "one weight per arm"),
     (([10, -1],), "non-negative integers")],
)
def test_srm_errors(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(DataError, match=message):
        srm_test(*args)


P = np.array([0.001, 0.04, 0.012, 0.3, 0.049, 0.0005, 0.2, 0.03])


@pytest.mark.parametrize(
    ("ours", "method"), [(holm, "holm"), (benjamini_hochberg, "fdr_bh"), (bonferroni, "bonferroni")]
)
def test_adjusted_p_values_match_statsmodels(ours, method: str) -> None:
    ref = multipletests(P, alpha=0.05, method=method)
    np.testing.assert_allclose(ours(P), ref[1], rtol=1e-12)


@pytest.mark.parametrize(("method", "sm_method"), [("holm", "holm"), ("benjamini_hochberg", "fdr_bh"), ("bonferroni", "bonferroni")])
def test_interval_levels_agree_with_decisions(method: str, sm_method: str) -> None:
    for seed in range(20):
        p = np.random.default_rng(seed).uniform(0, 0.08, 10) ** 2 * 10
        p = np.minimum(p, 1)
        r = correct(p, method, 0.05)  # type: ignore[arg-type]
        assert list(r.rejected) == list(multipletests(p, 0.05, sm_method)[0])
        # a test at level alphas[i] rejects exactly when the corrected procedure does
        assert [pi <= ai for pi, ai in zip(p, r.alphas, strict=True)] == list(r.rejected)


def test_bh_level_is_alpha_times_discoveries_over_m() -> None:
    r = correct([0.001, 0.002, 0.5, 0.9], "benjamini_hochberg", 0.05)
    assert r.rejected == (True, True, False, False)
    assert r.alphas == (0.025,) * 4


def test_corrections_validate_input() -> None:
    with pytest.raises(DataError, match=r"in \[0, 1\]"):
        holm([0.1, 1.5])
    with pytest.raises(DataError, match="non-empty"):
        correct([])
