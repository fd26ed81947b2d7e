"""``playbook list``: what templates, campaigns and runs exist."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playbook.errors import SpecError
from playbook.project import paths
from playbook.runner.spec import read_yaml
from playbook.runner.templates import discover


def recent_runs(runs_dir: Path | None = None, n: int = 10) -> list[dict[str, Any]]:
    """The ``n`` newest run manifests, newest first."""
    manifests = []
    for p in (paths().runs if runs_dir is None else runs_dir).glob("*/*/run.json"):
        try:
            manifests.append(json.loads(p.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    manifests.sort(key=lambda m: m.get("started_at") or "", reverse=True)
    return manifests[:n]


def describe(notebooks_dir: Path | None = None, playbooks_dir: Path | None = None,
             runs_dir: Path | None = None, n_runs: int = 10) -> str:
    project = paths()
    notebooks_dir = project.notebooks if notebooks_dir is None else notebooks_dir
    playbooks_dir = project.playbooks if playbooks_dir is None else playbooks_dir
    runs_dir = project.runs if runs_dir is None else runs_dir
    out = ["Templates"]
    for name, tpl in discover(notebooks_dir).items():
        out.append(f"  {name} — {tpl.purpose}")
        for p in tpl.user_parameters.values():
            hint = f": {p.type_name}" if p.type_name not in ("None", "") else ""
            helptext = f"  # {p.help}" if p.help else ""
            out.append(f"      {p.name}{hint} = {p.default_source}{helptext}")
    out.append("")
    out.append("Campaigns")
    specs = sorted(playbooks_dir.glob("*.yml")) + sorted(playbooks_dir.glob("*.yaml"))
    others: list[str] = []
    if not specs:
        out.append("  (none: create one with `playbook new <campaign> --template T`)")
    for path in specs:
        try:
            raw = read_yaml(path)
        except SpecError as exc:
            out.append(f"  {path.name}: unreadable ({exc})")
            continue
        if "campaign" not in raw and "runs" not in raw:
            others.append(f"  {path.name}: not a campaign spec (no 'campaign' or 'runs'); a "
                          f"rules file belongs in {playbooks_dir / 'rules'}/")
            continue
        runs = raw.get("runs") or []
        names = ", ".join(str(r.get("template")) for r in runs if isinstance(r, dict))
        sched = f"  [schedule {raw['schedule']}]" if raw.get("schedule") else ""
        out.append(f"  {raw.get('campaign', path.stem)} — {raw.get('title', '')} ({names}){sched}")
    rules = sorted((playbooks_dir / "rules").glob("*.y*ml"))
    if rules or others:
        out.append("")
        out.append("Rules files and other YAML")
        out += [f"  {p.relative_to(playbooks_dir)}: data-quality rules (rules_path)" for p in rules]
        out += others
    out.append("")
    out.append("Recent runs")
    runs = recent_runs(runs_dir, n_runs)
    if not runs:
        out.append("  (none yet: `playbook run playbooks/<campaign>.yml`)")
    for m in runs:
        tpls = m.get("templates", [])
        bad = [t["name"] for t in tpls if t.get("status") != "ok"]
        extra = f"  failed: {', '.join(bad)}" if bad and m.get("status") != "running" else ""
        out.append(f"  {m.get('campaign')} {m.get('run_id')}  {m.get('status')}  "
                   f"{len(tpls)} template(s){extra}")
    return "\n".join(out)
