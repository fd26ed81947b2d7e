"""The parameters of retention_cohorts, their checks, the tables they name and the snapshot time.

Every parameter has a default that works on any warehouse with the contract's tables
(``users(user_id, signup_ts)``, ``events(user_id, ts, event)``, ``orders(order_id, user_id, ts,
amount)``); names that differ are parameters. A bad value is a :class:`ParameterError` naming
the parameter; a missing table or column a :class:`DataError` naming the table, the column
and the parameter to set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from playbook.analyses.retention.sql import Source
from playbook.errors import DataError, ParameterError
from playbook.sources import Warehouse
from playbook.sql import quote_ident

COHORT_BY = ("signup", "first_purchase")
PERIODS = ("day", "week", "month")
MODES = ("n_day", "unbounded", "bracket")
ACTIVITY = ("events", "orders")
PERIOD_DAYS = (1, 7, 30)


@dataclass(frozen=True)
class Options:
    """The analysis' parameters (the notebook's parameters cell documents each)."""

    cohort_by: str = "signup"
    cohort_period: str = "week"
    period_days: int = 7
    periods: int = 12
    mode: str = "n_day"
    brackets: list[list[int]] = field(default_factory=list)
    min_actions: int = 1
    activity: str = "events"
    activity_events: list[str] = field(default_factory=list)
    day_marks: list[int] = field(default_factory=lambda: [1, 7, 30])
    latest_cohorts: int = 4
    breakdown: str = ""
    horizon_days: int = 90
    decay_months: int = 6
    alpha: float = 0.05
    as_of: str = ""
    users_table: str = "users"
    events_table: str = "events"
    orders_table: str = "orders"
    user_col: str = "user_id"
    signup_col: str = "signup_ts"
    ts_col: str = "ts"
    event_col: str = "event"
    order_ts_col: str = "ts"
    amount_col: str = "amount"

    def bracket_list(self) -> list[tuple[int, int]]:
        return [(int(a), int(b)) for a, b in self.brackets]


def _whole(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ParameterError(f"{name}={value!r}: give a whole number >= {low}")


def _one_of(name: str, value: Any, allowed: tuple[Any, ...]) -> None:
    if value not in allowed:
        raise ParameterError(f"{name}={value!r}: use one of {', '.join(map(str, allowed))}")


def check_options(opt: Options) -> Options:
    """``opt`` when every parameter is valid; else a :class:`ParameterError` naming it."""
    _one_of("cohort_by", opt.cohort_by, COHORT_BY)
    _one_of("cohort_period", opt.cohort_period, PERIODS)
    _one_of("mode", opt.mode, MODES)
    _one_of("activity", opt.activity, ACTIVITY)
    _one_of("period_days", opt.period_days, PERIOD_DAYS)
    for name, low in (("periods", 1), ("min_actions", 1), ("latest_cohorts", 1),
                      ("horizon_days", 1), ("decay_months", 2)):
        _whole(name, getattr(opt, name), low)
    if not opt.day_marks:
        raise ParameterError("day_marks=[]: give the days to report, e.g. [1, 7, 30]")
    for d in opt.day_marks:
        _whole("day_marks", d, 0)
    if opt.mode == "bracket":
        if not opt.brackets:
            raise ParameterError("brackets=[]: mode 'bracket' needs the day ranges, e.g. "
                                 "[[1, 7], [8, 30]] (days n to m after the anchor, both included)")
        for b in opt.brackets:
            ok = (isinstance(b, list | tuple) and len(b) == 2
                  and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in b)
                  and b[0] <= b[1])
            if not ok:
                raise ParameterError(f"brackets: {b!r} is not a day range [n, m] with 0 <= n <= m")
    if isinstance(opt.alpha, bool) or not isinstance(opt.alpha, int | float) or not 0 < opt.alpha < 1:
        raise ParameterError(f"alpha={opt.alpha!r}: give a significance level between 0 and 1")
    if opt.activity_events and opt.activity != "events":
        raise ParameterError("activity_events: only with activity 'events' (orders have no event name)")
    return opt


def _require(warehouse: Warehouse, table: str, param: str, columns: dict[str, str]) -> str:
    """The view of ``table`` once its columns (parameter -> column) are present."""
    try:
        have = warehouse.columns(table)
    except DataError as exc:
        raise DataError(f"{exc} (parameter {param})") from None
    for p, col in columns.items():
        if col not in have:
            raise DataError(f"{warehouse.source(table).location}: table '{table}' has no column "
                            f"'{col}' (it has {', '.join(have)}); set the parameter {p} to the "
                            "column that holds it")
    return warehouse.view(table)


def sources(warehouse: Warehouse, opt: Options) -> tuple[Source, Source, Source]:
    """(users, activity, orders) sources after checking their tables and columns; the event
    names asked for must occur in the events table."""
    uview = _require(warehouse, opt.users_table, "users_table",
                     {"user_col": opt.user_col, "signup_col": opt.signup_col,
                      **({"breakdown": opt.breakdown} if opt.breakdown else {})})
    users = Source(uview, opt.user_col, opt.signup_col)
    oview = _require(warehouse, opt.orders_table, "orders_table",
                     {"user_col": opt.user_col, "order_ts_col": opt.order_ts_col,
                      "amount_col": opt.amount_col})
    orders = Source(oview, opt.user_col, opt.order_ts_col, amount=opt.amount_col)
    if opt.activity == "orders":
        return users, orders, orders
    eview = _require(warehouse, opt.events_table, "events_table",
                     {"user_col": opt.user_col, "ts_col": opt.ts_col,
                      **({"event_col": opt.event_col} if opt.activity_events else {})})
    if opt.activity_events:
        got = warehouse.con.execute(f"SELECT DISTINCT CAST({quote_ident(opt.event_col)} "
                                    f"AS VARCHAR) FROM {eview}").fetchall()
        present = sorted(str(r[0]) for r in got if r[0] is not None)
        missing = [e for e in opt.activity_events if e not in present]
        if missing:
            raise DataError(f"{warehouse.source(opt.events_table).location}: column '{opt.event_col}' "
                            f"of table '{opt.events_table}' has no event {', '.join(map(repr, missing))} "
                            f"named in activity_events; events present: {', '.join(present)}")
    return users, Source(eview, opt.user_col, opt.ts_col, opt.event_col,
                         tuple(opt.activity_events)), orders


def as_of_us(warehouse: Warehouse, as_of: str = "") -> int:
    """The snapshot time in microseconds of the warehouse's wall clock (module docstring of
    :mod:`playbook.analyses.retention.analysis`)."""
    value = as_of or warehouse.snapshot
    if not value:
        raise DataError("the warehouse has no snapshot time, so incomplete cohorts cannot be told "
                        "apart: set data.snapshot in the spec (e.g. \"2026-11-24T06:00:00Z\") or "
                        "the parameter as_of")
    try:
        ts = pd.Timestamp(value)
    except ValueError as exc:
        raise ParameterError(f"as_of={value!r}: not an ISO 8601 time ({exc})") from None
    if ts.tzinfo is not None:
        ts = ts.tz_convert(warehouse.timezone).tz_localize(None)
    return int(ts.value // 1000)
