"""The result contract every template's analysis implements, and the one table of decisions.

A template's analysis returns a result that a notebook shows and records in one call
(``report.record(result, ...)``). Every result offers:

    headline()     the answer in one sentence (names from data are escaped where shown)
    decision       a member of the template's decision enum (below)
    summary()      Markdown sentences for a stakeholder: what was found and what to do
    tables()       the tables the report shows, by name
    metrics()      flat dotted names to finite numbers, for the archive to list and sort
    metric_info()  label, unit, kind and interval of the metrics a stakeholder reads
    details()      JSON-able details for the outcome

**Decisions.** Each template has its vocabulary as an enum; what each word means is written
beside it, and its tone (good, bad, neutral, invalid) comes from :data:`TONES`, the one table
that the notebook's badge (``report.headline``) and the archive's badges both read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

import pandas as pd


class Tone(StrEnum):
    """How a decision reads: good news, bad news, no verdict, or a result not to be trusted."""

    GOOD = "good"
    BAD = "bad"
    NEUTRAL = "neutral"
    INVALID = "invalid"


class QualityDecision(StrEnum):
    PASS = "pass"  # coverage and pass rate meet their targets and no error-severity rule fails
    FAIL = "fail"  # the data is not fit to decide on: a target is missed or an error rule fails


class FunnelDecision(StrEnum):
    ACT = "act"  # a step loses users: the bottleneck (and its weakest segment) is worth fixing
    NO_ACTION = "no-action"  # no step loses users between entry and the last step


class ProcessDecision(StrEnum):
    ACT = "act"  # a step breaches its SLA: the step to fix is named with the hours at stake
    NO_ACTION = "no-action"  # every step keeps its SLA


class DesignDecision(StrEnum):
    FEASIBLE = "feasible"  # the planned lift is detectable within max_days at today's traffic
    TOO_LONG = "too-long"  # it takes longer than max_days; the report gives the reachable MDE


class ReadoutDecision(StrEnum):
    SHIP = "ship"  # the primary metric is significantly better and every guardrail holds
    NO_SHIP = "no-ship"  # worse, a guardrail breaks, or the planned sample showed no lift
    KEEP_RUNNING = "keep-running"  # no verdict yet: the planned sample is not reached
    INVALID = "invalid"  # the traffic split does not match the design (SRM): no lift is trusted


#: The tone of every decision word of every template (one table for report and archive).
TONES: dict[str, Tone] = {
    QualityDecision.PASS: Tone.GOOD, QualityDecision.FAIL: Tone.BAD,
    FunnelDecision.ACT: Tone.BAD, FunnelDecision.NO_ACTION: Tone.GOOD,
    DesignDecision.FEASIBLE: Tone.GOOD, DesignDecision.TOO_LONG: Tone.BAD,
    ReadoutDecision.SHIP: Tone.GOOD, ReadoutDecision.NO_SHIP: Tone.BAD,
    ReadoutDecision.KEEP_RUNNING: Tone.NEUTRAL, ReadoutDecision.INVALID: Tone.INVALID,
}
#: Every template's decision enum, by template name.
DECISIONS: dict[str, type[StrEnum]] = {
    "data_quality": QualityDecision, "funnel_diagnosis": FunnelDecision,
    "process_efficiency": ProcessDecision, "experiment_design": DesignDecision,
    "experiment_readout": ReadoutDecision,
}


def tone(decision: object) -> Tone:
    """The tone of a decision word (``neutral`` for a word no template uses)."""
    word = str(decision or "").strip().lower().replace("_", "-").replace(" ", "-")
    return TONES.get(word, Tone.NEUTRAL)


class MetricKind(StrEnum):
    """What a metric's number is, which says how it is shown."""

    SHARE = "share"  # 0..1, shown as a percentage
    LIFT = "lift"  # a relative change, shown as a signed percentage
    COUNT = "count"  # whole things: users, rows, days
    MONEY = "money"  # in ``unit`` (a currency)
    DURATION = "duration"  # in ``unit`` (h, days)
    RATIO = "ratio"  # a plain ratio or mean
    P_VALUE = "p_value"  # a probability under the null


@dataclass(frozen=True)
class Metric:
    """A metric as a stakeholder reads it: ``Apply rate +9.0% (95% CI +5.7% to +12.3%)``."""

    name: str  # the dotted name in ``metrics()``
    label: str
    kind: MetricKind
    unit: str = ""
    low: float | None = None  # interval, where the metric has one
    high: float | None = None
    level: float | None = None  # of the interval, e.g. 0.95

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}


@runtime_checkable
class Result(Protocol):
    """What every template's result offers (module docstring)."""

    @property
    def decision(self) -> StrEnum: ...

    def headline(self) -> str: ...

    def summary(self) -> str: ...

    def tables(self) -> Mapping[str, pd.DataFrame]: ...

    def metrics(self) -> dict[str, float]: ...

    def metric_info(self) -> list[Metric]: ...

    def details(self) -> dict[str, Any]: ...
