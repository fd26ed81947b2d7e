"""Drafts (published only with --include-drafts) and retracting runs (playbook archive remove)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.test_publish import OK_OUTCOME, make_run, ok_notebook

from playbook.publish import publish

OK = [{"name": "data_quality", "status": "ok", "notebook": ok_notebook(), "outcome": OK_OUTCOME}]


def _runs(root: Path) -> Path:
    runs = root / "outputs" / "runs"
    make_run(runs, "spring-draft", "20261124-0600-aaaa", OK, spec_extra={"draft": True})
    make_run(runs, "kept", "20261124-0700-bbbb", OK)
    make_run(runs, "kept", "20261125-0700-cccc", OK)
    return runs


def _catalog_campaigns(archive: Path) -> set[str]:
    return {c["slug"] for c in json.loads((archive / "catalog.json").read_text())["campaigns"]}


def test_drafts_are_left_out_unless_included(tmp_path: Path) -> None:
    runs, archive = _runs(tmp_path), tmp_path / "archive"
    result = publish(runs, archive)
    assert result.drafts == 1 and result.reports == 2
    index = (archive / "index.html").read_text()
    assert "spring-draft" not in index and "badge draft" not in index
    assert _catalog_campaigns(archive) == {"kept"}
    assert not (archive / "campaigns" / "spring-draft.html").exists()

    result = publish(runs, archive, include_drafts=True)
    assert result.drafts == 0 and result.reports == 3
    index = (archive / "index.html").read_text()
    assert index.count('<span class="badge draft">Draft</span>') == 1
    assert "badge draft" in (archive / "campaigns" / "spring-draft.html").read_text()
    assert "badge draft" not in (archive / "campaigns" / "kept.html").read_text()
    page = archive / "reports" / "spring-draft" / "20261124-0600-aaaa" / "data_quality.html"
    assert "badge draft" in page.read_text()
    assert _catalog_campaigns(archive) == {"kept", "spring-draft"}


def test_publish_command_says_drafts_were_left_out(project: Path) -> None:
    _runs(project)
    result = run_cli(project, "publish")
    assert result.exit_code == 0, result.output
    assert "left out 1 draft run(s) (publish with --include-drafts)" in result.output
    result = run_cli(project, "publish", "--include-drafts")
    assert result.exit_code == 0 and "draft run" not in result.output


def test_archive_remove_retracts_one_run(project: Path) -> None:
    runs = _runs(project)
    archive = project / "outputs" / "archive"
    assert run_cli(project, "publish").exit_code == 0
    gone = archive / "reports" / "kept" / "20261124-0700-bbbb"
    assert gone.is_dir()
    result = run_cli(project, "archive", "remove", "kept/20261124-0700-bbbb")
    assert result.exit_code == 0, result.output
    assert "nothing is deleted" in result.output
    assert not gone.exists() and not (runs / "kept" / "20261124-0700-bbbb").exists()
    assert (project / "outputs" / "retracted" / "kept" / "20261124-0700-bbbb" / "run.json").is_file()
    assert (archive / "reports" / "kept" / "20261125-0700-cccc" / "data_quality.html").is_file()
    index = (archive / "index.html").read_text()
    assert "20261124-0700-bbbb" not in index and "20261125-0700-cccc" in index
    assert "20261124-0700-bbbb" not in (archive / "catalog.json").read_text()
    assert (archive / "campaigns" / "kept.html").is_file()

    result = run_cli(project, "archive", "remove", "kept")  # the campaign's last run
    assert result.exit_code == 0, result.output
    assert not (archive / "campaigns" / "kept.html").exists()
    assert not (archive / "reports" / "kept").exists()
    assert "campaigns/kept.html" not in (archive / "index.html").read_text()


def test_archive_remove_names_what_is_unknown(project: Path) -> None:
    _runs(project)
    result = run_cli(project, "archive", "remove", "kept/20990101-0000-zzzz")
    assert result.exit_code == 2
    assert "20990101-0000-zzzz" in result.output and "20261124-0700-bbbb" in result.output
    result = run_cli(project, "archive", "remove", "nope")
    assert result.exit_code == 2 and "'nope'" in result.output and "kept" in result.output


def test_archive_remove_refuses_paths(project: Path) -> None:
    _runs(project)
    (project / "outputs" / "x").mkdir()
    for target in ("../x", "kept/../../x", "..", "kept/.."):
        result = run_cli(project, "archive", "remove", target)
        assert result.exit_code == 2, (target, result.output)
    assert (project / "outputs" / "x").is_dir() and not (project / "outputs" / "retracted").exists()


def test_archive_serve_needs_a_published_archive(project: Path) -> None:
    result = run_cli(project, "archive", "serve", "--port", "0")
    assert result.exit_code == 2 and "playbook publish" in result.output
