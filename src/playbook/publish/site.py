"""Publish run folders (outputs/runs) as a static knowledge archive (outputs/archive).

The archive, all links relative (open it from the file system or serve it over HTTP)::

    index.html                              every campaign and every report, newest first
    campaigns/<campaign>.html               spec metadata and all runs of one campaign
    reports/<campaign>/<run_id>/<name>.html one converted notebook with its header
    catalog.json                            machine-readable: outcome + manifest entry + spec
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

Metric formatting (index, campaign and report pages): a metric is a share, shown as a
percentage, when the last part of its dotted name is ``coverage``, ``share``, ``rate``, ends
in ``_rate`` or ``_share``, or starts with ``conv``; relative lifts (``lift_rel``, ``*_rel``)
are signed percentages; ``p_value`` keeps 3 significant digits; whole numbers get thousands
separators; anything else 3 significant digits. The first four metrics of an outcome are its
key metrics.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from playbook import __version__
from playbook.publish import convert

HERE = Path(__file__).parent
STATE_FILE = ".published.json"
KEY_METRICS = 4
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

#: Decision words and their badge colour; anything else is shown neutral.
DECISION_CLASSES = {
    "good": {"pass", "ship", "go", "win", "met", "keep", "scale", "ok"},
    "bad": {"fail", "no-ship", "invalid", "stop", "no-go", "kill", "rollback", "missed", "srm"},
    "wait": {"keep-running", "inconclusive", "continue", "wait", "extend", "warn", "iterate"},
}


@dataclass(frozen=True)
class PublishFailure:
    """A source that could not be read; ``source`` is relative to the runs folder."""

    source: str
    message: str


@dataclass
class PublishResult:
    """What one :func:`publish` call did."""

    converted: int
    skipped: int
    reports: int
    index: Path
    failures: list[PublishFailure] = field(default_factory=list)
    seconds: float = 0.0


# --------------------------------------------------------------------------- formatting


def format_metric(name: str, value: Any) -> str:
    """Format one metric for a stakeholder (rules in the module docstring)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "–"
    last = name.rsplit(".", 1)[-1].lower()
    if last == "lift_rel" or last.endswith("_rel"):
        return f"{value * 100:+.1f}%"
    if (
        last in {"coverage", "share", "rate"}
        or last.endswith(("_rate", "_share"))
        or last.startswith("conv")
    ):
        return f"{value * 100:.1f}%"
    if last in {"p_value", "pvalue", "p"}:
        return f"{value:.3g}"
    if isinstance(value, int) or (value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def decision_class(decision: Any) -> str:
    word = re.sub(r"[\s_]+", "-", str(decision or "").strip().lower())
    return next((cls for cls, words in DECISION_CLASSES.items() if word in words), "neutral")


def _parse_time(text: Any, run_id: str = "") -> datetime | None:
    if isinstance(text, str) and text:
        with suppress(ValueError):
            moment = datetime.fromisoformat(text)
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    for fmt in ("%Y%m%dT%H%M%SZ", "%Y%m%dT%H%MZ", "%Y%m%dT%H%M%S", "%Y%m%d"):
        with suppress(ValueError):
            return datetime.strptime(run_id, fmt).replace(tzinfo=UTC)
    return None


def _show_time(moment: datetime | None, fallback: str) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else fallback


def _show_duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return ""
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _show_size(n: Any) -> str:
    if not isinstance(n, int):
        return "–"
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"  # pragma: no cover


def _show_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _json_safe(value: Any) -> Any:
    """JSON that browsers parse: NaN and infinities become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


# --------------------------------------------------------------------------- reading runs


@dataclass
class Report:
    """One template of one finished run, ready to render."""

    run: Run
    name: str
    entry: dict[str, Any]
    outcome: dict[str, Any] | None
    notebook: Path | None
    outcome_path: Path | None

    @property
    def key(self) -> str:
        return f"{self.run.campaign}/{self.run.run_id}/{self.name}"

    @property
    def href(self) -> str:
        return f"reports/{self.key}.html"

    @property
    def status(self) -> str:
        states = {
            str(self.entry.get("status") or ""),
            str((self.outcome or {}).get("status") or ""),
        }
        if "failed" in states:
            return "failed"
        return (self.outcome or {}).get("status") or self.entry.get("status") or "unknown"

    @property
    def error(self) -> dict[str, str] | None:
        err = self.entry.get("error")
        text = (self.outcome or {}).get("error")
        if isinstance(err, dict):
            return {
                "ename": str(err.get("ename") or "Error"),
                "evalue": str(err.get("evalue") or text or ""),
                "traceback": _ANSI.sub("", str(err.get("traceback") or "")),
            }
        if err or text:
            return {"ename": "Error", "evalue": str(text or err), "traceback": ""}
        return (
            {"ename": "Error", "evalue": "", "traceback": ""} if self.status == "failed" else None
        )

    def view(self) -> dict[str, Any]:
        """What the templates show of this report."""
        out = self.outcome or {}
        metrics = _mapping(out.get("metrics"))
        shown = [
            {"name": k, "text": format_metric(k, v)}
            for k, v in metrics.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        ]
        error = self.error
        headline = str(out.get("headline") or "")
        if not headline:
            headline = (
                f"Failed: {error['ename']}: {error['evalue']}".rstrip(": ")
                if error
                else "No outcome recorded"
            )
        return {
            "campaign": self.run.campaign,
            "campaign_title": self.run.title,
            "run_id": self.run.run_id,
            "name": self.name,
            "template": str(self.entry.get("template") or self.name),
            "status": self.status,
            "headline_text": headline,
            "decision": out.get("decision"),
            "key_metrics": shown[:KEY_METRICS],
            "all_metrics": shown,
            "error": error,
            "tags": self.run.tags,
            "owner": self.run.spec.get("owner"),
            "date": self.run.date,
            "sort_key": self.run.sort_key,
            "duration": _show_duration(self.entry.get("duration_s")),
            "href": self.href,
            "parameters": [
                (str(k), _show_value(v)) for k, v in _mapping(self.entry.get("parameters")).items()
            ],
            "inputs": [
                {
                    "name": str(k),
                    "path": str(v.get("path", "")),
                    "size": _show_size(v.get("bytes")),
                    "sha256": str(v.get("sha256", "")),
                }
                for k, v in _mapping(self.run.manifest.get("inputs")).items()
                if isinstance(v, dict)
            ],
            "versions": [
                (str(k), str(v)) for k, v in _mapping(self.run.manifest.get("versions")).items()
            ],
        }


@dataclass
class Run:
    """One run folder and its run.json."""

    campaign: str
    run_id: str
    folder: Path
    manifest: dict[str, Any]
    reports: list[Report] = field(default_factory=list)

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.manifest.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def title(self) -> str:
        return str(self.spec.get("title") or self.campaign)

    @property
    def tags(self) -> list[str]:
        tags = self.spec.get("tags")
        return [str(t) for t in tags] if isinstance(tags, list) else []

    @property
    def status(self) -> str:
        return str(self.manifest.get("status") or "unknown")

    @property
    def started(self) -> datetime | None:
        return _parse_time(self.manifest.get("started_at"), self.run_id)

    @property
    def date(self) -> str:
        return _show_time(self.started, self.run_id)

    @property
    def sort_key(self) -> str:
        started = self.started
        return started.astimezone(UTC).isoformat() if started else self.run_id


def _read_json(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def _inside(folder: Path, name: Any) -> Path | None:
    """``folder/name`` if ``name`` is a plain relative file name inside ``folder``."""
    if (
        not isinstance(name, str)
        or not name
        or Path(name).is_absolute()
        or ".." in Path(name).parts
    ):
        return None
    return folder / name


def _subfolders(parent: Path, where: str, failures: list[PublishFailure]) -> list[Path]:
    """Sub-folders whose names are safe in a URL and a path; others are reported."""
    folders = []
    for path in sorted(parent.iterdir()):
        if not path.is_dir() or path.name.startswith("."):
            continue
        if _SAFE_NAME.match(path.name):
            folders.append(path)
        else:
            message = "skipped: folder names are letters, digits, '.', '_' and '-'"
            failures.append(PublishFailure(f"{where}{path.name}", message))
    return folders


def read_runs(runs_dir: Path, failures: list[PublishFailure]) -> list[Run]:
    """Every run folder ``<campaign>/<run_id>/run.json`` under ``runs_dir``, sorted."""
    runs: list[Run] = []
    if not runs_dir.is_dir():
        return runs
    for campaign_dir in _subfolders(runs_dir, "", failures):
        for folder in _subfolders(campaign_dir, f"{campaign_dir.name}/", failures):
            where = f"{campaign_dir.name}/{folder.name}"
            try:
                manifest = _read_json(folder / "run.json")
            except FileNotFoundError:
                message = "no run.json: not a run folder, or a run that is just starting"
                failures.append(PublishFailure(f"{where}/run.json", message))
                continue
            except (OSError, ValueError) as exc:
                failures.append(PublishFailure(f"{where}/run.json", f"unreadable: {exc}"))
                continue
            run = Run(campaign_dir.name, folder.name, folder, manifest)
            runs.append(run)
            if run.status == "running":
                continue
            for entry in manifest.get("templates") or []:
                report = _read_report(run, entry, failures)
                if report is not None:
                    run.reports.append(report)
    return runs


def _read_report(run: Run, entry: Any, failures: list[PublishFailure]) -> Report | None:
    where = f"{run.campaign}/{run.run_id}"
    name = entry.get("name") if isinstance(entry, dict) else None
    if not isinstance(name, str) or not _SAFE_NAME.match(name):
        failures.append(PublishFailure(f"{where}/run.json", f"templates: bad entry name {name!r}"))
        return None
    notebook = _inside(run.folder, entry.get("output_notebook") or f"{name}.ipynb")
    outcome_path = _inside(run.folder, entry.get("outcome") or f"{name}.outcome.json")
    outcome = None
    if outcome_path is not None and outcome_path.exists():
        try:
            outcome = _read_json(outcome_path)
        except (OSError, ValueError) as exc:
            failures.append(PublishFailure(f"{where}/{outcome_path.name}", f"unreadable: {exc}"))
    return Report(run, name, entry, outcome, notebook, outcome_path)


# --------------------------------------------------------------------------- writing


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["url"] = lambda path: quote(str(path))
    env.filters["decision_class"] = decision_class
    env.filters["show"] = _show_value
    env.filters["css_token"] = lambda s: re.sub(r"[^a-z0-9-]", "-", str(s).lower())
    return env


@cache
def _page_digest() -> str:
    """Changes when the report page's look changes, so pages are re-rendered."""
    digest = hashlib.sha256(f"{convert.CONVERT_VERSION}/{__version__}".encode())
    for path in sorted((HERE / "templates").glob("*.j2")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        with suppress(FileNotFoundError):
            tmp.unlink()


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


def _render(template: str, root: str, generated_at: str, **context: Any) -> str:
    return (
        _environment()
        .get_template(template)
        .render(root=root, generated_at=generated_at, playbook_version=__version__, **context)
    )


def _report_page(report: Report, generated_at: str, failures: list[PublishFailure]) -> str:
    body, note = None, ""
    if report.notebook is None or not report.notebook.exists():
        note = "The executed notebook is missing; this page shows what the run record says."
    else:
        try:
            body = Markup(convert.notebook_body(convert.read_notebook(report.notebook)))  # noqa: S704
        except Exception as exc:  # a broken notebook must not stop the archive
            failures.append(PublishFailure(f"{report.key}.ipynb", f"not converted: {exc}"))
            note = (
                f"The executed notebook could not be read ({type(exc).__name__}); "
                "this page shows what the run record says."
            )
    view = report.view()
    view["error_in_notebook"] = body is not None and convert.ERROR_ANCHOR in body
    return _render(
        "report.html.j2",
        "../../../",
        generated_at,
        r=view,
        has_body=body is not None,
        body=body,
        body_note=note,
    )


def _campaign_view(campaign: str, runs: list[Run]) -> dict[str, Any]:
    runs = sorted(runs, key=lambda r: r.sort_key, reverse=True)
    latest = runs[0]
    spec = latest.spec
    ice = _mapping(spec.get("ice"))
    parts = [ice.get(k) for k in ("impact", "confidence", "ease")]
    numbers = [p for p in parts if isinstance(p, int | float)]
    targets = _mapping(spec.get("targets"))
    return {
        "slug": campaign,
        "title": latest.title,
        "owner": spec.get("owner"),
        "hypothesis": spec.get("hypothesis"),
        "tags": latest.tags,
        "schedule": spec.get("schedule"),
        "spec_path": latest.manifest.get("spec_path"),
        "targets": targets,
        "ice": ice,
        "ice_score": round(sum(numbers) / 3, 1) if len(numbers) == 3 else None,
        "ice_text": ("I {} · C {} · E {}".format(*parts) if len(numbers) == 3 else "–"),
        "last_run_sort": latest.sort_key,
        "runs": [
            {
                "run_id": run.run_id,
                "date": run.date,
                "status": run.status,
                "duration": _show_duration(run.manifest.get("duration_s")),
                "error": _ANSI.sub("", _show_value(run.manifest["error"]))
                if run.manifest.get("error")
                else "",
                "reports": [r.view() for r in run.reports],
            }
            for run in runs
        ],
    }


def _catalog_entry(report: Report, campaign: dict[str, Any]) -> dict[str, Any]:
    run = report.run
    return {
        "campaign": run.campaign,
        "run_id": run.run_id,
        "name": report.name,
        "template": report.entry.get("template") or report.name,
        "status": report.status,
        "html": report.href,
        "outcome": report.outcome,
        "manifest": report.entry,
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
        | {"targets": campaign["targets"]},
    }


def _catalog(campaigns: list[dict[str, Any]], reports: list[Report], now: datetime) -> str:
    by_slug = {c["slug"]: c for c in campaigns}
    catalog = {
        "generated_at": now.isoformat(timespec="seconds"),
        "playbook_version": __version__,
        "campaigns": [
            {k: c[k] for k in ("slug", "title", "owner", "hypothesis", "ice", "tags", "schedule")}
            | {"targets": c["targets"], "html": f"campaigns/{c['slug']}.html"}
            for c in campaigns
        ],
        "reports": [_catalog_entry(r, by_slug[r.run.campaign]) for r in reports],
    }
    return json.dumps(_json_safe(catalog), indent=2, ensure_ascii=False, default=str) + "\n"


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
        state = _read_json(archive_dir / STATE_FILE)
    except (OSError, ValueError):
        return {}
    reports = state.get("reports")
    return {str(k): str(v) for k, v in reports.items()} if isinstance(reports, dict) else {}


def _by_campaign(runs: list[Run]) -> Iterator[tuple[str, list[Run]]]:
    campaigns: dict[str, list[Run]] = {}
    for run in runs:
        campaigns.setdefault(run.campaign, []).append(run)
    yield from sorted(campaigns.items())


def publish(
    runs_dir: Path = Path("outputs/runs"),
    archive_dir: Path = Path("outputs/archive"),
    *,
    force: bool = False,
    progress: bool = False,
) -> PublishResult:
    """Publish every finished run under ``runs_dir`` into the archive at ``archive_dir``.

    Returns counts of converted and skipped (unchanged) reports, the number of reports in the
    index, the index path and the sources that could not be read. See the module docstring.
    """
    start, now = time.perf_counter(), datetime.now(UTC)
    runs_dir, archive_dir = Path(runs_dir), Path(archive_dir)
    generated_at = now.strftime("%Y-%m-%d %H:%M UTC")
    failures: list[PublishFailure] = []
    runs = read_runs(runs_dir, failures)
    reports = [r for run in runs for r in run.reports]
    old_state = _load_state(archive_dir)
    state: dict[str, str] = {}
    converted = skipped = 0

    archive_dir.mkdir(parents=True, exist_ok=True)
    _copy_static(archive_dir)
    for report in _progress(reports, progress):
        fingerprint = _fingerprint(report)
        state[report.key] = fingerprint
        page = archive_dir / report.href
        if not force and old_state.get(report.key) == fingerprint and page.exists():
            skipped += 1
            continue
        write_atomic(page, _report_page(report, generated_at, failures))
        converted += 1

    campaigns = [_campaign_view(name, group) for name, group in _by_campaign(runs)]
    for campaign in campaigns:
        html = _render("campaign.html.j2", "../", generated_at, c=campaign)
        write_atomic(archive_dir / "campaigns" / f"{campaign['slug']}.html", html)

    ordered = sorted(reports, key=lambda r: (r.run.campaign, r.name))
    ordered.sort(key=lambda r: r.run.sort_key, reverse=True)  # newest first; stable for ties
    write_atomic(archive_dir / "catalog.json", _catalog(campaigns, ordered, now))
    views = [r.view() for r in ordered]
    index = archive_dir / "index.html"
    write_atomic(
        index,
        _render(
            "index.html.j2",
            "",
            generated_at,
            campaigns=campaigns,
            reports=views,
            n_failed=sum(v["status"] == "failed" for v in views),
        ),
    )
    write_atomic(archive_dir / STATE_FILE, json.dumps({"version": 1, "reports": state}, indent=1))
    return PublishResult(
        converted=converted,
        skipped=skipped,
        reports=len(reports),
        index=index,
        failures=failures,
        seconds=time.perf_counter() - start,
    )


__all__ = ["PublishFailure", "PublishResult", "format_metric", "publish", "write_atomic"]
