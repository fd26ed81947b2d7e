"""The ``playbook`` command: a thin layer over the package's Python API.

    playbook new <campaign> --template T [--fork]   write playbooks/<campaign>.yml
    playbook new <campaign> --from-idea ID          ... an A/B test's spec from a backlog idea
    playbook run <spec> [<spec> ...]                run templates with papermill
    playbook publish [--include-drafts]             convert runs into the HTML archive
    playbook archive remove|serve                   retract runs; serve the archive
    playbook list                                   templates, campaigns, recent runs
    playbook demo-data [--scale N] [--seed S]       generate the sample warehouse
    playbook schedule [--run]                       campaigns due by their cron schedule
    playbook rules infer <warehouse|table> [-o F]   a starting data-quality rules file
    playbook template new <name>                    a new template: notebook, analysis, test
    playbook template check [<name> ...]            the notebook contract, for every template
    playbook tags [list]                            tag sets: size, coverage, freshness
    playbook tags show <tag_set>                    a tag set's definitions and snapshots
    playbook tags export <spec>|<tag_set> [-o F]    the audience's users as a CSV file

Exit codes, the same for every command:

    0   done
    1   one or more runs failed (recorded as failed; ``schedule --run`` also counts a due
        campaign that could not start, and goes on with the others), or some run folders,
        outcomes or notebooks could not be published (each is named on stderr), or a template
        breaks the notebook contract (``template check``)
    2   something to fix before trying again: a spec, a parameter, the data, outputs/ or the
        command line (click's usage errors); the message (``error: ...`` on stderr) names
        what and where, without a traceback

A :class:`~playbook.errors.PlaybookError` becomes exit 2 in one place (:class:`PlaybookGroup`);
the commands themselves only decide exit 1.
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

from playbook.cli_archive import archive  # noqa: E402
from playbook.cli_archive import publish_archive as _publish  # noqa: E402
from playbook.errors import PlaybookError  # noqa: E402

#: Exit codes (module docstring).
EXIT_FAILED, EXIT_FIX = 1, 2


class PlaybookGroup(click.Group):
    """A click group that turns a :class:`PlaybookError` raised by any of its commands (nested
    groups included) into its message, ``error: ...`` on stderr, and exit 2 (no traceback)."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except PlaybookError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(EXIT_FIX)


@click.group(cls=PlaybookGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="growth-playbook")
def main() -> None:
    """Growth Playbook: parameterized notebook templates for the growth loop."""


@main.command("demo-data")
@click.option("--scale", type=float, default=1.0, show_default=True, help="size multiplier (50 ≈ 10M events)")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="output folder [default: data/sample below the project root]")
@click.option("--quiet", is_flag=True, help="no progress bar")
def demo_data(scale: float, seed: int, out_dir: Path | None, quiet: bool) -> None:
    """Generate the sample warehouse (deterministic for a seed and a scale)."""
    from playbook.project import paths as project_paths
    from playbook.sample import generate

    out_dir = project_paths().sample_data if out_dir is None else out_dir
    paths = generate(out_dir, scale=scale, seed=seed, progress=not quiet)
    click.echo(f"wrote {len(paths)} tables to {out_dir}")


@main.command()
@click.argument("campaign")
@click.option("--template", "-t", "templates", multiple=True, help="template to run (repeatable)")
@click.option("--fork", is_flag=True, help="copy the template notebooks into playbooks/<campaign>/ to edit them")
@click.option("--force", is_flag=True, help="overwrite an existing spec")
@click.option("--from-idea", "idea", default=None,
              help="backlog idea id: an experiment_design + experiment_readout spec from that idea")
@click.option("--backlog", default=None, help="with --from-idea: a backlog CSV/YAML file [default: data/sample's]")
def new(campaign: str, *, templates: tuple[str, ...], fork: bool, force: bool, idea: str | None,
        backlog: str | None) -> None:
    """Write playbooks/<CAMPAIGN>.yml filled with each template's parameter defaults, or, with
    --from-idea, an A/B test's spec from a backlog idea."""
    if idea is not None and (templates or fork):
        raise click.UsageError("--from-idea writes experiment_design and experiment_readout: leave out "
                               "--template and --fork")
    if idea is None and (backlog or not templates):
        raise click.UsageError("--backlog goes with --from-idea" if backlog else
                               "name a template (--template T, repeatable) or a backlog idea (--from-idea ID)")
    from playbook.runner.idea_spec import new_from_idea
    from playbook.runner.scaffold import new_campaign

    path = (new_from_idea(campaign, idea, backlog=backlog, force=force) if idea is not None
            else new_campaign(campaign, list(templates), fork=fork, force=force))
    click.echo(f"wrote {path}; {'set what is marked TODO' if idea else 'edit it'}, then: playbook run {path}")


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--jobs", "-j", type=int, default=None, help="templates run in parallel (default: cores)")
@click.option("--publish/--no-publish", default=False, help="publish the archive after the run")
@click.option("--include-drafts", is_flag=True, help="with --publish: publish draft runs too")
@click.option("--quiet", is_flag=True, help="no progress bar")
def run(specs: tuple[Path, ...], jobs: int | None, publish: bool, include_drafts: bool, quiet: bool) -> None:
    """Run every template of each SPEC with papermill into outputs/runs/."""
    from playbook.runner.execute import run_specs

    records = run_specs(specs, jobs=jobs, progress=not quiet)
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
        failed |= not _publish(force=False, include_drafts=include_drafts)
    if failed:
        sys.exit(EXIT_FAILED)


@main.command()
@click.option("--force", is_flag=True, help="convert every report again")
@click.option("--include-drafts", is_flag=True, help="publish the runs of draft specs too, labelled Draft")
def publish(force: bool, include_drafts: bool) -> None:
    """Publish executed runs as HTML (code hidden) into outputs/archive/."""
    if not _publish(force, include_drafts):
        sys.exit(EXIT_FAILED)


main.add_command(archive)


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

    from playbook.project import paths
    from playbook.runner.clock import SYSTEM_CLOCK, Clock, ShiftedClock
    from playbook.runner.execute import run_specs
    from playbook.runner.schedule import campaign_lock, last_served_slot, scheduled

    clock: Clock = ShiftedClock(now) if isinstance(now, datetime) else SYSTEM_CLOCK
    runs_dir = paths().runs
    items = scheduled(clock=clock)
    failed = False
    for item in items:
        state = f"due for {item.previous:%Y-%m-%d %H:%M}" if item.due else "up to date"
        last = item.last_slot.strftime("%Y-%m-%d %H:%M") if item.last_slot else "never"
        click.echo(f"{item.campaign}: {state} (cron '{item.cron}', last slot served {last}, "
                   f"next {item.next:%Y-%m-%d %H:%M} UTC)")
        if not (run_due and item.due):
            continue
        with campaign_lock(runs_dir, item.campaign) as held:
            if not held:
                click.echo(f"  {item.campaign}: skipped, another run holds its lock")
                continue
            served = last_served_slot(runs_dir, item.campaign)
            if served is not None and served >= item.previous:  # served while we waited for the lock
                click.echo(f"  {item.campaign}: skipped, another run served the slot")
                continue
            try:
                (record,) = run_specs([item.spec_path], progress=False, clock=clock, slot=item.previous)
            except PlaybookError as exc:  # this campaign cannot run; the others still do (exit 1)
                click.echo(f"  error: {exc}", err=True)
                failed = True
                continue
            click.echo(f"  ran {record.run_id}: {record.status}")
            failed |= record.status != "ok"
    if run_due and publish:
        failed |= not _publish(force=False)
    if failed:
        sys.exit(EXIT_FAILED)


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

    text, written = infer_rules_file(target, output)
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

    made = new_template(name)
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
    from playbook.project import paths
    from playbook.runner.contract import check_templates

    found = check_templates(paths().notebooks, list(names))
    for name, problems in found.items():
        click.echo(f"{name}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
        for problem in problems:
            click.echo(f"  {problem}")
    if any(found.values()):
        sys.exit(1)


@main.group(invoke_without_command=True)
@click.pass_context
def tags(ctx: click.Context) -> None:
    """User tag sets in data/tags: list them, show one, export an audience."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(tags_list)


_TODAY = click.DateTime(formats=["%Y-%m-%d"])


@tags.command("list")
@click.option("--today", type=_TODAY, default=None, help="judge freshness on this day (default: today, UTC)")
def tags_list(today: object) -> None:
    """Every tag set with its size, coverage and freshness."""
    from datetime import UTC, datetime

    from playbook.tag_overview import overview
    from playbook.tags import TagStore

    store = TagStore()
    day = today.date() if isinstance(today, datetime) else datetime.now(UTC).date()
    rows = overview(store, day)
    if not rows:
        click.echo(f"no tag sets in {store.root} yet: the segmentation template writes them")
    for row in rows:
        click.echo(row.line())


@tags.command("show")
@click.argument("tag_set")
def tags_show(tag_set: str) -> None:
    """A tag set's definitions (what each tag means, its rule) and its snapshots."""
    from playbook.tags import TagStore

    ts = TagStore().get(tag_set, "TAG_SET")
    click.echo(f"{ts.name}: {ts.description}\n  owner: {ts.owner or '-'}\n  computed: {ts.computed or '-'}")
    for tag, d in ts.tags.items():
        click.echo(f"  {tag}: {d.get('meaning', '')}" + (f" [{d['rule']}]" if d.get("rule") else ""))
    for snap in sorted(ts.snapshots, key=lambda s: s.as_of):
        run = "/".join(v for v in (snap.run.get("campaign"), snap.run.get("run_id")) if v)
        click.echo(f"  as of {snap.as_of}: {snap.users:,} users" + (f" (run {run})" if run else ""))


@tags.command("export")
@click.argument("source")
@click.option("--tags", "tag_names", default="", help="comma-separated tags (with a TAG_SET; a spec names its own)")
@click.option("--as-of", default=None, help="the snapshot's date, YYYY-MM-DD (default: the latest)")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV file to write (default: outputs/audiences/<campaign or tag set>.csv)")
def tags_export(source: str, tag_names: str, as_of: str | None, output: Path | None) -> None:
    """Write an audience's users (user_id, tag, as_of) to a CSV file: the audience of the spec
    SOURCE, or the users of the tag set SOURCE (only those with --tags, if given)."""
    from playbook.audience import SETTING, Audience
    from playbook.errors import SpecError
    from playbook.project import paths
    from playbook.runner.spec import load_spec
    from playbook.tag_overview import export
    from playbook.tags import TagStore, check_tags

    if source.endswith((".yml", ".yaml")):
        cs = load_spec(source)
        if SETTING not in cs.sources:
            raise SpecError(f"{source}: the spec has no audience; add audience: {{tag_set: ..., tags: [...]}}")
        audience, name = Audience.from_setting(cs.sources[SETTING]), cs.spec.campaign
    else:
        tags_ = [t.strip() for t in tag_names.split(",") if t.strip()]
        check_tags(TagStore().get(source, "TAG_SET"), tags_, "--tags")
        audience, name = Audience.from_setting({"tag_set": source, "tags": tags_, "as_of": as_of}, "TAG_SET"), source
    out = output or paths().root / "outputs" / "audiences" / f"{name}.csv"
    path, n = export(TagStore(), audience, out)
    click.echo(f"{n:,} users written to {path}")


@main.command("list")
@click.option("--runs", "n_runs", type=int, default=10, show_default=True, help="recent runs to show")
def list_(n_runs: int) -> None:
    """Templates with their parameters, campaigns, and recent runs."""
    from playbook.runner.catalog import describe

    click.echo(describe(n_runs=n_runs))


if __name__ == "__main__":  # pragma: no cover
    main()
