"""The sample warehouse: a deterministic, scalable consumer-credit app with planted truths.

``generate(out_dir, scale, seed)`` writes ``<out_dir>/<table>.parquet`` for ten tables and
``<out_dir>/_warehouse.json`` (seed, scale, as_of, row counts, generator version, and the exact
counts of the planted defects). ``playbook demo-data`` calls it. The tables and their columns
are those of DESIGN.md; data/README.md documents them for analysts.

Time: every timestamp is naive UTC, ``timestamp[us]`` rounded to whole seconds; dates are
``date32``. The reference time is :data:`AS_OF` = 2026-11-24 06:00 UTC -- the generator never
reads the wall clock. History starts 2026-05-26 00:00; nothing lies after AS_OF except the
planted future order timestamps.

Scale: ``scale`` 1.0 gives 20,000 users and about :data:`EVENTS_PER_SCALE` (~200k) events;
events grow linearly with scale (scale 50 gives ~10M events). Users are simulated in blocks of
1,000 (random numbers from ``np.random.default_rng([seed, block])``), grouped into chunks of
``chunk_users`` that are appended to Parquet row groups, so memory does not grow with scale and
the result does not depend on the chunk size. The same (seed, scale) gives identical tables.

Planted effects (the truth is in :data:`PLANTED`; what a template should find):

* Funnel visit -> register -> verify_identity -> apply -> approve -> disburse. Step probabilities
  0.70, 0.45 (0.514 on ios/android, 0.257 on web), ~0.79, ~0.64, 0.85: **verify_identity** is the
  bottleneck, the largest absolute and relative drop.
* Weak segment: **device == "web"** verifies at half the rate of ios/android (0.257 vs 0.514).
* Channels: **display** loses money (highest CAC, lowest LTV, revenue/spend < 1); organic,
  search, social and affiliate pay back. Spend is cost-per-new-user x expected new users.
* Experiment **limit-banner** (assigned at verify_identity, 2026-08-17 .. 2026-11-09, 50/50):
  treatment multiplies the probability of applying by 1.08 (+8% relative); approval probability
  and loan size are unchanged (guardrails). Experiment **onboarding-copy** (assigned at register,
  same window): split 53/47 although 50/50 was intended (SRM), no effect on anything.
  ``metrics_pre.pre_value`` correlates ~0.5 with the experiment's outcome (applied / verified).
* process_log: submit -> document_check -> manual_review -> credit_decision -> payout;
  **manual_review** is slow (median 26 h; the others minutes to 2 h) with waits between steps.
* Cohorts decay: a customer's chance of a repeat loan in month k after the first is
  p_channel x 0.75^k (``REPEAT_DECAY``); return visits decay after signup.
* tickets: some open (resolved_ts null, csat null) -- legitimate nulls.
* campaigns: participants ~ Binomial(audience, channel rate), conversions ~ Binomial(participants,
  channel rate), rates with 10% lognormal noise per campaign.
* backlog: 25 ideas (IDEA-001 ...), ICE scores 1-10, reach, status, the day each was added.
* Win-back campaign in region **south** from 2026-10-12 to 2026-11-23 (exclusive, six weeks):
  existing customers there apply for repeat loans at **1.30** times their usual rate (+30%
  relative); the other regions are untouched (the comparison group). Only repeat loans of
  customers change (their apply/approve/disburse events, process cases and orders); the extra
  loans come from their own random stream and carry no planted defect (``sample.winback``).

Planted data-quality defects (and nothing else): ``users.region`` null for ~4% of users;
``orders.amount`` negative for ~0.5%; ``orders.order_id`` duplicated for ~0.3% of orders (a row
takes another row's id, so 2 rows per duplicated id); ``orders.ts`` after AS_OF for ~0.2%;
``spend`` ends 5 days before AS_OF (stale against a 1-day SLA). Exact counts are written to
``_warehouse.json`` under ``planted_defects``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import playbook.sample.params as P
from playbook.errors import DataError
from playbook.sample.params import AS_OF, GENERATOR_VERSION, START, USERS_PER_SCALE
from playbook.sample.simulate import simulate_block
from playbook.sample.static import backlog, campaigns, spend

#: Events per unit of scale (seed 7: 201,879 at scale 1, 10,140,103 at scale 50); linear.
EVENTS_PER_SCALE = 200_000

TS = pa.timestamp("us")
SCHEMAS: dict[str, pa.Schema] = {
    "users": pa.schema([("user_id", pa.int64()), ("signup_ts", TS), ("channel", pa.string()),
                        ("region", pa.string()), ("device", pa.string()),
                        ("age_band", pa.string())]),
    "events": pa.schema([("user_id", pa.int64()), ("ts", TS), ("event", pa.string()),
                         ("revenue", pa.float64())]),
    "orders": pa.schema([("order_id", pa.int64()), ("user_id", pa.int64()), ("ts", TS),
                         ("amount", pa.float64())]),
    "spend": pa.schema([("date", pa.date32()), ("channel", pa.string()), ("spend", pa.float64()),
                        ("impressions", pa.int64()), ("clicks", pa.int64())]),
    "assignments": pa.schema([("user_id", pa.int64()), ("experiment", pa.string()),
                              ("variant", pa.string()), ("assigned_ts", TS)]),
    "metrics_pre": pa.schema([("user_id", pa.int64()), ("experiment", pa.string()),
                              ("pre_value", pa.float64())]),
    "process_log": pa.schema([("case_id", pa.string()), ("step", pa.string()),
                              ("start_ts", TS), ("end_ts", TS)]),
    "tickets": pa.schema([("ticket_id", pa.string()), ("user_id", pa.int64()),
                          ("opened_ts", TS), ("resolved_ts", TS), ("category", pa.string()),
                          ("csat", pa.int64())]),
    "campaigns": pa.schema([("campaign", pa.string()), ("channel", pa.string()),
                            ("start", pa.date32()), ("end", pa.date32()),
                            ("budget", pa.float64()), ("audience", pa.int64()),
                            ("participants", pa.int64()), ("conversions", pa.int64())]),
    "backlog": pa.schema([("idea_id", pa.string()), ("idea", pa.string()), ("owner", pa.string()),
                          ("area", pa.string()), ("impact", pa.int64()), ("confidence", pa.int64()),
                          ("ease", pa.int64()), ("reach", pa.int64()), ("status", pa.string()),
                          ("created", pa.date32())]),
}
TABLES = list(SCHEMAS)
EXPERIMENTS = ["limit-banner", "onboarding-copy"]
VARIANTS = ["control", "treatment"]

PLANTED: dict[str, Any] = {
    "as_of": AS_OF.isoformat() + "Z",
    "history_start": START.isoformat() + "Z",
    "funnel": {
        "steps": P.EVENTS,
        "p_step": {"register": P.P_REGISTER,
                   "verify_identity": 0.75 * P.P_VERIFY + 0.25 * P.P_VERIFY_WEB,
                   "apply": P.P_APPLY, "disburse": P.P_DISBURSE},
        "bottleneck": "verify_identity",
    },
    "weak_segment": {"column": "device", "value": "web", "step": "verify_identity",
                     "p_verify": P.P_VERIFY_WEB, "p_verify_others": P.P_VERIFY,
                     "relative_rate": P.P_VERIFY_WEB / P.P_VERIFY},
    "channels": {"money_losing": "display",
                 "cost_per_new_user": {c: P.CHANNEL_ECON[c][3] for c in P.CHANNELS},
                 "approval_probability": {c: P.CHANNEL_ECON[c][1] for c in P.CHANNELS},
                 "apply_multiplier": {c: P.CHANNEL_ECON[c][0] for c in P.CHANNELS},
                 "repeat_probability": {c: P.CHANNEL_ECON[c][2] for c in P.CHANNELS},
                 "fee_rate": P.FEE_RATE},
    "experiments": {
        "limit-banner": {"assigned_at": "verify_identity", "metric": "apply",
                         "lift_rel": P.LIMIT_BANNER_LIFT, "intended_split": 0.5,
                         "true_split_control": 0.5, "guardrail_effect": 0.0,
                         "start": "2026-08-17", "end": "2026-11-09", "pre_rho": P.PRE_RHO},
        "onboarding-copy": {"assigned_at": "register", "metric": "verify_identity",
                            "lift_rel": 0.0, "intended_split": 0.5,
                            "true_split_control": P.ONBOARDING_P_CONTROL, "srm": True,
                            "start": "2026-08-17", "end": "2026-11-09", "pre_rho": P.PRE_RHO},
    },
    "process": {"steps": list(P.PROCESS_STEPS), "slowest": "manual_review",
                "median_hours": {s: v[0] for s, v in P.PROCESS_STEPS.items()}},
    "cohorts": {"repeat_decay_per_month": P.REPEAT_DECAY, "repeat_months": P.REPEAT_MONTHS},
    "kpi_campaign": {"region": P.WINBACK_REGION,
                     "comparison": [r for r in P.REGIONS if r != P.WINBACK_REGION],
                     "start": "2026-10-12", "end": "2026-11-23", "kpi": "repeat_orders",
                     "lift_rel": P.WINBACK_LIFT},
    "campaigns": {c: {"participation": v[0], "conversion": v[1]}
                  for c, v in P.CAMPAIGN_CHANNELS.items()},
    "defects": {
        "users.completeness.region": P.P_REGION_MISSING,
        "orders.min.amount": P.P_ORDER_NEGATIVE,
        "orders.uniqueness.order_id": P.P_ORDER_DUPLICATE,
        "orders.not_future.ts": P.P_ORDER_FUTURE,
        "spend.freshness.date": {"newest_date_lag_days": P.SPEND_LAG_DAYS, "sla_hours": 24},
    },
    "clean_tables": ["events", "assignments", "metrics_pre", "process_log", "tickets",
                     "campaigns", "backlog"],
}


def expected_events(scale: float) -> int:
    """About how many events ``scale`` gives (linear: ``EVENTS_PER_SCALE * scale``)."""
    return int(round(EVENTS_PER_SCALE * scale))


def _ts(seconds: np.ndarray) -> pa.Array:
    """Generator seconds (NaN = null) -> timestamp[us] naive UTC."""
    null = np.isnan(seconds)
    us = np.where(null, 0, seconds).astype(np.int64) * 1_000_000
    base = np.datetime64(START, "us").astype(np.int64)
    return pa.array(us + base, type=pa.int64(), mask=null).cast(TS)


def _cat(codes: np.ndarray, labels: list[str]) -> pa.Array:
    """Integer codes (-1 = null) -> string array."""
    idx = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pa.array(labels, pa.string()).take(idx)


def _ids(prefix: str, local: np.ndarray, offset: int, width: int) -> pa.Array:
    num = pc.cast(pa.array(local.astype(np.int64) + offset + 1), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(num, width, "0"), "")


class _Counters:
    """Running offsets for the sequential ids across blocks."""

    def __init__(self) -> None:
        self.order = self.case = self.ticket = 0


def _block_tables(b: dict[str, Any], cnt: _Counters) -> dict[str, pa.Table]:
    u, e, o, a, m, pl, t = (b[k] for k in ("users", "events", "orders", "assignments",
                                          "metrics_pre", "process_log", "tickets"))
    out = {
        "users": [pa.array(u["user_id"]), _ts(u["signup_ts"]), _cat(u["channel"], P.CHANNELS),
                  _cat(u["region"], P.REGIONS), _cat(u["device"], P.DEVICES),
                  _cat(u["age_band"], P.AGE_BANDS)],
        "events": [pa.array(e["user_id"]), _ts(e["ts"]), _cat(e["event"], P.EVENTS),
                   pa.array(e["revenue"])],
        "orders": [pa.array(o["order_id"] + cnt.order + 1), pa.array(o["user_id"]), _ts(o["ts"]),
                   pa.array(o["amount"])],
        "assignments": [pa.array(a["user_id"]), _cat(a["experiment"], EXPERIMENTS),
                        _cat(a["variant"], VARIANTS), _ts(a["assigned_ts"])],
        "metrics_pre": [pa.array(m["user_id"]), _cat(m["experiment"], EXPERIMENTS),
                        pa.array(m["pre_value"])],
        "process_log": [_ids("APP-", pl["case_id"], cnt.case, 8),
                        _cat(pl["step"], list(P.PROCESS_STEPS)), _ts(pl["start_ts"]),
                        _ts(pl["end_ts"])],
        "tickets": [_ids("TCK-", np.arange(len(t["user_id"])), cnt.ticket, 7),
                    pa.array(t["user_id"]), _ts(t["opened_ts"]), _ts(t["resolved_ts"]),
                    _cat(t["category"], P.TICKET_CATEGORIES),
                    pa.array(t["csat"].astype(np.int64), mask=t["csat"] < 0)],
    }
    cnt.order += len(o["order_id"])
    cnt.case += b["_n_cases"]
    cnt.ticket += len(t["user_id"])
    return {k: pa.Table.from_arrays(cols, schema=SCHEMAS[k]) for k, cols in out.items()}


def _blocks(n_users: int) -> Iterator[tuple[int, int, int]]:
    for block, first in enumerate(range(0, n_users, P.BLOCK_USERS)):
        yield block, first + 1, min(P.BLOCK_USERS, n_users - first)


def generate(out_dir: str | Path, scale: float = 1.0, seed: int = 7, progress: bool = True,
             chunk_users: int = 20_000) -> dict[str, Path]:
    """Write the sample warehouse to ``out_dir``; return ``{table: path}``.

    ``scale`` 1.0 = 20,000 users and ~200k events (see :func:`expected_events`); ``seed`` fixes
    every random draw. ``chunk_users`` (rounded up to a multiple of 1,000) bounds memory: users
    are simulated and written chunk by chunk as Parquet row groups. Files are written under
    temporary names and renamed at the end, so an interrupted run leaves no half-written table.
    """
    if not scale > 0:
        raise DataError(f"--scale: must be above 0, got {scale}; 1 is the demo's size (20,000 users)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n_users = max(1, int(round(USERS_PER_SCALE * scale)))
    per_chunk = max(1, -(-int(chunk_users) // P.BLOCK_USERS))
    blocks = list(_blocks(n_users))
    chunks = [blocks[i:i + per_chunk] for i in range(0, len(blocks), per_chunk)]
    rows = dict.fromkeys(TABLES, 0)
    defects: dict[str, int] = {}
    cnt = _Counters()
    tmp = {t: out / f".{t}.parquet.tmp" for t in TABLES}
    try:
        with ExitStack() as stack:
            writers = {t: stack.enter_context(pq.ParquetWriter(tmp[t], SCHEMAS[t]))
                       for t in TABLES}
            for name, frame in (("spend", spend(seed, n_users)), ("campaigns", campaigns(seed)),
                                ("backlog", backlog(seed))):
                table = pa.Table.from_pandas(frame, schema=SCHEMAS[name], preserve_index=False)
                writers[name].write_table(table)
                rows[name] = table.num_rows
            bar = _progress(len(chunks), n_users, progress)
            for chunk in chunks:
                _write_chunk(writers, chunk, seed=seed, cnt=cnt, rows=rows, defects=defects)
                if bar is not None:
                    bar.update(1)
            if bar is not None:
                bar.close()
        paths = {}
        for t in TABLES:
            paths[t] = out / f"{t}.parquet"
            os.replace(tmp[t], paths[t])
    finally:
        for p in tmp.values():
            p.unlink(missing_ok=True)
    meta = {"seed": seed, "scale": scale, "as_of": AS_OF.isoformat() + "Z",
            "history_start": START.isoformat() + "Z", "rows": rows,
            "generator_version": GENERATOR_VERSION, "planted_defects": defects}
    (out / "_warehouse.json").write_text(json.dumps(meta, indent=2) + "\n")
    return paths


def _write_chunk(writers: dict[str, pq.ParquetWriter], chunk: list[tuple[int, int, int]], *, seed: int,
                 cnt: _Counters, rows: dict[str, int], defects: dict[str, int]) -> None:
    """Simulate the blocks of one chunk and write each table's rows as one row group; the rows
    written and the defects planted are added to ``rows`` and ``defects``."""
    parts: dict[str, list[pa.Table]] = {t: [] for t in SCHEMAS}
    for block, first, n in chunk:
        b = simulate_block(seed, block, first, n)
        for k, v in b["_defects"].items():
            defects[k] = defects.get(k, 0) + v
        for k, table in _block_tables(b, cnt).items():
            parts[k].append(table)
    for k, tables in parts.items():
        if tables:
            table = pa.concat_tables(tables).combine_chunks()
            writers[k].write_table(table)
            rows[k] += table.num_rows


def _progress(total: int, n_users: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="chunk", desc=f"demo-data ({n_users:,} users)")


def read_table(data_dir: str | Path, table: str) -> pd.DataFrame:
    """A generated table as a DataFrame (timestamps naive UTC ``datetime64[us]``)."""
    return pq.read_table(Path(data_dir) / f"{table}.parquet").to_pandas()


__all__ = ["AS_OF", "EVENTS_PER_SCALE", "PLANTED", "SCHEMAS", "TABLES", "expected_events",
           "generate", "read_table"]
