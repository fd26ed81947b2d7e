"""The readout's one DuckDB query: per-user metric values joined to assignments, summed per arm.

:func:`arm_aggregates` builds and runs a single statement (CTEs), with as few hash passes as
possible (the cost at 10M users is hash aggregations and joins, not reading):

    u1, a   ONE ``GROUP BY user`` over the assignments stacked (``UNION ALL BY NAME``) with every
            per-user table: tables without a time column, the pre-period covariate (CUPED) and
            the users' segment columns. Per user: first assignment time, arm (NULL for a user
            seen in two arms), per-user sums, covariate, segments; no join. Users that are not
            assigned are dropped.
    t, x    only if a metric reads a timed table (events, orders): those tables stacked, joined
            once to the assigned users inside the longest window after assignment, summed per
            user (a shorter window of a metric is a condition inside its sum).
    pu      one row per user: arm, assignment day, segments, every metric value (0 if no rows),
            capped where asked (a quantile is computed over the pooled per-user values)
    result  sufficient statistics (n, sums, sums of squares, cross-products) per arm, for the
            grouping sets (arm), (arm, day) and (arm, segment) of each segment column

Only those few hundred rows reach pandas, so a readout of 10M assignments runs in seconds.
Metric values follow :mod:`playbook.analyses.readout_spec`; a missing value is 0, a missing
pre-period value is 0 (as :mod:`playbook.stats.frame`), a missing segment is ``(missing)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from playbook.analyses.readout_spec import MetricDef, Part
from playbook.errors import DataError
from playbook.sources import Warehouse

MISSING = "(missing)"


@dataclass(frozen=True)
class Columns:
    """Column names of the input tables (defaults: the sample warehouse)."""

    user: str = "user_id"
    experiment: str = "experiment"
    arm: str = "variant"
    assigned_ts: str = "assigned_ts"
    pre_value: str = "pre_value"


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _micros(days: float) -> str:
    return f"to_microseconds(CAST({round(days * 86_400e6)} AS BIGINT))"


def _require(wh: Warehouse, table: str, cols: Sequence[str], what: str) -> None:
    try:
        wh.require(table, [c for c in dict.fromkeys(cols) if c])
    except DataError as exc:
        raise DataError(f"{what}: {exc}") from None


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
                segments: Sequence[str], views: dict[str, str], arm_values: Sequence[str]) -> str:
    """The SQL statement described in the module docstring (``views``: table name -> view).

    Arms are aggregated as their 1-based position in ``arm_values`` (small integers hash and
    compare much faster than text in the per-user GROUP BY); :func:`arm_aggregates` maps back.
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
    # stage 1: one GROUP BY user over assignments and every per-user table stacked (no join)
    codes = "[" + ", ".join(lit(a) for a in arm_values) + "]"
    arm_code = f"CAST(list_position({codes}, CAST({q(cols.arm)} AS VARCHAR)) AS SMALLINT)"
    branches = [_branch(views[assignments], cols.user, [f"{arm_code} AS arm",
                                                         f"{q(cols.assigned_ts)} AS t0"], where)]
    for table, parts in untimed.items():
        branches.append(_branch(views[table], cols.user, [_contribution(a, p, a in binary) for a, p in parts], []))
    if use_pre:
        branches.append(_branch(views[pre_table or ""], cols.user,  # type: ignore[index]
                                [f"CAST({q(cols.pre_value)} AS DOUBLE) AS pre"],
                                [f"{q(cols.experiment)} = {lit(experiment)}"]))
    if use_seg:
        branches.append(_branch(views[users_table or ""], cols.user,  # type: ignore[index]
                                [f"CAST({q(s)} AS VARCHAR) AS s{k}" for k, s in enumerate(segments)], []))
    aggs1 = ["MIN(arm) AS arm_min", "MAX(arm) AS arm_max", "MIN(t0) AS t0"]
    aggs1 += [f"SUM({a}) AS {a}" for parts in untimed.values() for a, _ in parts]
    aggs1 += ["AVG(pre) AS pre"] if use_pre else []
    aggs1 += [f"MAX(s{k}) AS s{k}" for k in range(len(segments))] if use_seg else []
    union = "\n    UNION ALL BY NAME\n    ".join(f"({b})" for b in branches)
    ctes = [f"u1 AS (SELECT uid, {', '.join(aggs1)} FROM (\n    {union}\n  ) GROUP BY uid)",
            "a AS (SELECT * EXCLUDE (arm_min, arm_max), "
            "CASE WHEN arm_min = arm_max THEN arm_min END AS arm FROM u1 WHERE arm_min IS NOT NULL)"]
    value_of = {a: f"COALESCE(a.{a}, 0)" for parts in untimed.values() for a, _ in parts}
    source = "a"
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
        source = "a LEFT JOIN x USING (uid)"
    # per-user values
    raw = ["a.arm", "CAST(a.t0 AS DATE) AS day"]
    raw += [f"COALESCE(a.s{k}, {lit(MISSING)}) AS s{k}" for k in range(len(segments))] if use_seg else \
        [f"{lit(MISSING)} AS s{k}" for k in range(len(segments))]
    if use_pre:
        raw.append("COALESCE(a.pre, 0.0) AS pre")
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
    sql = build_query(metrics, cols, experiment=experiment, assignments=assignments, window_days=window_days,
                      start=start, end=end, pre_table=pre_table, cuped=cuped, users_table=users_table,
                      segments=segments, views=views, arm_values=arm_values)
    try:
        df = wh.sql(sql)
    except Exception as exc:  # duckdb's errors name the column but not the table we built
        raise DataError(f"experiment '{experiment}': the readout query failed ({exc}); check that the "
                        "columns have the types the metrics need (numeric values, timestamps)") from None
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
