"""Run-record times are read by one function (playbook.zones.parse_utc) in the scheduler and
the publisher."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from playbook.publish.model import Run
from playbook.runner.schedule import served_slot
from playbook.zones import parse_utc


@pytest.mark.parametrize("text", ["2026-11-24T06:00:00", "2026-11-24T06:00:00Z",
                                  "2026-11-24T07:00:00+01:00", "2026-11-24 01:00:00-05:00"])
def test_every_spelling_of_one_moment_reads_as_the_same_utc_time(text: str) -> None:
    want = datetime(2026, 11, 24, 6, tzinfo=UTC)
    moment = parse_utc(text)
    assert moment == want and moment.utcoffset() is not None and moment.tzinfo == UTC
    assert served_slot({"slot": text}) == want
    run = Run("c", "20261124T0600Z", None, {"started_at": text})  # type: ignore[arg-type]
    assert run.started == want and run.started.tzinfo == UTC


def test_bad_text_is_a_value_error_and_the_run_id_the_fallback() -> None:
    with pytest.raises(ValueError):
        parse_utc("yesterday")
    assert served_slot({"slot": "yesterday"}) is None
    run = Run("c", "20261124T0600Z", None, {"started_at": "yesterday"})  # type: ignore[arg-type]
    assert run.started == datetime(2026, 11, 24, 6, tzinfo=UTC)
