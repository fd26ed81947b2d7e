"""The text of the readout's one statement (:func:`build_query`), stage by stage.

:mod:`playbook.analyses.experiment.sql` describes the stages (``a``, ``j0..``, ``t``, ``x``,
``pu``, the result) and runs the statement; this module only writes it, from a :class:`Query`
(what is read) and the views of the tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from playbook.analyses.experiment.spec import MetricDef, Part
from playbook.sql import quote_ident as q
from playbook.sql import quote_string as lit

MISSING = "(missing)"
_UNION = "\n    UNION ALL BY NAME\n    "


@dataclass(frozen=True)
class Columns:
    """Column names of the input tables (defaults: the sample warehouse)."""

    user: str = "user_id"
    experiment: str = "experiment"
    arm: str = "variant"
    assigned_ts: str = "assigned_ts"
    pre_value: str = "pre_value"


@dataclass(frozen=True)
class Query:
    """What the statement reads: the metrics of ``experiment``'s units (assigned in ``[start,
    end)``), the covariate of the ``cuped`` metrics in ``pre_table``, the ``segments`` columns of
    ``users_table``. :meth:`used` drops the tables nothing reads."""

    metrics: Sequence[MetricDef]
    cols: Columns
    experiment: str
    assignments: str = "assignments"
    window_days: float = 14.0
    start: datetime | None = None
    end: datetime | None = None
    pre_table: str | None = "metrics_pre"
    cuped: Sequence[str] = ()
    users_table: str | None = "users"
    segments: Sequence[str] = ()

    def used(self) -> Query:
        """The query without the covariate table when no metric uses CUPED, nor the users table
        without segments."""
        return replace(self, pre_table=self.pre_table if self.cuped else None,
                       users_table=self.users_table if self.segments else None)

    @property
    def use_pre(self) -> bool:
        return bool(self.cuped and self.pre_table)

    @property
    def use_seg(self) -> bool:
        return bool(self.segments and self.users_table)

    def where(self) -> list[str]:
        """The conditions on the assignment rows: the experiment, the assignment period."""
        cols = self.cols
        where = [f"{q(cols.experiment)} = {lit(self.experiment)}"]
        if self.start is not None:
            where.append(f"{q(cols.assigned_ts)} >= TIMESTAMP {lit(self.start.isoformat(sep=' '))}")
        if self.end is not None:
            where.append(f"{q(cols.assigned_ts)} < TIMESTAMP {lit(self.end.isoformat(sep=' '))}")
        return where


def _micros(days: float) -> str:
    return f"to_microseconds(CAST({round(days * 86_400e6)} AS BIGINT))"


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


@dataclass(frozen=True)
class _Parts:
    """Every part of every metric by alias (``v<i>_<j>``): per-user tables (no time column),
    keyed by table, and timed ones, keyed by (table, time column)."""

    untimed: dict[str, list[tuple[str, Part]]]
    timed: dict[tuple[str, str], list[tuple[str, Part]]]
    binary: set[str]

    @classmethod
    def of(cls, metrics: Sequence[MetricDef]) -> _Parts:
        parts = cls({}, {}, set())
        for i, m in enumerate(metrics):
            for j, p in enumerate(m.parts):
                alias = f"v{i}_{j}"
                if m.kind == "binary":
                    parts.binary.add(alias)
                if p.ts:
                    parts.timed.setdefault((p.table, p.ts), []).append((alias, p))
                else:
                    parts.untimed.setdefault(p.table, []).append((alias, p))
        return parts

    def contribution(self, alias: str, p: Part) -> str:
        return _contribution(alias, p, alias in self.binary)

    @property
    def untimed_aliases(self) -> list[str]:
        return [a for parts in self.untimed.values() for a, _ in parts]


@dataclass
class _Stage:
    """The statement as it is written: its CTEs, the SQL of each part's per-user value, where
    the covariate (``pre``) and segment columns (``seg`` + k) are, and what ``pu`` reads."""

    ctes: list[str]
    value_of: dict[str, str] = field(default_factory=dict)
    pre: str = "a.pre"
    seg: str = "a.s"
    source: str = "a"


def _per_user_sources(query: Query, views: dict[str, str], parts: _Parts) -> list[tuple[str, list[str], list[str]]]:
    """(view, columns, conditions) of every per-user table: untimed parts, covariate, segments."""
    cols = query.cols
    per_user: list[tuple[str, list[str], list[str]]] = [
        (views[table], [parts.contribution(a, p) for a, p in ps], []) for table, ps in parts.untimed.items()]
    if query.use_pre:
        per_user.append((views[query.pre_table or ""], [f"CAST({q(cols.pre_value)} AS DOUBLE) AS pre"],
                         [f"{q(cols.experiment)} = {lit(query.experiment)}"]))
    if query.use_seg:
        per_user.append((views[query.users_table or ""],
                         [f"CAST({q(s)} AS VARCHAR) AS s{k}" for k, s in enumerate(query.segments)], []))
    return per_user


def _stacked(query: Query, assigned: str, per_user: list[tuple[str, list[str], list[str]]], parts: _Parts) -> _Stage:
    """Stage 1: one GROUP BY user over assignments and every per-user table stacked (no join)."""
    branches = [assigned] + [_branch(view, query.cols.user, c, w) for view, c, w in per_user]
    aggs1 = ["MIN(arm) AS arm_min", "MAX(arm) AS arm_max", "MIN(t0) AS t0"]
    aggs1 += [f"SUM({a}) AS {a}" for a in parts.untimed_aliases]
    aggs1 += ["AVG(pre) AS pre"] if query.use_pre else []
    aggs1 += [f"MAX(s{k}) AS s{k}" for k in range(len(query.segments))] if query.use_seg else []
    union = _UNION.join(f"({b})" for b in branches)
    ctes = [f"u1 AS (SELECT uid, {', '.join(aggs1)} FROM (\n    {union}\n  ) GROUP BY uid)",
            "a AS (SELECT * EXCLUDE (arm_min, arm_max), "
            "CASE WHEN arm_min = arm_max THEN arm_min END AS arm FROM u1 WHERE arm_min IS NOT NULL)"]
    return _Stage(ctes, {a: f"COALESCE(a.{a}, 0)" for a in parts.untimed_aliases})


def _joined(query: Query, assigned: str, per_user: list[tuple[str, list[str], list[str]]], parts: _Parts) -> _Stage:
    """Stage 1: one GROUP BY user over the assignments; each per-user table's rows hash-joined to it."""
    ctes = [f"a AS MATERIALIZED (SELECT uid, CASE WHEN MIN(arm) = MAX(arm) THEN MIN(arm) END AS arm, "
            f"MIN(t0) AS t0 FROM ({assigned}) GROUP BY uid HAVING MIN(arm) IS NOT NULL)"]
    joins = [f"LEFT JOIN ({_branch(view, query.cols.user, c, w)}) AS j{k} ON j{k}.uid = a.uid"
             for k, (view, c, w) in enumerate(per_user)]
    value_of = {a: f"COALESCE(j{k}.{a}, 0)" for k, ps in enumerate(parts.untimed.values()) for a, _ in ps}
    k = len(parts.untimed)
    return _Stage(ctes, value_of, pre=f"j{k}.pre", seg=f"j{k + int(query.use_pre)}.s", source=" ".join(["a", *joins]))


def _timed(query: Query, views: dict[str, str], parts: _Parts, stage: _Stage) -> None:
    """Stage 2: the timed tables stacked, joined to the assigned users inside the longest window."""
    tb = []
    for (table, ts), ps in parts.timed.items():
        events = [p.event for _, p in ps]
        w = []
        if all(events) and len({p.event_col for _, p in ps}) == 1:
            w.append(f"{q(ps[0][1].event_col)} IN ({', '.join(lit(e) for e in sorted({e for e in events if e}))})")
        tb.append(_branch(views[table], query.cols.user, [f"{q(ts)} AS ts"] + [parts.contribution(a, p)
                                                                               for a, p in ps], w))
    longest = max(p.window_days or query.window_days for ps in parts.timed.values() for _, p in ps)
    stage.ctes.append("t AS (" + _UNION.join(f"({b})" for b in tb) + ")")
    sums = []
    for ps in parts.timed.values():
        for a, p in ps:
            days = p.window_days or query.window_days
            expr = f"t.{a}" if days >= longest else f"CASE WHEN t.ts < a.t0 + {_micros(days)} THEN t.{a} END"
            sums.append(f"SUM({expr}) AS {a}")
            stage.value_of[a] = f"COALESCE(x.{a}, 0)"
    stage.ctes.append(f"x AS (SELECT a.uid, {', '.join(sums)} FROM a JOIN t ON t.uid = a.uid AND t.ts >= a.t0 "
                      f"AND t.ts < a.t0 + {_micros(longest)} GROUP BY a.uid)")
    stage.source += " LEFT JOIN x ON x.uid = a.uid"


def _cap(m: MetricDef, i: int) -> str | None:
    """The SQL of metric ``i``'s cap (a value, or its quantile over the pooled users), if any."""
    if m.cap is not None:
        return repr(float(m.cap))
    if m.cap_quantile is not None:
        return f"(SELECT quantile_cont(m{i}, {m.cap_quantile!r}) FROM pu_raw)"
    return None


def _per_user_values(query: Query, stage: _Stage) -> None:
    """``pu``: one row per user with arm, assignment day, segments, covariate and metric values."""
    raw = ["a.arm", "CAST(a.t0 AS DATE) AS day"]
    n_seg = len(query.segments)
    raw += [f"COALESCE({stage.seg}{k}, {lit(MISSING)}) AS s{k}" for k in range(n_seg)] if query.use_seg else \
        [f"{lit(MISSING)} AS s{k}" for k in range(n_seg)]
    if query.use_pre:
        raw.append(f"COALESCE({stage.pre}, 0.0) AS pre")
    capped: dict[str, str] = {}
    for i, m in enumerate(query.metrics):
        num = stage.value_of[f"v{i}_0"]
        raw.append((f"CAST({num} > 0 AS DOUBLE)" if m.kind == "binary" else num) + f" AS m{i}")
        if m.kind == "ratio":
            raw.append(f"{stage.value_of[f'v{i}_1']} AS d{i}")
        cap = _cap(m, i)
        if cap is not None:
            capped[f"m{i}"] = cap
    stage.ctes.append(f"pu_raw AS (SELECT {', '.join(raw)} FROM {stage.source})")
    if capped:
        sel = ", ".join(f"LEAST({c}, {capped[c]}) AS {c}" for c in capped)
        stage.ctes.append(f"pu AS (SELECT * REPLACE ({sel}) FROM pu_raw)")
    else:
        stage.ctes.append("pu AS (SELECT * FROM pu_raw)")


def _sums(query: Query, stacked: bool) -> list[str]:
    """The sufficient statistics per group: n, sums, sums of squares, cross-products."""
    aggs = ["COUNT(*) AS n"]
    if query.use_pre:
        aggs += ["SUM(pre) AS p", "SUM(pre * pre) AS pp"]
    for i, m in enumerate(query.metrics):
        aggs += [f"SUM(m{i}) AS m{i}_s", f"SUM(m{i} * m{i}) AS m{i}_ss"]
        if m.kind == "ratio":
            aggs += [f"SUM(d{i}) AS d{i}_s", f"SUM(d{i} * d{i}) AS d{i}_ss", f"SUM(m{i} * d{i}) AS m{i}_d"]
        if m.name in query.cuped and query.use_pre:
            aggs.append(f"SUM(m{i} * pre) AS m{i}_p")
    if not stacked:
        aggs.append("(SELECT COUNT(*) FROM a) AS n_users")
    return aggs


def build_query(query: Query, *, views: dict[str, str], arm_values: Sequence[str], stacked: bool = True) -> str:
    """The SQL statement described in :mod:`playbook.analyses.experiment.sql` (``views``: table
    name -> view).

    Arms are aggregated as their 1-based position in ``arm_values`` (small integers hash and
    compare much faster than text in the per-user GROUP BY); ``arm_aggregates`` maps back.
    ``stacked`` (the default, always exact) sums every per-user table per user in the stacked
    GROUP BY; ``stacked=False`` joins their rows to the assigned users instead, which is exact
    only if no assigned user has two rows in one of them, so that statement also returns
    ``n_users`` (assigned users): the overall counts add up to it exactly when that holds.
    """
    cols = query.cols
    parts = _Parts.of(query.metrics)
    codes = "[" + ", ".join(lit(a) for a in arm_values) + "]"
    arm_code = f"CAST(list_position({codes}, CAST({q(cols.arm)} AS VARCHAR)) AS SMALLINT)"
    assigned = _branch(views[query.assignments], cols.user, [f"{arm_code} AS arm", f"{q(cols.assigned_ts)} AS t0"],
                       query.where())
    per_user = _per_user_sources(query, views, parts)
    stage = (_stacked if stacked else _joined)(query, assigned, per_user, parts)
    if parts.timed:
        _timed(query, views, parts, stage)
    _per_user_values(query, stage)
    seg_cols = [f"s{i}" for i in range(len(query.segments))]
    sets = ["(arm)", "(arm, day)"] + [f"(arm, {s})" for s in seg_cols]
    flags = ", ".join(f"GROUPING({c}) AS g_{c}" for c in ["day", *seg_cols])
    return (
        "WITH " + ",\n".join(stage.ctes) + "\n"
        f"SELECT arm, day, {', '.join(seg_cols + [flags] + _sums(query, stacked))} FROM pu\n"
        f"GROUP BY GROUPING SETS ({', '.join(sets)})"
    )


__all__ = ["MISSING", "Columns", "Query", "build_query"]
