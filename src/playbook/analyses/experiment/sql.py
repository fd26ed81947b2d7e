"""The readout's one DuckDB query: per-user metric values joined to assignments, summed per arm.

:func:`arm_aggregates` runs a single statement (CTEs, written by
:mod:`~playbook.analyses.experiment.query`), with as few hash passes as possible (the cost at
10M users is hash aggregations and joins, not reading):

    a       ONE ``GROUP BY user`` over the assignments: first assignment time, arm (NULL for a
            user seen in two arms); users whose rows have no arm are dropped. Materialized, so
            that its user count is read once more for the check below.
    j0..    every per-user table (tables without a time column, the pre-period covariate for
            CUPED, the users' segment columns) hash-joined row by row to ``a``, no aggregation.
            That is exact only if no assigned user has two rows in such a table; the statement
            returns the number of users of ``a`` next to the joined row count, and if they
            differ :func:`arm_aggregates` runs the ``stacked`` form instead: the assignments and
            the per-user tables stacked (``UNION ALL BY NAME``) into one ``GROUP BY user`` that
            sums (covariate: averages, segment: max) each table per user. On 10M users the join
            form is faster (two 10M-row hash passes rather than one over 20M rows with wider
            states), and it stays so with CUPED (one more join rather than 30M rows aggregated).
    t, x    only if a metric reads a timed table (events, orders): those tables stacked, joined
            once to the assigned users inside the longest window after assignment, summed per
            user (a shorter window of a metric is a condition inside its sum).
    pu      one row per user: arm, assignment day, segments, every metric value (0 if no rows),
            capped where asked (a quantile is computed over the pooled per-user values)
    result  sufficient statistics (n, sums, sums of squares, cross-products) per arm, for the
            grouping sets (arm), (arm, day) and (arm, segment) of each segment column

Only those few hundred rows reach pandas, so a readout of 10M assignments runs in seconds.
Metric values follow :mod:`playbook.analyses.experiment.spec`; a missing value is 0, a missing
pre-period value is 0 (as :mod:`playbook.aggregates`), a missing segment is ``(missing)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from playbook.analyses.experiment.query import MISSING, Columns, Query, build_query
from playbook.analyses.experiment.spec import MetricDef
from playbook.errors import DataError
from playbook.i18n import gettext as _
from playbook.sources import Warehouse
from playbook.sql import quote_ident as q
from playbook.sql import quote_string as lit


def _require(wh: Warehouse, table: str, cols: Sequence[str], what: str) -> None:
    try:
        wh.require(table, [c for c in dict.fromkeys(cols) if c])
    except DataError as exc:
        raise DataError(f"{what}: {exc}") from None


@dataclass(frozen=True)
class NullCount:
    """Rows of a metric's table whose value column is null: each counts as 0 in the readout."""

    metric: str
    table: str
    column: str
    event: str | None
    rows: int
    nulls: int

    def describe(self) -> str:
        rows = (_("{n} rows with event '{event}'") if self.event else _("{n} rows")).format(
            n=f"{self.rows:,}", event=self.event)
        return _("{nulls} of {rows} in table '{table}' have no '{column}' (metric {metric})").format(
            nulls=f"{self.nulls:,}", rows=rows, table=self.table, column=self.column, metric=self.metric)


def _listing(values: Sequence[str], limit: int = 25) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "") if values else "none"


def check_metric_data(wh: Warehouse, metrics: Sequence[MetricDef]) -> list[NullCount]:
    """Every metric's table has rows and its events occur; value columns hold no NaN or infinity.

    Run after the column checks. A metric whose event never occurs would read as a lift of 0 with
    zero variance (a typo, or the sample warehouse's event names left in the parameters): the error
    names the metric, the table, the column and the events present. Nulls in a value column count
    as 0 (the readout's rule); their counts are returned so the readout can say how many.
    """
    nulls: list[NullCount] = []
    present: dict[tuple[str, str], list[str]] = {}
    for m in metrics:
        for p in m.parts:
            view = wh.view(p.table)
            where = wh.source(p.table).location
            if p.event:
                key = (p.table, p.event_col)
                if key not in present:
                    present[key] = [r[0] for r in wh.con.execute(
                        f"SELECT DISTINCT CAST({q(p.event_col)} AS VARCHAR) AS e FROM {view} "
                        f"WHERE {q(p.event_col)} IS NOT NULL ORDER BY e").fetchall()]
                if p.event not in present[key]:
                    raise DataError(f"metric '{m.name}': {where}: column '{p.event_col}' of table '{p.table}' has "
                                    f"no event '{p.event}' (events present: {_listing(present[key])}); fix the "
                                    "metric's event name in the parameters")
            elif not wh.con.execute(f"SELECT 1 FROM {view} LIMIT 1").fetchall():
                raise DataError(f"metric '{m.name}': {where}: table '{p.table}' has no rows; export it again or "
                                "point the metric at another table")
            if p.value:
                v = q(p.value)
                cond = f" WHERE {q(p.event_col)} = {lit(p.event)}" if p.event else ""
                rows, n_null, n_bad = wh.con.execute(
                    f"SELECT COUNT(*), COUNT(*) FILTER (WHERE {v} IS NULL), "
                    f"COUNT(*) FILTER (WHERE NOT isfinite(TRY_CAST({v} AS DOUBLE))) FROM {view}{cond}").fetchone() \
                    or (0, 0, 0)
                if n_bad:
                    raise DataError(f"metric '{m.name}': {where}: column '{p.value}' of table '{p.table}' holds "
                                    f"{n_bad:,} NaN or infinite values"
                                    f"{f' in rows with event {p.event!r}' if p.event else ''}; a per-user sum over "
                                    "them is undefined. Fix the export (write a null, which counts as 0, or a number)")
                nulls.append(NullCount(m.name, p.table, p.value, p.event, int(rows), int(n_null)))
    return nulls


def check_covariate(wh: Warehouse, pre_table: str, cols: Columns, experiment: str) -> int:
    """The pre-period covariate holds no NaN or infinity; returns its rows for ``experiment``."""
    view = wh.view(pre_table)
    v = q(cols.pre_value)
    rows, n_bad = wh.con.execute(
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE NOT isfinite(TRY_CAST({v} AS DOUBLE))) FROM {view} "
        f"WHERE {q(cols.experiment)} = {lit(experiment)}").fetchone() or (0, 0)
    if n_bad:
        raise DataError(f"CUPED pre-period: {wh.source(pre_table).location}: column '{cols.pre_value}' holds "
                        f"{n_bad:,} NaN or infinite values for experiment '{experiment}'; fix the export (a null "
                        "counts as 0) or pass cuped=False")
    return int(rows)


def check_inputs(wh: Warehouse, metrics: Sequence[MetricDef], cols: Columns, *, assignments: str,
                 pre_table: str | None, users_table: str | None, segments: Sequence[str]) -> None:
    """Every table and column the query reads exists (errors name the file, column and metric)."""
    _require(wh, assignments, [cols.user, cols.experiment, cols.arm, cols.assigned_ts], "assignments")
    for m in metrics:
        for p in m.parts:
            need = [cols.user, p.ts or "", p.value or ""] + ([p.event_col] if p.event else [])
            _require(wh, p.table, need, f"metric '{m.name}'")
    if pre_table:
        _require(wh, pre_table, [cols.user, cols.experiment, cols.pre_value], "CUPED pre-period")
    if segments and users_table:
        _require(wh, users_table, [cols.user, *segments], "segments")


def arm_aggregates(wh: Warehouse, query: Query) -> pd.DataFrame:
    """Run :func:`~playbook.analyses.experiment.query.build_query`; returns a frame with column
    ``set`` (``overall``, ``day`` or the segment column) and ``level`` (the day or segment value)
    next to arm, n and the sums."""
    query = query.used()
    check_inputs(wh, query.metrics, query.cols, assignments=query.assignments, pre_table=query.pre_table,
                 users_table=query.users_table, segments=query.segments)
    tables = {query.assignments, *(p.table for m in query.metrics for p in m.parts)}
    tables |= {t for t in (query.pre_table, query.users_table) if t}
    views = {t: wh.view(t) for t in sorted(tables)}
    arm_values = [r[0] for r in wh.con.execute(
        f"SELECT DISTINCT CAST({q(query.cols.arm)} AS VARCHAR) FROM {views[query.assignments]} "
        f"WHERE {' AND '.join(query.where())} ORDER BY 1").fetchall() if r[0] is not None]
    if not arm_values:
        return pd.DataFrame(columns=["set", "level", "arm", "n"])
    return _labelled(_run(wh, query, views, arm_values), query.segments, arm_values)


def _run(wh: Warehouse, query: Query, views: dict[str, str], arm_values: list[str]) -> pd.DataFrame:
    """The joined form's result when it is exact (or fails), else the stacked form's."""
    segments = query.segments
    for stacked in (False, True):
        sql = build_query(query, views=views, arm_values=arm_values, stacked=stacked)
        try:
            df = wh.sql(sql)
        except Exception as exc:  # duckdb's errors name the column but not the table we built
            if not stacked:
                continue  # e.g. user ids of different types that a join will not compare: stacked decides
            raise DataError(f"experiment '{query.experiment}': the readout query failed ({exc}); check that the "
                            "columns have the types the metrics need (numeric values, timestamps)") from None
        if stacked:
            break
        overall = (df["g_day"] == 1) & (df[[f"g_s{i}" for i in range(len(segments))]] == 1).all(axis=1)
        users = df.pop("n_users")
        if len(df) == 0 or int(df.loc[overall, "n"].sum()) == int(users.iloc[0]):
            break  # no assigned user has two rows in a per-user table: the joined sums are exact
    return df


def _labelled(df: pd.DataFrame, segments: Sequence[str], arm_values: list[str]) -> pd.DataFrame:
    """The result rows with ``set`` and ``level`` for their grouping set, arms by name."""
    seg_cols = [f"s{i}" for i in range(len(segments))]
    set_name = pd.Series("overall", index=df.index)
    level = pd.Series(None, index=df.index, dtype=object)
    is_day = df["g_day"] == 0
    set_name[is_day] = "day"
    level[is_day] = df.loc[is_day, "day"].astype(str)
    for i, col in enumerate(seg_cols):
        on = df[f"g_{col}"] == 0
        set_name[on] = segments[i]
        level[on] = df.loc[on, col]
    names = dict(enumerate(arm_values, start=1))
    df["arm"] = [None if pd.isna(c) else names.get(int(c)) for c in df["arm"]]
    out = df.drop(columns=["day", *seg_cols, *[c for c in df.columns if c.startswith("g_")]])
    out.insert(0, "level", level)
    out.insert(0, "set", set_name)
    return out.sort_values(["set", "level", "arm"], na_position="first", key=None).reset_index(drop=True)


def experiments_in(wh: Warehouse, assignments: str, cols: Columns) -> list[str]:
    """The experiments present in the assignments table (for error messages)."""
    view = wh.view(assignments)
    rows = wh.con.execute(f"SELECT DISTINCT CAST({q(cols.experiment)} AS VARCHAR) FROM {view} ORDER BY 1").fetchall()
    return [r[0] for r in rows]


__all__ = ["MISSING", "Columns", "NullCount", "Query", "arm_aggregates", "build_query", "check_covariate",
           "check_inputs", "check_metric_data", "experiments_in"]
