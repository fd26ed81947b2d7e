"""``playbook new``: write a campaign spec filled with each template's parameter defaults.

``playbook new <campaign> --from-idea <id>`` starts the spec from a backlog idea instead
(:mod:`playbook.runner.idea_spec`): its title, owner, ICE scores, area and id, and the two runs
of an A/B test (experiment_design, experiment_readout) with TODO comments on what to set."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from playbook.errors import SpecError
from playbook.project import paths
from playbook.runner.spec import SLUG
from playbook.runner.templates import discover
from playbook.suggest import suggest


def yaml_value(v: object) -> str:
    """``v`` as one line of YAML (flow style)."""
    text = yaml.safe_dump(v, default_flow_style=True, allow_unicode=True, width=1000).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


#: The spec's metadata lines when no idea gives them.
DEFAULT_HEADER = [
    "owner: growth-team                 # who answers questions about this campaign",
    "hypothesis: \"Describe the change, the metric it should move, and why\"",
    "ice: {impact: 5, confidence: 5, ease: 5}   # 1-10 each",
    "tags: []",
]


def new_campaign(campaign: str, templates: list[str], *, fork: bool = False, force: bool = False,
                 playbooks_dir: Path | None = None, notebooks_dir: Path | None = None,
                 header: list[str] | None = None, title: str | None = None,
                 notes: dict[tuple[str, str], str] | None = None,
                 values: dict[tuple[str, str], object] | None = None) -> Path:
    """Write ``playbooks/<campaign>.yml``; with ``fork`` copy the notebooks next to it.

    ``header`` replaces the metadata lines after the title (:data:`DEFAULT_HEADER`; lines
    starting with ``#`` before ``campaign:`` are kept there), ``title`` the title made from the
    slug; ``notes`` maps (template, parameter) to the comment to write instead of the parameter's
    help, ``values`` to the value to write instead of its default."""
    if not SLUG.match(campaign):
        raise SpecError(
            f"campaign '{campaign}' is not a slug: use lower-case letters, digits and dashes "
            "(e.g. 'spring-limit-banner')"
        )
    project = paths()
    playbooks_dir = project.playbooks if playbooks_dir is None else playbooks_dir
    notebooks_dir = project.notebooks if notebooks_dir is None else notebooks_dir
    available = discover(notebooks_dir)
    for t in templates:
        if t not in available:
            raise SpecError(f"--template: unknown template '{t}'{suggest(t, available)}; "
                            "`playbook list` shows the templates")
    path = playbooks_dir / f"{campaign}.yml"
    if path.exists() and not force:
        raise SpecError(f"{path}: already exists; edit it, or pass --force to overwrite it")

    header = DEFAULT_HEADER if header is None else header
    notes, values = notes or {}, values or {}
    lines = [
        *[line for line in header if line.startswith("#")],
        f"campaign: {campaign}",
        f"title: {yaml_value(title or campaign.replace('-', ' ').capitalize())}",
        *[line for line in header if not line.startswith("#")],
        "draft: true                        # published only with --include-drafts: delete once edited",
        "# schedule: \"0 6 * * 1\"           # cron: run every Monday 06:00 UTC",
        "# targets: {cac: -0.15}            # KPI targets, relative change",
        "# data:                            # default: the sample warehouse in data/sample",
        "#   warehouse: data/sample",
        "runs:",
    ]
    fork_dir = playbooks_dir / campaign
    for t in templates:
        tpl = available[t]
        lines.append(f"  - template: {t}")
        if fork:
            fork_dir.mkdir(parents=True, exist_ok=True)
            copy = fork_dir / f"{t}.ipynb"
            shutil.copyfile(tpl.path, copy)
            lines.append(f"    notebook: {copy.as_posix()}")
        params = tpl.user_parameters
        if not params:
            lines.append("    parameters: {}")
            continue
        lines.append("    parameters:")
        for p in params.values():
            value, help_ = values.get((t, p.name), p.default), notes.get((t, p.name), p.help)
            comment = f"  # {help_}" if help_ else ""
            lines.append(f"      {p.name}: {yaml_value(value)}{comment}")
    playbooks_dir.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
