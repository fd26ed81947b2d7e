"""Who are the users? RFM scores, named segments, value tiers, profiles and migration.

:func:`analyze_segments` reads the orders and users tables with DuckDB (one per-user table in
SQL; only aggregates and the per-user tags come back) and returns a
:class:`~playbook.analyses.segments.result.SegmentationResult`. Definitions:

snapshot
    ``as_of``: the warehouse's snapshot time (the spec's ``data.snapshot``, else the warehouse
    marker's ``as_of``); never the wall clock. Without one the analysis stops and says to set it.
users
    every user id of the users table (signed up by the snapshot when ``signup_col`` is given).
orders
    valid orders are at or before the snapshot with an amount above 0, of a known user; the rows
    left out are counted by reason (:data:`playbook.analyses.segments.sql.REASONS`).
RFM
    recency (whole days since the last valid order), frequency (valid orders) and monetary
    (their sum), scored 1..5 by quantiles of the buyers with an explicit tie rule
    (:mod:`playbook.analyses.segments.sql`): equal values, equal score, ties to the lower score.
    Users without a valid order are not scored: their segment and tier are ``no_purchase``.
segments
    the first rule of the segments file (:mod:`playbook.analyses.segments.rules`) that a buyer's
    scores match; ``other`` when none does.
profiles, intervals
    :mod:`playbook.analyses.segments.profile`.
migration
    the previous snapshot of the ``rfm`` tag set in the tag store (the latest with an as_of
    before this one) against today's segments: users by previous tag and current segment.
watch share
    the share of buyers in ``watch_segments`` (default at_risk and cannot_lose), now and in the
    previous snapshot, with the change's 95% interval and a two-proportion z test.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from playbook.analyses.segments.profile import channel_mix, migration_shares, profile, share_change
from playbook.analyses.segments.result import Previous, SegmentationResult
from playbook.analyses.segments.rules import (
    NO_PURCHASE,
    OTHER,
    check_tier_cuts,
    load_segment_rules,
    tier_names,
)
from playbook.analyses.segments.sql import Columns, SegmentSQL, Snapshot
from playbook.errors import DataError, ParameterError
from playbook.sources import Warehouse
from playbook.tags import TagStore, check_tag_set

DEFAULT_CUTS = (0.01, 0.10, 0.50)


def snapshot_time(warehouse: Warehouse, as_of: str | None = None) -> pd.Timestamp:
    """The analysis' "now" (UTC): ``as_of`` if given, else the warehouse's snapshot."""
    value = as_of or warehouse.snapshot
    if not value:
        raise DataError(f"{warehouse.data_dir}: the warehouse has no snapshot time, and recency is "
                        "measured to it; set data.snapshot in the spec (e.g. \"2026-11-24T06:00:00Z\") "
                        "or the parameter as_of")
    try:
        ts = pd.Timestamp(value)
    except ValueError:
        raise DataError(f"as_of: {value!r} is not an ISO 8601 time; write e.g. 2026-11-24T06:00:00Z") from None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _check_types(warehouse: Warehouse, c: Columns) -> None:
    types = warehouse.columns(c.orders)
    where = warehouse.source(c.orders).location
    if not (types[c.ts_col].upper().startswith("TIMESTAMP") or types[c.ts_col].upper() == "DATE"):
        raise DataError(f"{where}: column '{c.ts_col}' of table '{c.orders}' is {types[c.ts_col]}, not a "
                        "timestamp; cast it in the export or pass the order time column as ts_col")
    numeric = ("INT", "BIGINT", "HUGEINT", "DOUBLE", "FLOAT", "DECIMAL", "SMALLINT", "TINYINT", "REAL", "UBIGINT",
               "UINTEGER", "INTEGER")
    if not types[c.amount_col].upper().startswith(numeric):
        raise DataError(f"{where}: column '{c.amount_col}' of table '{c.orders}' is {types[c.amount_col]}, not "
                        "a number; pass the order amount column as amount_col")


def _check_options(min_buyers: int, alpha: float) -> None:
    if isinstance(min_buyers, bool) or not isinstance(min_buyers, int) or min_buyers < 1:
        raise ParameterError(f"min_buyers={min_buyers!r}: give a whole number of buyers >= 1")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise ParameterError(f"alpha={alpha!r}: give a significance level between 0 and 1")


def open_tag_store(tags_dir: str | Path = "") -> TagStore:
    """The tag store read for the previous run: ``tags_dir``, or the project's ``data/tags``."""
    if not str(tags_dir):
        return TagStore()
    from playbook.project import paths

    return TagStore(paths().resolve(tags_dir))


def previous_snapshot(store: TagStore, tag_set: str, day: Any) -> tuple[Previous, pd.DataFrame] | None:
    """The latest snapshot of ``tag_set`` before ``day`` and its users; None on a first run."""
    if tag_set not in store.names():
        return None
    tags = store.get(tag_set)
    older = [s for s in tags.snapshots if s.as_of < day]
    if not older:
        return None
    snap = max(older, key=lambda s: s.as_of)
    frame = store.read(tag_set, snap.as_of)
    return Previous(snap.as_of, snap.users, dict(snap.counts), dict(snap.run)), frame


def analyze_segments(  # noqa: PLR0913 - the template's parameters, keyword-only
    warehouse: Warehouse,
    *,
    columns: Columns | None = None,
    segments_file: str | Path | None = None,
    tier_cuts: Sequence[float] = DEFAULT_CUTS,
    as_of: str | None = None,
    tag_store: TagStore | None = None,
    tag_set: str = "rfm",
    watch_segments: Sequence[str] = ("at_risk", "cannot_lose"),
    min_buyers: int = 30,
    alpha: float = 0.05,
) -> SegmentationResult:
    """RFM, segments, tiers, profiles and the migration since the previous snapshot of
    ``tag_set`` in ``tag_store`` (module docstring). Errors name the table, column, file or
    parameter: :class:`DataError` for data and files, :class:`ParameterError` for options."""
    c = columns or Columns()
    rules = load_segment_rules(segments_file)
    cuts = check_tier_cuts(list(tier_cuts))
    _check_options(min_buyers, alpha)
    check_tag_set(tag_set, "rfm_tag_set")
    watch = list(watch_segments)
    unknown = [w for w in watch if w not in rules.names]
    if unknown:
        raise ParameterError(f"watch_segments: {', '.join(map(repr, unknown))} not in {rules.source} "
                             f"(its segments: {', '.join(rules.names)}); name segments of the mapping")
    when = snapshot_time(warehouse, as_of)
    warehouse.require(c.orders, [c.user_col, c.ts_col, c.amount_col])
    warehouse.require(c.users, [c.user_col] + [x for x in (c.channel_col, c.signup_col) if x])
    _check_types(warehouse, c)
    names = tier_names(cuts)
    sql = SegmentSQL(warehouse.con, uuid.uuid4().hex[:8])
    try:
        views = (warehouse.view(c.users), warehouse.view(c.orders))
        types = (warehouse.columns(c.orders)[c.ts_col],
                 warehouse.columns(c.users)[c.signup_col] if c.signup_col else "")
        sql.create(c, views, Snapshot.of(when, str(warehouse.timezone)), types=types, rules=rules, tiers=(names, cuts))
        order = [*rules.names, OTHER, NO_PURCHASE]
        segments = profile(sql.profile("segment"), order)
        tiers = profile(sql.profile("tier"), [*names, NO_PURCHASE])
        excluded = sql.excluded()
        day = when.date()
        store = tag_store if tag_store is not None else TagStore()
        prev = previous_snapshot(store, tag_set, day)
        migration = pd.DataFrame(columns=["previous", "current", "users", "share"])
        if prev is not None:
            migration = migration_shares(sql.migration(prev[1]))
        result = SegmentationResult(
            as_of=when, rules=rules, tier_cuts=cuts, segments=segments, tiers=tiers,
            channels=channel_mix(sql.channel_mix(), order) if c.channel_col else pd.DataFrame(),
            grid=sql.grid(), scores=sql.score_counts(), excluded=excluded,
            order_rows=sql.order_rows(), users=sql.users(), previous=prev[0] if prev else None,
            migration=migration, watch=watch, watch_change=_watch(segments, watch, prev[0] if prev else None),
            min_buyers=min_buyers, alpha=alpha, currency=warehouse.currency or "",
            channel_col=c.channel_col, tag_set=tag_set)
    finally:
        sql.drop()
    return result


def _watch(segments: pd.DataFrame, watch: list[str], prev: Previous | None) -> dict[str, float]:
    """The watch segments' share of buyers now and in the previous snapshot."""
    seg = segments.set_index("name")["users"]
    buyers = int(seg.drop(NO_PURCHASE).sum())
    now = int(seg.reindex(watch).fillna(0).sum())
    if prev is None:
        return {"now": now / buyers if buyers else float("nan")}
    before_buyers = prev.users - prev.counts.get(NO_PURCHASE, 0)
    before = sum(prev.counts.get(w, 0) for w in watch)
    return share_change((now, buyers), (before, before_buyers))
