"""Did the campaign meet its targets? Each KPI before and after, against a comparison group.

:func:`review_kpis` reads the warehouse with DuckDB (one query per KPI:
:mod:`playbook.analyses.kpi.sql`), builds a weekly panel per unit (the distinct values of
``group_col`` in ``treated`` and ``comparison``) and estimates each KPI's difference in
differences, its relative change with a 95% interval and the parallel-trends check
(:mod:`playbook.analyses.kpi.did`). Each KPI is then met, missed or undecided against its
target (:func:`playbook.analyses.kpi.did.verdict`).

Parameters (none assumes the sample warehouse's names):

targets
    KPI name -> target relative change (``{"repurchase": 0.08}``: +8%; ``{"cac": -0.15}``).
kpis
    KPI name -> definition ``{"kind": <kind>, ...}`` (kinds: :data:`~playbook.analyses.kpi.sql.KINDS`;
    ``event_rate`` needs ``event``, optional ``base_event``). A target named like a kind that needs
    no options (``repeat_orders``, ``revenue_per_user``) needs no definition.
group_col, treated, comparison
    The users column that places a user in a unit, the treated values and the comparison
    values (empty: every other non-null value).
campaign_start, campaign_end
    ISO dates; the post weeks are whole weeks from the start that end by the campaign's end
    (default: the snapshot) and the snapshot. ``pre_weeks`` weeks before the start are the pre period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import pandas as pd

from playbook.analyses.kpi.did import difference_in_differences, verdict
from playbook.analyses.kpi.result import KpiResult, KpiRow
from playbook.analyses.kpi.sql import KINDS, Tables, panel_query
from playbook.errors import DataError, ParameterError
from playbook.sources import Warehouse
from playbook.sql import quote_ident


@dataclass(frozen=True)
class KpiDef:
    name: str
    kind: str
    event: str = ""
    base_event: str = ""


def kpi_definitions(targets: dict[str, float], kpis: dict[str, Any]) -> list[KpiDef]:
    """The KPI of each target (module docstring); :class:`ParameterError` naming what to set."""
    if not targets:
        raise ParameterError("targets: no KPI targets; set the spec's targets, e.g. "
                             "targets: {repurchase: 0.08} (+8% relative)")
    out = []
    for name, target in targets.items():
        if not isinstance(target, int | float) or isinstance(target, bool):
            raise ParameterError(f"targets.{name}: expected a relative change such as 0.08, got {target!r}")
        spec = kpis.get(name, {"kind": name} if name in KINDS else None)
        if not isinstance(spec, dict) or spec.get("kind") not in KINDS:
            raise ParameterError(f"kpis.{name}: define the KPI of target '{name}' as "
                                 f"{{kind: <one of {', '.join(KINDS)}>}} (event_rate also needs event)")
        if spec["kind"] == "event_rate" and not spec.get("event"):
            raise ParameterError(f"kpis.{name}.event: an event_rate KPI needs the event it counts")
        unknown = set(spec) - {"kind", "event", "base_event"}
        if unknown:
            raise ParameterError(f"kpis.{name}: unknown key {', '.join(sorted(unknown))} "
                                 "(use kind, event, base_event)")
        out.append(KpiDef(name, str(spec["kind"]), str(spec.get("event", "")),
                          str(spec.get("base_event", ""))))
    return out


def _day(value: str, name: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ParameterError(f"{name}: expected an ISO date such as 2026-10-12, got {value!r}") from None


def _as_of(warehouse: Warehouse, as_of: str) -> datetime:
    value = as_of or warehouse.snapshot
    if not value:
        raise DataError("the warehouse has no snapshot time, so the last complete week is unknown: "
                        "set data.snapshot in the spec or the parameter as_of")
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(warehouse.timezone).tz_localize(None)
    return cast(datetime, ts.to_pydatetime())


def _groups(warehouse: Warehouse, users: str, group_col: str, treated: list[str],
            comparison: list[str]) -> tuple[list[str], list[str]]:
    col = quote_ident(group_col)
    found = warehouse.sql(f"SELECT DISTINCT CAST({col} AS VARCHAR) AS v FROM {warehouse.view(users)} "
                          f"WHERE {col} IS NOT NULL")["v"].tolist()
    missing = [v for v in [*treated, *comparison] if v not in found]
    if missing:
        raise ParameterError(f"treated/comparison: {', '.join(map(repr, missing))} not found in "
                             f"{users}.{group_col} (it has {', '.join(sorted(found)[:20])})")
    comp = [v for v in (comparison or found) if v not in treated]
    if not comp:
        raise ParameterError("comparison: no comparison unit is left; name values of group_col "
                             "that the campaign did not reach")
    return [str(v) for v in treated], sorted(str(v) for v in comp)


def review_kpis(  # noqa: PLR0913 - the template's parameters, keyword-only
    warehouse: Warehouse, *, targets: dict[str, float], kpis: dict[str, Any] | None = None,
    group_col: str, treated: list[str], comparison: list[str] | None = None,
    campaign_start: str, campaign_end: str = "", pre_weeks: int = 8, post_weeks: int = 6,
    alpha: float = 0.05, as_of: str = "", tables: Tables | None = None,
) -> KpiResult:
    """Each KPI's difference in differences against its target (module docstring)."""
    defs = kpi_definitions(targets, kpis or {})
    if not group_col or not treated:
        raise ParameterError("group_col, treated: name the users column that tells the campaign's "
                             "units apart and its treated values (e.g. group_col: region, treated: [south])")
    if pre_weeks < 3 or post_weeks < 1:
        raise ParameterError(f"pre_weeks, post_weeks: need at least 3 and 1 weeks, got {pre_weeks} and {post_weeks}")
    t = tables or Tables(users="users", events="events", orders="orders", group_col=group_col)
    start = _day(campaign_start, "campaign_start") if campaign_start else None
    if start is None:
        raise ParameterError("campaign_start: set the campaign's first day (ISO date, e.g. 2026-10-12)")
    snapshot = _as_of(warehouse, as_of)
    end = min(_day(campaign_end, "campaign_end"), snapshot) if campaign_end else snapshot
    post = min(post_weeks, int((end - start) / timedelta(days=7)))
    if post < 1:
        raise DataError(f"campaign_start {start:%Y-%m-%d}: no whole week after it ends by "
                        f"{end:%Y-%m-%d}; wait for a week of data or move campaign_start")
    warehouse.require(t.users, [t.user_col, group_col])
    treated_v, comp_v = _groups(warehouse, t.users, group_col, list(map(str, treated)),
                                list(map(str, comparison or [])))
    views = Tables(users=warehouse.view(t.users), events="", orders="", user_col=t.user_col,
                   group_col=group_col, ts_col=t.ts_col, event_col=t.event_col, revenue_col=t.revenue_col)
    rows, panels = [], []
    for d in defs:
        table = t.orders if d.kind == "repeat_orders" else t.events
        need = [t.user_col, t.ts_col] + ([t.event_col] if d.kind == "event_rate" else []) + (
            [t.revenue_col] if d.kind == "revenue_per_user" else [])
        warehouse.require(table, need)
        v = warehouse.view(table)
        q = panel_query(d.kind, Tables(views.users, v, v, t.user_col, group_col, t.ts_col, t.event_col,
                                       t.revenue_col),
                        units=treated_v + comp_v, start=start, weeks=(-pre_weeks, post),
                        as_of=snapshot, event=d.event, base_event=d.base_event)
        panel = warehouse.sql(q)
        panel = panel[panel["den"] > 0].assign(y=lambda p: p["num"] / p["den"],
                                              treated=lambda p: p["unit"].isin(treated_v), kpi=d.name)
        est = difference_in_differences(panel, level=0.95)
        valid = est.pre_slope_p >= alpha
        rows.append(KpiRow(d.name, d.kind, float(targets[d.name]), est, valid,
                           verdict(est.change_low, est.change_high, float(targets[d.name]), valid)))
        panels.append(panel)
    return KpiResult(kpis=rows, panel=pd.concat(panels, ignore_index=True), group_col=group_col,
                     treated=treated_v, comparison=comp_v, start=start, pre_weeks=pre_weeks,
                     post_weeks=post, alpha=alpha)
