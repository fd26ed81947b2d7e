"""The inputs of a campaign forecast: the past campaigns (read with DuckDB) and the planned one.

:func:`load_campaigns` reads the campaigns table, one row per past campaign, with its columns
named by :class:`Columns` (the contract's names by default). A campaign's **duration** is counted
in calendar days, both ends included (``end - start + 1``: a campaign from 1 to 7 March runs
7 days). Rows that cannot be used are left out and counted (``skipped``): a null in any column,
a budget or audience that is not positive, a duration under one day, participants above the
audience or conversions above the participants.

:class:`Planned` is the campaign to forecast; :func:`planned` checks it against the history: a
missing value or a channel that no past campaign used is a :class:`ParameterError` naming the
parameter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from playbook.errors import DataError, ParameterError
from playbook.sources import Warehouse
from playbook.sql import quote_ident as quote

NUMERIC = ("budget", "audience", "participants", "conversions")


@dataclass(frozen=True)
class Columns:
    """Column names of the campaigns table (the contract's by default)."""

    campaign: str = "campaign"
    channel: str = "channel"
    start: str = "start"
    end: str = "end"
    budget: str = "budget"
    audience: str = "audience"
    participants: str = "participants"
    conversions: str = "conversions"

    def named(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in ("campaign", "channel", "start", "end", *NUMERIC)}


@dataclass(frozen=True)
class Planned:
    """The campaign to forecast."""

    channel: str
    budget: float
    duration_days: float
    audience: float


@dataclass(frozen=True)
class History:
    """The usable past campaigns in start order, and how many rows were left out."""

    frame: pd.DataFrame  # campaign, channel, start, duration_days, budget, audience, participants, conversions
    skipped: int
    table: str


def _number(name: str, value: Any, *, what: str, whole: bool = False) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ParameterError(f"{name}: the planned campaign's {what} is missing; set {name} "
                             "in the spec's parameters")
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    if not ok:
        raise ParameterError(f"{name}={value!r}: give the planned campaign's {what} as a positive number")
    if whole and float(value) != int(value):
        raise ParameterError(f"{name}={value!r}: give the planned campaign's {what} as a whole number")
    return float(value)


def planned(history: History, *, channel: str | None, budget: float | None,
            duration_days: float | None, audience: float | None) -> Planned:
    """The planned campaign, checked: every value given, the channel one of the history's."""
    if channel is None or not str(channel).strip():
        raise ParameterError("channel: the planned campaign's channel is missing; set channel to one "
                             f"of the past campaigns' channels ({_channels(history)})")
    if str(channel) not in set(history.frame["channel"]):
        raise ParameterError(f"channel={channel!r}: no past campaign in table '{history.table}' used this "
                             f"channel, so there is nothing to forecast it from; channels present: "
                             f"{_channels(history)}")
    return Planned(channel=str(channel),
                   budget=_number("budget", budget, what="budget"),
                   duration_days=_number("duration_days", duration_days, what="duration in days", whole=True),
                   audience=_number("audience", audience, what="audience (people reached)", whole=True))


def _channels(history: History) -> str:
    return ", ".join(sorted(map(str, set(history.frame["channel"])))) or "none"


def _check_types(warehouse: Warehouse, table: str, cols: Columns) -> None:
    types = warehouse.columns(table)
    where = warehouse.source(table).location
    for key in ("start", "end"):
        c = getattr(cols, key)
        t = types[c].upper()
        if not (t.startswith("TIMESTAMP") or t == "DATE"):
            raise DataError(f"{where}: column '{c}' of table '{table}' is {types[c]}, not a date; "
                            f"cast it or pass the right column as {key}_col")
    for key in NUMERIC:
        c = getattr(cols, key)
        t = types[c].upper()
        if not any(t.startswith(p) for p in ("INT", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT",
                                              "UINTEGER", "USMALLINT", "UTINYINT", "DOUBLE", "FLOAT",
                                              "DECIMAL", "REAL")):
            raise DataError(f"{where}: column '{c}' of table '{table}' is {types[c]}, not a number; "
                            f"cast it or pass the right column as {key}_col")


def load_campaigns(warehouse: Warehouse, table: str, cols: Columns) -> History:
    """The usable past campaigns of ``table`` in start order (then by name), and the count of
    rows left out (module docstring)."""
    warehouse.require(table, list(cols.named().values()))
    _check_types(warehouse, table, cols)
    view = warehouse.view(table)
    q = {k: quote(v) for k, v in cols.named().items()}
    days = f"date_diff('day', CAST({q['start']} AS DATE), CAST({q['end']} AS DATE)) + 1"
    nums = ", ".join(f"CAST({q[k]} AS DOUBLE) AS {k}" for k in NUMERIC)
    ok = (f"{q['campaign']} IS NOT NULL AND {q['channel']} IS NOT NULL AND {q['start']} IS NOT NULL "
          f"AND {q['end']} IS NOT NULL AND " + " AND ".join(f"{q[k]} IS NOT NULL" for k in NUMERIC)
          + f" AND {q['budget']} > 0 AND {q['audience']} > 0 AND {q['participants']} >= 0 "
          f"AND {q['conversions']} >= 0 AND {q['participants']} <= {q['audience']} "
          f"AND {q['conversions']} <= {q['participants']} AND {days} >= 1")
    frame = warehouse.sql(
        f"SELECT CAST({q['campaign']} AS VARCHAR) AS campaign, CAST({q['channel']} AS VARCHAR) AS channel, "
        f"CAST({q['start']} AS DATE) AS start, CAST({days} AS DOUBLE) AS duration_days, {nums} "
        f"FROM {view} WHERE {ok} ORDER BY start, campaign")
    total = warehouse.sql(f"SELECT count(*) AS n FROM {view}")["n"].iloc[0]
    frame["start"] = pd.to_datetime(frame["start"])
    return History(frame=frame.reset_index(drop=True), skipped=int(total) - len(frame), table=table)


def columns_from(mapping: dict[str, str] | None) -> Columns:
    """:class:`Columns` from a spec's ``columns`` mapping (contract name -> the table's column)."""
    known = Columns().named()
    unknown = sorted(set(mapping or {}) - set(known))
    if unknown:
        raise ParameterError(f"columns: unknown key {', '.join(map(repr, unknown))}; the keys are the "
                             f"contract's column names: {', '.join(known)}")
    return Columns(**{k: str(v) for k, v in (mapping or {}).items()})
