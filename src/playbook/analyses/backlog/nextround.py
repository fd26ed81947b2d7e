"""The next round: for each top idea, the experiment_design it would need at today's traffic.

The baseline of an idea's area comes from the ``baselines`` parameter, one entry per area, in
one of two forms:

``{event: apply, eligible_event: verify_identity}``
    measured from the warehouse by :func:`playbook.analyses.experiment.design.design_experiment`:
    the users whose first ``eligible_event`` fell in the ``lookback_days`` before the snapshot
    minus ``window_days`` (so that each is followed for the whole window), the share of them
    with ``event`` within ``window_days``, and their number per day (today's traffic).
``{baseline: 0.04, daily_users: 500}``
    a rate the team knows; without ``daily_users`` the idea's ``reach`` (users a month) / 30.

Either may set its own ``mde_rel``, ``window_days`` or ``lookback_days``. The MDE is the
``mde_rel`` parameter (relative lift), unless the area's past winners had a median lift: then
that, the lift this area's wins have shown. Sizes: two arms, 50/50, two-sided test at ``alpha``
with ``power`` (:func:`playbook.stats.sample_size` and :func:`~playbook.stats.duration_days`);
an area with no entry says what to set instead of guessing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pandas as pd

from playbook.errors import DataError, ParameterError
from playbook.i18n import gettext as _
from playbook.sources import Warehouse
from playbook.stats import MetricSpec, duration_days, minimum_detectable_effect, sample_size
from playbook.zones import parse_day

KEYS = ("event", "eligible_event", "baseline", "daily_users", "mde_rel", "window_days", "lookback_days")
COLUMNS = ["idea_id", "idea", "area", "metric", "baseline", "baseline_source", "daily_users", "traffic_source",
           "mde_rel", "mde_source", "users_per_arm", "users_total", "days", "feasible", "mde_at_max_days", "todo"]


@dataclass(frozen=True)
class Sizing:
    """The options every design of the round shares."""

    mde_rel: float = 0.10
    alpha: float = 0.05
    power: float = 0.8
    max_days: int = 42
    lookback_days: int = 28
    window_days: float = 14.0
    events_table: str = "events"

    def __post_init__(self) -> None:
        if not isinstance(self.mde_rel, int | float) or not self.mde_rel > 0:
            raise ParameterError(f"mde_rel: must be a relative lift above 0 (0.10 is +10%); got {self.mde_rel!r}")
        if not 0 < self.alpha < 1 or not 0 < self.power < 1:
            raise ParameterError(f"alpha and power: must be between 0 and 1; got {self.alpha!r}, {self.power!r}")
        if isinstance(self.max_days, bool) or not isinstance(self.max_days, int) or self.max_days < 1:
            raise ParameterError(f"max_days: must be a whole number of days, 1 or more; got {self.max_days!r}")


def check_baselines(baselines: Any) -> dict[str, dict[str, Any]]:
    """``baselines`` checked: area -> a mapping of :data:`KEYS` in one of the two forms."""
    if not isinstance(baselines, dict):
        raise ParameterError(f"baselines: give a mapping area -> {{event, eligible_event}} or {{baseline, "
                             f"daily_users}}; got {baselines!r}")
    out = {}
    for area, entry in baselines.items():
        where = f"baselines.{area}"
        if not isinstance(entry, dict):
            raise ParameterError(f"{where}: give {{event: ..., eligible_event: ...}} or {{baseline: 0.05, "
                                 f"daily_users: 500}}; got {entry!r}")
        unknown = [k for k in entry if k not in KEYS]
        if unknown:
            raise ParameterError(f"{where}: unknown key {unknown[0]!r} (keys: {', '.join(KEYS)})")
        has_events = "event" in entry or "eligible_event" in entry
        if has_events and not ("event" in entry and "eligible_event" in entry):
            raise ParameterError(f"{where}: give both event and eligible_event (the event measured and the one "
                                 "at which users would be assigned)")
        if has_events == ("baseline" in entry):
            raise ParameterError(f"{where}: give either event and eligible_event (measured) or baseline (a rate)")
        if "baseline" in entry and not (isinstance(entry["baseline"], int | float) and 0 < entry["baseline"] < 1):
            raise ParameterError(f"{where}.baseline: must be a rate between 0 and 1; got {entry['baseline']!r}")
        if "daily_users" in entry and not (isinstance(entry["daily_users"], int | float) and entry["daily_users"] > 0):
            raise ParameterError(f"{where}.daily_users: must be a number of users above 0; got {entry['daily_users']!r}")
        out[str(area).strip().lower()] = dict(entry)
    return out


def _measured(warehouse: Warehouse, entry: dict[str, Any], sizing: Sizing, *, as_of: str | None, mde: float,
              where: str) -> dict[str, Any]:
    from playbook.analyses.experiment.design import design_experiment

    when = parse_day(as_of, "as_of") if as_of else None
    if when is None:
        raise ParameterError(f"{where}: the warehouse has no snapshot to measure the baseline up to; set as_of "
                             "(or the spec's data.snapshot), or give the area a baseline rate")
    window = float(entry.get("window_days", sizing.window_days))
    lookback = int(entry.get("lookback_days", sizing.lookback_days))
    before = (when - timedelta(days=math.ceil(window))).date()
    try:
        d = design_experiment(warehouse, [{"name": str(entry["event"]), "kind": "binary", "event": entry["event"],
                                           "role": "primary"}],
                              eligible_event=str(entry["eligible_event"]), before=before, lookback_days=lookback,
                              window_days=window, mde_rel=mde, alpha=sizing.alpha, power=sizing.power, cuped=False,
                              max_days=sizing.max_days, events_table=sizing.events_table)
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None
    return {"metric": _("{event} within {days} days of {eligible}").format(
                event=entry["event"], days=f"{window:g}", eligible=entry["eligible_event"]),
            "baseline": d.baseline, "daily_users": d.daily_traffic,
            "baseline_source": _("measured {start} to {end}").format(start=d.history_period[0], end=d.history_period[1]),
            "traffic_source": _("measured"), "users_per_arm": d.sample_size_per_arm, "users_total": d.users_total,
            "days": d.duration_days, "mde_at_max_days": d.mde_at_max_days}


def _given(entry: dict[str, Any], reach: float, sizing: Sizing, mde: float) -> dict[str, Any]:
    rate = float(entry["baseline"])
    daily, source = entry.get("daily_users"), _("given")
    if daily is None and reach == reach and reach and reach > 0:
        daily, source = reach / 30, _("the idea's reach / 30")
    row: dict[str, Any] = {"metric": _("given rate"), "baseline": rate, "baseline_source": _("given")}
    spec = MetricSpec.proportion(rate)
    res = sample_size(spec, mde, alpha=sizing.alpha, power=sizing.power)
    row |= {"users_per_arm": res.units_control, "users_total": res.units_total}
    if daily is None:
        return row | {"todo": _("set daily_users for this area (eligible users a day), or give the idea a reach")}
    n_c = float(daily) * sizing.max_days / 2
    try:
        at_max = minimum_detectable_effect(spec, n_c, power=sizing.power, alpha=sizing.alpha)
    except DataError:
        at_max = math.nan
    return row | {"daily_users": float(daily), "traffic_source": source,
                  "days": duration_days(res.units_total, float(daily)), "mde_at_max_days": at_max}


def plan_round(top: pd.DataFrame, evidence: pd.DataFrame, warehouse: Warehouse | None,
               baselines: dict[str, dict[str, Any]], sizing: Sizing, *, as_of: str | None = None) -> pd.DataFrame:
    """One row per idea of ``top`` (idea_id, idea, area, reach): :data:`COLUMNS`."""
    lifts = {str(a).strip().lower(): v for a, v in zip(evidence["area"], evidence["median_win_lift"], strict=True)
             if v == v and v > 0}
    rows, cache = [], {}
    for idea in top.itertuples():
        area = str(idea.area).strip().lower() if idea.area is not None and idea.area == idea.area else ""
        row: dict[str, Any] = {"idea_id": idea.idea_id, "idea": idea.idea, "area": idea.area}
        entry = baselines.get(area)
        if entry is None:
            rows.append(row | {"todo": _("set baselines.{area}: {{event: ..., eligible_event: ...}} to measure it, "
                                         "or {{baseline: rate, daily_users: users a day}}").format(area=area or "?")})
            continue
        mde, mde_source = float(entry.get("mde_rel", sizing.mde_rel)), _("parameter")
        if "mde_rel" not in entry and area in lifts:
            mde, mde_source = float(lifts[area]), _("median lift of the area's winners")
        row |= {"mde_rel": mde, "mde_source": mde_source}
        if "event" in entry:
            if warehouse is None:
                raise ParameterError(f"baselines.{area}: measuring a baseline needs the warehouse")
            if area not in cache:
                cache[area] = _measured(warehouse, entry, sizing, as_of=as_of, mde=mde, where=f"baselines.{area}")
            row |= cache[area]
        else:
            row |= _given(entry, float(idea.reach) if idea.reach is not None else math.nan, sizing, mde)
        if row.get("days") is not None:
            row["feasible"] = bool(row["days"] <= sizing.max_days)
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


__all__ = ["COLUMNS", "KEYS", "Sizing", "check_baselines", "plan_round"]
