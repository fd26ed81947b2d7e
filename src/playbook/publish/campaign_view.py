"""What a campaign page shows: its spec metadata, every run, and key metrics over runs.

:func:`campaign_view` turns the runs of one campaign (read by :mod:`playbook.publish.model`) into
the context of ``campaign.html.j2``: spec fields, the ICE score, one row per run, and per report
name a metric history table whose columns, headed by the metrics' labels, carry an SVG
sparkline (oldest to newest).
:func:`playbook.publish.site.publish` renders it; :mod:`playbook.publish.catalog` reuses it.
"""

from __future__ import annotations

import math
from typing import Any

from playbook.i18n import gettext
from playbook.publish.formatting import (
    KEY_METRICS,
    clean_error_text,
    show_duration,
    show_value,
    status_word,
)
from playbook.publish.metric_text import format_metric, metric_infos, metric_label
from playbook.publish.model import Report, Run, as_dict
from playbook.publish.plan_view import plan_rows


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


SPARK_WIDTH, SPARK_HEIGHT = 80, 18


def _sparkline(values: list[float | None]) -> str:
    """SVG polyline points (oldest to newest) for ``values``; "" if fewer than 2 numbers."""
    numbers = [v for v in values if v is not None]
    if len(numbers) < 2:
        return ""
    low, high = min(numbers), max(numbers)
    step = (SPARK_WIDTH - 2) / (len(numbers) - 1)
    span = (high - low) or 1.0
    points = []
    for i, v in enumerate(numbers):
        y = SPARK_HEIGHT / 2 if high == low else 1 + (high - v) / span * (SPARK_HEIGHT - 2)
        points.append(f"{1 + i * step:.1f},{y:.1f}")
    return " ".join(points)


def _metric_history(runs: list[Run], language: str) -> list[dict[str, Any]]:
    """Per report name: one row per run (``runs`` newest first), key metrics as columns.

    The columns are the first key metrics of the newest outcome that has any, headed by their
    labels; each cell is formatted with its own outcome's ``metric_info``. A report whose numbers
    are withheld (failed, or an invalid decision) shows why instead, and adds no point to the
    sparklines."""
    names: list[str] = []
    for run in runs:
        names += [r.name for r in run.reports if r.name not in names]
    history = []
    for name in names:
        found = [(run, next((r for r in run.reports if r.name == name), None)) for run in runs]
        metrics: list[str] = []
        labels: list[str] = []
        for _, report in found:
            values = as_dict((report.outcome or {}).get("metrics")) if report else {}
            metrics = [k for k, v in values.items() if _number(v) is not None][:KEY_METRICS]
            if metrics:
                infos = metric_infos(report.outcome if report else None)
                labels = [metric_label(m, infos.get(m)) for m in metrics]
                break
        rows, series = [], []
        for run, report in found:
            if report is None:  # still running, failed before it, or not part of this run
                status = run.status if run.status not in ("ok", "finished") else "not run"
            else:
                status = report.status
            values = as_dict((report.outcome or {}).get("metrics")) if report else {}
            infos = metric_infos(report.outcome if report else None)
            withheld = report.withheld_in(language) if report is not None else ""
            shows_numbers = report is not None and not withheld
            series.append([_number(values.get(m)) if shows_numbers else None for m in metrics])
            written_in = report.language if report is not None else language
            rows.append(
                {
                    "run_id": run.run_id,
                    "date": run.date_in(language),
                    "status": status,
                    "href": report.href if report else None,
                    "note": _note(status, withheld, language),
                    "cells": [format_metric(m, values[m], infos.get(m), written_in) if m in values else "–"
                              for m in metrics]
                    if shows_numbers
                    else None,
                }
            )
        columns = [
            {"name": m, "label": label, "spark": _sparkline([s[i] for s in reversed(series)])}
            for i, (m, label) in enumerate(zip(metrics, labels, strict=True))
        ]
        history.append({"name": name, "columns": columns, "rows": rows})
    return history


def _note(status: str, withheld: str, language: str) -> str:
    """What a history row without numbers says: why they are withheld, else its status."""
    if withheld and status != "failed":
        return gettext("numbers withheld: {reason}", language).format(reason=withheld)
    return status_word(status, language)


def _audience(run: Run) -> dict[str, Any] | None:
    """The audience the newest run read: its tag set, tags and the snapshot's date."""
    sources = run.manifest.get("sources")
    audience = sources.get("audience") if isinstance(sources, dict) else None
    if not isinstance(audience, dict) or not audience.get("tag_set"):
        return None
    tags = audience.get("tags")
    return {"tag_set": str(audience["tag_set"]), "as_of": audience.get("as_of"),
            "tags": [str(t) for t in tags] if isinstance(tags, list) else []}


def _newest(runs: list[Run]) -> dict[str, Report]:
    """The newest report of each template name (``runs`` newest first)."""
    seen: dict[str, Report] = {}
    for run in runs:
        for report in run.reports:
            seen.setdefault(report.name, report)
    return seen


def campaign_view(campaign: str, runs: list[Run]) -> dict[str, Any]:
    """The context of one campaign's page, in the language of its newest run's spec."""
    runs = sorted(runs, key=lambda r: r.sort_key, reverse=True)
    latest = runs[0]
    spec = latest.spec
    language = latest.language
    ice = as_dict(spec.get("ice"))
    parts = [ice.get(k) for k in ("impact", "confidence", "ease")]
    numbers = [p for p in parts if isinstance(p, int | float)]
    targets = as_dict(spec.get("targets"))
    newest = _newest(runs)
    return {
        "slug": campaign,
        "language": language,
        "title": latest.title,
        "owner": spec.get("owner"),
        "hypothesis": spec.get("hypothesis"),
        "tags": latest.tags,
        "schedule": spec.get("schedule"),
        "audience": _audience(latest),
        "idea": spec.get("idea"),
        "draft": latest.draft,
        "area": spec.get("area"),
        "spec_path": latest.manifest.get("spec_path"),
        "targets": targets,
        "ice": ice,
        "ice_score": round(sum(numbers) / 3, 1) if len(numbers) == 3 else None,
        "ice_text": ("I {} · C {} · E {}".format(*parts) if len(numbers) == 3 else "–"),
        "last_run_sort": latest.sort_key,
        "metric_history": _metric_history(runs, language),
        "latest": [r.view(language) for r in newest.values()],
        "plan": plan_rows(newest.get("experiment_design"), newest.get("experiment_readout"), language),
        "spark_width": SPARK_WIDTH,
        "spark_height": SPARK_HEIGHT,
        "runs": [
            {
                "run_id": run.run_id,
                "date": run.date_in(language),
                "status": run.status,
                "duration": show_duration(run.manifest.get("duration_s"), language),
                "error": clean_error_text(show_value(run.manifest["error"]))
                if run.manifest.get("error")
                else "",
                "reports": [r.view(language) for r in run.reports],
            }
            for run in runs
        ],
    }
