"""`playbook schedule`: which campaigns are due by their cron expression, and running them once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from tests.conftest import write_spec

from playbook.cli import main
from playbook.runner.schedule import campaign_lock, scheduled


def test_due_until_a_run_starts_after_the_scheduled_time(project: Path) -> None:
    write_spec(project / "playbooks" / "mon.yml", campaign="monday", extra='schedule: "0 6 * * 1"\n')
    write_spec(project / "playbooks" / "none.yml", campaign="unscheduled")
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday
    (item,) = scheduled(now=now)
    assert item.campaign == "monday"
    assert item.previous == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    assert item.next == datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert item.due and item.last_run is None

    result = CliRunner().invoke(main, ["schedule", "--run", "--now", "2026-11-25T12:00"])
    assert result.exit_code == 0, result.output
    assert "monday: due (cron '0 6 * * 1', last run never, next 2026-11-30 06:00 UTC)" in result.output
    assert "ran " in result.output and ": ok" in result.output
    assert "unscheduled" not in result.output
    assert len(list((project / "outputs" / "runs" / "monday").glob("*/run.json"))) == 1

    # the run started after Monday 06:00, so nothing is due until next Monday
    result = CliRunner().invoke(main, ["schedule", "--run", "--now", "2026-11-25T12:00"])
    assert "monday: up to date" in result.output
    assert len(list((project / "outputs" / "runs" / "monday").glob("*/run.json"))) == 1
    (item,) = scheduled(now=datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    assert item.due


def test_lock_keeps_a_campaign_from_running_twice(tmp_path: Path) -> None:
    with campaign_lock(tmp_path, "c") as first:
        assert first
        with campaign_lock(tmp_path, "c") as second:
            assert not second
    with campaign_lock(tmp_path, "c") as again:
        assert again
