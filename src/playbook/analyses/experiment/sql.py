"""The readout's one DuckDB query: per-user metric values joined to assignments, summed per arm.

:func:`arm_aggregates` builds and runs a single statement (CTEs), with as few hash passes as
possible (the cost at 10M users is hash aggregations and joins, not reading):

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
from datetime import datetime

import pandas as pd

from playbook.analyses.experiment.spec import MetricDef, Part
from playbook.errors import DataError
from playbook.sources import Warehouse
from playbook.sql import quote_ident as q
from playbook.sql import quote_string as lit

MISSING = "(missing)"


@dataclass(frozen=True)
class Columns:
    """Column names of the input tables (defaults: the sample warehouse)."""

    user: str = "user_id"
    experiment: str = "experiment"
    arm: str = "variant"
    assigned_ts: str = "assigned_ts"
    pre_value: str = "pre_value"


def _micros(days: float) -> str:
    return f"to_microseconds(CAST({round(days * 86_400e6)} AS BIGINT))"


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
        rows = f"{self.rows:,} rows" + (f" with event '{self.event}'" if self.event else "")
        return f"{self.nulls:,} of {rows} in table '{self.table}' have no '{self.column}' (metric {self.metric})"


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


def check_inputs(wh: Warehouse, metrics: Sequence[MetricDef], cols: Columns, assignments: str,
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


def _contribution(alias: str, p: Part, binary: bool) -> str:
    """Per source row: what the row adds to the part's per-user sum (NULL when it does not count)."""
    if p.value:
        val = f"CAST({q(p.value)} > 0 AS DOUBLE)" if binary else f"CAST({q(p.value)} AS DOUBLE)"
    else:
        val = "1.0"
    if p.event:
        return f"CASE WHEN {q(p.event_col)} = {lit(p.event)} THEN {val} END AS {alias}"
    return f"{val} AS {alias}"


def _branch(view: str, user: str, cols: list[str], where: list[str]) -> str:
    return f"SELECT {q(user)} AS uid, {', '.join(cols)} FROM {view}" + (f" WHERE {' AND '.join(where)}" if where else "")


def build_query(metrics: Sequence[MetricDef], cols: Columns, *, experiment: str, assignments: str,
                window_days: float, start: datetime | None, end: datetime | None,
                pre_table: str | None, cuped: Sequence[str], users_table: str | None,
                segments: Sequence[str], views: dict[str, str], arm_values: Sequence[str],
                stacked: bool = True) -> str:
    """The SQL statement described in the module docstring (``views``: table name -> view).

    Arms are aggregated as their 1-based position in ``arm_values`` (small integers hash and
    compare much faster than text in the per-user GROUP BY); :func:`arm_aggregates` maps back.
    ``stacked`` (the default, always exact) sums every per-user table per user in the stacked
    GROUP BY; ``stacked=False`` joins their rows to the assigned users instead, which is exact
    only if no assigned user has two rows in one of them, so that statement also returns
    ``n_users`` (assigned users): the overall counts add up to it exactly when that holds.
    """
    where = [f"{q(cols.experiment)} = {lit(experiment)}"]
    if start is not None:
        where.append(f"{q(cols.assigned_ts)} >= TIMESTAMP {lit(start.isoformat(sep=' '))}")
    if end is not None:
        where.append(f"{q(cols.assigned_ts)} < TIMESTAMP {lit(end.isoformat(sep=' '))}")
    # every part of every metric, split into per-user tables (no time column) and timed ones
    untimed: dict[str, list[tuple[str, Part]]] = {}
    timed: dict[tuple[str, str], list[tuple[str, Part]]] = {}
    binary: set[str] = set()
    for i, m in enumerate(metrics):
        for j, p in enumerate(m.parts):
            alias = f"v{i}_{j}"
            if m.kind == "binary":
                binary.add(alias)
            if p.ts:
                timed.setdefault((p.table, p.ts), []).append((alias, p))
            else:
                untimed.setdefault(p.table, []).append((alias, p))
    use_pre = bool(cuped and pre_table)
    use_seg = bool(segments and users_table)
    codes = "[" + ", ".join(lit(a) for a in arm_values) + "]"
    arm_code = f"CAST(list_position({codes}, CAST({q(cols.arm)} AS VARCHAR)) AS SMALLINT)"
    assigned = _branch(views[assignments], cols.user, [f"{arm_code} AS arm", f"{q(cols.assigned_ts)} AS t0"], where)
    per_user: list[tuple[str, list[str], list[str]]] = []  # (view, columns, conditions) of every per-user table
    for table, parts in untimed.items():
        per_user.append((views[table], [_contribution(a, p, a in binary) for a, p in parts], []))
    if use_pre:
        per_user.append((views[pre_table or ""], [f"CAST({q(cols.pre_value)} AS DOUBLE) AS pre"],
                         [f"{q(cols.experiment)} = {lit(experiment)}"]))
    if use_seg:
        per_user.append((views[users_table or ""],
                         [f"CAST({q(s)} AS VARCHAR) AS s{k}" for k, s in enumerate(segments)], []))
    value_of: dict[str, str] = {}
    if stacked:
        # stage 1: one GROUP BY user over assignments and every per-user table stacked (no join)
        branches = [assigned] + [_branch(view, cols.user, c, w) for view, c, w in per_user]
        aggs1 = ["MIN(arm) AS arm_min", "MAX(arm) AS arm_max", "MIN(t0) AS t0"]
        aggs1 += [f"SUM({a}) AS {a}" for parts in untimed.values() for a, _ in parts]
        aggs1 += ["AVG(pre) AS pre"] if use_pre else []
        aggs1 += [f"MAX(s{k}) AS s{k}" for k in range(len(segments))] if use_seg else []
        union = "\n    UNION ALL BY NAME\n    ".join(f"({b})" for b in branches)
        ctes = [f"u1 AS (SELECT uid, {', '.join(aggs1)} FROM (\n    {union}\n  ) GROUP BY uid)",
                "a AS (SELECT * EXCLUDE (arm_min, arm_max), "
                "CASE WHEN arm_min = arm_max THEN arm_min END AS arm FROM u1 WHERE arm_min IS NOT NULL)"]
        value_of.update({a: f"COALESCE(a.{a}, 0)" for parts in untimed.values() for a, _ in parts})
        pre, seg = "a.pre", "a.s"
        source = "a"
    else:
        # stage 1: one GROUP BY user over the assignments; each per-user table's rows hash-joined to it
        ctes = [f"a AS MATERIALIZED (SELECT uid, CASE WHEN MIN(arm) = MAX(arm) THEN MIN(arm) END AS arm, "
                f"MIN(t0) AS t0 FROM ({assigned}) GROUP BY uid HAVING MIN(arm) IS NOT NULL)"]
        joins = [f"LEFT JOIN ({_branch(view, cols.user, c, w)}) AS j{k} ON j{k}.uid = a.uid"
                 for k, (view, c, w) in enumerate(per_user)]
        k = 0
        for parts in untimed.values():
            value_of.update({a: f"COALESCE(j{k}.{a}, 0)" for a, _ in parts})
            k += 1
        pre, seg = f"j{k}.pre", f"j{k + int(use_pre)}.s"
        source = " ".join(["a", *joins])
    if timed:
        # stage 2: the timed tables stacked, joined to the assigned users inside the longest window
        tb = []
        for (table, ts), parts in timed.items():
            events = [p.event for _, p in parts]
            w = []
            if all(events) and len({p.event_col for _, p in parts}) == 1:
                w.append(f"{q(parts[0][1].event_col)} IN ({', '.join(lit(e) for e in sorted({e for e in events if e}))})")
            tb.append(_branch(views[table], cols.user, [f"{q(ts)} AS ts"] + [_contribution(a, p, a in binary)
                                                                              for a, p in parts], w))
        longest = max(p.window_days or window_days for parts in timed.values() for _, p in parts)
        ctes.append("t AS (" + "\n    UNION ALL BY NAME\n    ".join(f"({b})" for b in tb) + ")")
        sums = []
        for parts in timed.values():
            for a, p in parts:
                days = p.window_days or window_days
                expr = f"t.{a}" if days >= longest else f"CASE WHEN t.ts < a.t0 + {_micros(days)} THEN t.{a} END"
                sums.append(f"SUM({expr}) AS {a}")
                value_of[a] = f"COALESCE(x.{a}, 0)"
        ctes.append(f"x AS (SELECT a.uid, {', '.join(sums)} FROM a JOIN t ON t.uid = a.uid AND t.ts >= a.t0 "
                    f"AND t.ts < a.t0 + {_micros(longest)} GROUP BY a.uid)")
        source += " LEFT JOIN x ON x.uid = a.uid"
    # per-user values
    raw = ["a.arm", "CAST(a.t0 AS DATE) AS day"]
    raw += [f"COALESCE({seg}{k}, {lit(MISSING)}) AS s{k}" for k in range(len(segments))] if use_seg else \
        [f"{lit(MISSING)} AS s{k}" for k in range(len(segments))]
    if use_pre:
        raw.append(f"COALESCE({pre}, 0.0) AS pre")
    capped: dict[str, str] = {}
    for i, m in enumerate(metrics):
        num = value_of[f"v{i}_0"]
        raw.append((f"CAST({num} > 0 AS DOUBLE)" if m.kind == "binary" else num) + f" AS m{i}")
        if m.kind == "ratio":
            raw.append(f"{value_of[f'v{i}_1']} AS d{i}")
        if m.cap is not None:
            capped[f"m{i}"] = repr(float(m.cap))
        elif m.cap_quantile is not None:
            capped[f"m{i}"] = f"(SELECT quantile_cont(m{i}, {m.cap_quantile!r}) FROM pu_raw)"
    ctes.append(f"pu_raw AS (SELECT {', '.join(raw)} FROM {source})")
    if capped:
        sel = ", ".join(f"LEAST({c}, {capped[c]}) AS {c}" for c in capped)
        ctes.append(f"pu AS (SELECT * REPLACE ({sel}) FROM pu_raw)")
    else:
        ctes.append("pu AS (SELECT * FROM pu_raw)")
    aggs = ["COUNT(*) AS n"]
    if use_pre:
        aggs += ["SUM(pre) AS p", "SUM(pre * pre) AS pp"]
    for i, m in enumerate(metrics):
        aggs += [f"SUM(m{i}) AS m{i}_s", f"SUM(m{i} * m{i}) AS m{i}_ss"]
        if m.kind == "ratio":
            aggs += [f"SUM(d{i}) AS d{i}_s", f"SUM(d{i} * d{i}) AS d{i}_ss", f"SUM(m{i} * d{i}) AS m{i}_d"]
        if m.name in cuped and use_pre:
            aggs.append(f"SUM(m{i} * pre) AS m{i}_p")
    seg_cols = [f"s{i}" for i in range(len(segments))]
    sets = ["(arm)", "(arm, day)"] + [f"(arm, {s})" for s in seg_cols]
    flags = ", ".join(f"GROUPING({c}) AS g_{c}" for c in ["day", *seg_cols])
    if not stacked:
        aggs.append("(SELECT COUNT(*) FROM a) AS n_users")
    return (
        "WITH " + ",\n".join(ctes) + "\n"
        f"SELECT arm, day, {', '.join(seg_cols + [flags] + aggs)} FROM pu\n"
        f"GROUP BY GROUPING SETS ({', '.join(sets)})"
    )


def arm_aggregates(wh: Warehouse, metrics: Sequence[MetricDef], cols: Columns, *, experiment: str,
                   assignments: str = "assignments", window_days: float = 14.0,
                   start: datetime | None = None, end: datetime | None = None,
                   pre_table: str | None = "metrics_pre", cuped: Sequence[str] = (),
                   users_table: str | None = "users", segments: Sequence[str] = ()) -> pd.DataFrame:
    """Run :func:`build_query`; returns a frame with column ``set`` (``overall``, ``day`` or the
    segment column) and ``level`` (the day or segment value) next to arm, n and the sums."""
    pre_table = pre_table if cuped else None
    users_table = users_table if segments else None
    check_inputs(wh, metrics, cols, assignments, pre_table, users_table, segments)
    tables = {assignments, *(p.table for m in metrics for p in m.parts)}
    tables |= {t for t in (pre_table, users_table) if t}
    views = {t: wh.view(t) for t in sorted(tables)}
    where = [f"{q(cols.experiment)} = {lit(experiment)}"]
    if start is not None:
        where.append(f"{q(cols.assigned_ts)} >= TIMESTAMP {lit(start.isoformat(sep=' '))}")
    if end is not None:
        where.append(f"{q(cols.assigned_ts)} < TIMESTAMP {lit(end.isoformat(sep=' '))}")
    arm_values = [r[0] for r in wh.con.execute(
        f"SELECT DISTINCT CAST({q(cols.arm)} AS VARCHAR) FROM {views[assignments]} WHERE {' AND '.join(where)} "
        "ORDER BY 1").fetchall() if r[0] is not None]
    if not arm_values:
        return pd.DataFrame(columns=["set", "level", "arm", "n"])
    for stacked in (False, True):
        sql = build_query(metrics, cols, experiment=experiment, assignments=assignments, window_days=window_days,
                          start=start, end=end, pre_table=pre_table, cuped=cuped, users_table=users_table,
                          segments=segments, views=views, arm_values=arm_values, stacked=stacked)
        try:
            df = wh.sql(sql)
        except Exception as exc:  # duckdb's errors name the column but not the table we built
            if not stacked:
                continue  # e.g. user ids of different types that a join will not compare: stacked decides
            raise DataError(f"experiment '{experiment}': the readout query failed ({exc}); check that the "
                            "columns have the types the metrics need (numeric values, timestamps)") from None
        if stacked:
            break
        overall = (df["g_day"] == 1) & (df[[f"g_s{i}" for i in range(len(segments))]] == 1).all(axis=1)
        users = df.pop("n_users")
        if len(df) == 0 or int(df.loc[overall, "n"].sum()) == int(users.iloc[0]):
            break  # no assigned user has two rows in a per-user table: the joined sums are exact
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
