"""The index as the stakeholders' front door: one row per campaign with the latest decision of
each of its templates, and a run status only where a run failed."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_publish import FAILED_ERROR, OK_OUTCOME, failed_notebook, make_run, ok_notebook

from playbook.publish import publish

INVALID = {"status": "ok", "headline": "Sample ratio mismatch: no lift can be trusted",
           "decision": "invalid", "metrics": {"lift": 0.12, "srm_p": 1e-9}}


def _archive(tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    make_run(runs, "steady", "20261101T0600Z",
             [{"name": "data_quality", "status": "ok", "notebook": ok_notebook(),
               "outcome": OK_OUTCOME | {"headline": "Old headline", "decision": "fail"}}])
    make_run(runs, "steady", "20261124T0600Z",
             [{"name": "data_quality", "status": "ok", "notebook": ok_notebook(), "outcome": OK_OUTCOME}])
    make_run(runs, "broken", "20261124T0700Z",
             [{"name": "funnel_diagnosis", "status": "failed", "notebook": failed_notebook(),
               "error": FAILED_ERROR}])
    make_run(runs, "srm", "20261124T0800Z",
             [{"name": "experiment_readout", "status": "ok", "notebook": ok_notebook(), "outcome": INVALID}])
    publish(runs, tmp_path / "archive")
    return tmp_path / "archive"


def _campaign_row(index: str, slug: str) -> str:
    rows = re.findall(r"<tr[^>]*>.*?</tr>", index.split('id="campaigns"')[1].split("</table>")[0], re.S)
    return next(row for row in rows if f"campaigns/{slug}.html" in row)


def test_campaign_rows_lead_with_the_latest_decision(tmp_path: Path) -> None:
    index = (_archive(tmp_path) / "index.html").read_text(encoding="utf-8")
    steady = _campaign_row(index, "steady")
    assert str(OK_OUTCOME["headline"]) in steady and "Old headline" not in steady  # the newest run's
    assert 'class="badge decision' in steady
    assert "status-ok" not in index  # no green "ok" beside any decision
    broken = _campaign_row(index, "broken")
    assert "status-failed" in broken and 'class="badge decision' not in broken
    srm = _campaign_row(index, "srm")
    assert "decision invalid" in srm and "Numbers withheld" in srm and "0.12" not in srm


def test_an_invalid_report_hides_its_body_behind_a_warning(tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    page = (archive / "reports/srm/20261124T0800Z/experiment_readout.html").read_text(encoding="utf-8")
    assert page.index('class="verdict"') < page.index('class="headline"')  # the decision first
    warning = page.index('<details class="withheld-body">')
    assert page.index('<section class="nb">') < warning < page.index("TABLE_CELL", warning)
    ok_page = (archive / "reports/steady/20261124T0600Z/data_quality.html").read_text(encoding="utf-8")
    assert "withheld-body" not in ok_page and "status-ok" not in ok_page


def test_the_campaign_page_sets_the_plan_beside_what_happened(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    design = {"status": "ok", "headline": "Run 33 days", "decision": "feasible",
              "metrics": {"sample_size_per_arm": 539, "duration_days": 33}}
    readout = {"status": "ok", "headline": "Ship", "decision": "ship",
               "metrics": {"users.control": 1553, "users.treatment": 500}}
    make_run(runs, "exp", "20261124T0600Z", [
        {"name": "experiment_design", "status": "ok", "notebook": ok_notebook(), "outcome": design},
        {"name": "experiment_readout", "status": "ok", "notebook": ok_notebook(), "outcome": readout,
         "parameters": {"start": "2026-08-17", "end": "2026-11-09"}}])
    publish(runs, tmp_path / "archive")
    page = (tmp_path / "archive/campaigns/exp.html").read_text(encoding="utf-8")
    plan = re.sub(r"<[^>]+>", " ", page.split('id="plan"')[1].split("</table>")[0])
    words = plan.split()
    assert "539" in words and "1,553" in words and "500" in words
    # 500 treatment users fall short of 539 per arm; 84 days from start to end cover the 33 planned
    assert re.search(r"Users per arm\s+539\s+control 1,553 · treatment 500\s+no", " ".join(words))
    assert re.search(r"Duration\s+33 days\s+84 days\s+yes", " ".join(words))


def test_drafts_run_but_are_published_only_when_asked(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    make_run(runs, "ready", "20261124T0600Z",
             [{"name": "data_quality", "status": "ok", "notebook": ok_notebook(), "outcome": OK_OUTCOME}])
    make_run(runs, "half-edited", "20261124T0700Z",
             [{"name": "data_quality", "status": "ok", "notebook": ok_notebook(), "outcome": OK_OUTCOME}],
             spec_extra={"draft": True})
    result = publish(runs, tmp_path / "archive")
    index = (tmp_path / "archive/index.html").read_text(encoding="utf-8")
    catalog = (tmp_path / "archive/catalog.json").read_text(encoding="utf-8")
    assert result.drafts == 1 and result.reports == 1 and result.failures == []
    assert "campaigns/ready.html" in index and "half-edited" not in index + catalog
    assert not (tmp_path / "archive/campaigns/half-edited.html").exists()

    result = publish(runs, tmp_path / "preview", include_drafts=True)
    index = (tmp_path / "preview/index.html").read_text(encoding="utf-8")
    assert result.drafts == 0 and result.reports == 2
    assert 'half-edited.html">Title of half-edited</a> <span class="badge draft">Draft</span>' in index
    page = (tmp_path / "preview/campaigns/half-edited.html").read_text(encoding="utf-8")
    assert '<span class="badge draft">Draft</span>' in page


def test_playbook_new_writes_a_draft(project: Path) -> None:
    import yaml
    from tests.conftest import run_cli

    made = run_cli(project, "new", "spring-promo", "--template", "trivial")
    assert made.exit_code == 0, made.output
    spec = yaml.safe_load((project / "playbooks/spring-promo.yml").read_text(encoding="utf-8"))
    assert spec["draft"] is True
