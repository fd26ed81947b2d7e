"""``playbook new <campaign> --from-idea <id>``: an A/B test's spec started from a backlog idea.

The idea (:func:`playbook.backlog.read_backlog` of the default warehouse's ``backlog`` table,
or of the team's CSV/YAML file) gives the spec its title (the idea), owner, ICE scores, tags
``[experiment, <area>]``, ``idea: <id>`` and ``area: <area>``; the hypothesis is a sentence
for the analyst to finish. The runs are experiment_design and experiment_readout with their
parameters' defaults; the values only the analyst knows (the experiment's name, its metrics,
its dates) carry a ``TODO`` comment, and a comment at the top lists them. The spec loads as
written; the runs read the right experiment once the TODO values are set.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playbook.backlog import find_idea, read_backlog
from playbook.errors import SpecError
from playbook.runner import scaffold
from playbook.runner.scaffold import yaml_value as _value

TEMPLATES = ["experiment_design", "experiment_readout"]
IDEA_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

#: (template, parameter): what the analyst sets, said in the parameter's comment.
TODO = {
    ("experiment_design", "metrics"): "TODO: the test's metrics (the primary one is sized), as in the readout",
    ("experiment_design", "eligible_event"): "TODO: the event at which users enter the test",
    ("experiment_design", "before"): "TODO: the planned start (ISO date); the history is the lookback before it",
    ("experiment_design", "mde_rel"): "TODO: the smallest relative lift worth shipping",
    ("experiment_design", "rho_experiment"): "TODO: a past experiment with a pre-period covariate, "
                                             "or set rho (or cuped: false)",
    ("experiment_readout", "experiment"): "TODO: the experiment's name in the assignments table",
    ("experiment_readout", "metrics"): "TODO: the same metrics as the design",
    ("experiment_readout", "start"): "TODO: the first day of the test (ISO date)",
    ("experiment_readout", "end"): "TODO: the day after the test ended (ISO date)",
    ("experiment_readout", "mde_rel"): "TODO: as designed",
}


def _header(idea: dict[str, Any], where: str) -> list[str]:
    idea_id, area = str(idea["idea_id"]), idea.get("area")
    if not IDEA_ID.match(idea_id) or len(idea_id) > 64:
        raise SpecError(f"{where}: idea id '{idea_id}' cannot name an idea in a spec: use letters, digits, "
                        "'-', '_' and '.' (e.g. IDEA-007)")
    text = " ".join(str(idea["idea"]).split())
    tags = ["experiment", *([str(area)] if area else [])]
    hypothesis = (f"{text.rstrip('.')}: this raises <the primary metric> by at least <the MDE> relative, "
                  "because <why>, without hurting <the guardrails>.")
    lines = [
        f"# From backlog idea {idea_id} ({where}). Before `playbook run`, set what is marked TODO:",
        "# the hypothesis's placeholders, and in both runs the experiment's metrics and dates;",
        "# in the readout the experiment's name in the assignments table.",
        f"owner: {_value(str(idea.get('owner') or 'growth-team'))}",
        f"hypothesis: {_value(hypothesis)}  # TODO: the metric, the size and why",
        "ice: {{impact: {impact}, confidence: {confidence}, ease: {ease}}}   # from the backlog, 1-10 each"
        .format(**{k: int(idea[k]) for k in ("impact", "confidence", "ease")}),
        f"tags: {_value(tags)}",
        f"idea: {_value(idea_id)}                 # the backlog idea this campaign tests",
    ]
    if area:
        lines.append(f"area: {_value(str(area))}")
    return lines


def new_from_idea(campaign: str, idea_id: str, *, backlog: str | Path | None = None, force: bool = False,
                  playbooks_dir: Path | None = None, notebooks_dir: Path | None = None) -> Path:
    """Write ``playbooks/<campaign>.yml`` for the backlog idea ``idea_id`` (module docstring):
    read from the file ``backlog``, else the default warehouse's ``backlog`` table. An unknown id
    is a :class:`~playbook.errors.DataError` naming the closest id."""
    from playbook.runner.spec_models import DEFAULT_WAREHOUSE
    from playbook.sources import Warehouse

    if backlog:
        ideas, where = read_backlog(backlog), str(backlog)
    else:
        ideas, where = read_backlog(warehouse=Warehouse(DEFAULT_WAREHOUSE)), f"{DEFAULT_WAREHOUSE}: table 'backlog'"
    idea = find_idea(ideas, idea_id, where)
    # looked up at call time: a name bound at import would keep whatever the module held then
    return scaffold.new_campaign(campaign, TEMPLATES, force=force, playbooks_dir=playbooks_dir,
                        notebooks_dir=notebooks_dir, header=_header(idea, where),
                        title=" ".join(str(idea["idea"]).split()), notes=TODO,
                        values={("experiment_readout", "experiment"): campaign})

__all__ = ["TEMPLATES", "TODO", "new_from_idea"]
