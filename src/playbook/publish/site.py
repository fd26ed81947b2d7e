"""Publish run folders (outputs/runs) as a static knowledge archive (outputs/archive).

The archive, all links relative (open it from the file system or serve it over HTTP)::

    index.html                              every campaign and every report, newest first
    tags.html                               the tag catalogue: each tag set of data/tags
    knowledge.html                          what we learned and how fast (from catalog.json)
    campaigns/<campaign>.html               spec metadata and all runs of one campaign
    reports/<campaign>/<run_id>/<name>.html one converted notebook with its header
    catalog.json                            machine-readable: outcome + manifest entry + spec
    catalog.schema.json                     its JSON Schema (playbook.outcome.Catalog)
    static/playbook.css, static/playbook.js shared style; the JS (filter, sort) is optional
    .published.json                         fingerprints of converted reports (incremental)

Rules this module keeps:

- **Incremental.** A report is converted again only when its fingerprint (size and mtime of
  its notebook, outcome and run.json, plus the page template and converter version) changed,
  or its page is missing; ``force=True`` converts all. Index, campaign pages and catalog are
  rebuilt every time (cheap).
- **Atomic.** Every file is written to a temporary file and moved into place with
  ``os.replace``; report pages are written before the pages that link to them, then campaign
  pages, catalog.json, index.html and .published.json last. A crash at any point leaves the
  previous archive whole, and every link in it resolves. Nothing is ever deleted: pages of
  runs that were removed from outputs/runs stay on disk, unlinked.
- **Runs in progress** (run.json ``status: running``) are not published: their campaign page
  lists them as running, without reports; they are absent from index and catalog.
- **Failures.** A failed template gets a page that shows the error (from run.json, or the
  outcome) and, when its executed notebook is readable, the traceback where it stopped. A
  missing or unreadable notebook still gets a page built from run.json. Sources that cannot be
  read (run.json, outcome, notebook) are listed in ``PublishResult.failures``; publishing
  goes on.
- **Escaping.** Everything from a spec or data goes through Jinja2 with autoescape.

**Drafts** (a spec with ``draft: true``, as ``playbook new`` writes it) run like any spec but
are left out of every page and the catalog unless ``include_drafts=True``; then their campaign
rows and pages say "Draft".

Reading run folders lives in :mod:`playbook.publish.model`, how metrics are shown in
:mod:`playbook.publish.metric_text` and other values in
:mod:`playbook.publish.formatting`, notebook conversion in :mod:`playbook.publish.convert`, what
a campaign page shows in :mod:`playbook.publish.campaign_view`, catalog.json in
:mod:`playbook.publish.catalog`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup

import playbook.i18n as i18n
import playbook.publish.convert as convert
from playbook import __version__, atomic
from playbook.errors import PublishError, write_problem
from playbook.i18n import DEFAULT_LANGUAGE, LANGUAGES
from playbook.project import paths
from playbook.publish.campaign_view import campaign_view
from playbook.publish.catalog import catalog_json, catalog_schema_json
from playbook.publish.formatting import (
    LANGUAGE_NAMES,
    decision_class,
    decision_word,
    format_metric,
    show_time,
    show_value,
    status_word,
)
from playbook.publish.knowledge_page import knowledge_context
from playbook.publish.model import PublishFailure, Report, Run, read_json_object, read_runs
from playbook.publish.tag_page import tag_views

HERE = Path(__file__).parent
STATE_FILE = ".published.json"


@dataclass
class PublishResult:
    """What one :func:`publish` call did."""

    converted: int
    skipped: int
    reports: int
    index: Path
    failures: list[PublishFailure] = field(default_factory=list)
    seconds: float = 0.0
    drafts: int = 0  # runs of draft specs left out (publish them with include_drafts)


# --------------------------------------------------------------------------- writing


@functools.cache
def _environment(language: str = DEFAULT_LANGUAGE) -> jinja2.Environment:
    """The page templates with their interface strings in ``language`` (``{{ _("Runs") }}``,
    jinja2.ext.i18n's new style: ``_("%(n)s runs", n=3)`` fills in and escapes the values)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        functools.partial(i18n.gettext, language=language),
        functools.partial(i18n.ngettext, language=language),
        newstyle=True,
        pgettext=functools.partial(i18n.pgettext, language=language),
    )
    env.filters["url"] = lambda path: quote(str(path))
    env.filters["decision_class"] = decision_class
    env.filters["decision_word"] = functools.partial(decision_word, language=language)
    env.filters["status_word"] = functools.partial(status_word, language=language)
    env.filters["show"] = show_value
    env.filters["css_token"] = lambda s: re.sub(r"[^a-z0-9-]", "-", str(s).lower())
    env.globals["lang"] = language
    env.globals["language_names"] = LANGUAGE_NAMES
    return env


@functools.cache
def _page_digest() -> str:
    """Changes when the report page's look changes, so pages are re-rendered."""
    digest = hashlib.sha256(f"{convert.CONVERT_VERSION}/{__version__}".encode())
    catalogues = HERE.parent / "locale"  # a page's words change with its catalogue
    for path in [*sorted((HERE / "templates").glob("*.j2")), *sorted(catalogues.rglob("*.po"))]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (:func:`playbook.atomic.write_text`).

    A write that fails (a full disk, a folder not writable) leaves ``path`` as it was and no
    temporary file, and is a :class:`PublishError` saying what to do."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(path, text)
    except OSError as exc:
        raise PublishError(write_problem(path, exc, "write the archive") + "; the archive is "
                           "left as the last publish wrote it") from None


def _fingerprint(report: Report) -> str:
    parts: list[Any] = [_page_digest()]
    for path in (report.notebook, report.outcome_path, report.run.folder / "run.json"):
        try:
            st = path.stat() if path else None
            parts.append([st.st_size, st.st_mtime_ns] if st else None)
        except OSError:
            parts.append(None)
    parts.append(report.entry)
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _render(template: str, root: str, now: datetime, language: str = DEFAULT_LANGUAGE,
            **context: Any) -> str:
    """One page in ``language`` (its ``<html lang>``, interface strings, dates)."""
    return (
        _environment(language)
        .get_template(template)
        .render(root=root, generated_at=show_time(now, "", language),
                playbook_version=__version__, **context)
    )


def _report_page(report: Report, now: datetime, failures: list[PublishFailure]) -> str:
    """The page of one report, in the report's language."""
    language = report.language
    body, note = None, ""
    if report.notebook is None or not report.notebook.exists():
        note = i18n.gettext("The executed notebook is missing; this page shows what the run "
                            "record says.", language)
    else:
        try:
            notebook = convert.read_notebook(report.notebook)
            body = Markup(convert.notebook_body(notebook, language))  # noqa: S704
        except Exception as exc:  # a broken notebook must not stop the archive
            failures.append(PublishFailure(f"{report.key}.ipynb", f"not converted: {exc}"))
            note = i18n.gettext("The executed notebook could not be read ({error}); this page "
                                "shows what the run record says.", language).format(
                                    error=type(exc).__name__)
    view = report.view(language)
    view["error_in_notebook"] = body is not None and convert.ERROR_ANCHOR in body
    return _render(
        "report.html.j2",
        "../../../",
        now,
        language,
        r=view,
        has_body=body is not None,
        body=body,
        body_note=note,
    )


def _copy_static(archive_dir: Path) -> None:
    for src in sorted((HERE / "static").iterdir()):
        if src.is_file() and not src.name.startswith("."):
            dest = archive_dir / "static" / src.name
            text = src.read_text(encoding="utf-8")
            if not dest.exists() or dest.read_text(encoding="utf-8") != text:
                write_atomic(dest, text)


def _progress(items: list[Report], enabled: bool) -> Iterable[Report]:
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc="publish", unit="report", file=sys.stderr)


def _load_state(archive_dir: Path) -> dict[str, str]:
    try:
        state = read_json_object(archive_dir / STATE_FILE)
    except (OSError, ValueError):
        return {}
    reports = state.get("reports")
    return {str(k): str(v) for k, v in reports.items()} if isinstance(reports, dict) else {}


def _by_campaign(runs: list[Run]) -> Iterator[tuple[str, list[Run]]]:
    campaigns: dict[str, list[Run]] = {}
    for run in runs:
        campaigns.setdefault(run.campaign, []).append(run)
    yield from sorted(campaigns.items())


def _tag_page(archive_dir: Path, tag_sets: list[dict[str, Any]], now: datetime, campaigns: set[str]) -> None:
    write_atomic(archive_dir / "tags.html", _render("tags.html.j2", "", now, tag_sets=tag_sets, campaigns=campaigns))


def _knowledge_page(archive_dir: Path, catalog: dict[str, Any], now: datetime) -> None:
    """``knowledge.html`` from the catalog's data alone (:mod:`playbook.publish.knowledge_page`)."""
    write_atomic(archive_dir / "knowledge.html", _render("knowledge.html.j2", "", now, **knowledge_context(catalog)))


def _previous_catalog(archive_dir: Path) -> dict[str, Any]:
    """The catalog the last publish wrote (empty when there is none or it cannot be read)."""
    try:
        return read_json_object(archive_dir / "catalog.json")
    except (OSError, ValueError):
        return {}


def publish(
    runs_dir: Path | None = None,
    archive_dir: Path | None = None,
    *,
    force: bool = False,
    progress: bool = False,
    tags_dir: Path | None = None,
    include_drafts: bool = False,
) -> PublishResult:
    """Publish every finished run under ``runs_dir`` into the archive at ``archive_dir``.

    Returns counts of converted and skipped (unchanged) reports, the number of reports in the
    index, the index path and the sources that could not be read. See the module docstring.
    """
    start, now = time.perf_counter(), datetime.now(UTC)
    project = paths()
    runs_dir = project.runs if runs_dir is None else Path(runs_dir)
    archive_dir = project.archive if archive_dir is None else Path(archive_dir)
    failures: list[PublishFailure] = []
    runs = read_runs(runs_dir, failures)
    drafts = 0 if include_drafts else sum(run.draft for run in runs)
    runs = runs if include_drafts else [run for run in runs if not run.draft]
    reports = [r for run in runs for r in run.reports]
    old_state = _load_state(archive_dir)
    state: dict[str, str] = {}
    converted = skipped = 0

    try:
        archive_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PublishError(write_problem(archive_dir, exc, "create the archive folder")) from None
    _copy_static(archive_dir)
    # every page links the tag catalogue: it exists before them, linking only to campaign pages
    # already there, and is written again with them all once they are
    tag_sets = tag_views(tags_dir or project.tags, now)
    _tag_page(archive_dir, tag_sets, now, {p.stem for p in (archive_dir / "campaigns").glob("*.html")})
    if not (archive_dir / "knowledge.html").exists():  # so does the knowledge view
        _knowledge_page(archive_dir, _previous_catalog(archive_dir), now)
    for report in _progress(reports, progress):
        fingerprint = _fingerprint(report)
        state[report.key] = fingerprint
        page = archive_dir / report.href
        if not force and old_state.get(report.key) == fingerprint and page.exists():
            skipped += 1
            continue
        write_atomic(page, _report_page(report, now, failures))
        converted += 1

    campaigns = [campaign_view(name, group) for name, group in _by_campaign(runs)]
    for campaign in campaigns:
        html = _render("campaign.html.j2", "../", now, campaign["language"], c=campaign)
        write_atomic(archive_dir / "campaigns" / f"{campaign['slug']}.html", html)

    ordered = sorted(reports, key=lambda r: (r.run.campaign, r.name))
    ordered.sort(key=lambda r: r.run.sort_key, reverse=True)  # newest first; stable for ties
    catalog = catalog_json(campaigns, ordered, now)
    write_atomic(archive_dir / "catalog.json", catalog)
    _knowledge_page(archive_dir, json.loads(catalog), now)
    write_atomic(archive_dir / "catalog.schema.json", catalog_schema_json())
    views = [r.view() for r in ordered]  # the index speaks English; each row its report's language
    shown = {v["language"] for v in views}
    index = archive_dir / "index.html"
    write_atomic(
        index,
        _render(
            "index.html.j2",
            "",
            now,
            campaigns=campaigns,
            reports=views,
            languages=[tag for tag in LANGUAGES if tag in shown],
            n_failed=sum(v["status"] == "failed" for v in views),
        ),
    )
    _tag_page(archive_dir, tag_sets, now, {c["slug"] for c in campaigns})
    write_atomic(archive_dir / STATE_FILE, json.dumps({"version": 1, "reports": state}, indent=1))
    return PublishResult(
        converted=converted,
        skipped=skipped,
        reports=len(reports),
        index=index,
        failures=failures,
        seconds=time.perf_counter() - start,
        drafts=drafts,
    )


__all__ = ["PublishFailure", "PublishResult", "format_metric", "publish", "write_atomic"]
