"""`playbook schedule`: which campaigns are due by their cron slots, and running them once.

No test here reads the wall clock to decide what to expect: every time comes from ``--now``,
a FixedClock or a run record written by the test.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tests.conftest import write_spec

from playbook.cli import main
from playbook.errors import SpecError
from playbook.runner.clock import FixedClock, ShiftedClock, kernel_clock, kernel_env
from playbook.runner.execute import run_specs
from playbook.runner.schedule import campaign_lock, last_served_slot, scheduled

MONDAYS = 'schedule: "0 6 * * 1"\n'


def runs_of(project: Path, campaign: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((project / "outputs" / "runs" / campaign).glob("*/run.json"))]


def plant_run(project: Path, campaign: str, run_id: str, **manifest: str) -> Path:
    """A run record as an older or a foreign process might have left it."""
    path = project / "outputs" / "runs" / campaign / run_id / "run.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"campaign": campaign, "run_id": run_id, "status": "ok", **manifest}))
    return path


def test_due_until_a_run_serves_the_slot(project: Path) -> None:
    write_spec(project / "playbooks" / "mon.yml", campaign="monday", extra=MONDAYS)
    write_spec(project / "playbooks" / "none.yml", campaign="unscheduled")
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday
    (item,) = scheduled(now=now)
    assert item.campaign == "monday"
    assert item.previous == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    assert item.next == datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert item.due and item.last_slot is None

    result = CliRunner().invoke(main, ["schedule", "--run", "--now", "2026-11-25T12:00"])
    assert result.exit_code == 0, result.output
    assert ("monday: due for 2026-11-23 06:00 (cron '0 6 * * 1', last slot served never, "
            "next 2026-11-30 06:00 UTC)") in result.output
    assert "ran 20261125T1200" in result.output and ": ok" in result.output
    assert "unscheduled" not in result.output
    assert len(runs_of(project, "monday")) == 1

    # the Monday slot is served: nothing is due until next Monday, whatever the real date is
    result = CliRunner().invoke(main, ["schedule", "--run", "--now", "2026-11-29T23:59"])
    assert "monday: up to date (cron '0 6 * * 1', last slot served 2026-11-23 06:00" in result.output
    assert len(runs_of(project, "monday")) == 1
    (item,) = scheduled(now=datetime(2026, 11, 30, 6, 0, tzinfo=UTC))
    assert item.due and item.previous == datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    (item,) = scheduled(clock=FixedClock(datetime(2026, 12, 1)))
    assert item.due and item.last_slot == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def test_run_started_by_schedule_now_is_stamped_with_that_time_and_slot(project: Path) -> None:
    write_spec(project / "playbooks" / "mon.yml", campaign="monday", extra=MONDAYS)
    result = CliRunner().invoke(main, ["schedule", "--run", "--now", "2031-06-04T09:30"])
    assert result.exit_code == 0, result.output
    (manifest,) = runs_of(project, "monday")
    assert manifest["trigger"] == "schedule"
    assert manifest["slot"] == "2031-06-02T06:00:00.000+00:00"  # the Monday before
    started = datetime.fromisoformat(manifest["started_at"])
    finished = datetime.fromisoformat(manifest["finished_at"])
    assert datetime(2031, 6, 4, 9, 30, tzinfo=UTC) <= started < finished
    assert (finished - started).total_seconds() < 120
    assert manifest["run_id"].startswith("20310604T0930")
    (template,) = manifest["templates"]
    assert started <= datetime.fromisoformat(template["started_at"]) <= finished
    # the kernel records its outcome on the same pretend clock
    run_dir = project / "outputs" / "runs" / "monday" / manifest["run_id"]
    outcome = json.loads((run_dir / "trivial.outcome.json").read_text())
    recorded = datetime.fromisoformat(outcome["recorded_at"])
    assert started.replace(microsecond=0) <= recorded <= finished


def test_manual_run_serves_its_own_start(project: Path) -> None:
    write_spec(project / "playbooks" / "mon.yml", campaign="monday", extra=MONDAYS)
    clock = FixedClock(datetime(2026, 11, 24, 10, 0))  # Tuesday, after the Monday slot
    (record,) = run_specs(["playbooks/mon.yml"], progress=False, clock=clock)
    manifest = json.loads((record.run_dir / "run.json").read_text())
    assert record.run_id == "20261124T100000Z"
    assert manifest["trigger"] == "manual"
    assert manifest["slot"] == manifest["started_at"] == "2026-11-24T10:00:00.000+00:00"
    (item,) = scheduled(clock=clock)
    assert not item.due
    (item,) = scheduled(now=datetime(2026, 11, 30, 6, 1))
    assert item.due


def test_due_compares_slots_not_start_times(project: Path) -> None:
    write_spec(project / "playbooks" / "mon.yml", campaign="monday", extra=MONDAYS)
    # a run for the 2026-11-23 slot whose machine clock said 2035: it served 11-23, nothing later
    plant_run(project, "monday", "20350101T000000Z", slot="2026-11-23T06:00:00+00:00",
              started_at="2035-01-01T00:00:00+00:00", trigger="schedule")
    (item,) = scheduled(now=datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    assert not item.due
    (item,) = scheduled(now=datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    assert item.due and item.last_slot == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def test_old_run_records_without_a_slot_count_with_their_start(project: Path) -> None:
    write_spec(project / "playbooks" / "mon.yml", campaign="monday", extra=MONDAYS)
    plant_run(project, "monday", "20261124T100000Z", started_at="2026-11-24T10:00:00.000+00:00")
    plant_run(project, "monday", "broken")  # no times at all: ignored
    (project / "outputs" / "runs" / "monday" / "unreadable").mkdir()
    (project / "outputs" / "runs" / "monday" / "unreadable" / "run.json").write_text("{not json")
    assert last_served_slot(project / "outputs" / "runs", "monday") == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    (item,) = scheduled(now=datetime(2026, 11, 29, tzinfo=UTC))
    assert not item.due
    (item,) = scheduled(now=datetime(2026, 11, 30, 7, tzinfo=UTC))
    assert item.due


def test_failed_scheduled_run_serves_its_slot(project: Path) -> None:
    """A failing campaign runs once per slot, not again at every cron tick."""
    write_spec(project / "playbooks" / "mon.yml", campaign="monday", extra=MONDAYS,
               runs="  - template: raises\n")
    first = CliRunner().invoke(main, ["schedule", "--run", "--now", "2026-11-23T06:15"])
    assert first.exit_code == 1 and "ran 20261123T0615" in first.output and ": failed" in first.output
    again = CliRunner().invoke(main, ["schedule", "--run", "--now", "2026-11-23T06:30"])
    assert again.exit_code == 0 and "monday: up to date" in again.output
    (manifest,) = runs_of(project, "monday")
    assert manifest["status"] == "failed" and manifest["slot"].startswith("2026-11-23T06:00")


def test_slot_served_while_waiting_for_the_lock_is_not_run_again(project: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    write_spec(project / "playbooks" / "mon.yml", campaign="monday", extra=MONDAYS)
    import playbook.runner.schedule as schedule_mod

    real = schedule_mod.scheduled

    def then_another_process_runs(*args: Any, **kwargs: Any) -> list[schedule_mod.Scheduled]:
        items = real(*args, **kwargs)
        plant_run(project, "monday", "20261123T060100Z", slot="2026-11-23T06:00:00+00:00",
                  started_at="2026-11-23T06:01:00+00:00", trigger="schedule")
        return items

    monkeypatch.setattr(schedule_mod, "scheduled", then_another_process_runs)
    result = CliRunner().invoke(main, ["schedule", "--run", "--now", "2026-11-23T06:15"])
    assert "monday: due for 2026-11-23 06:00" in result.output
    assert "skipped, another run served the slot" in result.output
    assert len(runs_of(project, "monday")) == 1


def test_schedule_refuses_a_campaign_that_is_not_a_slug(project: Path) -> None:
    (project / "playbooks" / "bad.yml").write_text('campaign: ../../escape\nschedule: "0 6 * * 1"\n')
    with pytest.raises(SpecError, match=r"bad.yml: campaign: '../../escape' is not a campaign slug"):
        scheduled(now=datetime(2026, 11, 25, tzinfo=UTC))
    result = CliRunner().invoke(main, ["schedule", "--run", "--now", "2026-11-25T12:00"])
    assert result.exit_code == 2
    assert not (project / "escape").exists() and not (project / "outputs").exists()


def test_clocks() -> None:
    fixed = FixedClock(datetime(2030, 1, 1, 12))
    assert fixed.now() == datetime(2030, 1, 1, 12, tzinfo=UTC)
    fixed.advance(days=7)
    assert fixed.now() == datetime(2030, 1, 8, 12, tzinfo=UTC)
    shifted = ShiftedClock(datetime(2030, 1, 1, 12))
    a, b = shifted.now(), shifted.now()
    assert datetime(2030, 1, 1, 12, tzinfo=UTC) <= a <= b < datetime(2030, 1, 1, 12, 1, tzinfo=UTC)


def test_kernel_clock_follows_the_runner_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    env = kernel_env(FixedClock(datetime(2001, 2, 3, 4, 5)))
    monkeypatch.setenv(*next(iter(env.items())))
    seen = kernel_clock().now()
    assert abs((seen - datetime(2001, 2, 3, 4, 5, tzinfo=UTC)).total_seconds()) < 60


def test_lock_keeps_a_campaign_from_running_twice(tmp_path: Path) -> None:
    with campaign_lock(tmp_path, "c") as first:
        assert first
        with campaign_lock(tmp_path, "c") as second:
            assert not second
    with campaign_lock(tmp_path, "c") as again:
        assert again


def test_a_stale_lock_is_taken_over_by_its_age_on_the_file_system(tmp_path: Path) -> None:
    import os

    from playbook.runner.schedule import STALE_LOCK_S

    lock = tmp_path / "c" / ".lock"
    lock.parent.mkdir()
    lock.write_text("12345\n")
    with campaign_lock(tmp_path, "c") as held:
        assert not held  # a fresh lock of another process
    mtime = lock.stat().st_mtime - STALE_LOCK_S - 60
    os.utime(lock, (mtime, mtime))
    with campaign_lock(tmp_path, "c") as held:
        assert held  # a crashed run's lock
    assert not lock.exists() and [p.name for p in lock.parent.iterdir()] == []
