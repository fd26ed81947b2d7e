"""Where does work wait? Step durations, waits, SLA breaches, work in progress and trends.

:func:`analyze_process` reads a case log (``case_id, step, start_ts, end_ts``: one row per step a
case went through) with DuckDB and returns small tables. Definitions:

duration
    ``end_ts - start_ts`` of a row, in hours; quantiles are DuckDB's ``quantile_cont`` (linear
    interpolation, as numpy's default). Rows without ``end_ts`` are still open: they count in
    work in progress, not in durations. Rows ending before they start are left out and counted
    in ``invalid_rows``.
duration intervals
    ``p50_ci_low/high`` and ``p90_ci_low/high``: distribution-free 95% confidence intervals
    for the median and p90 duration of each step: the order-statistic (binomial) interval
    ``[x_(l), x_(u)]`` of the n closed rows with ``l = floor(n q - 1.96 sqrt(n q (1-q)))`` and
    ``u = ceil(n q + 1.96 sqrt(n q (1-q))) + 1`` clipped to 1..n (Hahn & Meeker's normal
    approximation, rounded outwards; ``funnel_stats.quantile_ci_ranks``). The bounds are
    observed durations. Coverage is at least 95% from 6 rows (median) and 31 rows (p90); with
    fewer rows the interval is as wide as the data allow (n = 1: the single value) and covers
    less. One extra pass over the log: one ``quantile_disc`` aggregate per step, FILTERed.
wait
    Within a case, rows ordered by start: the wait before a step is its start minus the end of
    the case's previous row (negative if steps overlap). It is reported for the later step.
SLA
    ``sla_hours[step]``: a row breaches when its duration exceeds the SLA. Breach share with a
    Wilson 95% interval; **hours at stake** = total hours above the SLA (sum of duration - SLA
    over breaching rows): the time the team would win back by meeting the SLA.
slowest step, step to fix
    ``slowest_step``: the highest median duration. ``step_to_fix``: the most hours at stake;
    without SLAs it is the step with the most total hours (duration plus the wait before it).
cycle time
    Per case whose rows are all closed: last end minus first start.
work in progress
    Cases open at the end of each day: started by then and not yet finished (a case is finished
    at its last row's end once all its rows are closed).
trend
    Per step, the median duration per ISO week (weeks with at least ``min_week_rows`` rows,
    by row start); the Mann-Kendall trend test (Kendall's tau of the weekly medians against the
    week order, ``scipy.stats.kendalltau``) with the Theil-Sen slope in hours per week. Fewer
    than 4 weeks: no test (NaN).
segments
    ``segment_col`` (a column of the log) or ``segments`` (a DataFrame with ``case_id`` and
    ``segment``): per segment and step the count, median and p90 duration and SLA breach share.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from playbook.analyses.funnel_stats import quantile_ci_probs, wilson_interval
from playbook.analyses.records import records
from playbook.errors import DataError
from playbook.sources import Warehouse
from playbook.stats.trend import mann_kendall

QUANTILES = (0.5, 0.75, 0.9, 0.95, 0.99)
CI_QUANTILES = {"p50": 0.5, "p90": 0.9}  # quantiles reported with a 95% interval
CI_COLUMNS = tuple(f"{c}_ci_{s}" for c in CI_QUANTILES for s in ("low", "high"))
Q_NAMES = ("p50_h", "p75_h", "p90_h", "p95_h", "p99_h")
HOUR_US = 3_600_000_000.0


@dataclass(frozen=True)
class ProcessResult:
    """The outcome of :func:`analyze_process` (module docstring: how each number is defined).

    ``steps``: step, rows, open_rows, mean_h, p50_h .. p99_h, p50_ci_low, p50_ci_high,
    p90_ci_low, p90_ci_high, total_h, wait_p50_h, wait_p90_h,
    wait_total_h, sla_h, breaches, sla_breach, sla_breach_ci_low, sla_breach_ci_high,
    hours_at_stake. ``wip``: day, open_cases. ``weekly``: step, week, rows, median_h.
    ``trend``: step, weeks, tau, p_value, slope_h_per_week. ``segments``: segment, step, rows,
    p50_h, p90_h, breaches, sla_breach (empty without a segment).
    """

    steps: pd.DataFrame = field(repr=False)
    wip: pd.DataFrame = field(repr=False)
    weekly: pd.DataFrame = field(repr=False)
    trend: pd.DataFrame = field(repr=False)
    segments: pd.DataFrame = field(repr=False)
    cases: int
    closed_cases: int
    cycle_p50_h: float
    cycle_p90_h: float
    invalid_rows: int
    slowest_step: str | None
    step_to_fix: str | None
    sla_hours: dict[str, float]

    def metrics(self) -> dict[str, float]:
        """Flat numbers for the outcome; non-finite values are left out."""
        out: dict[str, Any] = {
            "overall.cases": self.cases, "overall.closed_cases": self.closed_cases,
            "overall.cycle_p50_h": self.cycle_p50_h, "overall.cycle_p90_h": self.cycle_p90_h,
            "overall.invalid_rows": self.invalid_rows,
            "overall.hours_at_stake": float(np.nansum(self.steps["hours_at_stake"]))
            if self.sla_hours else np.nan,
        }
        with_sla = self.steps[self.steps["sla_h"].notna()]
        if len(with_sla) and with_sla["rows"].sum():
            out["overall.sla_breach"] = with_sla["breaches"].sum() / with_sla["rows"].sum()
        for r in self.steps.itertuples():
            p = f"step.{r.step}"
            for col in ("rows", *Q_NAMES, "mean_h", "wait_p50_h", "wait_p90_h", "sla_breach",
                        "sla_breach_ci_low", "sla_breach_ci_high", "hours_at_stake"):
                out[f"{p}.{col}"] = getattr(r, col)
            for col in ("p50", "p90"):
                for side in ("low", "high"):
                    out[f"{p}.{col}_h_ci_{side}"] = getattr(r, f"{col}_ci_{side}")
        for r in self.trend.itertuples():
            out[f"step.{r.step}.trend_slope_h_per_week"] = r.slope_h_per_week
            out[f"step.{r.step}.trend_p_value"] = r.p_value
        if len(self.wip):
            out["wip.last"] = self.wip["open_cases"].iloc[-1]
            out["wip.max"] = self.wip["open_cases"].max()
        fix = self._step(self.step_to_fix)
        if fix is not None:
            out["fix.hours_at_stake"] = fix["hours_at_stake"]
            out["fix.p50_h"] = fix["p50_h"]
        return {k: round(float(v), 6) for k, v in out.items()
                if v is not None and math.isfinite(float(v))}

    def _step(self, name: str | None) -> pd.Series | None:
        return None if name is None else self.steps.set_index("step").loc[name]

    def headline(self) -> str:
        """One sentence naming the step to fix and the hours at stake."""
        fix = self._step(self.step_to_fix)
        if fix is None:
            return "No completed step in the process log."
        parts = []
        if math.isfinite(fix["hours_at_stake"]) and fix["hours_at_stake"] > 0:
            parts.append(f"Fix '{self.step_to_fix}': {fix['sla_breach']:.0%} of its "
                         f"{int(fix['rows']):,} runs breach the {fix['sla_h']:g} h SLA, "
                         f"{fix['hours_at_stake']:,.0f} hours above SLA "
                         f"(median {fix['p50_h']:.1f} h, p90 {fix['p90_h']:.1f} h)")
        else:
            parts.append(f"'{self.step_to_fix}' takes the most time: median {fix['p50_h']:.1f} h, "
                         f"p90 {fix['p90_h']:.1f} h over {int(fix['rows']):,} runs"
                         + (", all within SLA" if math.isfinite(fix["sla_h"]) else ""))
        if self.slowest_step and self.slowest_step != self.step_to_fix:
            parts.append(f"the slowest step is '{self.slowest_step}'")
        if math.isfinite(self.cycle_p50_h):
            parts.append(f"cases take {self.cycle_p50_h:.1f} h end to end (median)")
        return "; ".join(parts) + "."

    def details(self) -> dict[str, Any]:
        """JSON-able details: names and every table as records."""
        return {"slowest_step": self.slowest_step, "step_to_fix": self.step_to_fix,
                "sla_hours": dict(self.sla_hours), "steps": records(self.steps),
                "wip": records(self.wip), "weekly": records(self.weekly),
                "trend": records(self.trend), "segments": records(self.segments)}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def analyze_process(
    warehouse: Warehouse,
    table: str = "process_log",
    sla_hours: dict[str, float] | None = None,
    *,
    steps: list[str] | None = None,
    segment_col: str | None = None,
    segments: pd.DataFrame | None = None,
    min_week_rows: int = 5,
    case_col: str = "case_id",
    step_col: str = "step",
    start_col: str = "start_ts",
    end_col: str = "end_ts",
) -> ProcessResult:
    """Durations, waits, SLA breaches, WIP, weekly trends and segments of a case log.

    ``steps`` orders the steps (default: by the median time from the case's start). Raises
    :class:`DataError` for a missing table or column, or an SLA for a step that is not in the log.
    """
    sla = {str(k): float(v) for k, v in (sla_hours or {}).items()}
    cols = [case_col, step_col, start_col, end_col] + ([segment_col] if segment_col else [])
    warehouse.require(table, cols)
    where = warehouse.source(table).location
    types = warehouse.columns(table)
    for c in (start_col, end_col):
        if not (types[c].upper().startswith("TIMESTAMP") or types[c].upper() == "DATE"):
            raise DataError(f"{where}: column '{c}' of table '{table}' is {types[c]}, not a "
                            "timestamp; cast it or pass the right column")
    if segments is not None and not {"case_id", "segment"} <= set(segments.columns):
        raise DataError("segments: expected a DataFrame with columns 'case_id' and 'segment' "
                        f"(it has {', '.join(map(str, segments.columns))})")
    for name, v in sla.items():
        if not v > 0:
            raise ValueError(f"sla_hours['{name}'] = {v!r}: give a positive number of hours")
    view, con = warehouse.view(table), warehouse.con
    tag = uuid.uuid4().hex[:8]
    log, seg_view = f"_pr_log_{tag}", f"_pr_seg_{tag}"
    seg_expr, seg_join = "NULL", ""
    if segment_col:
        seg_expr = f"CAST(l.{_q(segment_col)} AS VARCHAR)"
    elif segments is not None:
        con.register(seg_view, segments[["case_id", "segment"]])
        seg_expr = "CAST(sg.segment AS VARCHAR)"
        seg_join = f"LEFT JOIN {seg_view} sg ON sg.case_id = l.{_q(case_col)}"
    sla_case = " ".join(f"WHEN '{k.replace(chr(39), chr(39) * 2)}' THEN {v}"
                        for k, v in sla.items())
    rows = (f"SELECT l.{_q(case_col)} AS case_id, CAST(l.{_q(step_col)} AS VARCHAR) AS step, "
            f"epoch_us(CAST(l.{_q(start_col)} AS TIMESTAMP)) AS s, "
            f"epoch_us(CAST(l.{_q(end_col)} AS TIMESTAMP)) AS e, {seg_expr} AS seg "
            f"FROM {view} l {seg_join} WHERE l.{_q(start_col)} IS NOT NULL")
    try:
        con.execute(f"""
            CREATE TEMP TABLE {log} AS
            SELECT case_id, step, s, e, seg, (e - s) / {HOUR_US} AS dur_h,
                   (s - lag(e) OVER (PARTITION BY case_id ORDER BY s, e)) / {HOUR_US} AS wait_h,
                   CASE step {sla_case or "WHEN NULL THEN NULL"} END::DOUBLE AS sla_h,
                   (s - min(s) OVER (PARTITION BY case_id)) / {HOUR_US} AS offset_h
            FROM ({rows})""")
        result = _summarize(warehouse, log, sla, steps, min_week_rows, where, table, step_col,
                            has_segments=bool(segment_col) or segments is not None)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {log}")
        if segments is not None and not segment_col:
            con.unregister(seg_view)
    return result


def _duration_intervals(warehouse: Warehouse, log: str, steps: list[Any], rows: list[int],
                        ok: str) -> np.ndarray:
    """(steps x CI_COLUMNS) bounds of the order-statistic intervals (module docstring), NaN for
    a step without closed rows: ``rows`` (the counts) fixes each step's ranks, so one query with
    a FILTERed ``quantile_disc`` per step reads the log once (no sort of all rows)."""
    out = np.full((len(steps), len(CI_COLUMNS)), np.nan)
    aggs, where = [], []
    for i, (name, n) in enumerate(zip(steps, rows, strict=True)):
        probs = [quantile_ci_probs(int(n), q) for q in CI_QUANTILES.values()]
        if any(p is None for p in probs):
            continue
        plist = ", ".join(repr(float(x)) for p in probs if p is not None for x in p)
        lit = str(name).replace("'", "''")
        match = "step IS NULL" if name is None else f"step = '{lit}'"
        aggs.append(f"quantile_disc(dur_h, [{plist}]) FILTER (WHERE {match} AND {ok}) AS c{i}")
        where.append(i)
    if not aggs:
        return out
    got = warehouse.con.execute(f"SELECT {', '.join(aggs)} FROM {log}").fetchone()
    assert got is not None
    for i, values in zip(where, got, strict=True):
        if values is not None:
            out[i] = [np.nan if v is None else float(v) for v in values]
    return out


def _summarize(warehouse: Warehouse, log: str, sla: dict[str, float], order: list[str] | None,
               min_week_rows: int, where: str, table: str, step_col: str,
               has_segments: bool) -> ProcessResult:
    q = ", ".join(str(x) for x in QUANTILES)
    ok = "dur_h >= 0"
    st = warehouse.sql(f"""
        SELECT step, count(*) FILTER (WHERE {ok}) AS rows, count(*) FILTER (WHERE e IS NULL)
               AS open_rows, avg(dur_h) FILTER (WHERE {ok}) AS mean_h,
               quantile_cont(dur_h, [{q}]) FILTER (WHERE {ok}) AS qs,
               coalesce(sum(dur_h) FILTER (WHERE {ok}), 0) AS total_h,
               quantile_cont(wait_h, [0.5, 0.9]) AS wq, coalesce(sum(wait_h), 0) AS wait_total_h,
               any_value(sla_h) AS sla_h,
               count(*) FILTER (WHERE {ok} AND dur_h > sla_h) AS breaches,
               sum(dur_h - sla_h) FILTER (WHERE {ok} AND dur_h > sla_h) AS hours_at_stake,
               median(offset_h) AS offset_h
        FROM {log} GROUP BY step""")
    invalid = int(warehouse.sql(f"SELECT count(*) AS n FROM {log} WHERE dur_h < 0")["n"].iloc[0])
    unknown = sorted(set(sla) - set(st["step"]))
    if unknown:
        raise DataError(f"{where}: column '{step_col}' of table '{table}' has no step "
                        f"{', '.join(repr(s) for s in unknown)} named in sla_hours; steps "
                        f"present: {', '.join(sorted(st['step']))}. Fix the SLA's step name")
    if order:
        missing = [s for s in order if s not in set(st["step"])]
        if missing:
            raise DataError(f"{where}: column '{step_col}' of table '{table}' has no step "
                            f"{', '.join(map(repr, missing))}; steps present: "
                            f"{', '.join(sorted(st['step']))}")
        rank = {s: i for i, s in enumerate(order)}
        st = st[st["step"].isin(rank)].assign(_o=st["step"].map(rank))
    else:
        st = st.assign(_o=st["offset_h"])
    st = st.sort_values(["_o", "step"], kind="stable", ignore_index=True)
    for i, name in enumerate(Q_NAMES):
        st[name] = [float(v[i]) if isinstance(v, list | np.ndarray) else np.nan for v in st["qs"]]
    st["wait_p50_h"] = [float(v[0]) if isinstance(v, list | np.ndarray) and v[0] is not None
                        else np.nan for v in st["wq"]]
    st["wait_p90_h"] = [float(v[1]) if isinstance(v, list | np.ndarray) and v[1] is not None
                        else np.nan for v in st["wq"]]
    has_sla = st["sla_h"].notna().to_numpy()
    rows = st["rows"].to_numpy(float)
    breaches = st["breaches"].to_numpy(float)
    lo, hi = wilson_interval(breaches, rows)
    st["sla_h"] = st["sla_h"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        st["sla_breach"] = np.where(has_sla & (rows > 0), breaches / rows, np.nan)
    st["sla_breach_ci_low"] = np.where(has_sla, lo, np.nan)
    st["sla_breach_ci_high"] = np.where(has_sla, hi, np.nan)
    st["hours_at_stake"] = np.where(has_sla, st["hours_at_stake"].astype(float).fillna(0.0),
                                    np.nan)
    st["breaches"] = np.where(has_sla, breaches, np.nan)
    ci = _duration_intervals(warehouse, log, st["step"].tolist(), st["rows"].tolist(), ok)
    for j, col in enumerate(CI_COLUMNS):
        st[col] = ci[:, j]
    st = st[["step", "rows", "open_rows", "mean_h", *Q_NAMES, *CI_COLUMNS, "total_h",
             "wait_p50_h",
             "wait_p90_h", "wait_total_h", "sla_h", "breaches", "sla_breach", "sla_breach_ci_low",
             "sla_breach_ci_high", "hours_at_stake"]]
    st = st.astype({c: float for c in st.columns if c not in ("step", "rows", "open_rows")})

    med = st["p50_h"].to_numpy()
    slowest = str(st["step"].iloc[int(np.nanargmax(med))]) if np.isfinite(med).any() else None
    stake = st["hours_at_stake"].to_numpy()
    fix: str | None
    if sla and np.nansum(stake) > 0:
        fix = str(st["step"].iloc[int(np.nanargmax(stake))])
    else:
        load = st["total_h"].to_numpy() + np.nan_to_num(st["wait_total_h"].to_numpy())
        fix = str(st["step"].iloc[int(np.argmax(load))]) if len(st) and rows.sum() else None

    # one row per case (first start; last end once every row is closed), read by both the
    # cycle time and the work in progress (one GROUP BY case instead of two)
    cs = f"{log}_cases"
    warehouse.con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {cs} AS
        SELECT case_id, min(s) AS s, CASE WHEN bool_and(e IS NOT NULL) THEN max(e) END AS e
        FROM {log} GROUP BY case_id""")
    try:
        cases = warehouse.sql(f"""
            SELECT count(*) AS cases, count(e) AS closed,
                   quantile_cont((e - s) / {HOUR_US}, [0.5, 0.9]) AS cq FROM {cs}""")
        wip = warehouse.sql(f"""
            WITH d AS (SELECT (s // 86400000000) AS day, 1 AS delta FROM {cs}
                  UNION ALL SELECT (e // 86400000000), -1 FROM {cs} WHERE e IS NOT NULL),
            per AS (SELECT day, sum(delta) AS delta FROM d GROUP BY day),
            span AS (SELECT range AS day FROM range((SELECT min(day) FROM per),
                                                    (SELECT max(day) FROM per) + 1))
            SELECT make_date(1970, 1, 1) + span.day::INT AS day,
                   sum(coalesce(per.delta, 0)) OVER (ORDER BY span.day) AS open_cases
            FROM span LEFT JOIN per USING (day) ORDER BY span.day""")
    finally:
        warehouse.con.execute(f"DROP TABLE IF EXISTS {cs}")
    c = cases.iloc[0]
    cq = c["cq"] if isinstance(c["cq"], list | np.ndarray) else [np.nan, np.nan]
    wip["open_cases"] = wip["open_cases"].astype(int)
    weekly = warehouse.sql(f"""
        SELECT step, date_trunc('week', make_timestamp(s))::DATE AS week, count(*) AS rows,
               median(dur_h) AS median_h
        FROM {log} WHERE dur_h >= 0 GROUP BY ALL HAVING count(*) >= {int(min_week_rows)}
        ORDER BY step, week""")
    trend = []
    for name in st["step"]:
        w = weekly[weekly["step"] == name]
        tau, p, slope = mann_kendall(w["median_h"].to_numpy())
        trend.append({"step": name, "weeks": len(w), "tau": tau, "p_value": p,
                      "slope_h_per_week": slope})
    segs = pd.DataFrame(columns=["segment", "step", "rows", "p50_h", "p90_h", "breaches",
                                 "sla_breach"])
    if has_segments:
        segs = warehouse.sql(f"""
            SELECT coalesce(seg, '(missing)') AS segment, step, count(*) AS rows,
                   quantile_cont(dur_h, 0.5) AS p50_h, quantile_cont(dur_h, 0.9) AS p90_h,
                   count(*) FILTER (WHERE dur_h > sla_h) AS breaches,
                   CASE WHEN any_value(sla_h) IS NOT NULL THEN
                        count(*) FILTER (WHERE dur_h > sla_h) / count(*) END AS sla_breach
            FROM {log} WHERE dur_h >= 0 GROUP BY ALL ORDER BY segment, step""")
    return ProcessResult(
        steps=st, wip=wip, weekly=weekly, trend=pd.DataFrame(trend), segments=segs,
        cases=int(c["cases"]), closed_cases=int(c["closed"]), cycle_p50_h=float(cq[0]),
        cycle_p90_h=float(cq[1]), invalid_rows=invalid, slowest_step=slowest,
        step_to_fix=fix, sla_hours=sla)
