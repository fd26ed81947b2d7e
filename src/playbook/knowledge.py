"""The archive as the team's memory: every published result as one table.

:func:`read_archive` reads ``catalog.json`` (the archive's machine-readable index, written by
``playbook publish``) into a pandas DataFrame with one row per report and metric:

============  =====================================================================================
campaign      the campaign's slug
run_id        the run
report        the report's name in the run (the template's, unless the spec named it)
template      the template that made it
run_date      when the run started (UTC, a pandas Timestamp)
status        ``ok`` or ``failed``
decision      the result's decision word (``ship``, ``no-ship``, ...), None for a failed run
tone          the decision's tone (good, bad, neutral, invalid)
language      the report's language
idea          the backlog idea the campaign tests (``idea:`` in its spec), else None
area          the idea's area (``area:`` in the spec), else None
tags          the campaign's tags (a tuple)
owner         the campaign's owner
metric        the metric's dotted name; None for a report without metrics (it keeps one row)
label, unit, kind   how the metric is shown (the result contract: ``kind`` is share, lift, ...)
value         its value
ci_low, ci_high     its interval where it has one (NaN otherwise)
key           True for the report's key metric (the first the result lists)
============  =====================================================================================

Failed and invalid results keep their rows (their decision says so); a reader who counts wins
filters on ``status == "ok"``. Only published reports are here: run ``playbook publish`` first.

The archive's knowledge view (``knowledge.html``: win rate, measured impact, the loop's speed)
is computed from the same catalog by :func:`playbook.knowledge_view.knowledge`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playbook.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ["campaign", "run_id", "report", "template", "run_date", "status", "decision", "tone", "language",
           "idea", "area", "tags", "owner", "metric", "label", "unit", "kind", "value", "ci_low", "ci_high", "key"]


def _catalog(archive_dir: Path) -> dict[str, Any]:
    path = archive_dir / "catalog.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: no archive yet; run `playbook publish` to write it") from None
    except ValueError as exc:
        raise DataError(f"{path}: not valid JSON ({exc}); run `playbook publish --force` to write it again") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("reports"), list):
        raise DataError(f"{path}: not an archive catalog (no 'reports' list); run `playbook publish --force`")
    return raw


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan


def _rows(entry: dict[str, Any]) -> list[dict[str, Any]]:
    outcome = entry.get("outcome") or {}
    spec = entry.get("spec") or {}
    run = entry.get("run") or {}
    base = {
        "campaign": entry.get("campaign"), "run_id": entry.get("run_id"), "report": entry.get("name"),
        "template": entry.get("template"), "run_date": run.get("started_at"), "status": entry.get("status"),
        "decision": outcome.get("decision"), "tone": outcome.get("tone"),
        "language": outcome.get("language", "en"), "idea": spec.get("idea"), "area": spec.get("area"),
        "tags": tuple(spec.get("tags") or ()), "owner": spec.get("owner"),
    }
    metrics = outcome.get("metrics") or {}
    info = outcome.get("metric_info") or {}
    if not metrics:
        return [base | {"metric": None, "label": None, "unit": None, "kind": None, "value": math.nan,
                        "ci_low": math.nan, "ci_high": math.nan, "key": False}]
    out = []
    for i, (name, value) in enumerate(metrics.items()):
        meta = info.get(name) or {}
        out.append(base | {"metric": name, "label": meta.get("label", name), "unit": meta.get("unit", ""),
                           "kind": meta.get("kind"), "value": _number(value), "ci_low": _number(meta.get("low")),
                           "ci_high": _number(meta.get("high")), "key": i == 0})
    return out


def read_archive(archive_dir: str | Path | None = None) -> pd.DataFrame:
    """Every published report and metric of the archive (module docstring); the project's
    ``outputs/archive`` unless ``archive_dir`` names another."""
    import pandas as pd

    if archive_dir is None:
        from playbook.project import paths

        archive_dir = paths().archive
    catalog = _catalog(Path(archive_dir))
    rows = [row for entry in catalog["reports"] if isinstance(entry, dict) for row in _rows(entry)]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["run_date"] = pd.to_datetime(frame["run_date"], utc=True, errors="coerce")
    frame["key"] = frame["key"].astype(bool)
    return frame


__all__ = ["COLUMNS", "read_archive"]
