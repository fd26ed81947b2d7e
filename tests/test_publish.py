"""The publisher: run folders in, a static archive out (playbook.publish).

Run folders are built by hand in tmp_path with nbformat.v4, shaped like papermill's output.
"""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat import v4

from playbook.publish import PublishResult, convert, publish
from playbook.publish.formatting import decision_class, format_metric

# A 1x1 transparent PNG.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
PAPERMILL_STYLE = 'style="color:red; font-family:Helvetica Neue, Helvetica, Arial, sans-serif;"'
XSS = "<script>alert(1)</script> & Co"


def ok_notebook() -> nbformat.NotebookNode:
    nb = v4.new_notebook()
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    nb.cells = [
        v4.new_markdown_cell("# Data quality\n\nAll required fields are MARKDOWN_PROSE."),
        v4.new_code_cell("coverage_target = 0.9  # PARAM_SRC", metadata={"tags": ["parameters"]}),
        v4.new_code_cell(
            "coverage_target = 0.95  # INJECTED_SRC",
            metadata={"tags": ["injected-parameters"]},
            outputs=[v4.new_output("execute_result", data={"text/plain": "INJECTED_OUT"})],
        ),
        v4.new_code_cell(
            "report.headline(text)  # HEADLINE_SRC",
            metadata={"tags": ["hide-in-archive"]},
            outputs=[v4.new_output("display_data", data={"text/html": "<p>HEADLINE_CELL_OUT</p>"})],
        ),
        v4.new_code_cell(
            "table = quality.check(orders)  # HIDDEN_SRC\ntable",
            execution_count=3,
            outputs=[
                v4.new_output(
                    "execute_result",
                    data={
                        "text/html": '<table class="dataframe"><tr><td>TABLE_CELL</td></tr></table>',
                        "text/plain": "TABLE_PLAIN",
                    },
                    execution_count=3,
                ),
                v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
            ],
        ),
        v4.new_code_cell(
            "print('noise')  # NOISE_SRC",
            outputs=[
                v4.new_output("stream", name="stdout", text="STDOUT_NOISE\n"),
                v4.new_output("stream", name="stderr", text="UserWarning: STDERR_NOISE\n"),
                v4.new_output(
                    "execute_result", data={"text/plain": "<Figure size 640x480 with 1 Axes>"}
                ),
            ],
        ),
        v4.new_code_cell(
            "ratio = passed / total  # SHOWN_SRC\nratio",
            metadata={"tags": ["show-code"]},
            outputs=[v4.new_output("execute_result", data={"text/plain": "0.97"})],
        ),
    ]
    return nb


def failed_notebook() -> nbformat.NotebookNode:
    nb = v4.new_notebook()
    banner = (
        f"<span {PAPERMILL_STYLE}>An Exception was encountered at "
        "'<a href=\"#papermill-error-cell\">In [2]</a>'.</span>"
    )
    anchor = (
        f'<span id="papermill-error-cell" {PAPERMILL_STYLE}>'
        "Execution using papermill encountered an exception here and stopped:</span>"
    )
    tags = {"tags": ["papermill-error-cell-tag"]}
    nb.cells = [
        v4.new_markdown_cell(banner, metadata=tags),
        v4.new_code_cell("min_users = 100", metadata={"tags": ["parameters"]}),
        v4.new_markdown_cell(anchor, metadata=tags),
        v4.new_code_cell(
            "funnel.diagnose(events)  # FAILING_SRC",
            outputs=[
                v4.new_output(
                    "error",
                    ename="DataError",
                    evalue="events.parquet: column 'ts' missing",
                    traceback=[
                        "\x1b[0;31m---------------------------------------------\x1b[0m",
                        "\x1b[0;31mDataError\x1b[0m: events.parquet: column 'ts' missing",
                    ],
                )
            ],
        ),
        v4.new_code_cell("after_failure()  # NEVER_RAN_SRC"),
    ]
    return nb


def spec(campaign: str, **extra: Any) -> dict[str, Any]:
    return {
        "campaign": campaign,
        "title": f"Title of {campaign}",
        "owner": "ana@example.com",
        "hypothesis": "Cleaner data makes faster decisions.",
        "ice": {"impact": 5, "confidence": 6, "ease": 8},
        "tags": ["data", "weekly"],
        "schedule": "0 6 * * 1",
        "targets": {"coverage": 0.9},
        "data": {},
        "runs": [],
    } | extra


def make_run(
    runs_dir: Path,
    campaign: str,
    run_id: str,
    templates: list[dict[str, Any]],
    *,
    status: str | None = None,
    spec_extra: dict[str, Any] | None = None,
) -> Path:
    """A run folder; each template dict has name, status and optional notebook/outcome/error."""
    folder = runs_dir / campaign / run_id
    folder.mkdir(parents=True)
    entries = []
    for t in templates:
        name = t["name"]
        if t.get("notebook") is not None:
            nbformat.write(t["notebook"], folder / f"{name}.ipynb")
        if t.get("outcome") is not None:
            outcome = {"template": name, "campaign": campaign, "run_id": run_id} | t["outcome"]
            (folder / f"{name}.outcome.json").write_text(json.dumps(outcome))
        entries.append(
            {
                "name": name,
                "template": name,
                "notebook": f"notebooks/{name}.ipynb",
                "parameters": t.get("parameters", {"coverage_target": 0.95, "tables": ["a"]}),
                "status": t["status"],
                "started_at": "2026-11-24T06:00:00+00:00",
                "finished_at": "2026-11-24T06:00:03+00:00",
                "duration_s": 3.2,
                "timings": {"kernel_start_s": 0.4, "execute_s": 2.5},
                "error": t.get("error"),
                "output_notebook": f"{name}.ipynb",
                "outcome": f"{name}.outcome.json",
            }
        )
    any_failed = any(t["status"] == "failed" for t in templates)
    when = f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}T{run_id[9:11]}:00"
    manifest = {
        "campaign": campaign,
        "run_id": run_id,
        "spec_path": f"playbooks/{campaign}.yml",
        "spec": spec(campaign, **(spec_extra or {})),
        "status": status or ("failed" if any_failed else "ok"),
        "started_at": f"{when}:00+00:00",
        "finished_at": f"{when}:12+00:00",
        "duration_s": 12.3,
        "versions": {"python": "3.11.7", "playbook": "0.1.0", "papermill": "2.7.0"},
        "inputs": {
            "orders": {"path": "data/sample/orders.parquet", "bytes": 123456, "sha256": "ab" * 32}
        },
        "templates": entries,
    }
    (folder / "run.json").write_text(json.dumps(manifest))
    return folder


OK_OUTCOME = {
    "status": "ok",
    "headline": "Data is fit to decide on: coverage 99.0%",
    "decision": "pass",
    "metrics": {"coverage": 0.99, "pass_rate": 0.97, "rows": 12345, "lag_hours": 2.25},
}
FAILED_ERROR = {
    "ename": "DataError",
    "evalue": "events.parquet: column 'ts' missing",
    "traceback": "\x1b[0;31mDataError\x1b[0m: events.parquet: column 'ts' missing",
}


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    runs_dir = tmp_path / "runs"
    make_run(
        runs_dir,
        "weekly-data-quality",
        "20261117T060000Z",
        [
            {
                "name": "data_quality",
                "status": "ok",
                "notebook": ok_notebook(),
                "outcome": OK_OUTCOME,
            }
        ],
    )
    make_run(
        runs_dir,
        "weekly-data-quality",
        "20261124T060000Z",
        [
            {
                "name": "data_quality",
                "status": "ok",
                "notebook": ok_notebook(),
                "outcome": OK_OUTCOME,
            },
            {
                "name": "funnel_diagnosis",
                "status": "failed",
                "notebook": failed_notebook(),
                "error": FAILED_ERROR,
            },
        ],
    )
    make_run(
        runs_dir,
        "spring-limit-banner",
        "20261120T090000Z",
        [
            {
                "name": "experiment_readout",
                "status": "ok",
                "notebook": ok_notebook(),
                "outcome": {
                    "status": "ok",
                    "headline": "B lifts loan applications by +6.1%",
                    "decision": "ship",
                    "metrics": {"apply_rate.B.lift_rel": 0.061, "apply_rate.B.p_value": 0.003},
                },
            }
        ],
    )
    return runs_dir


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value and not value.startswith(("data:", "#")):
                self.links.append(value)


def assert_links_resolve(archive: Path, *, orphans: bool = False) -> int:
    """Crawl from index.html: every relative href/src resolves to a file; returns the count.

    Unless ``orphans`` is allowed, every page in the archive must be reachable from the index.
    """
    count, seen, todo = 0, set(), [(archive / "index.html").resolve()]
    while todo:
        page = todo.pop()
        if page in seen or page.suffix != ".html":
            continue
        seen.add(page)
        parser = _Links()
        parser.feed(read(page))
        for link in parser.links:
            assert "://" not in link, f"{page}: absolute link {link}"
            target = (page.parent / link.split("#")[0]).resolve()
            assert target.is_file(), f"{page.relative_to(archive)}: broken link {link}"
            todo.append(target)
            count += 1
    if not orphans:
        assert seen == {p.resolve() for p in archive.rglob("*.html")}
    return count


def report_page(archive: Path, campaign: str, run_id: str, name: str) -> str:
    return read(archive / "reports" / campaign / run_id / f"{name}.html")


# ----------------------------------------------------------------------------- tests


def test_index_lists_every_report_with_headline_decision_and_metrics(runs, tmp_path):
    result = publish(runs, tmp_path / "archive")
    assert isinstance(result, PublishResult)
    assert (result.converted, result.skipped, result.reports) == (4, 0, 4)
    assert result.index == tmp_path / "archive" / "index.html"
    assert result.failures == []
    index = read(result.index)
    assert index.count('<td><a href="reports/') == 4  # one row per report
    assert "Data is fit to decide on: coverage 99.0%" in index
    assert "B lifts loan applications by +6.1%" in index
    assert 'class="badge decision good">pass<' in index
    assert 'class="badge decision good">ship<' in index
    assert "99.0%" in index and "97.0%" in index and "12,345" in index
    assert "+6.1%" in index and "0.003" in index
    assert "Title of spring-limit-banner" in index and "weekly" in index
    # newest first: the 24th run precedes the 20th, which precedes the 17th
    index = index.split('id="reports"')[1]
    assert index.index("2026-11-24 06:00 UTC") < index.index("2026-11-20 09:00 UTC")
    assert index.index("2026-11-20 09:00 UTC") < index.index("2026-11-17 06:00 UTC")
    assert assert_links_resolve(tmp_path / "archive") > 20


def test_report_page_hides_code_parameters_and_noise(runs, tmp_path):
    publish(runs, tmp_path / "archive")
    page = report_page(
        tmp_path / "archive", "weekly-data-quality", "20261124T060000Z", "data_quality"
    )
    for hidden in (
        "HIDDEN_SRC",
        "NOISE_SRC",
        "PARAM_SRC",
        "INJECTED_SRC",
        "INJECTED_OUT",
        "HEADLINE_CELL_OUT",
        "STDOUT_NOISE",
        "STDERR_NOISE",
        "Figure size",
        "TABLE_PLAIN",
        "In&nbsp;[",
    ):
        assert hidden not in page, hidden
    for shown in (
        "MARKDOWN_PROSE",
        "TABLE_CELL",
        "data:image/png;base64," + PNG[:20],
        "SHOWN_SRC",
        "0.97",
        "Data is fit to decide on",
        "pass",
    ):
        assert shown in page, shown
    # the parameters used are shown as a table from run.json, values as JSON
    assert "<th>coverage_target</th><td><code>0.95</code></td>" in page
    assert "<code>[&#34;a&#34;]</code>" in page
    # inputs fingerprint shortened, versions, links back
    assert "abababababab</code>" in page and "123.5 kB" in page and "papermill 2.7.0" in page
    assert 'href="../../../index.html"' in page
    assert 'href="../../../campaigns/weekly-data-quality.html"' in page
    assert '<script src="../../../static/playbook.js" defer></script>' in page
    assert "mathjax" not in page.lower() and "https://" not in page


def test_failed_run_shows_its_error(runs, tmp_path):
    publish(runs, tmp_path / "archive")
    archive = tmp_path / "archive"
    page = report_page(archive, "weekly-data-quality", "20261124T060000Z", "funnel_diagnosis")
    assert "This report failed" in page
    assert "<strong>DataError</strong>: events.parquet: column &#39;ts&#39; missing" in page
    assert "\x1b" not in page
    assert 'id="papermill-error-cell"' in page and 'href="#papermill-error-cell"' in page
    assert "An Exception was encountered" not in page  # papermill's banner replaced by ours
    assert "FAILING_SRC" not in page and "NEVER_RAN_SRC" not in page
    assert "output_error" in page  # the traceback where it stopped
    index = read(archive / "index.html")
    assert 'class="badge status-failed">failed<' in index
    assert "1 failed" in index and index.count('<tr class="row-failed">') == 1
    assert "Failed: DataError: events.parquet" in index  # no outcome: headline from the error
    campaign = read(archive / "campaigns" / "weekly-data-quality.html")
    history, listing = campaign.split("<h2>Runs, newest first</h2>")
    assert listing.count('class="badge status-failed">failed<') == 2  # the run and the report
    assert history.count('class="badge status-failed">failed<') == 1  # metrics across runs


def test_missing_or_unreadable_notebook_still_gets_a_page(tmp_path):
    runs = tmp_path / "runs"
    make_run(
        runs,
        "crashy",
        "20261124T060000Z",
        [
            {"name": "gone", "status": "failed", "error": FAILED_ERROR},
            {"name": "broken", "status": "ok", "outcome": OK_OUTCOME},
        ],
    )
    (runs / "crashy" / "20261124T060000Z" / "broken.ipynb").write_text("{not json")
    result = publish(runs, tmp_path / "archive")
    assert result.converted == 2
    assert [f.source for f in result.failures] == ["crashy/20261124T060000Z/broken.ipynb"]
    gone = report_page(tmp_path / "archive", "crashy", "20261124T060000Z", "gone")
    assert "The executed notebook is missing" in gone
    assert "DataError" in gone and "<details open" not in gone  # traceback for analysts, closed
    assert '<details class="analysts"><summary>Details for analysts</summary>' in gone
    broken = report_page(tmp_path / "archive", "crashy", "20261124T060000Z", "broken")
    assert "could not be read (JSONDecodeError)" in broken
    assert "Data is fit to decide on" in broken
    assert_links_resolve(tmp_path / "archive")


def test_converter_errors_give_a_fallback_page(runs, tmp_path, monkeypatch):
    def boom(nb, language="en"):
        raise RuntimeError("template exploded")

    monkeypatch.setattr(convert, "notebook_body", boom)
    result = publish(runs, tmp_path / "archive")
    assert result.converted == 4 and len(result.failures) == 4
    assert "template exploded" in result.failures[0].message
    assert_links_resolve(tmp_path / "archive")


def test_running_runs_are_listed_on_the_campaign_page_only(runs, tmp_path):
    make_run(
        runs,
        "weekly-data-quality",
        "20261201T060000Z",
        [
            {
                "name": "data_quality",
                "status": "ok",
                "notebook": ok_notebook(),
                "outcome": OK_OUTCOME,
            }
        ],
        status="running",
    )
    result = publish(runs, tmp_path / "archive")
    assert result.reports == 4
    archive = tmp_path / "archive"
    assert not (archive / "reports" / "weekly-data-quality" / "20261201T060000Z").exists()
    index = read(archive / "index.html")
    assert "2026-12-01" not in index.split('id="reports"')[1]  # not among the reports
    assert "status-running" in index  # but the campaign's last run is shown as running
    campaign = read(archive / "campaigns" / "weekly-data-quality.html")
    assert "still in progress" in campaign
    assert (
        campaign.index("2026-12-01") < campaign.index("2026-11-24") < campaign.index("2026-11-17")
    )


def test_campaign_page_shows_metrics_across_runs(tmp_path):
    runs = tmp_path / "runs"

    def outcome(coverage: float, rows: int) -> dict[str, Any]:
        metrics = {"coverage": coverage, "rows": rows, "<b>bold</b>": 1.5, "lag_hours": 2.0}
        return OK_OUTCOME | {"metrics": metrics | {"fifth": 5}}

    for run_id, template in [
        ("20261110T060000Z", {"status": "ok", "outcome": outcome(0.912, 1200)}),
        ("20261117T060000Z", {"status": "failed", "error": FAILED_ERROR}),
        ("20261124T060000Z", {"status": "ok", "outcome": outcome(0.987, 34567)}),
    ]:
        make_run(
            runs, "weekly", run_id, [{"name": "data_quality", "notebook": ok_notebook()} | template]
        )
    publish(runs, tmp_path / "archive")
    archive = tmp_path / "archive"
    assert_links_resolve(archive)
    page = read(archive / "campaigns" / "weekly.html")
    assert "<b>bold" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    section = page.split("Metrics across runs")[1].split("<h2>Runs, newest first</h2>")[0]
    assert "<h3>data_quality</h3>" in section
    head, body = section.split("<tbody>")
    # the first KEY_METRICS metrics of the newest outcome, each with a sparkline (2 numbers)
    assert "coverage" in head and "lag_hours" in head and "fifth" not in head
    assert head.count("<svg") == 4 and "<polyline" in head
    rows = body.split("</tbody>")[0].split("<tr")[1:]
    assert len(rows) == 3
    dates = [re.findall(r"2026-11-\d\d", row)[0] for row in rows]
    assert dates == ["2026-11-24", "2026-11-17", "2026-11-10"]  # newest first
    assert "98.7%" in rows[0] and "34,567" in rows[0] and "1.5" in rows[0]
    assert "91.2%" in rows[2] and "1,200" in rows[2]
    assert 'class="row-failed"' in rows[1] and "status-failed" in rows[1]
    assert "%" not in rows[1] and "DataError" not in rows[1]
    for row, run_id in zip(
        rows, ["20261124T060000Z", "20261117T060000Z", "20261110T060000Z"], strict=True
    ):
        href = f'href="../reports/weekly/{run_id}/data_quality.html"'
        assert href in row
        assert (archive / "reports" / "weekly" / run_id / "data_quality.html").is_file()


def test_catalog_json(runs, tmp_path):
    publish(runs, tmp_path / "archive")
    catalog = json.loads(read(tmp_path / "archive" / "catalog.json"))
    assert [c["slug"] for c in catalog["campaigns"]] == [
        "spring-limit-banner",
        "weekly-data-quality",
    ]
    assert catalog["campaigns"][1]["html"] == "campaigns/weekly-data-quality.html"
    assert catalog["campaigns"][1]["ice"] == {"impact": 5, "confidence": 6, "ease": 8}
    reports = {(r["campaign"], r["run_id"], r["name"]): r for r in catalog["reports"]}
    assert len(reports) == 4
    dq = reports[("weekly-data-quality", "20261124T060000Z", "data_quality")]
    assert dq["html"] == "reports/weekly-data-quality/20261124T060000Z/data_quality.html"
    assert (tmp_path / "archive" / dq["html"]).is_file()
    assert dq["outcome"]["metrics"]["coverage"] == 0.99
    assert dq["manifest"]["parameters"] == {"coverage_target": 0.95, "tables": ["a"]}
    assert dq["spec"]["title"] == "Title of weekly-data-quality"
    assert dq["spec"]["targets"] == {"coverage": 0.9}
    assert dq["run"]["inputs"]["orders"]["bytes"] == 123456
    failed = reports[("weekly-data-quality", "20261124T060000Z", "funnel_diagnosis")]
    assert failed["status"] == "failed" and failed["outcome"] is None
    assert failed["manifest"]["error"]["ename"] == "DataError"


def test_everything_from_specs_and_data_is_escaped(tmp_path):
    runs = tmp_path / "runs"
    outcome = OK_OUTCOME | {
        "headline": XSS,
        "decision": "<b>ship</b>",
        "metrics": {"<i>rate</i>": 0.5},
    }
    make_run(
        runs,
        "xss",
        "20261124T060000Z",
        [
            {"name": "ok", "status": "ok", "notebook": ok_notebook(), "outcome": outcome},
            {"name": "bad", "status": "failed", "error": {"ename": "<E>", "evalue": XSS}},
        ],
        spec_extra={
            "title": XSS,
            "owner": XSS,
            "hypothesis": XSS,
            "tags": [XSS],
            "targets": {XSS: XSS},
        },
    )
    publish(runs, tmp_path / "archive")
    pages = list((tmp_path / "archive").rglob("*.html"))
    assert len(pages) == 6  # index, tag catalogue, knowledge view, campaign, two reports
    for page in pages:
        text = read(page)
        assert "<script>alert" not in text, page
        assert "<b>ship" not in text and "<i>rate" not in text and "<E>" not in text
    index = read(tmp_path / "archive" / "index.html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in index
    campaign = read(tmp_path / "archive" / "campaigns" / "xss.html")
    assert campaign.count("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co") >= 5


def test_incremental_converts_only_what_changed(runs, tmp_path):
    archive = tmp_path / "archive"
    assert publish(runs, archive).converted == 4
    again = publish(runs, archive)
    assert (again.converted, again.skipped) == (0, 4)
    notebook = runs / "spring-limit-banner" / "20261120T090000Z" / "experiment_readout.ipynb"
    stat = notebook.stat()
    os.utime(notebook, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    touched = publish(runs, archive)
    assert (touched.converted, touched.skipped) == (1, 3)
    (
        archive / "reports" / "weekly-data-quality" / "20261117T060000Z" / "data_quality.html"
    ).unlink()
    assert publish(runs, archive).converted == 1  # a deleted page is rebuilt
    assert publish(runs, archive, force=True).converted == 4


def test_crash_mid_publish_keeps_the_previous_archive(runs, tmp_path, monkeypatch):
    archive = tmp_path / "archive"
    publish(runs, archive)
    before = {p: p.read_bytes() for p in (archive / "index.html", archive / "catalog.json")}
    make_run(
        runs,
        "new-campaign",
        "20261125T060000Z",
        [
            {"name": "a", "status": "ok", "notebook": ok_notebook(), "outcome": OK_OUTCOME},
            {"name": "b", "status": "ok", "notebook": ok_notebook(), "outcome": OK_OUTCOME},
        ],
    )
    real = convert.notebook_body
    calls = []

    def crash_on_second(nb, language="en"):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed mid-publish, not a conversion error
        return real(nb, language)

    monkeypatch.setattr(convert, "notebook_body", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        publish(runs, archive, force=True)
    for path, content in before.items():
        assert path.read_bytes() == content
    assert not list(archive.rglob("*.tmp"))
    assert "new-campaign" not in read(archive / "index.html")
    assert assert_links_resolve(archive, orphans=True) > 20  # the new page a.html is unlinked
    monkeypatch.setattr(convert, "notebook_body", real)
    assert publish(runs, archive).reports == 6


def test_pages_are_small_and_styles_are_local(runs, tmp_path):
    publish(runs, tmp_path / "archive")
    archive = tmp_path / "archive"
    assert (archive / "static" / "playbook.css").is_file()
    for page in archive.rglob("*.html"):
        text = read(page)
        assert len(text) < 100_000
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), page


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("coverage", 0.991, "99.1%"),
        ("checks.pass_rate", 0.5, "50.0%"),
        ("apply_rate.B.conv", 0.123, "12.3%"),
        ("apply_rate.B.lift_rel", -0.0612, "-6.1%"),
        ("apply_rate.B.p_value", 0.000123456, "0.000123"),
        ("apply_rate.B.chance_to_win", 0.9987, "99.9%"),
        ("overall.sla_breach", 0.0412, "4.1%"),
        ("rows", 1234567, "1,234,567"),
        ("rows", 12.0, "12"),
        ("cac", 1234.5, "1,234"),
        ("ltv_cac", 2.3456, "2.35"),
        ("x", float("nan"), "–"),
    ],
)
def test_format_metric(name, value, text):
    assert format_metric(name, value) == text


def test_decision_classes():
    assert decision_class("Ship") == "good"
    assert decision_class("no_ship") == "bad"
    assert decision_class("keep running") == "neutral"
    assert decision_class("invalid") == "invalid"
    assert decision_class(None) == "neutral"
    # every template's words have a tone: act, no-action, feasible and too-long were all grey
    assert [decision_class(w) for w in ("act", "no-action", "feasible", "too-long")] == \
        ["bad", "good", "good", "bad"]


def test_empty_runs_folder_gives_an_empty_archive(tmp_path):
    result = publish(tmp_path / "nothing", tmp_path / "archive")
    assert result.reports == 0 and result.index.is_file()
    assert "No runs yet" in read(result.index)
    assert json.loads(read(tmp_path / "archive" / "catalog.json"))["reports"] == []


def test_unreadable_run_json_is_reported_and_skipped(runs, tmp_path):
    bad = runs / "weekly-data-quality" / "20261130T060000Z"
    bad.mkdir()
    (bad / "run.json").write_text("[]")
    result = publish(runs, tmp_path / "archive")
    assert result.reports == 4
    assert result.failures[0].source == "weekly-data-quality/20261130T060000Z/run.json"


def test_unsafe_folder_names_are_skipped_and_reported(runs, tmp_path):
    (runs / "bad name").mkdir()
    (runs / ".hidden").mkdir()
    result = publish(runs, tmp_path / "archive")
    assert result.reports == 4
    assert [f.source for f in result.failures] == ["bad name"]


@pytest.mark.parametrize("minor", [4, 5])
def test_notebooks_without_cell_ids_convert_without_warnings(tmp_path, minor):
    raw = json.loads(nbformat.writes(ok_notebook()))
    raw["nbformat_minor"] = minor
    for cell in raw["cells"]:
        del cell["id"]
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(raw))
    body = convert.notebook_body(convert.read_notebook(path))
    assert "TABLE_CELL" in body and "HIDDEN_SRC" not in body and "SHOWN_SRC" in body


def test_catalog_follows_its_published_json_schema(runs, tmp_path):
    import jsonschema

    from playbook.outcome import Catalog

    publish(runs, tmp_path / "archive")
    catalog = json.loads(read(tmp_path / "archive" / "catalog.json"))
    schema = json.loads(read(tmp_path / "archive" / "catalog.schema.json"))
    jsonschema.validate(catalog, schema)  # as a reader outside Python would check it
    model = Catalog.model_validate(catalog)
    assert len(model.reports) == 4 and {r.status for r in model.reports} <= {"ok", "failed"}
    broken = {**catalog, "reports": [{**catalog["reports"][0], "status": "done"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
