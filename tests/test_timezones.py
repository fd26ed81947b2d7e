"""One time-zone rule for every source: results do not depend on the host's zone (``TZ``).

The zoned warehouse holds the sample warehouse's instants written three ways: events stay naive
(UTC wall-clock), assignments carry a zone (TIMESTAMPTZ in Parquet), and process_log is a CSV
in which every third row is written with a ``+02:00`` offset. Read by the rule (naive is UTC,
zoned is converted), it is the same data as the sample warehouse, so every template must give
the same outcome on it under TZ=UTC and TZ=America/New_York, and data_quality must flag the
mixed CSV columns.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
import yaml
from tests.conftest import ROOT, run_cli, write_spec

from playbook.analyses.quality.analysis import check_warehouse, load_rules
from playbook.errors import DataError
from playbook.sources import Warehouse
from playbook.zones import check_timezone, has_offset

ZONES = ("UTC", "America/New_York")


def _zoned_warehouse(sample: Path, out: Path) -> Path:
    """The sample warehouse with zoned assignments and a CSV process_log, a third of it +02:00."""
    shutil.copytree(sample, out)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    a = out / "assignments.parquet"
    con.execute(f"COPY (SELECT * REPLACE (assigned_ts::TIMESTAMPTZ AS assigned_ts) "
                f"FROM '{sample / 'assignments.parquet'}') TO '{a}' (FORMAT parquet)")
    log = pd.read_parquet(sample / "process_log.parquet")
    (out / "process_log.parquet").unlink()

    def text(ts: pd.Series, shifted: pd.Series) -> pd.Series:
        naive = ts.dt.strftime("%Y-%m-%d %H:%M:%S")
        plus2 = (ts + pd.Timedelta(hours=2)).dt.strftime("%Y-%m-%d %H:%M:%S") + "+02:00"
        return naive.where(~shifted | ts.isna(), plus2).where(ts.notna(), None)

    shifted = pd.Series(range(len(log))) % 3 == 0
    csv = log.assign(start_ts=text(log.start_ts, shifted), end_ts=text(log.end_ts, shifted))
    csv.to_csv(out / "process_log.csv", index=False)
    return out


@pytest.fixture(scope="module")
def zoned(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _zoned_warehouse(sample, tmp_path_factory.mktemp("zoned") / "wh")


def _spec_runs() -> list[dict[str, Any]]:
    readout = yaml.safe_load((ROOT / "playbooks" / "limit-banner-experiment.yml").read_text())
    journey = yaml.safe_load((ROOT / "playbooks" / "loan-journey-diagnosis.yml").read_text())
    runs = [r for r in readout["runs"] if r["template"] == "experiment_readout"]
    return runs + journey["runs"]


@pytest.fixture(scope="module")
def outcomes(zoned: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict[str, Any]]]:
    """The readout, funnel and process outcomes on the zoned warehouse, once per host zone."""
    root = tmp_path_factory.mktemp("zones-project")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    shutil.copytree(zoned, root / "data" / "sample")
    spec = {"campaign": "zones", "title": "Zones", "owner": "growth-team", "hypothesis": "none",
            "ice": {"impact": 5, "confidence": 5, "ease": 5}, "runs": _spec_runs()}
    (root / "playbooks").mkdir()
    (root / "playbooks" / "zones.yml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    out: dict[str, dict[str, dict[str, Any]]] = {}
    mp = pytest.MonkeyPatch()
    try:
        for zone in ZONES:
            mp.setenv("TZ", zone)  # the kernels inherit it
            result = run_cli(root, "run", "--quiet", "playbooks/zones.yml")
            assert result.exit_code == 0, result.output
            run_dir = max((root / "outputs" / "runs" / "zones").iterdir())
            out[zone] = {p.name.split(".")[0]: json.loads(p.read_text())
                         for p in run_dir.glob("*.outcome.json")}
            out[zone]["run.json"] = json.loads((run_dir / "run.json").read_text())
    finally:
        mp.undo()
    return out


def _rounded(value: object) -> object:
    """Floats to 10 significant digits: DuckDB's parallel sums differ in the last bits."""
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _comparable(outcome: dict[str, Any]) -> object:
    return _rounded({k: v for k, v in outcome.items() if k not in ("run_id", "recorded_at")})


def test_outcomes_do_not_depend_on_the_host_time_zone(outcomes: dict[str, dict[str, dict[str, Any]]]) -> None:
    utc, new_york = outcomes["UTC"], outcomes["America/New_York"]
    for name in ("experiment_readout", "funnel_diagnosis", "process_efficiency"):
        assert utc[name]["status"] == "ok", utc[name].get("error")
        assert _comparable(utc[name]) == _comparable(new_york[name]), name
    # the readout still finds the planted lift; the process still finds the slow step
    assert utc["experiment_readout"]["decision"] == "ship"
    assert "manual_review" in utc["process_efficiency"]["headline"]


def test_zoned_copy_reads_as_the_sample_warehouse(sample: Path, zoned: Path) -> None:
    """The rule makes the three ways of writing an instant one: same durations as the original."""
    query = ("SELECT step, count(*) AS n, round(sum(epoch(end_ts) - epoch(start_ts)), 3) AS s "
             "FROM process_log GROUP BY step ORDER BY step")
    results = []
    for wh in (Warehouse(sample), Warehouse(zoned)):
        wh.view("process_log")
        results.append(wh.sql(query))
        wh.close()
    pd.testing.assert_frame_equal(results[0], results[1])


def test_run_json_records_the_rule(outcomes: dict[str, dict[str, dict[str, Any]]]) -> None:
    zone = outcomes["UTC"]["run.json"]["timezone"]
    assert zone["naive_timestamps"] == "UTC"
    assert "converted" in zone["rule"]


def test_data_quality_flags_columns_that_mix_zones(sample: Path, zoned: Path) -> None:
    rules = load_rules()
    clean = check_warehouse(Warehouse(sample), tables=["process_log"], rules=rules,
                            as_of="2026-11-24T06:00:00")
    assert "zones" not in set(clean.rules["rule"])  # Parquet columns have one type each
    res = check_warehouse(Warehouse(zoned), tables=["process_log"], rules=rules,
                          as_of="2026-11-24T06:00:00")
    z = res.rules[res.rules["rule"] == "zones"].set_index("column")
    log = pd.read_csv(zoned / "process_log.csv", dtype=str)
    for col in ("start_ts", "end_ts"):
        values = log[col].dropna()
        with_offset = int(values.str.endswith("+02:00").sum())
        assert z.loc[col, "checked"] == len(values)
        assert z.loc[col, "failed"] == min(with_offset, len(values) - with_offset) > 0
        assert z.loc[col, "verdict"] == "fail"
    assert res.decision == "fail"
    assert "mixes timestamps with and without a time zone" in res.summary()
    sample_rows = res.failing_samples["process_log.zones.start_ts"]
    assert sample_rows["start_ts"].str.endswith("+02:00").all()


def test_a_csv_written_in_one_form_passes(tmp_path: Path) -> None:
    (tmp_path / "process_log.csv").write_text(
        "case_id,step,start_ts,end_ts\n1,submit,2026-01-01 10:00:00+02:00,2026-01-01 11:00:00+02:00\n"
        "2,submit,2026-01-01 10:00:00Z,2026-01-01 11:00:00Z\n", encoding="utf-8")
    res = check_warehouse(Warehouse(tmp_path), tables=["process_log"], rules=load_rules(),
                          as_of="2026-11-24T06:00:00")
    z = res.rules[res.rules["rule"] == "zones"]
    assert list(z["verdict"]) == ["pass", "pass"] and list(z["failed"]) == [0, 0]


def test_naive_timestamps_are_read_in_the_declared_zone(tmp_path: Path) -> None:
    # 10:00 in Shanghai (UTC+8) is 02:00Z: under data.timezone Asia/Shanghai the two are one instant
    (tmp_path / "t.csv").write_text("id,ts\n1,2026-01-01 10:00:00\n2,2026-01-01 02:00:00Z\n",
                                    encoding="utf-8")
    for zone, instants in (("Asia/Shanghai", 1), ("UTC", 2)):
        wh = Warehouse(tmp_path, {"timezone": zone})
        wh.view("t")
        n = wh.con.execute('SELECT count(DISTINCT ts::TIMESTAMPTZ) FROM "t"').fetchone()
        assert n == (instants,), zone
        assert wh.tables() == ["t"]  # the setting is not a table
        wh.close()


@pytest.mark.parametrize("zone", ZONES)
def test_a_warehouse_session_is_pinned_whatever_the_host_zone(zone: str, tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("ts\n2026-01-01 10:00:00\n", encoding="utf-8")
    code = ("import sys; from playbook.sources import Warehouse; w = Warehouse(sys.argv[1]); "
            "w.view('t'); print(w.con.execute(\"SELECT current_setting('TimeZone'), "
            "epoch(ts::TIMESTAMPTZ) FROM t\").fetchone())")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                          text=True, check=True, env={"TZ": zone, "PATH": ""})
    assert done.stdout.strip() == "('UTC', 1767261600.0)"


def test_time_zone_names_are_checked(project: Path) -> None:
    assert check_timezone("Europe/Berlin") == "Europe/Berlin"
    with pytest.raises(DataError, match="data.timezone: 'Mars/Olympus' is not an IANA"):
        check_timezone("Mars/Olympus")
    with pytest.raises(DataError, match="is not an IANA"):
        Warehouse(project / "data" / "sample", {"timezone": "CEST"})
    write_spec(project / "playbooks" / "z.yml", campaign="z", extra="data: {timezone: Mars/Olympus}\n")
    result = run_cli(project, "run", "--quiet", "playbooks/z.yml")
    assert result.exit_code == 2
    assert "playbooks/z.yml: data.timezone: 'Mars/Olympus' is not an IANA time-zone name" in result.output


def test_offset_detection() -> None:
    for text in ("2026-01-01 10:00:00+02:00", "2026-01-01T10:00Z", "2026-01-01 10:00:00.123-0500",
                 "2026-01-01 10:00:00 +05"):
        assert has_offset(text), text
    for text in ("2026-01-01 10:00:00", "2026-01-01", "2026-01-01T10:00:00.5"):
        assert not has_offset(text), text
