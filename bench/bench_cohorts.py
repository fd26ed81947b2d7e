"""Benchmark of the cohort matrix over ~10M events; writes bench/COHORTS.md and bench/cohorts.json.

    python bench/bench_cohorts.py [--reps 3]

The computation: signup cohorts by week (weeks start on Monday) x 7-day periods, n_day mode,
12 periods, min_actions 1, every event counts as activity, as of the sample's snapshot time:
per (cohort, period) the members, the members observed for the whole period (eligible) and
the eligible members with an event in the period (retained). Three implementations, each in
a fresh process timing only the computation (reading the Parquet files included, imports
excluded), checked to give the same cells:

    engine   playbook.analyses.retention (CohortSQL + cells.matrix) on DuckDB
    pandas   plain pandas (read_parquet, merge, groupby nunique)
    polars   polars' lazy engine (scan_parquet, join, group_by n_unique)

The data is the sample warehouse at scale 50 (~10.1M events, 1M users) in bench/data/scale50,
the same folder bench/bench_diagnosis.py uses (git-ignored; generated once).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_diagnosis import ROOT, loadavg, machine, rows, warehouse_dir  # noqa: E402

PERIODS = 12
DAY_US = 86_400_000_000


def _as_of_us() -> int:
    from playbook.sample.params import AS_OF

    return int((AS_OF - datetime(1970, 1, 1)).total_seconds() * 1_000_000)


def _digest(cells: list[tuple[str, int, int, int, int]]) -> str:
    """A checksum of the cells (cohort, period, members, eligible, retained), sorted."""
    import hashlib

    return hashlib.sha256(json.dumps(sorted(cells)).encode()).hexdigest()[:16]


def case_engine(data: str) -> dict:
    from playbook.analyses.retention.cells import matrix
    from playbook.analyses.retention.sql import CohortSQL, Source
    from playbook.sources import Warehouse

    t = time.perf_counter()
    wh = Warehouse(data)
    eng = CohortSQL(wh.con, _as_of_us(), "week", 0)
    eng.create_anchors(Source(wh.view("users"), "user_id", "signup_ts"), first_of=False)
    eng.create_acts(Source(wh.view("events"), "user_id", "ts"))
    cells = matrix(eng, "n_day", period_days=7, periods=PERIODS, min_actions=1)
    secs = time.perf_counter() - t
    out = [(str(g.date()), int(j), int(m), int(e), int(r)) for g, j, m, e, r in
           cells[["grp", "j", "members", "eligible", "retained"]].itertuples(index=False)]
    return {"seconds": secs, "cells": len(out), "digest": _digest(out)}


def case_pandas(data: str) -> dict:
    import pandas as pd

    t = time.perf_counter()
    users = pd.read_parquet(Path(data) / "users.parquet", columns=["user_id", "signup_ts"])
    ev = pd.read_parquet(Path(data) / "events.parquet", columns=["user_id", "ts"])
    as_of = pd.Timestamp(_as_of_us(), unit="us")
    users = users[users["signup_ts"] <= as_of]
    users["cohort"] = users["signup_ts"].dt.to_period("W-SUN").dt.start_time
    ev = ev[ev["ts"] <= as_of].merge(users, on="user_id")
    k = (ev["ts"] - ev["signup_ts"]) // pd.Timedelta(days=7)
    ok = (ev["ts"] >= ev["signup_ts"]) & (k < PERIODS) & (
        ev["signup_ts"] + (k + 1) * pd.Timedelta(days=7) <= as_of)
    hit = ev.loc[ok, ["cohort", "user_id"]].assign(j=k[ok])
    retained = hit.groupby(["cohort", "j"])["user_id"].nunique()
    members = users.groupby("cohort").size()
    ends = [(j + 1) * pd.Timedelta(days=7) for j in range(PERIODS)]
    eligible = {j: users[users["signup_ts"] + e <= as_of].groupby("cohort").size() for j, e in enumerate(ends)}
    secs = time.perf_counter() - t
    out = [(str(c.date()), j, int(members[c]), int(eligible[j].get(c, 0)), int(retained.get((c, j), 0)))
           for c in members.index for j in range(PERIODS)]
    return {"seconds": secs, "cells": len(out), "digest": _digest(out)}


def case_polars(data: str) -> dict:
    import polars as pl

    t = time.perf_counter()
    as_of = datetime(1970, 1, 1) + timedelta(microseconds=_as_of_us())
    week = pl.duration(days=7)
    users = (pl.scan_parquet(Path(data) / "users.parquet").select("user_id", "signup_ts")
             .filter(pl.col("signup_ts") <= as_of)
             .with_columns(cohort=pl.col("signup_ts").dt.truncate("1w")))
    ev = (pl.scan_parquet(Path(data) / "events.parquet").select("user_id", "ts")
          .filter(pl.col("ts") <= as_of).join(users, on="user_id")
          .with_columns(j=((pl.col("ts") - pl.col("signup_ts")).dt.total_microseconds() // (7 * DAY_US)))
          .filter((pl.col("ts") >= pl.col("signup_ts")) & (pl.col("j") < PERIODS)
                  & (pl.col("signup_ts") + (pl.col("j") + 1) * week <= as_of)))
    retained = ev.group_by("cohort", "j").agg(retained=pl.col("user_id").n_unique())
    grid = (users.join(pl.LazyFrame({"j": list(range(PERIODS))}, schema={"j": pl.Int64}), how="cross")
            .group_by("cohort", "j")
            .agg(members=pl.len(), eligible=(pl.col("signup_ts") + (pl.col("j") + 1) * week <= as_of).sum()))
    cells = grid.join(retained, on=["cohort", "j"], how="left").with_columns(
        pl.col("retained").fill_null(0)).collect()
    secs = time.perf_counter() - t
    out = [(str(c.date()), int(j), int(m), int(e), int(r)) for c, j, m, e, r in
           cells.select("cohort", "j", "members", "eligible", "retained").iter_rows()]
    return {"seconds": secs, "cells": len(out), "digest": _digest(out)}


CASES = {"engine": case_engine, "pandas": case_pandas, "polars": case_polars}


def child(case: str, data: str) -> None:
    out = CASES[case](data)
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(out))


def measure(case: str, data: Path, reps: int) -> dict:
    import subprocess

    runs = []
    for _ in range(reps):
        before = loadavg()
        res = subprocess.run([sys.executable, __file__, "--child", case, str(data)],
                             capture_output=True, text=True, cwd=ROOT)
        if res.returncode:
            print(res.stderr[-3000:], file=sys.stderr)
            return {"case": case, "error": res.stderr.strip().splitlines()[-1]}
        r = json.loads([x for x in res.stdout.splitlines() if x.startswith("RESULT ")][-1][7:])
        r["load_before"] = before
        runs.append(r)
    secs = [r["seconds"] for r in runs]
    out = {"case": case, "seconds": secs, "median": statistics.median(secs), "min": min(secs),
           "max": max(secs), "rss_mb": max(r["rss_mb"] for r in runs),
           "digest": runs[-1]["digest"], "cells": runs[-1]["cells"]}
    print(f"  {case:8s} {out['median']:7.3f} s ({out['min']:.3f}-{out['max']:.3f})  "
          f"{out['rss_mb']:7.0f} MB  cells {out['cells']} {out['digest']}", flush=True)
    return out


def write_markdown(res: dict) -> None:
    m = res["machine"]
    by = {r["case"]: r for r in res["results"]}
    base = by["engine"]["median"]
    same = len({r["digest"] for r in res["results"]}) == 1
    names = {"engine": "`playbook.analyses.retention` engine (DuckDB)", "pandas": "plain pandas",
             "polars": f"polars {res.get('polars', '')} (lazy)"}
    lines = [
        "# Cohort matrix benchmark: 10 million events", "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM; Python {m['python']}, "
        f"DuckDB {m['duckdb']}, pandas {m['pandas']}, polars {res.get('polars', '?')}. Measured "
        f"{res['when']} with `python bench/bench_cohorts.py`; raw numbers in bench/cohorts.json.", "",
        f"Data: the sample warehouse at scale 50: {res['events']:,} events, {res['users']:,} users "
        "(`playbook.sample.generate`, seed 7, in bench/data/scale50).", "",
        "Computation: signup cohorts by week x 7-day periods, n_day mode, 12 periods, min_actions 1, "
        "every event is activity, as of the snapshot: per cell the members, the members observed for the "
        "whole period and the retained ones. Each time is the median of "
        f"{res['reps']} runs (min-max), each in a fresh process timing the computation including the Parquet "
        "reads (imports excluded); peak RSS is the largest ru_maxrss of those processes (interpreter and "
        "libraries included).", "",
        f"All three give the same {by['engine']['cells']} cells (checksum {'equal' if same else 'DIFFERENT'}).", "",
        "| implementation | time | peak RSS | time / engine |", "|---|---|---|---|",
    ]
    for case in ("engine", "pandas", "polars"):
        r = by[case]
        lines.append(f"| {names[case]} | {r['median']:.3f} s ({r['min']:.3f}-{r['max']:.3f}) | "
                     f"{r['rss_mb']:,.0f} MB | {r['median'] / base:.2f} |")
    faster = all(by[c]["median"] > base for c in ("pandas", "polars"))
    lines += ["", f"**Goal** (faster than both): {'met' if faster else 'not met'}.", ""]
    (ROOT / "bench" / "COHORTS.md").write_text("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--child", nargs=2)
    a = ap.parse_args()
    if a.child:
        child(*a.child)
        return
    import polars as pl

    data = warehouse_dir(50)
    res = {"machine": machine(), "when": datetime.now(UTC).isoformat(timespec="minutes"), "reps": a.reps,
           "polars": pl.__version__, "events": rows(data, "events"), "users": rows(data, "users"),
           "results": [measure(c, data, a.reps) for c in CASES]}
    (ROOT / "bench" / "cohorts.json").write_text(json.dumps(res, indent=1) + "\n")
    write_markdown(res)


if __name__ == "__main__":
    main()
