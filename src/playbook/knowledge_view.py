"""What the archive has learned, and how fast: the numbers of the knowledge view.

:func:`knowledge` reads the archive's catalog (``catalog.json`` as a dict, the data
:func:`playbook.knowledge.read_archive` reads) and nothing else: no warehouse, no notebook.

**Experiments.** An experiment is what a readout's ``experiment`` parameter names (the
assignments' experiment; without one, the campaign and report name), counted once however often
and in however many campaigns it was read out (a Chinese twin of a report is the same
experiment), from its first readout that succeeded; its idea and area are those of the readouts
that name them. Its *decision* is that of its first readout that decided (``ship`` or ``no-ship``):
the day the team could act; an experiment without one is undecided (keep-running, invalid).
The win rate is ships / decided experiments, with its Wilson 95% interval.

**Measured impact.** A shipped experiment's key lift is the relative lift of its primary metric
in the arm it shipped (the readout's ``details``), else its first lift metric with an interval.
Per KPI (the metric's name, e.g. ``apply_rate``) the winners' lifts are summed, and the interval
half-widths below and above are added in quadrature: a naive sum that assumes the experiments
are independent and their effects add up (relative lifts compound, and effects wear off).

**Breakdowns.** By area (the run's spec ``area:``, else the backlog idea's area) and by the
calendar quarter of the decision (an undecided experiment: of its first readout).

**Speed.** Experiments per month: decisions per calendar month, and their mean over the months
from the first decision to the latest (empty months count). Per idea (a spec's ``idea:``): the
days from the idea's ``created`` date in the backlog (the ideas of the latest ice_backlog
outcome, ``details.ideas``) to its first experiment_design run, and from there to its first
readout that decided; ideas with a missing end are not counted (the view says how many). The
share of ideas decided is over the backlog's ideas (else, without an ice_backlog outcome, over
the ideas the specs name). Days are calendar days between UTC dates.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from playbook.stats.proportions import wilson_interval

DECIDED = ("ship", "no-ship")
READOUT, DESIGN, BACKLOG = "experiment_readout", "experiment_design", "ice_backlog"


@dataclass(frozen=True)
class Lift:
    kpi: str
    value: float
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Experiment:
    campaign: str
    report: str
    idea: str | None
    area: str | None
    first_readout: date
    decision: str | None  # ship or no-ship when decided, else the latest readout's decision
    decided_on: date | None
    lift: Lift | None  # the shipped key lift


@dataclass(frozen=True)
class Rate:
    """``wins`` out of ``n`` with the Wilson 95% interval (None when n = 0)."""

    wins: int
    n: int

    @property
    def share(self) -> float | None:
        return self.wins / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        if not self.n:
            return None
        low, high = wilson_interval(self.wins, self.n)
        return float(low), float(high)


@dataclass(frozen=True)
class Impact:
    """The summed lifts of one KPI's winners, the interval by quadrature (module docstring)."""

    kpi: str
    total: float
    low: float | None
    high: float | None
    experiments: int


@dataclass(frozen=True)
class Group:
    """One area's or quarter's experiments."""

    name: str
    experiments: int
    rate: Rate
    impact: list[Impact]


@dataclass(frozen=True)
class IdeaPath:
    idea: str
    text: str | None
    area: str | None
    created: date | None
    designed: date | None
    decided: date | None
    decision: str | None
    campaigns: tuple[str, ...]

    @staticmethod
    def _days(start: date | None, end: date | None) -> int | None:
        return (end - start).days if start is not None and end is not None else None

    @property
    def to_design(self) -> int | None:
        return self._days(self.created, self.designed)

    @property
    def to_decision(self) -> int | None:
        return self._days(self.designed, self.decided)

    @property
    def idea_to_decision(self) -> int | None:
        return self._days(self.created, self.decided)


@dataclass(frozen=True)
class Knowledge:
    experiments: list[Experiment]
    rate: Rate
    impact: list[Impact]
    by_area: list[Group]
    by_quarter: list[Group]
    per_month: dict[str, int]  # YYYY-MM -> decisions, every month from the first to the latest
    ideas: list[IdeaPath]
    backlog_source: str | None  # the ice_backlog report the ideas come from, "campaign/run_id"
    undated: int = 0  # ideas that went into a test and have no created date
    medians: dict[str, float | None] = field(default_factory=dict)  # to_design, to_decision, idea_to_decision

    @property
    def per_month_mean(self) -> float | None:
        return sum(self.per_month.values()) / len(self.per_month) if self.per_month else None

    @property
    def decided_share(self) -> Rate:
        return Rate(sum(p.decided is not None for p in self.ideas), len(self.ideas))


def _day(value: Any) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value)).date() if value else None
    except ValueError:
        return None


def _run_day(entry: dict[str, Any]) -> date | None:
    started = _day((entry.get("run") or {}).get("started_at"))
    return started if started is not None else _day(str(entry.get("run_id") or "")[:8])


def _finite(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def key_lift(outcome: dict[str, Any]) -> Lift | None:
    """A readout's key lift (module docstring), or None."""
    metrics, info = outcome.get("metrics") or {}, outcome.get("metric_info") or {}
    details = outcome.get("details") or {}
    names = []
    arm = details.get("decision_arm")
    for row in details.get("comparisons") or []:
        if isinstance(row, dict) and row.get("role") == "primary" and row.get("arm") == arm:
            names.append(f"{row.get('metric')}.{arm}.lift_rel")
    names += [n for n, m in info.items() if isinstance(m, dict) and m.get("kind") == "lift"
              and _finite(m.get("low")) is not None]
    for name in names:
        value = _finite(metrics.get(name))
        if value is not None:
            meta = info.get(name) or {}
            kpi = name.split(".")[0] if name.count(".") >= 2 else str(meta.get("label") or name)
            return Lift(kpi, value, _finite(meta.get("low")), _finite(meta.get("high")))
    return None


def _experiment_key(entry: dict[str, Any]) -> tuple[str, str]:
    """Which experiment a readout reads: the experiment its ``experiment`` parameter names (the
    assignments' experiment), else its campaign and report name."""
    params = (entry.get("manifest") or {}).get("parameters")
    name = params.get("experiment") if isinstance(params, dict) else None
    if isinstance(name, str) and name:
        return ("experiment", name)
    return (str(entry.get("campaign")), str(entry.get("name")))


def _experiment(entries: list[dict[str, Any]], areas: dict[str, str]) -> Experiment:
    # by day; on one day, a readout whose spec names the idea before its twins
    entries = sorted(entries, key=lambda e: (_run_day(e) or date.max, not (e.get("spec") or {}).get("idea"),
                                             str(e.get("run_id"))))
    decisive = next((e for e in entries if (e.get("outcome") or {}).get("decision") in DECIDED), None)
    chosen = decisive or entries[-1]
    outcome = chosen.get("outcome") or {}
    # the idea and area of the readouts that name them (a twin in another campaign may not)
    named = [e.get("spec") or {} for e in [chosen, *entries]]
    idea = next((sp["idea"] for sp in named if sp.get("idea")), None)
    area = next((sp["area"] for sp in named if sp.get("area")), None)
    decision = outcome.get("decision")
    return Experiment(
        campaign=str(chosen.get("campaign")), report=str(chosen.get("name")), idea=idea,
        area=area or areas.get(str(idea)), first_readout=_run_day(entries[0]) or date.min,
        decision=str(decision) if decision else None, decided_on=_run_day(decisive) if decisive else None,
        lift=key_lift(outcome) if decision == "ship" else None)


def sum_impact(lifts: Iterable[Lift]) -> list[Impact]:
    """Per KPI the lifts summed, their interval by quadrature (module docstring)."""
    kpis: dict[str, list[Lift]] = {}
    for lift in lifts:
        kpis.setdefault(lift.kpi, []).append(lift)
    out = []
    for kpi, group in sorted(kpis.items()):
        total = sum(g.value for g in group)
        if all(g.low is not None and g.high is not None for g in group):
            below = math.sqrt(sum((g.value - (g.low or 0.0)) ** 2 for g in group))
            above = math.sqrt(sum(((g.high or 0.0) - g.value) ** 2 for g in group))
            out.append(Impact(kpi, total, total - below, total + above, len(group)))
        else:
            out.append(Impact(kpi, total, None, None, len(group)))
    return out


def _group(name: str, experiments: list[Experiment]) -> Group:
    decided = [e for e in experiments if e.decided_on is not None]
    return Group(name, len(experiments), Rate(sum(e.decision == "ship" for e in decided), len(decided)),
                 sum_impact(e.lift for e in experiments if e.lift is not None))


def quarter(day: date) -> str:
    return f"{day.year} Q{(day.month - 1) // 3 + 1}"


def _months(days: list[date]) -> dict[str, int]:
    if not days:
        return {}
    first, last = min(days), max(days)
    out: dict[str, int] = {}
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        out[f"{y:04d}-{m:02d}"] = 0
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    for d in days:
        out[f"{d.year:04d}-{d.month:02d}"] += 1
    return out


def _backlog(reports: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
    found = [e for e in reports if e.get("template") == BACKLOG and e.get("status") == "ok"
             and isinstance(((e.get("outcome") or {}).get("details") or {}).get("ideas"), list)]
    if not found:
        return [], None
    latest = max(found, key=lambda e: (_run_day(e) or date.min, str(e.get("run_id"))))
    ideas = [i for i in latest["outcome"]["details"]["ideas"] if isinstance(i, dict) and i.get("id")]
    return ideas, f"{latest.get('campaign')}/{latest.get('run_id')}"


def _paths(reports: list[dict[str, Any]], experiments: list[Experiment],
           backlog: list[dict[str, Any]]) -> list[IdeaPath]:
    named: dict[str, list[dict[str, Any]]] = {}
    for e in reports:
        idea = (e.get("spec") or {}).get("idea")
        if idea and e.get("status") == "ok":
            named.setdefault(str(idea), []).append(e)
    known = {str(i["id"]): i for i in backlog}
    ids = list(known) or []
    ids += sorted(i for i in named if i not in known)
    out = []
    for idea in ids:
        entries, info = named.get(idea, []), known.get(idea, {})
        designs = [d for e in entries if e.get("template") == DESIGN and (d := _run_day(e)) is not None]
        decided = sorted((x for x in experiments if x.idea == idea and x.decided_on is not None),
                         key=lambda x: x.decided_on or date.max)
        area = info.get("area") or next(((e.get("spec") or {}).get("area") for e in entries
                                         if (e.get("spec") or {}).get("area")), None)
        out.append(IdeaPath(idea, info.get("idea"), area, _day(info.get("created")), min(designs, default=None),
                            decided[0].decided_on if decided else None, decided[0].decision if decided else None,
                            tuple(sorted({str(e.get("campaign")) for e in entries}))))
    return out


def _median(values: Iterable[int | None]) -> float | None:
    numbers = [v for v in values if v is not None]
    return float(statistics.median(numbers)) if numbers else None


def knowledge(catalog: dict[str, Any]) -> Knowledge:
    """The knowledge view's numbers from an archive's catalog (module docstring)."""
    reports = [e for e in catalog.get("reports") or [] if isinstance(e, dict)]
    backlog, source = _backlog(reports)
    areas = {str(i["id"]): str(i["area"]) for i in backlog if i.get("area")}
    readouts: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in reports:
        if e.get("template") == READOUT and e.get("status") == "ok":
            readouts.setdefault(_experiment_key(e), []).append(e)
    experiments = sorted((_experiment(v, areas) for v in readouts.values()),
                         key=lambda x: (x.decided_on or x.first_readout, x.campaign, x.report))
    by_area: dict[str, list[Experiment]] = {}
    by_quarter: dict[str, list[Experiment]] = {}
    for x in experiments:
        by_area.setdefault(x.area or "", []).append(x)
        by_quarter.setdefault(quarter(x.decided_on or x.first_readout), []).append(x)
    paths = _paths(reports, experiments, backlog)
    tested = [p for p in paths if p.designed or p.decided]
    whole = _group("", experiments)
    return Knowledge(
        experiments=experiments, rate=whole.rate, impact=whole.impact,
        by_area=[_group(k, v) for k, v in sorted(by_area.items())],
        by_quarter=[_group(k, v) for k, v in sorted(by_quarter.items())],
        per_month=_months([x.decided_on for x in experiments if x.decided_on is not None]),
        ideas=paths, backlog_source=source, undated=sum(p.created is None for p in tested) if source else 0,
        medians={"to_design": _median(p.to_design for p in paths),
                 "to_decision": _median(p.to_decision for p in paths),
                 "idea_to_decision": _median(p.idea_to_decision for p in paths)})


__all__ = ["DECIDED", "Experiment", "Group", "IdeaPath", "Impact", "Knowledge", "Lift", "Rate", "key_lift",
           "knowledge", "quarter", "sum_impact"]
