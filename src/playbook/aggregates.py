"""Building sufficient statistics from a pandas DataFrame, or as SQL for DuckDB or a warehouse.

The bridge from data to :mod:`playbook.stats`: the statistics engine takes the frozen
dataclasses of :mod:`~playbook.stats.suffstats` and imports numpy and scipy only (no pandas, no
SQL); this module builds them from a frame or a query result.

Two routes to the same numbers (a test checks they agree):

* :func:`arm_stats` aggregates a frame with one row per unit (user) in memory.
* :func:`sql_aggregates` returns a ``SELECT`` computing the same sums grouped by arm, so the
  aggregation runs where the data lives (DuckDB over Parquet on a laptop, or a warehouse);
  :func:`stats_from_aggregates` turns its result rows into the dataclasses.

Conventions shared by both routes: one row per unit; a missing metric value (a user with no
order after a left join) counts as ``fill_missing`` (default 0, so "no revenue" is 0 revenue);
``cap`` winsorizes the metric (and the pre-period covariate) from above at a fixed value. To
cap at a quantile compute the value once over all arms (:func:`playbook.stats.suffstats.cap_value`
or ``quantile_cont`` in SQL) and pass it as ``cap``; :func:`arm_stats` also accepts
``cap_quantile`` and does exactly that.

Kinds: ``"proportion"`` (0/1 values), ``"mean"``, ``"ratio"`` (needs ``denom_col``). With
``pre_col`` the result is CUPED-ready: :class:`RegressionAdjustedStats` for proportion and mean,
:class:`RatioRegressionAdjustedStats` for ratio (then ``pre_denom_col`` is needed too).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from playbook.errors import DataError
from playbook.sql import quote_ident as _quote
from playbook.stats.suffstats import (
    ArmStats,
    ProportionStats,
    RatioRegressionAdjustedStats,
    RatioStats,
    RegressionAdjustedStats,
    SampleMeanStats,
    cap_value,
)

__all__ = ["arm_stats", "sql_aggregates", "stats_from_aggregates"]

KINDS = ("proportion", "mean", "ratio")


def _check_kind(kind: str, denom_col: str | None, pre_col: str | None, pre_denom_col: str | None) -> None:
    if kind not in KINDS:
        raise DataError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "ratio" and denom_col is None:
        raise DataError("kind 'ratio' needs denom_col, the column holding each unit's denominator")
    if kind == "ratio" and pre_col is not None and pre_denom_col is None:
        raise DataError("ratio CUPED needs pre_denom_col (the pre-period denominator) next to pre_col")


def _column(df: pd.DataFrame, col: str, fill: float) -> np.ndarray:
    if col not in df.columns:
        raise DataError(f"column {col!r} not found; available columns: {', '.join(map(str, df.columns))}")
    values = pd.to_numeric(df[col], errors="coerce")
    bad = values.isna() & df[col].notna()
    if bad.any():
        example = df.loc[bad, col].iloc[0]
        raise DataError(f"column {col!r} has non-numeric values such as {example!r}; clean or cast it")
    return cast(np.ndarray, values.fillna(fill).to_numpy(dtype=float))


def _key(arm: Any) -> Hashable:
    return cast(Hashable, arm.item() if isinstance(arm, np.generic) else arm)


@dataclass(frozen=True)
class _UnitValues:
    """One row per unit: the metric ``y``, its pre-period ``x``, a ratio's denominators ``d``, ``dp``."""

    y: np.ndarray
    x: np.ndarray | None
    d: np.ndarray | None
    dp: np.ndarray | None

    def stats(self, kind: str, mask: np.ndarray) -> ArmStats:
        """The sufficient statistics of the units in ``mask``."""
        y = self.y[mask]
        if kind == "ratio":
            assert self.d is not None
            if self.x is not None:
                assert self.dp is not None
                return RatioRegressionAdjustedStats.from_values(y, self.d[mask], self.x[mask], self.dp[mask])
            return RatioStats.from_values(y, self.d[mask])
        if self.x is not None:
            return RegressionAdjustedStats.from_values(y, self.x[mask])
        if kind == "proportion":
            return ProportionStats.from_values(y)
        return SampleMeanStats.from_values(y)


def _check_arm_column(df: pd.DataFrame, arm_col: str) -> None:
    if arm_col not in df.columns:
        raise DataError(f"arm column {arm_col!r} not found; available columns: {', '.join(map(str, df.columns))}")
    if df[arm_col].isna().any():
        raise DataError(f"arm column {arm_col!r} has {int(df[arm_col].isna().sum())} missing values; drop unassigned units")


def _cap(y: np.ndarray, cap: float | None, cap_quantile: float | None) -> float | None:
    """The cap to apply: ``cap``, or the ``cap_quantile`` of ``y`` (not both)."""
    if cap_quantile is None:
        return cap
    if cap is not None:
        raise DataError("pass either cap or cap_quantile, not both")
    return cap_value(y, cap_quantile) if y.size else None


def arm_stats(
    df: pd.DataFrame,
    arm_col: str,
    value_col: str,
    kind: str = "mean",
    *,
    pre_col: str | None = None,
    denom_col: str | None = None,
    pre_denom_col: str | None = None,
    cap: float | None = None,
    cap_quantile: float | None = None,
    fill_missing: float = 0.0,
) -> dict[Hashable, ArmStats]:
    """Sufficient statistics per arm from one row per unit, keyed by the arm value (sorted)."""
    _check_kind(kind, denom_col, pre_col, pre_denom_col)
    _check_arm_column(df, arm_col)
    y = _column(df, value_col, fill_missing)
    cap = _cap(y, cap, cap_quantile)
    if cap is not None:
        y = np.minimum(y, cap)
    x = _column(df, pre_col, fill_missing) if pre_col else None
    if x is not None and cap is not None:
        x = np.minimum(x, cap)
    d = _column(df, denom_col, fill_missing) if denom_col else None
    dp = _column(df, pre_denom_col, fill_missing) if pre_denom_col else None
    values = _UnitValues(y, x, d, dp)
    arms = df[arm_col].to_numpy()
    return {_key(arm): values.stats(kind, arms == arm) for arm in sorted(pd.unique(arms), key=str)}


def sql_aggregates(
    table: str,
    arm_col: str,
    value_col: str,
    kind: str = "mean",
    *,
    pre_col: str | None = None,
    denom_col: str | None = None,
    pre_denom_col: str | None = None,
    cap: float | None = None,
    fill_missing: float = 0.0,
) -> str:
    """A SQL ``SELECT`` of the sufficient statistics per arm (standard SQL; runs in DuckDB).

    ``table`` is a table name or a parenthesized subquery with an alias, e.g.
    ``"(SELECT * FROM read_parquet('x.parquet')) AS u"``; column names are quoted. Output
    columns: arm, n, sum, sum_squares and, as needed, pre_sum, pre_sum_squares, cross,
    d_sum, d_sum_squares, md_cross, and for ratio CUPED the full cross-product set
    (see :func:`stats_from_aggregates`).
    """
    _check_kind(kind, denom_col, pre_col, pre_denom_col)
    fill = repr(float(fill_missing))

    def val(col: str, capped: bool) -> str:
        expr = f"COALESCE(CAST({_quote(col)} AS DOUBLE), {fill})"
        return f"LEAST({expr}, {float(cap)!r})" if (capped and cap is not None) else expr

    cols = {"m": val(value_col, True)}
    if denom_col:
        cols["d"] = val(denom_col, False)
    if pre_col:
        cols["mp"] = val(pre_col, True)
    if pre_denom_col and kind == "ratio":
        cols["dp"] = val(pre_denom_col, False)
    inner = ", ".join(f"{expr} AS {name}" for name, expr in cols.items())
    names = list(cols)
    select = [f"{_quote(arm_col)} AS arm", "COUNT(*) AS n"]
    for name in names:
        select.append(f"SUM({name}) AS {name}_sum")
    for i, a in enumerate(names):
        for b in names[i:]:
            select.append(f"SUM({a} * {b}) AS {a}_{b}")
    return (
        f"SELECT {', '.join(select)}\n"
        f"FROM (SELECT {_quote(arm_col)}, {inner} FROM {table}) AS unit_values\n"
        f"GROUP BY {_quote(arm_col)}\nORDER BY {_quote(arm_col)}"
    )


def stats_from_aggregates(
    rows: pd.DataFrame | Iterable[Mapping[str, Any]], kind: str = "mean", *, cuped: bool = False
) -> dict[Hashable, ArmStats]:
    """Turn the result of :func:`sql_aggregates` (a frame or dict rows) into stats per arm."""
    records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else list(rows)
    if kind not in KINDS:
        raise DataError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    out: dict[Hashable, ArmStats] = {}
    for r in records:
        try:
            n = int(r["n"])
            arm = _key(r["arm"])
            if kind == "ratio" and cuped:
                names = ("m", "d", "mp", "dp")
                sums = tuple(float(r[f"{v}_sum"]) for v in names)
                cross = tuple(
                    tuple(float(r[f"{names[min(i, j)]}_{names[max(i, j)]}"]) for j in range(4)) for i in range(4)
                )
                out[arm] = RatioRegressionAdjustedStats(n, sums, cross)  # type: ignore[arg-type]
            elif kind == "ratio":
                out[arm] = RatioStats(n, float(r["m_sum"]), float(r["m_m"]), float(r["d_sum"]),
                                      float(r["d_d"]), float(r["m_d"]))
            elif cuped:
                out[arm] = RegressionAdjustedStats(n, float(r["m_sum"]), float(r["m_m"]), float(r["mp_sum"]),
                                                   float(r["mp_mp"]), float(r["m_mp"]))
            elif kind == "proportion":
                out[arm] = ProportionStats(n, float(r["m_sum"]))
            else:
                out[arm] = SampleMeanStats(n, float(r["m_sum"]), float(r["m_m"]))
        except KeyError as exc:
            raise DataError(
                f"aggregate row is missing column {exc.args[0]!r}; build the query with sql_aggregates() "
                f"for kind {kind!r}{' with pre_col' if cuped else ''}"
            ) from None
    return out
