"""The ``playbook`` command: a thin layer over the package's Python API.

    playbook new <campaign> --template T [--fork]   write playbooks/<campaign>.yml
    playbook run <spec> [<spec> ...]                run templates with papermill
    playbook publish                                convert runs into the HTML archive
    playbook list                                   templates, campaigns, recent runs
    playbook demo-data [--scale N] [--seed S]       generate the sample warehouse
    playbook schedule [--run]                       campaigns due by their cron schedule
    playbook rules infer <warehouse|table> [-o F]   a starting data-quality rules file
    playbook template new <name>                    a new template: notebook, analysis, test
    playbook template check [<name> ...]            the notebook contract, for every template
"""

from __future__ import annotations

import sys
from pathlib import Path

# jsonschema (under nbformat, under papermill and nbconvert) imports rfc3987_syntax, if present,
# to check the "iri" string format; that import compiles a grammar and costs about a second on
# every command. Notebook schemas never use "iri", so the command skips it. Only this process
# is affected (not kernels, not library users).
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

import click  # noqa: E402

from playbook.errors import PlaybookError  # noqa: E402


def _fail(exc: PlaybookError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="growth-playbook")
def main() -> None:
    """Growth Playbook: parameterized notebook templates for the growth loop."""


@main.command("demo-data")
@click.option("--scale", type=float, default=1.0, show_default=True, help="size multiplier (50 ≈ 10M events)")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("data/sample"), show_default=True)
@click.option("--quiet", is_flag=True, help="no progress bar")
def demo_data(scale: float, seed: int, out_dir: Path, quiet: bool) -> None:
    """Generate the sample warehouse (deterministic for a seed and a scale)."""
    from playbook.sample import generate

    try:
        paths = generate(out_dir, scale=scale, seed=seed, progress=not quiet)
    except PlaybookError as exc:
        _fail(exc)
    click.echo(f"wrote {len(paths)} tables to {out_dir}")


@main.command()
@click.argument("campaign")
@click.option("--template", "-t", "templates", multiple=True, required=True, help="template to run (repeatable)")
@click.option("--fork", is_flag=True, help="copy the template notebooks into playbooks/<campaign>/ to edit them")
@click.option("--force", is_flag=True, help="overwrite an existing spec")
def new(campaign: str, templates: tuple[str, ...], fork: bool, force: bool) -> None:
    """Write playbooks/<CAMPAIGN>.yml filled with each template's parameter defaults."""
    from playbook.runner.scaffold import new_campaign

    try:
        path = new_campaign(campaign, list(templates), fork=fork, force=force)
    except PlaybookError as exc:
        _fail(exc)
    click.echo(f"wrote {path}; edit it, then: playbook run {path}")


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--jobs", "-j", type=int, default=None, help="templates run in parallel (default: cores)")
@click.option("--publish/--no-publish", default=False, help="publish the archive after the run")
@click.option("--quiet", is_flag=True, help="no progress bar")
def run(specs: tuple[Path, ...], jobs: int | None, publish: bool, quiet: bool) -> None:
    """Run every template of each SPEC with papermill into outputs/runs/."""
    from playbook.runner.execute import run_specs

    try:
        records = run_specs(specs, jobs=jobs, progress=not quiet)
    except PlaybookError as exc:
        _fail(exc)
    failed = False
    for rec in records:
        click.echo(f"{rec.campaign} {rec.run_id}: {rec.status} ({rec.run_dir})")
        for t in rec.templates:
            line = f"  {t.name}: {t.status}"
            if t.status == "ok" and t.headline:
                line += f" — {t.headline}"
            elif t.error:
                line += f" — {t.error.get('ename')}: {t.error.get('evalue')}"
            click.echo(line)
        failed |= rec.status != "ok"
    if publish:
        _publish(force=False)
    if failed:
        sys.exit(1)


def _publish(force: bool) -> None:
    from playbook.publish import publish as do_publish

    try:
        result = do_publish(force=force)
    except PlaybookError as exc:
        _fail(exc)
    click.echo(f"published {result.converted} new report(s), {result.skipped} unchanged")
    click.echo(f"archive: {Path(result.index).resolve()}")


@main.command()
@click.option("--force", is_flag=True, help="convert every report again")
def publish(force: bool) -> None:
    """Publish executed runs as HTML (code hidden) into outputs/archive/."""
    try:
        _publish(force)
    except PlaybookError as exc:
        _fail(exc)


@main.command()
@click.option("--run", "run_due", is_flag=True, help="run the campaigns that are due")
@click.option("--publish/--no-publish", default=False, help="publish the archive after running")
@click.option("--now", type=click.DateTime(formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d"]), default=None,
              help="pretend it is this UTC time, for the schedule and the runs it starts")
def schedule(run_due: bool, publish: bool, now: object) -> None:
    """List scheduled campaigns (cron in the spec); with --run, run those that are due.

    A campaign is due when its latest cron slot is newer than the newest slot its runs served;
    each run records the slot it serves in run.json.
    """
    from datetime import datetime

    from playbook.runner.clock import SYSTEM_CLOCK, Clock, ShiftedClock
    from playbook.runner.execute import RUNS_DIR, run_specs
    from playbook.runner.schedule import campaign_lock, last_served_slot, scheduled

    clock: Clock = ShiftedClock(now) if isinstance(now, datetime) else SYSTEM_CLOCK
    try:
        items = scheduled(clock=clock)
    except PlaybookError as exc:
        _fail(exc)
    failed = False
    for item in items:
        state = f"due for {item.previous:%Y-%m-%d %H:%M}" if item.due else "up to date"
        last = item.last_slot.strftime("%Y-%m-%d %H:%M") if item.last_slot else "never"
        click.echo(f"{item.campaign}: {state} (cron '{item.cron}', last slot served {last}, "
                   f"next {item.next:%Y-%m-%d %H:%M} UTC)")
        if not (run_due and item.due):
            continue
        with campaign_lock(RUNS_DIR, item.campaign) as held:
            if not held:
                click.echo(f"  {item.campaign}: skipped, another run holds its lock")
                continue
            served = last_served_slot(RUNS_DIR, item.campaign)
            if served is not None and served >= item.previous:  # served while we waited for the lock
                click.echo(f"  {item.campaign}: skipped, another run served the slot")
                continue
            try:
                (record,) = run_specs([item.spec_path], progress=False, clock=clock, slot=item.previous)
            except PlaybookError as exc:
                click.echo(f"  error: {exc}", err=True)
                failed = True
                continue
            click.echo(f"  ran {record.run_id}: {record.status}")
            failed |= record.status != "ok"
    if run_due and publish:
        _publish(force=False)
    if failed:
        sys.exit(1)


@main.group()
def rules() -> None:
    """Data-quality rules files."""


@rules.command("infer")
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="write the rules here (e.g. playbooks/rules/crm.yml); default: print them")
def rules_infer(target: Path, output: Path | None) -> None:
    """Profile a warehouse folder or one table file into a rules file to edit."""
    from playbook.analyses.quality.infer import infer_rules_file

    try:
        text, written = infer_rules_file(target, output)
    except PlaybookError as exc:
        _fail(exc)
    if written is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote {written}; edit it, then set rules_path: {written} for data_quality")


@main.group()
def template() -> None:
    """Template notebooks: make a new one, check the contract."""


@template.command("new")
@click.argument("name")
def template_new(name: str) -> None:
    """Write notebooks/NAME.ipynb, src/playbook/analyses/NAME/ and tests/test_NAME.py."""
    from playbook.runner.template_scaffold import new_template

    try:
        made = new_template(name)
    except PlaybookError as exc:
        _fail(exc)
    for path in made.paths:
        click.echo(f"wrote {path.as_posix()}")
    if made.note:
        click.echo(f"note: {made.note}", err=True)
    click.echo(f"next: edit the analysis and its result, then: playbook template check {name}; "
               f"pytest tests/test_{name}.py")


@template.command("check")
@click.argument("names", nargs=-1)
def template_check(names: tuple[str, ...]) -> None:
    """Check templates (default: all in notebooks/) against the notebook contract; exit 1 if any
    breaks it."""
    from playbook.runner.contract import check_templates

    try:
        found = check_templates(Path("notebooks"), list(names))
    except PlaybookError as exc:
        _fail(exc)
    for name, problems in found.items():
        click.echo(f"{name}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
        for problem in problems:
            click.echo(f"  {problem}")
    if any(found.values()):
        sys.exit(1)


@main.command("list")
@click.option("--runs", "n_runs", type=int, default=10, show_default=True, help="recent runs to show")
def list_(n_runs: int) -> None:
    """Templates with their parameters, campaigns, and recent runs."""
    from playbook.runner.catalog import describe

    try:
        click.echo(describe(n_runs=n_runs))
    except PlaybookError as exc:
        _fail(exc)


if __name__ == "__main__":  # pragma: no cover
    main()
