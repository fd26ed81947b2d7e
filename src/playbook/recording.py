"""The outcome as data: what ``report.record(result)`` (or ``record_outcome``) writes to
``<output_dir>/<report_name>.outcome.json``, validated (:class:`playbook.outcome.Outcome`) and
written atomically. Re-exported by :mod:`playbook.report`, which notebooks call."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playbook import atomic
from playbook.errors import RunError
from playbook.runner.clock import kernel_clock

if TYPE_CHECKING:  # pandas is imported lazily: a template that records only numbers starts faster

    from playbook.analyses.base import Result

OUTCOME_SUFFIX = ".outcome.json"
SCHEMA_VERSION = 1  # of outcomes and run records (playbook.outcome, which checks it is the same)


def _check_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if not isinstance(key, str) or not key:
            raise RunError(f"outcome metrics: name {key!r} must be a non-empty string")
        if isinstance(value, bool):
            value = int(value)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise RunError(
                f"outcome metrics: '{key}' is {value!r}; metrics are numbers only "
                "(put names of steps, segments or rules in the headline or details)"
            ) from None
        if not math.isfinite(number):
            raise RunError(f"outcome metrics: '{key}' is {value}; leave a metric out rather than record NaN/inf")
        out[key] = int(value) if isinstance(value, int) else number
    return out


def _jsonable(obj: Any) -> Any:
    import pandas as pd

    if isinstance(obj, pd.DataFrame):
        return json.loads(obj.to_json(orient="records", date_format="iso"))
    if isinstance(obj, (pd.Timestamp, datetime)):
        return obj.isoformat()
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return str(obj)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON atomically (:func:`playbook.atomic.write_text`): readers never see half a file."""
    atomic.write_text(path, json.dumps(data, indent=2, default=_jsonable, allow_nan=False) + "\n")


class Outcome(dict[str, Any]):
    """The recorded outcome. It displays nothing when it ends a cell: the report above already
    shows its content to the stakeholder, and the JSON is for the archive."""

    def _ipython_display_(self) -> None:
        return None


def outcome_path(output_dir: str | Path, report_name: str) -> Path:
    return Path(output_dir) / f"{report_name}{OUTCOME_SUFFIX}"


def record_outcome(  # noqa: PLR0913 - the outcome's fields, keyword-only (notebooks and the runner call it)
    *,
    template: str,
    campaign: str,
    run_id: str,
    output_dir: str | Path,
    headline: str,
    decision: str | None,
    metrics: Mapping[str, Any],
    details: Mapping[str, Any] | None = None,
    report_name: str | None = None,
    status: str = "ok",
    error: str | None = None,
    metric_info: Mapping[str, Mapping[str, Any]] | None = None,
) -> Outcome:
    """Validate and write the outcome JSON; returns the outcome (a dict that displays nothing).

    ``metric_info`` gives metrics their label, unit, kind and interval (``record`` fills it
    from the result); the decision's tone is written beside it."""
    from playbook.analyses.base import tone
    from playbook.i18n import current as current_language

    outcome: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "template": template,
        "campaign": campaign,
        "run_id": run_id,
        "status": status,
        "language": current_language(),
        "headline": headline,
        "decision": None if decision is None else str(decision),
        "tone": None if decision is None else str(tone(decision)),
        "metrics": _check_metrics(metrics),
        "details": dict(details or {}),
        "recorded_at": kernel_clock().now().isoformat(timespec="seconds"),
    }
    if metric_info:
        outcome["metric_info"] = {k: dict(v) for k, v in metric_info.items() if k in outcome["metrics"]}
    if error:
        outcome["error"] = error
    _check_outcome(outcome)
    write_json_atomic(outcome_path(output_dir, report_name or template), outcome)
    return Outcome(outcome)


def _check_outcome(outcome: dict[str, Any]) -> None:
    """Validate against :class:`playbook.outcome.Outcome` (details stay as given: any JSON)."""
    from pydantic import ValidationError

    from playbook.outcome import Outcome

    try:
        Outcome.model_validate({**outcome, "details": {}})
    except ValidationError as exc:
        raise RunError(f"outcome of {outcome.get('template')}: {exc}") from None


def record(result: Result, *, template: str, campaign: str, run_id: str, output_dir: str | Path,
           report_name: str | None = None, details: Mapping[str, Any] | None = None) -> Outcome:
    """End a template: write the outcome of ``result`` (any :class:`~playbook.analyses.base.Result`)
    with its headline, decision and tone, metrics with their labels, units and intervals, and
    details (``details`` adds to the result's own). The other arguments are the notebook's
    campaign context."""
    info = {m.name: m.as_dict() for m in result.metric_info()}
    for m in info.values():
        m.pop("name", None)
    return record_outcome(template=template, campaign=campaign, run_id=run_id, output_dir=output_dir,
                          report_name=report_name, headline=result.headline(), decision=result.decision,
                          metrics=result.metrics(), details={**result.details(), **(details or {})},
                          metric_info=info)
