"""pandas and SQL routes to sufficient statistics agree (DuckDB executes the SQL)."""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from playbook.aggregates import arm_stats, sql_aggregates, stats_from_aggregates
from playbook.errors import DataError
from playbook.stats import (
    RatioRegressionAdjustedStats,
    RatioStats,
    RegressionAdjustedStats,
    SampleMeanStats,
    ttest,
)


@pytest.fixture
def units() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 400
    df = pd.DataFrame(
        {
            "variant": rng.choice(["A", "B", "C"], n),
            "revenue": rng.gamma(2, 10, n),
            "orders": rng.poisson(2, n).astype(float) + 1,
            "pre_revenue": rng.gamma(2, 10, n),
            "pre_orders": rng.poisson(2, n).astype(float) + 1,
            "converted": rng.integers(0, 2, n),
        }
    )
    df.loc[::17, "revenue"] = np.nan  # users without orders after a left join
    return df


def _close(a: object, b: object) -> None:
    assert type(a) is type(b)
    for field in a.__dataclass_fields__:  # type: ignore[attr-defined]
        np.testing.assert_allclose(np.asarray(getattr(a, field), dtype=float), np.asarray(getattr(b, field), dtype=float), rtol=1e-9)


@pytest.mark.parametrize(
    ("kind", "kwargs", "cuped"),
    [
        ("mean", {}, False),
        ("proportion", {}, False),
        ("mean", {"pre_col": "pre_revenue"}, True),
        ("ratio", {"denom_col": "orders"}, False),
        ("ratio", {"denom_col": "orders", "pre_col": "pre_revenue", "pre_denom_col": "pre_orders"}, True),
    ],
)
def test_pandas_and_duckdb_agree(units: pd.DataFrame, kind: str, kwargs: dict[str, Any], cuped: bool) -> None:
    value = "converted" if kind == "proportion" else "revenue"
    in_memory = arm_stats(units, "variant", value, kind, cap=60.0, **kwargs)
    sql = sql_aggregates("units", "variant", value, kind, cap=60.0, **kwargs)
    con = duckdb.connect()
    con.register("units", units)
    pushed = stats_from_aggregates(con.execute(sql).fetchdf(), kind, cuped=cuped)
    assert list(in_memory) == list(pushed) == ["A", "B", "C"]
    for arm in in_memory:
        _close(in_memory[arm], pushed[arm])


def test_arm_stats_kinds(units: pd.DataFrame) -> None:
    assert isinstance(arm_stats(units, "variant", "revenue")["A"], SampleMeanStats)
    assert isinstance(arm_stats(units, "variant", "revenue", "ratio", denom_col="orders")["A"], RatioStats)
    assert isinstance(arm_stats(units, "variant", "revenue", pre_col="pre_revenue")["A"], RegressionAdjustedStats)
    stats = arm_stats(
        units, "variant", "revenue", "ratio", denom_col="orders", pre_col="pre_revenue", pre_denom_col="pre_orders"
    )
    assert isinstance(stats["A"], RatioRegressionAdjustedStats)
    assert ttest(stats["A"], stats["B"]).degenerate is None


def test_cap_quantile_is_pooled_over_arms(units: pd.DataFrame) -> None:
    cap = float(np.quantile(units["revenue"].fillna(0), 0.95))
    assert arm_stats(units, "variant", "revenue", cap_quantile=0.95) == arm_stats(units, "variant", "revenue", cap=cap)


def test_missing_column_names_the_column(units: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="column 'revenu' not found"):
        arm_stats(units, "variant", "revenu")
    with pytest.raises(DataError, match="needs denom_col"):
        sql_aggregates("units", "variant", "revenue", "ratio")
    with pytest.raises(DataError, match="missing column 'mp_sum'"):
        stats_from_aggregates([{"arm": "A", "n": 3, "m_sum": 1.0, "m_m": 1.0}], "mean", cuped=True)
