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
that the notebook's badge (``report.headline``) and the outcome's ``tone`` (which the archive's
badges show) both read.

**Registering a template.** The first five templates' enums are written below. A new
template keeps its enum in its own package and registers it, with the tone of each word, by
:func:`register_decisions` (no edit here); every template's result class is registered with
:func:`register_result`, which :func:`result_class` looks up (the notebook contract,
``playbook.runner.contract``, checks each template's result against :class:`Result`)::

    class CountDecision(StrEnum):
        ENOUGH = "enough"  # the table holds at least min_rows rows
        TOO_FEW = "too-few"  # fewer rows than min_rows

    register_decisions("row_count", CountDecision, {CountDecision.ENOUGH: Tone.GOOD,
                                                    CountDecision.TOO_FEW: Tone.BAD})

    @register_result("row_count")
    @dataclass(frozen=True)
    class CountResult: ...
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from playbook.errors import TemplateError

if TYPE_CHECKING:  # pandas only in annotations: recording an outcome stays light (bench/BENCHMARKS.md)
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


#: Every template's result class, by template name (each result registers itself:
#: :func:`register_result`; :func:`result_class` imports the analyses packages to find them).
RESULTS: dict[str, type] = {}

_C = TypeVar("_C", bound=type)
_E = TypeVar("_E", bound=StrEnum)


def register_decisions(template: str, enum: type[_E], tones: Mapping[_E, Tone]) -> type[_E]:
    """Add ``template``'s decision enum to :data:`DECISIONS` and the tone of each of its words
    to :data:`TONES`; returns the enum. Tones are read by word (the archive sees words only), so
    a word another template already uses must keep its tone. Registering the same words again
    (a module imported twice) is harmless."""
    missing = [m.value for m in enum if m not in tones]
    if missing:
        raise TemplateError(f"{template}: decisions {', '.join(missing)} of {enum.__name__} have no "
                            "tone; give each word a Tone (good, bad, neutral, invalid)")
    known = DECISIONS.get(template)
    if known is not None and [m.value for m in known] != [m.value for m in enum]:
        raise TemplateError(f"{template}: already has the decisions {known.__name__} "
                            f"({', '.join(known)}); a template has one decision enum")
    others: dict[str, str] = {}  # word -> the first other template that uses it
    for other, words in DECISIONS.items():
        for m in words if other != template else ():
            others.setdefault(m.value, other)
    for member in enum:
        had = TONES.get(member.value)
        if member.value in others and had != tones[member]:
            raise TemplateError(f"{template}: the decision '{member.value}' is {had} for "
                                f"{others[member.value]} and cannot be {tones[member]} here; "
                                "choose another word")
    DECISIONS[template] = enum
    for member in enum:
        TONES[member.value] = Tone(tones[member])
    return enum


def register_result(template: str) -> Callable[[_C], _C]:
    """Class decorator: ``@register_result("funnel_diagnosis")`` makes the class the result
    that template's analysis returns (:data:`RESULTS`)."""

    def register(cls: _C) -> _C:
        RESULTS[template] = cls
        return cls

    return register


def result_class(template: str) -> type | None:
    """The result class registered for ``template`` (None if none is), after importing every
    package of :mod:`playbook.analyses` so that each has registered its own."""
    if template not in RESULTS:
        package = importlib.import_module(__name__.rpartition(".")[0])
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            if not info.ispkg:
                continue
            try:
                importlib.import_module(info.name)
            except Exception as exc:  # a broken package is named, whatever broke it
                raise TemplateError(f"{info.name} cannot be imported ({type(exc).__name__}: "
                                    f"{exc}); fix it so that its result registers") from exc
    return RESULTS.get(template)


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
    #: what the interval is: a confidence interval of an estimate (None, the default) or the
    #: ``"prediction"`` interval of a value still to be observed (a forecast)
    interval: str | None = None

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
