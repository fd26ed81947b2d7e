"""catalog.json: every published report, machine-readable, for tools outside the archive.

:func:`catalog_json` writes one entry per report (newest first): its outcome, its manifest
entry, the run's record and the campaign's spec fields (from
:func:`playbook.publish.campaign_view.campaign_view`). Errors are the cleaned ones of the report
pages (no machine paths). NaN and infinities become null so that browsers parse it.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from playbook import __version__
from playbook.publish.formatting import clean_error_text
from playbook.publish.model import Report


def _json_safe(value: Any) -> Any:
    """JSON that browsers parse: NaN and infinities become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _catalog_entry(report: Report, campaign: dict[str, Any]) -> dict[str, Any]:
    run = report.run
    manifest, outcome = report.entry, report.outcome
    error = report.error
    if error is not None:  # the cleaned error, as the report page shows it
        if isinstance(manifest.get("error"), dict):
            manifest = manifest | {"error": {k: error[k] for k in ("ename", "evalue", "traceback")}}
        if outcome is not None and isinstance(outcome.get("error"), str):
            outcome = outcome | {"error": clean_error_text(outcome["error"])}
    return {
        "campaign": run.campaign,
        "run_id": run.run_id,
        "name": report.name,
        "template": report.entry.get("template") or report.name,
        "status": report.status,
        "html": report.href,
        "outcome": outcome,
        "manifest": manifest,
        "run": {
            k: run.manifest.get(k)
            for k in (
                "status",
                "started_at",
                "finished_at",
                "duration_s",
                "spec_path",
                "versions",
                "inputs",
            )
        },
        "spec": {
            k: campaign.get(k) for k in ("title", "owner", "hypothesis", "ice", "tags", "schedule")
        }
        | {"targets": campaign["targets"]}
        # the idea and area of this run's own spec: a campaign can move on to another idea
        | {k: run.spec.get(k) for k in ("idea", "area")},
    }


def catalog_json(campaigns: list[dict[str, Any]], reports: list[Report], now: datetime) -> str:
    by_slug = {c["slug"]: c for c in campaigns}
    catalog = {
        "generated_at": now.isoformat(timespec="seconds"),
        "playbook_version": __version__,
        "campaigns": [
            {k: c[k] for k in ("slug", "title", "owner", "hypothesis", "ice", "tags", "schedule", "idea", "area")}
            | {"targets": c["targets"], "html": f"campaigns/{c['slug']}.html"}
            for c in campaigns
        ],
        "reports": [_catalog_entry(r, by_slug[r.run.campaign]) for r in reports],
    }
    return json.dumps(_json_safe(catalog), indent=2, ensure_ascii=False, default=str) + "\n"


def catalog_schema_json() -> str:
    """The JSON Schema of catalog.json (:class:`playbook.outcome.Catalog`), for readers outside
    Python."""
    from playbook.outcome import Catalog, json_schema

    return json.dumps(json_schema(Catalog), indent=2, ensure_ascii=False) + "\n"
