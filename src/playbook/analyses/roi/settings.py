"""The settings and the window of one channel_roi analysis, as the report shows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class Settings:
    """The settings and the window an analysis ran with (shown in the report)."""

    margin: float
    horizon_days: int
    conversion_days: int
    repeat_days: int
    curve_period: str
    min_users: int
    threshold: float
    max_cut: float
    max_add: float
    start: date
    end: date
    as_of: datetime
    as_of_source: str
    spend_first: date
    spend_last: date
    last_signup_day: date
    currency: str | None
    value: dict[str, Any]
