"""Reading run folders: :class:`Run` (one run.json), :class:`Report` (one template of a run).

:func:`read_runs` walks ``<runs_dir>/<campaign>/<run_id>/run.json``. Folder and template names
must be safe in a URL and a path (letters, digits, ``.``, ``_``, ``-``); runs in progress get
no reports. Whatever cannot be read is appended to ``failures`` as a :class:`PublishFailure`,
and reading goes on.

Errors are shown as a stakeholder reads them: :attr:`Report.error` gives a one-line
``summary`` and, for analysts, the full message and traceback, all without this machine's paths
(:func:`playbook.redact.strip_machine_paths`; records written before the runner cleaned them
are cleaned here too).

Metrics are shown by their label, value and interval (:func:`playbook.publish.metric_text.shown_metrics`).
A report whose numbers are not to be trusted (it failed, or its decision is invalid) says why
in :attr:`Report.withheld`: lists show that reason instead of its key metrics, and its page
keeps them closed behind it.
"""

from __future__ import annotations

import json
import re
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playbook.i18n import DEFAULT_LANGUAGE, gettext
from playbook.publish.formatting import (
    KEY_METRICS,
    LANGUAGE_NAMES,
    clean_error_text,
    decision_class,
    page_language,
    show_duration,
    show_size,
    show_time,
    show_value,
)
from playbook.publish.metric_text import shown_metrics
from playbook.zones import parse_utc

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
SUMMARY_CHARS = 240


def error_summary(evalue: str) -> str:
    """The first line of an error message, at most :data:`SUMMARY_CHARS` characters."""
    first = next((line.strip() for line in evalue.splitlines() if line.strip()), "")
    return first if len(first) <= SUMMARY_CHARS else first[: SUMMARY_CHARS - 1].rstrip() + "…"


@dataclass(frozen=True)
class PublishFailure:
    """A source that could not be read; ``source`` is relative to the runs folder."""

    source: str
    message: str


def _parse_time(text: Any, run_id: str = "") -> datetime | None:
    if isinstance(text, str) and text:
        with suppress(ValueError):
            return parse_utc(text)
    for fmt in ("%Y%m%dT%H%M%SZ", "%Y%m%dT%H%MZ", "%Y%m%dT%H%M%S", "%Y%m%d"):
        with suppress(ValueError):
            return datetime.strptime(run_id, fmt).replace(tzinfo=UTC)
    return None


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object (a dict), else an empty dict: for untyped records."""
    return value if isinstance(value, dict) else {}


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
        """ename, evalue, traceback (cleaned) and summary (one short line), or None."""
        err = self.entry.get("error")
        text = (self.outcome or {}).get("error")
        if isinstance(err, dict):
            ename = str(err.get("ename") or "Error")
            evalue = str(err.get("evalue") or text or "")
            traceback = str(err.get("traceback") or "")
        elif err or text:
            ename, evalue, traceback = "Error", str(text or err), ""
        elif self.status == "failed":
            ename, evalue, traceback = "Error", "", ""
        else:
            return None
        evalue = clean_error_text(evalue)
        return {"ename": ename, "evalue": evalue, "traceback": clean_error_text(traceback),
                "summary": error_summary(evalue)}

    @property
    def language(self) -> str:
        """The language the report was written in: its outcome's ``language`` (outcomes written
        before languages existed, and reports without an outcome, are English)."""
        return page_language((self.outcome or {}).get("language"))

    @property
    def withheld(self) -> str:
        """Why this report's numbers are not to be trusted ("" when they are): it failed, or
        its decision is invalid (e.g. a sample ratio mismatch). Lists show the reason instead
        of the numbers; the report page keeps them behind it."""
        return self.withheld_in(DEFAULT_LANGUAGE)

    def withheld_in(self, language: str) -> str:
        """:attr:`withheld` as a page in ``language`` says it."""
        if self.status == "failed":
            return gettext("the report failed", language)
        if decision_class((self.outcome or {}).get("decision")) == "invalid":
            return gettext("the result is invalid", language)
        return ""

    def _headline(self, error: dict[str, str] | None, language: str) -> str:
        headline = str((self.outcome or {}).get("headline") or "")
        if headline:
            return headline
        if error:
            return gettext("Failed: {ename}: {summary}", language).format(**error).rstrip(": ：")
        return gettext("No outcome recorded", language)

    def view(self, language: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
        """What the templates show of this report, on a page in ``language``: the page's
        words in that language, the report's own text (headline, metrics) in the report's."""
        out = self.outcome or {}
        shown = shown_metrics(out, self.language)
        withheld = self.withheld_in(language) if shown else ""
        error = self.error
        headline = self._headline(error, language)
        return {
            "language": self.language,
            "language_name": LANGUAGE_NAMES.get(self.language, self.language),
            "campaign": self.run.campaign,
            "campaign_title": self.run.title,
            "draft": self.run.draft,
            "run_id": self.run.run_id,
            "name": self.name,
            "template": str(self.entry.get("template") or self.name),
            "status": self.status,
            "headline_text": headline,
            "decision": out.get("decision"),
            "tone": out.get("tone"),  # as recorded (publish.formatting.decision_class)
            "key_metrics": [] if withheld else shown[:KEY_METRICS],
            "all_metrics": shown,
            "withheld": withheld,
            "error": error,
            "tags": self.run.tags,
            "owner": self.run.spec.get("owner"),
            "date": self.run.date_in(language),
            "sort_key": self.run.sort_key,
            "duration": show_duration(self.entry.get("duration_s"), language),
            "href": self.href,
            "parameters": [
                (str(k), show_value(v)) for k, v in as_dict(self.entry.get("parameters")).items()
            ],
            "inputs": [
                {
                    "name": str(k),
                    "path": str(v.get("path", "")),
                    "size": show_size(v.get("bytes")),
                    "sha256": str(v.get("sha256", "")),
                }
                for k, v in as_dict(self.run.manifest.get("inputs")).items()
                if isinstance(v, dict)
            ],
            "versions": [
                (str(k), str(v)) for k, v in as_dict(self.run.manifest.get("versions")).items()
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
    def draft(self) -> bool:
        """Its spec says ``draft: true`` (published only with ``include_drafts``)."""
        return self.spec.get("draft") is True

    @property
    def started(self) -> datetime | None:
        return _parse_time(self.manifest.get("started_at"), self.run_id)

    @property
    def language(self) -> str:
        """The language of the run's spec (``en`` for specs written before languages existed)."""
        return page_language(self.spec.get("language"))

    @property
    def date(self) -> str:
        return self.date_in(DEFAULT_LANGUAGE)

    def date_in(self, language: str) -> str:
        """When the run started, as a page in ``language`` shows it."""
        return show_time(self.started, self.run_id, language)

    @property
    def sort_key(self) -> str:
        started = self.started
        return started.astimezone(UTC).isoformat() if started else self.run_id


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; ValueError when it holds another JSON value."""
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
                manifest = read_json_object(folder / "run.json")
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
            outcome = read_json_object(outcome_path)
        except (OSError, ValueError) as exc:
            failures.append(PublishFailure(f"{where}/{outcome_path.name}", f"unreadable: {exc}"))
    return Report(run, name, entry, outcome, notebook, outcome_path)


__all__ = ["PublishFailure", "Report", "Run", "as_dict", "read_json_object", "read_runs"]
