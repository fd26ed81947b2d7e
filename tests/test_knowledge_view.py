"""The knowledge view's numbers (playbook.knowledge_view) on hand-made catalogs with known
answers, and the page publish writes (knowledge.html): linked from every page, escaped."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from statsmodels.stats.proportion import proportion_confint
from tests.test_publish import XSS, make_run, ok_notebook

from playbook.knowledge_view import key_lift, knowledge, quarter
from playbook.publish import publish


def readout(decision: str, lift: float | None = None, low: float | None = None, high: float | None = None,
            kpi: str = "apply_rate") -> dict[str, Any]:
    """A readout outcome whose primary metric ``kpi`` of arm B lifts by ``lift`` (low, high)."""
    out: dict[str, Any] = {"status": "ok", "decision": decision, "headline": "h",
                           "metrics": {"srm.p_value": 0.5}, "metric_info": {"srm.p_value": {"label": "SRM", "kind": "p_value"}},
                           "details": {"decision_arm": "B", "comparisons": [{"metric": kpi, "arm": "B", "role": "primary"}]}}
    if lift is not None:
        out["metrics"][f"{kpi}.B.lift_rel"] = lift
        out["metric_info"][f"{kpi}.B.lift_rel"] = {"label": "Lift", "kind": "lift", "low": low, "high": high}
    return out


def entry(campaign: str, run_id: str, template: str, outcome: dict[str, Any] | None = None, *,
          idea: str | None = None, area: str | None = None, status: str = "ok") -> dict[str, Any]:
    started = f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}T06:00:00+00:00"
    return {"campaign": campaign, "run_id": run_id, "name": template, "template": template, "status": status,
            "outcome": outcome or {"status": status, "decision": "feasible", "metrics": {}},
            "run": {"started_at": started}, "spec": {"idea": idea, "area": area}}


def ideas_outcome(*ideas: tuple[str, str, str | None]) -> dict[str, Any]:
    return {"status": "ok", "decision": "ranked", "metrics": {},
            "details": {"ideas": [{"id": i, "idea": f"idea {i}", "area": a, "created": c, "status": "idea",
                                   "score": 5.0, "calibrated_score": 5.0, "rank": n + 1, "stable": True}
                                  for n, (i, a, c) in enumerate(ideas)]}}


CATALOG = {"reports": [
    # an older backlog snapshot the view must not use, and the latest one
    entry("backlog", "20260101T0600Z", "ice_backlog", ideas_outcome(("OLD-1", "x", "2025-01-01"))),
    entry("backlog", "20260601T0600Z", "ice_backlog", ideas_outcome(
        ("IDEA-1", "activation", "2026-05-01"), ("IDEA-2", "activation", "2026-05-20"),
        ("IDEA-3", "retention", None), ("IDEA-4", "retention", "2026-06-01"), ("IDEA-5", "referral", "2026-01-01"))),
    # IDEA-1: designed 06-01, keep-running 06-20, shipped 07-10 (the first decision), read again 08-01
    entry("banner", "20260601T0600Z", "experiment_design", idea="IDEA-1", area="activation"),
    entry("banner", "20260620T0600Z", "experiment_readout", readout("keep-running", 0.02, -0.01, 0.05), idea="IDEA-1"),
    entry("banner", "20260710T0600Z", "experiment_readout", readout("ship", 0.08, 0.05, 0.11), idea="IDEA-1",
          area="activation"),
    entry("banner", "20260801T0600Z", "experiment_readout", readout("ship", 0.09, 0.07, 0.11), idea="IDEA-1"),
    # IDEA-2: designed 06-10, shipped 09-15 (another activation winner on the same KPI)
    entry("copy", "20260610T0600Z", "experiment_design", idea="IDEA-2"),
    entry("copy", "20260915T0600Z", "experiment_readout", readout("ship", 0.04, 0.00, 0.08), idea="IDEA-2"),
    # IDEA-3 (no created date): designed 07-01, no-ship 07-29
    entry("winback", "20260701T0600Z", "experiment_design", idea="IDEA-3"),
    entry("winback", "20260729T0600Z", "experiment_readout", readout("no-ship", -0.01, -0.03, 0.01), idea="IDEA-3"),
    # IDEA-4: designed, still running; a failed readout does not count
    entry("loyalty", "20260915T0600Z", "experiment_design", idea="IDEA-4"),
    entry("loyalty", "20261001T0600Z", "experiment_readout", readout("keep-running"), idea="IDEA-4"),
    entry("loyalty", "20261002T0600Z", "experiment_readout", None, idea="IDEA-4", status="failed"),
]}


def test_experiments_win_rate_and_measured_impact() -> None:
    k = knowledge(CATALOG)
    assert [(x.campaign, x.decision, x.decided_on) for x in k.experiments] == [
        ("banner", "ship", date(2026, 7, 10)), ("winback", "no-ship", date(2026, 7, 29)),
        ("copy", "ship", date(2026, 9, 15)), ("loyalty", "keep-running", None)]
    assert (k.rate.wins, k.rate.n) == (2, 3)
    assert k.rate.interval == pytest.approx(proportion_confint(2, 3, alpha=0.05, method="wilson"))
    (impact,) = k.impact  # the first decisive readout's lift (0.08), not the later re-read (0.09)
    assert (impact.kpi, impact.experiments) == ("apply_rate", 2) and impact.total == pytest.approx(0.12)
    assert impact.low == pytest.approx(0.12 - math.hypot(0.03, 0.04))
    assert impact.high == pytest.approx(0.12 + math.hypot(0.03, 0.04))
    areas = {g.name: (g.experiments, g.rate.wins, g.rate.n) for g in k.by_area}
    # banner's area from its spec, the others from the backlog idea's area
    assert areas == {"activation": (2, 2, 2), "retention": (2, 0, 1)}
    quarters = {g.name: (g.experiments, g.rate.wins, g.rate.n) for g in k.by_quarter}
    assert quarters == {"2026 Q3": (3, 2, 3), "2026 Q4": (1, 0, 0)}
    assert quarter(date(2026, 12, 31)) == "2026 Q4"


def test_the_loops_speed() -> None:
    k = knowledge(CATALOG)
    assert k.per_month == {"2026-07": 2, "2026-08": 0, "2026-09": 1}  # empty months count
    assert k.per_month_mean == pytest.approx(1.0)
    paths = {p.idea: p for p in k.ideas}
    assert [p.idea for p in k.ideas] == ["IDEA-1", "IDEA-2", "IDEA-3", "IDEA-4", "IDEA-5"]  # the latest backlog
    one = paths["IDEA-1"]
    assert (one.created, one.designed, one.decided, one.decision) == (
        date(2026, 5, 1), date(2026, 6, 1), date(2026, 7, 10), "ship")
    to_design = [(date(2026, 6, 1) - date(2026, 5, 1)).days, (date(2026, 6, 10) - date(2026, 5, 20)).days,
                 (date(2026, 9, 15) - date(2026, 6, 1)).days]  # IDEA-3 has no created date
    to_decision = [(date(2026, 7, 10) - date(2026, 6, 1)).days, (date(2026, 9, 15) - date(2026, 6, 10)).days,
                   (date(2026, 7, 29) - date(2026, 7, 1)).days]
    assert k.medians["to_design"] == sorted(to_design)[1]
    assert k.medians["to_decision"] == sorted(to_decision)[1]
    assert k.medians["idea_to_decision"] == pytest.approx(((date(2026, 7, 10) - date(2026, 5, 1)).days
                                                           + (date(2026, 9, 15) - date(2026, 5, 20)).days) / 2)
    assert k.undated == 1
    assert (k.decided_share.wins, k.decided_share.n) == (3, 5)
    assert k.backlog_source == "backlog/20260601T0600Z"


def test_without_a_backlog_the_ideas_are_those_the_specs_name() -> None:
    k = knowledge({"reports": [r for r in CATALOG["reports"] if r["template"] != "ice_backlog"]})
    assert [p.idea for p in k.ideas] == ["IDEA-1", "IDEA-2", "IDEA-3", "IDEA-4"]
    assert all(p.created is None for p in k.ideas) and k.medians["to_design"] is None
    assert (k.decided_share.wins, k.decided_share.n, k.undated) == (3, 4, 0)
    assert {g.name for g in k.by_area} == {"activation", ""}  # only banner's spec names its area
    empty = knowledge({"reports": []})
    assert (empty.rate.n, empty.rate.interval, empty.per_month_mean, empty.impact) == (0, None, None, [])


def test_key_lift_without_details_is_the_first_lift_with_an_interval() -> None:
    outcome = readout("ship", 0.05, 0.01, 0.09, kpi="conversion")
    assert key_lift(outcome | {"details": {}}) == key_lift(outcome)
    assert key_lift(outcome).kpi == "conversion"  # type: ignore[union-attr]
    assert key_lift({"metrics": {}, "metric_info": {}}) is None


def test_publish_writes_the_knowledge_view_linked_from_every_page_and_escaped(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    hostile = {"idea": "IDEA-9", "area": XSS, "title": XSS}
    make_run(runs, "banner", "20260601T0600Z", [{"name": "experiment_design", "status": "ok",
                                                 "notebook": ok_notebook(), "outcome": {"status": "ok", "decision": "feasible",
                                                                                        "headline": "d", "metrics": {}}}],
             spec_extra=hostile)
    make_run(runs, "banner", "20260710T0600Z", [{"name": "experiment_readout", "status": "ok", "notebook": ok_notebook(),
                                                 "outcome": readout("ship", 0.08, 0.05, 0.11, kpi=XSS)}],
             spec_extra=hostile)
    publish(runs, tmp_path / "archive")
    archive = tmp_path / "archive"
    page = (archive / "knowledge.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page
    assert "Experiments decided per month" in page and "1.0 per month" in page
    assert page.index("How fast we learn") < page.index("What we learned</h2>")  # speed first
    assert '<td>2026-06-01</td><td>2026-07-10</td>' in page and 'href="campaigns/banner.html"' in page
    for html in ("index.html", "tags.html", "campaigns/banner.html", "reports/banner/20260710T0600Z/experiment_readout.html"):
        text = (archive / html).read_text(encoding="utf-8")
        assert "knowledge.html\">What we learned</a>" in text, html
    campaign = (archive / "campaigns" / "banner.html").read_text(encoding="utf-8")
    assert '<dt>Backlog idea</dt><dd><a href="../knowledge.html#idea-idea-9"><code>IDEA-9</code></a></dd>' in campaign
    assert "<dt>Area</dt><dd>&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co</dd>" in campaign
    catalog = json.loads((archive / "catalog.json").read_text(encoding="utf-8"))
    assert knowledge(catalog).rate.wins == 1


def test_the_knowledge_view_reads_on_a_phone(tmp_path: Path) -> None:
    """At 375 px nothing but the tables' own scroll boxes is wider than the screen."""
    from tests.browser import CHROME_ARGS, require_chromium, serve

    chromium = require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is a dev dependency")
    for e in CATALOG["reports"]:
        outcome = e["outcome"] if e["status"] == "ok" else None
        make_run(tmp_path / "runs", e["campaign"], e["run_id"], [
            {"name": e["name"], "status": e["status"], "notebook": ok_notebook(),
             "outcome": {"headline": "h"} | outcome if outcome else None,
             "error": None if outcome else {"ename": "DataError", "evalue": "x", "traceback": ""}}],
            spec_extra={"idea": e["spec"]["idea"], "area": e["spec"]["area"]})
    publish(tmp_path / "runs", tmp_path / "archive")
    with serve(tmp_path / "archive") as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROME_ARGS)
        try:
            page = browser.new_page(viewport={"width": 375, "height": 800})
            page.goto(base + "knowledge.html")
            assert page.evaluate("document.documentElement.scrollWidth") == 375
            unwrapped = page.evaluate("[...document.querySelectorAll('main table')].filter("
                                      "t => !t.closest('.table-wrap')).length")
            figures = page.inner_text(".figures.speed")
        finally:
            browser.close()
    assert unwrapped == 0
    assert "1.0 per month" in figures and "31 days" in figures and "3 of 5 ideas in the backlog" in figures


def test_one_experiment_read_out_in_two_campaigns_counts_once() -> None:
    """A Chinese twin of a readout (another campaign, no idea in its spec) is the same experiment."""
    english = entry("limit-banner", "20261110T0600Z", "experiment_readout", readout("ship", 0.09, 0.06, 0.12),
                    idea="IDEA-1", area="activation") | {"manifest": {"parameters": {"experiment": "limit-banner"}}}
    chinese = entry("growth-review-zh", "20261110T0500Z", "experiment_readout", readout("ship", 0.09, 0.06, 0.12)) | {
        "manifest": {"parameters": {"experiment": "limit-banner"}}}
    other = entry("copy", "20261111T0600Z", "experiment_readout", readout("no-ship"), area="activation")
    k = knowledge({"reports": [chinese, english, other]})
    assert len(k.experiments) == 2 and k.rate.wins == 1 and k.rate.n == 2
    (banner,) = [x for x in k.experiments if x.decision == "ship"]
    assert (banner.campaign, banner.idea, banner.area) == ("limit-banner", "IDEA-1", "activation")
    assert [i.total for i in k.impact] == [pytest.approx(0.09)]
