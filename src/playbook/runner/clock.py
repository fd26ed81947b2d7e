"""One clock for runs and schedules.

Every wall-clock time the runner and the scheduler read comes from a :class:`Clock`: run ids,
a run's ``started_at`` and ``finished_at``, the cron slot a scheduled run serves, and the
``recorded_at`` of each outcome. Nothing else in the runner calls ``datetime.now``. Durations
are measured with ``time.perf_counter`` and never depend on the clock.

- :class:`SystemClock` reads the real clock (UTC); it is the default everywhere.
- :class:`ShiftedClock` starts at a given instant and moves on at the pace of the real clock:
  ``playbook schedule --now 2026-11-25T12:00`` pretends it is that time, and the run it
  triggers is stamped 2026-11-25 12:00, plus the seconds it took.
- :class:`FixedClock` always says the same instant, until told to move (tests).

A clock is passed explicitly (``run_specs(..., clock=)``, ``run_campaign(..., clock=)``,
``scheduled(..., clock=)``). Kernels are other processes: the runner tells each one how far its
clock is from the real one in the environment variable ``PLAYBOOK_CLOCK_OFFSET_S`` (seconds,
set only when not zero), and :func:`kernel_clock` reads it, so an outcome recorded under
``--now`` carries the same pretend time as its run.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

OFFSET_ENV = "PLAYBOOK_CLOCK_OFFSET_S"


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


def _aware_utc(at: datetime) -> datetime:
    """``at`` as an aware UTC datetime; a naive one is taken to be UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock:
    """Always ``at`` (naive means UTC), until :meth:`advance` or :meth:`set` moves it."""

    def __init__(self, at: datetime) -> None:
        self.at = _aware_utc(at)

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        """Move on, e.g. ``clock.advance(days=7)``."""
        self.at += timedelta(**delta)

    def set(self, at: datetime) -> None:
        self.at = _aware_utc(at)

    def __repr__(self) -> str:
        return f"FixedClock({self.at.isoformat()})"


class ShiftedClock:
    """Starts at ``start`` (naive means UTC) and then advances with the real (monotonic) clock."""

    def __init__(self, start: datetime) -> None:
        self.start = _aware_utc(start)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._t0)

    def __repr__(self) -> str:
        return f"ShiftedClock({self.start.isoformat()})"


SYSTEM_CLOCK: Clock = SystemClock()


class _OffsetClock:
    def __init__(self, offset_s: float) -> None:
        self.offset = timedelta(seconds=offset_s)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


def kernel_env(clock: Clock) -> dict[str, str]:
    """Environment for a kernel started now, so that :func:`kernel_clock` agrees with ``clock``."""
    offset = (clock.now() - datetime.now(UTC)).total_seconds()
    return {OFFSET_ENV: repr(offset)} if abs(offset) >= 0.001 else {}


def kernel_clock() -> Clock:
    """The runner's clock as seen from inside a kernel (the system clock outside a run)."""
    raw = os.environ.get(OFFSET_ENV)
    if not raw:
        return SYSTEM_CLOCK
    try:
        return _OffsetClock(float(raw))
    except ValueError:
        return SYSTEM_CLOCK
