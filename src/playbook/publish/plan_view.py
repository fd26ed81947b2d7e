"""The plan against what happened: a campaign's experiment_design beside its experiment_readout.

A stakeholder reading a readout asks whether the experiment ran as planned. :func:`plan_rows`
puts the design's users per arm and duration beside what the readout counted (users in each
arm; the days from its ``start`` to its ``end``), and says whether the plan was reached. Both
come from the newest report of each template (withheld reports add nothing).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from playbook.i18n import gettext
from playbook.publish.formatting import show_value
from playbook.publish.model import Report, as_dict


def _days(parameters: dict[str, Any]) -> int | None:
    try:
        start, end = date.fromisoformat(str(parameters["start"])), date.fromisoformat(str(parameters["end"]))
    except (KeyError, ValueError):
        return None
    return (end - start).days


def _count(value: Any) -> str:
    return f"{value:,.0f}" if isinstance(value, int | float) and not isinstance(value, bool) else "–"


def plan_rows(design: Report | None, readout: Report | None, language: str) -> list[dict[str, str]]:
    """Rows of label, planned, observed and whether the plan was reached ("" when unknown)."""
    if design is None or readout is None or design.withheld or readout.withheld:
        return []
    planned = as_dict((design.outcome or {}).get("metrics"))
    observed = as_dict((readout.outcome or {}).get("metrics"))
    per_arm = planned.get("sample_size_per_arm")
    arms = {k.removeprefix("users."): v for k, v in observed.items()
            if k.startswith("users.") and isinstance(v, int | float)}
    rows = []
    if isinstance(per_arm, int | float) and arms:
        smallest = min(arms.values())
        rows.append({
            "label": gettext("Users per arm", language),
            "planned": _count(per_arm),
            "observed": " · ".join(f"{arm} {_count(n)}" for arm, n in sorted(arms.items())),
            "reached": gettext("yes", language) if smallest >= per_arm else gettext("no", language),
        })
    days, ran = planned.get("duration_days"), _days(as_dict(readout.entry.get("parameters")))
    if isinstance(days, int | float) and ran is not None:
        rows.append({
            "label": gettext("Duration", language),
            "planned": gettext("{n} days", language).format(n=show_value(days)),
            "observed": gettext("{n} days", language).format(n=ran),
            "reached": gettext("yes", language) if ran >= days else gettext("no", language),
        })
    return rows
