"""The archive shows metrics as a stakeholder reads them: the label, the value by its kind and unit,
the interval, from the outcome's metric_info (index, campaign and report pages); older outcomes
without metric_info still publish by their dotted names; numbers of a failed or invalid report are
withheld behind a warning."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.test_publish import FAILED_ERROR, OK_OUTCOME, make_run, ok_notebook, read, report_page

from playbook.publish import publish

LIFT = "apply_rate.B.lift_rel"
INFO = {
    LIFT: {"label": "Apply rate, B vs A", "kind": "lift", "low": 0.057, "high": 0.123, "level": 0.95},
    "apply_rate.B.p_value": {"label": "Apply rate p-value", "kind": "p_value"},
    "users.B": {"label": "Users in B", "kind": "count", "unit": "users"},
    "loan_size.B.lift_abs": {"label": "Loan size difference", "kind": "money", "unit": "EUR"},
}
LINE = "Apply rate, B vs A</span> <span class=\"metric-value\">+9.0% (95% CI +5.7% to +12.3%)</span>"


def readout(lift: float = 0.0903, decision: str = "ship", **extra: Any) -> dict[str, Any]:
    metrics = {LIFT: lift, "apply_rate.B.p_value": 0.003, "users.B": 1527, "loan_size.B.lift_abs": 17.627,
               "fifth": 0.5}
    return {"status": "ok", "headline": "B lifts applications", "decision": decision, "metrics": metrics,
            "metric_info": INFO} | extra


def one_report(runs: Path, campaign: str, run_id: str, outcome: dict[str, Any] | None,
               status: str = "ok", **extra: Any) -> None:
    template = {"name": "experiment_readout", "status": status, "notebook": ok_notebook()} | extra
    if outcome is not None:
        template["outcome"] = outcome
    make_run(runs, campaign, run_id, [template])


def test_index_campaign_and_report_pages_show_labels_values_and_intervals(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    one_report(runs, "banner", "20261110T060000Z", readout(0.05))
    one_report(runs, "banner", "20261124T060000Z", readout())
    publish(runs, tmp_path / "archive")
    archive = tmp_path / "archive"
    index = read(archive / "index.html")
    assert f'<span class="metric-name" title="{LIFT}">{LINE}' in index
    assert "Apply rate p-value</span> <span class=\"metric-value\">p = 0.003<" in index
    assert "Users in B</span> <span class=\"metric-value\">1,527<" in index
    assert "Loan size difference</span> <span class=\"metric-value\">17.63 EUR<" in index
    assert ">apply_rate.B.lift_rel<" not in index  # the dotted name only as a tooltip
    campaign = read(archive / "campaigns" / "banner.html")
    history = campaign.split("Metrics across runs")[1].split("<h2>Runs, newest first</h2>")[0]
    head, body = history.split("<tbody>")
    headers = re.findall(r'<th class="num" title="([^"]+)">([^<]+)<br><svg', head)
    assert headers == [(LIFT, "Apply rate, B vs A"), ("apply_rate.B.p_value", "Apply rate p-value"),
                       ("users.B", "Users in B"), ("loan_size.B.lift_abs", "Loan size difference")]
    assert 'aria-label="Apply rate, B vs A, oldest to newest"' in head and head.count("<polyline") == 4
    rows = body.split("</tbody>")[0].split("<tr")[1:]
    assert '<td class="num">+9.0% (95% CI +5.7% to +12.3%)</td>' in rows[0]
    assert '<td class="num">+5.0% (95% CI +5.7% to +12.3%)</td>' in rows[1]
    assert '<td class="num">p = 0.003</td>' in rows[0] and '<td class="num">17.63 EUR</td>' in rows[0]
    assert LINE in campaign.split("<h2>Runs, newest first</h2>")[1]  # key metrics of each run
    page = report_page(archive, "banner", "20261124T060000Z", "experiment_readout")
    assert (f'<tr><th title="{LIFT}">Apply rate, B vs A</th>'
            '<td class="num">+9.0% (95% CI +5.7% to +12.3%)</td></tr>') in page
    assert '<tr><th title="fifth">fifth</th><td class="num">0.5</td></tr>' in page  # no info: its name
    assert '<details class="panel" open><summary>Metrics (5)</summary>' in page


def test_older_outcomes_without_metric_info_still_publish_by_name(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    one_report(runs, "old", "20261124T060000Z", OK_OUTCOME)
    result = publish(runs, tmp_path / "archive")
    assert result.failures == []
    index = read(tmp_path / "archive" / "index.html")
    assert '<span class="metric-name" title="coverage">coverage</span> <span class="metric-value">99.0%<' in index
    assert '<span class="metric-name" title="rows">rows</span> <span class="metric-value">12,345<' in index
    campaign = read(tmp_path / "archive" / "campaigns" / "old.html")
    assert '<th class="num" title="coverage">coverage' in campaign and '<td class="num">97.0%</td>' in campaign
    page = report_page(tmp_path / "archive", "old", "20261124T060000Z", "experiment_readout")
    assert '<tr><th title="lag_hours">lag_hours</th><td class="num">2.25</td></tr>' in page


def test_labels_and_units_are_escaped(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    info = {LIFT: {"label": "<script>alert(1)</script>", "kind": "money", "unit": "<b>EUR</b> & Co"}}
    one_report(runs, "xss", "20261117T060000Z", readout(0.05) | {"metric_info": info})
    one_report(runs, "xss", "20261124T060000Z", readout() | {"metric_info": info})
    publish(runs, tmp_path / "archive")
    for page in (tmp_path / "archive").rglob("*.html"):
        text = read(page)
        assert "<script>alert" not in text and "<b>EUR" not in text, page
    index = read(tmp_path / "archive" / "index.html")
    assert ("&lt;script&gt;alert(1)&lt;/script&gt;</span> <span class=\"metric-value\">"
            "0.09 &lt;b&gt;EUR&lt;/b&gt; &amp; Co<") in index
    campaign = read(tmp_path / "archive" / "campaigns" / "xss.html")
    assert 'aria-label="&lt;script&gt;alert(1)&lt;/script&gt;, oldest to newest"' in campaign


def test_numbers_of_an_invalid_or_failed_report_are_withheld(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    one_report(runs, "srm", "20261103T060000Z", readout(0.01))
    one_report(runs, "srm", "20261110T060000Z", readout(0.02))
    one_report(runs, "srm", "20261117T060000Z", readout(0.3333, decision="invalid"))
    one_report(runs, "srm", "20261124T060000Z", readout(0.4444) | {"status": "failed", "error": "boom"},
               status="failed", error=FAILED_ERROR)
    publish(runs, tmp_path / "archive")
    archive = tmp_path / "archive"
    index = read(archive / "index.html")
    rows = index.split('id="reports"')[1].split("<tbody>")[1].split("<tr")[1:]
    assert "Numbers withheld: the report failed; see the report." in rows[0]
    assert "Numbers withheld: the result is invalid; see the report." in rows[1]
    assert "+44.4%" not in index and "+33.3%" not in index  # neither lift is shown
    assert "+2.0% (95% CI" in rows[2]  # a trusted run shows its numbers
    campaign = read(archive / "campaigns" / "srm.html")
    history, listing = campaign.split("Metrics across runs")[1].split("<h2>Runs, newest first</h2>")
    body = history.split("<tbody>")[1].split("</tbody>")[0].split("<tr")[1:]
    assert '<td colspan="4" class="muted">failed</td>' in body[0]
    assert '<td colspan="4" class="muted">numbers withheld: the result is invalid</td>' in body[1]
    assert "+33.3%" not in campaign and "+44.4%" not in campaign
    # the sparkline of the lift is drawn from the two trusted runs only
    spark = re.search(r'aria-label="Apply rate, B vs A, oldest to newest">.*?points="([^"]+)"', history)
    assert spark is not None and len(spark.group(1).split()) == 2
    assert "Numbers withheld: the result is invalid; see the report." in listing
    page = report_page(archive, "srm", "20261117T060000Z", "experiment_readout")
    assert '<p class="withheld">Numbers withheld: the result is invalid. Do not decide on the metrics below.</p>' in page
    # the numbers are on the page for analysts, closed behind the warning
    assert ('<details class="panel withheld-panel"><summary>Metrics (5): not to be trusted, the result is '
            'invalid</summary>') in page
    assert "+33.3% (95% CI +5.7% to +12.3%)" in page
