"""Purchases: which orders count, the repurchase rate, the interval between purchases and the
month-over-month decay of repeat purchases.

valid orders
    Rows of the orders table with a user, a timestamp at or before as_of and an amount that is
    not negative (``amount_col``; a refund or a correction is not a purchase). The rows left
    out are counted (:func:`excluded`) and the report says how many.
repurchase rate
    Among purchasers whose first valid order is at least ``horizon_days`` before as_of (observed
    for the whole horizon), the share with a second valid order within ``horizon_days`` of the
    first; Wilson 95% interval.
interval between purchases
    Days between consecutive valid orders of a user (every pair); median and p90 with the
    distribution-free 95% intervals of :func:`playbook.stats.proportions.quantile_ci_probs`
    (the bounds are observed intervals). Intervals longer than the time left before as_of are
    not yet seen, so long intervals are under-represented in recent data.
repeat decay
    First-purchase cohorts, 30-day months after the first order, activity = the orders after
    the first: the share of a cohort with a repeat order in month k, over complete cells,
    fitted as ``log p = a_cohort + b k`` (:func:`playbook.analyses.retention.models.decay_ratio`);
    the ratio ``exp(b)`` is the factor by which the chance of a repeat shrinks each month.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from playbook.analyses.retention.models import Decay, decay_ratio
from playbook.analyses.retention.sql import DAY_US, CohortSQL, Source, valid_rows
from playbook.sql import quote_ident as qi
from playbook.stats.proportions import quantile_ci_probs, wilson_interval


@dataclass(frozen=True)
class Repurchase:
    """Repurchase rate and purchase intervals (module docstring)."""

    horizon_days: int
    purchasers: int  # observed for the whole horizon
    repeaters: int
    rate: float
    ci_low: float
    ci_high: float
    intervals: int
    p50_days: float
    p50_ci: tuple[float, float]
    p90_days: float
    p90_ci: tuple[float, float]


def excluded(con: Any, orders: Source, as_of_us: int) -> dict[str, int]:
    """Rows of the orders table left out of purchases: after as_of, with a negative amount,
    without a timestamp or a user."""
    t = f"epoch_us(CAST({qi(orders.ts)} AS TIMESTAMP))"
    neg = f"count(*) FILTER (WHERE {qi(orders.amount)} < 0)" if orders.amount else "0"
    got = con.execute(f"""
        SELECT count(*) FILTER (WHERE {t} > {int(as_of_us)}), {neg},
               count(*) FILTER (WHERE {qi(orders.ts)} IS NULL OR {qi(orders.user)} IS NULL), count(*)
        FROM {orders.view}""").fetchone()
    return {"after_as_of": int(got[0]), "negative_amount": int(got[1]),
            "missing": int(got[2]), "rows": int(got[3])}


def repurchase(con: Any, orders: Source, as_of_us: int, horizon_days: int) -> Repurchase:
    """The repurchase rate within ``horizon_days`` and the intervals between purchases."""
    rows = valid_rows(orders, as_of_us)
    h = int(horizon_days) * DAY_US
    got = con.execute(f"""
        WITH o AS (SELECT user_id, t, row_number() OVER (PARTITION BY user_id ORDER BY t) AS rn
                   FROM ({rows})),
        f AS (SELECT user_id, min(t) FILTER (WHERE rn = 1) AS t1, min(t) FILTER (WHERE rn = 2) AS t2
              FROM o WHERE rn <= 2 GROUP BY user_id)
        SELECT count(*) FILTER (WHERE t1 + {h} <= {int(as_of_us)}),
               count(*) FILTER (WHERE t1 + {h} <= {int(as_of_us)} AND t2 - t1 <= {h})
        FROM f""").fetchone()
    n, x = int(got[0]), int(got[1])
    lo, hi = wilson_interval(x, n)
    gaps = (f"SELECT (t - lag(t) OVER (PARTITION BY user_id ORDER BY t)) / {DAY_US}::DOUBLE AS g "
            f"FROM ({rows})")
    cnt = con.execute(f"SELECT count(g) FROM ({gaps})").fetchone()
    m = int(cnt[0]) if cnt else 0
    q: dict[float, tuple[float, tuple[float, float]]] = {}
    for prob in (0.5, 0.9):
        probs = quantile_ci_probs(m, prob)
        if probs is None:
            q[prob] = (math.nan, (math.nan, math.nan))
            continue
        r = con.execute(f"SELECT quantile_cont(g, {prob}), quantile_disc(g, {probs[0]!r}), "
                        f"quantile_disc(g, {probs[1]!r}) FROM ({gaps}) WHERE g IS NOT NULL").fetchone()
        q[prob] = (float(r[0]), (float(r[1]), float(r[2])))
    return Repurchase(int(horizon_days), n, x, x / n if n else math.nan,
                      float(lo), float(hi), m, q[0.5][0], q[0.5][1], q[0.9][0], q[0.9][1])


def repeat_decay(con: Any, orders: Source, as_of_us: int, *, grain: str, week_start: int,
                 months: int) -> tuple[Decay, Any]:
    """The repeat decay (module docstring) over ``months`` 30-day months; returns the fit and
    the cells (grp, j, members, eligible, retained, complete) it was fitted on."""
    from playbook.analyses.retention.cells import matrix

    engine = CohortSQL(con, as_of_us, grain, week_start)
    try:
        engine.create_anchors(orders, first_of=True)
        engine.create_acts(orders, repeat=True)
        cells = matrix(engine, "n_day", period_days=30, periods=months, min_actions=1)
    finally:
        engine.drop()
    return decay_ratio(cells), cells
