"""Files a template cannot read: a CSV that is not UTF-8, a Parquet file cut short.

Each is a DataError at the first read of the table (whichever of view, columns, df, require
or sql comes first) naming the file, the table, the spec key when the spec named the file,
and the fix; a CSV names its encoding in the spec's data section.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
from click.testing import CliRunner
from tests.conftest import write_spec

from playbook.cli import main
from playbook.errors import DataError, SpecError
from playbook.runner.spec import load_spec
from playbook.sources import CSV_ENCODINGS, Warehouse, check_encoding, utf8_problem

LATIN1 = "id,name\n1,José\n2,Müller\n".encode("latin-1")
NOT_UTF8 = (
    "exports/orders.csv: table 'orders' (data.orders): not UTF-8 text (byte 0xe9 on line 2 is "
    "not UTF-8); name the file's encoding in the spec's data section: orders: {path: "
    "exports/orders.csv, encoding: latin-1} (the CSV reader takes utf-8, utf-16 and latin-1; "
    "convert any other encoding to UTF-8 first, e.g. `iconv -f cp1252 -t utf-8`)"
)
CUT_SHORT = (
    "exports/orders.parquet: table 'orders' (data.orders): not a whole Parquet file (No magic "
    "bytes found at end of file 'exports/orders.parquet'); it was cut short or damaged (an "
    "interrupted copy or export?) or is not Parquet: copy or export it again"
)


@pytest.fixture
def exports(project: Path) -> Path:
    (project / "exports").mkdir()
    return project / "exports"


def _truncated_parquet(path: Path) -> None:
    pd.DataFrame({"id": range(1000), "name": ["abc"] * 1000}).to_parquet(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


READS: dict[str, Callable[[Warehouse], Any]] = {
    "view": lambda wh: wh.view("orders"),
    "columns": lambda wh: wh.columns("orders"),
    "df": lambda wh: wh.df("orders"),
    "require": lambda wh: wh.require("orders", ["id"]),
}


@pytest.mark.parametrize("read", sorted(READS))
def test_latin1_csv_is_a_data_error_at_the_first_read(exports: Path, read: str) -> None:
    (exports / "orders.csv").write_bytes(LATIN1)
    wh = Warehouse("data/sample", {"orders": "exports/orders.csv"})
    with pytest.raises(DataError) as info:
        READS[read](wh)
    assert str(info.value) == NOT_UTF8
    wh.close()


def test_a_bad_byte_beyond_duckdbs_sample_is_found_at_the_first_read(exports: Path) -> None:
    """DuckDB sniffs the first 20,480 rows; a bad byte further down used to surface only in
    whichever later query read the column, as a raw DuckDB error."""
    rows = "".join(f"{i},abc\n" for i in range(50_000))
    (exports / "orders.csv").write_bytes(b"id,name\n" + rows.encode() + "50000,José\n".encode("latin-1"))
    wh = Warehouse("data/sample", {"orders": "exports/orders.csv"})
    with pytest.raises(DataError, match=r"byte 0xe9 on line 50002 is not UTF-8\); name the file's encoding"):
        wh.view("orders")
    wh.close()


def test_latin1_csv_reads_with_its_encoding(exports: Path) -> None:
    (exports / "orders.csv").write_bytes(LATIN1)
    wh = Warehouse("data/sample", {"orders": {"path": "exports/orders.csv", "encoding": "latin-1"}})
    assert wh.df("orders")["name"].tolist() == ["José", "Müller"]
    view = wh.view("orders")
    assert wh.sql(f"SELECT max(name) AS m FROM {view}")["m"].tolist() == ["Müller"]
    wh.close()


def test_utf16_csv_is_recognised_and_reads_with_its_encoding(exports: Path) -> None:
    pd.DataFrame({"id": [1, 2], "name": ["José", "Müller"]}).to_csv(
        exports / "orders.csv", index=False, encoding="utf-16")
    wh = Warehouse("data/sample", {"orders": "exports/orders.csv"})
    with pytest.raises(DataError, match=r"not UTF-8 text \(it starts with a UTF-16 byte-order mark\); .*"
                                        r"orders: \{path: exports/orders.csv, encoding: utf-16\}"):
        wh.df("orders")
    wh.close()
    wh = Warehouse("data/sample", {"orders": {"path": "exports/orders.csv", "encoding": "UTF-16"}})
    assert wh.df("orders")["name"].tolist() == ["José", "Müller"]
    wh.close()


def test_a_csv_in_the_warehouse_folder_names_the_entry_to_add(project: Path) -> None:
    (project / "data" / "sample" / "orders.csv").write_bytes(LATIN1)
    wh = Warehouse("data/sample")
    with pytest.raises(DataError) as info:
        wh.columns("orders")
    assert str(info.value).startswith(
        "data/sample/orders.csv: table 'orders': not UTF-8 text (byte 0xe9 on line 2 is not UTF-8); "
        "name the file's encoding in the spec's data section: orders: {path: data/sample/orders.csv, "
        "encoding: latin-1}")
    wh.close()


@pytest.mark.parametrize("read", sorted(READS))
def test_truncated_parquet_is_a_data_error_at_the_first_read(exports: Path, read: str) -> None:
    _truncated_parquet(exports / "orders.parquet")
    wh = Warehouse("data/sample", {"orders": "exports/orders.parquet"})
    with pytest.raises(DataError) as info:
        READS[read](wh)
    assert str(info.value) == CUT_SHORT
    wh.close()


def test_truncated_parquet_in_the_warehouse_folder(project: Path) -> None:
    _truncated_parquet(project / "data" / "sample" / "events.parquet")
    wh = Warehouse("data/sample")
    with pytest.raises(DataError, match=r"^data/sample/events.parquet: table 'events': not a whole Parquet file"):
        wh.df("events")
    wh.close()


def test_a_damaged_file_met_inside_a_query_is_named(exports: Path) -> None:
    """Damage past the footer shows only when the rows are read: sql() names the file."""
    path = exports / "orders.parquet"
    pd.DataFrame({"id": range(200_000), "name": ["abc"] * 200_000}).to_parquet(path, row_group_size=20_000)
    data = bytearray(path.read_bytes())
    data[len(data) // 3: len(data) // 3 + 2000] = bytes(2000)
    path.write_bytes(bytes(data))
    wh = Warehouse("data/sample", {"orders": "exports/orders.parquet"})
    view = wh.view("orders")  # the footer is whole
    with pytest.raises(DataError, match=r"^exports/orders.parquet: table 'orders' \(data.orders\): "
                                        r"not a whole Parquet file \(Failed to read file"):
        wh.sql(f"SELECT sum(id), max(name) FROM {view}")
    with pytest.raises(DataError, match=r"^exports/orders.parquet: table 'orders'"):
        wh.df("orders")
    wh.close()


def test_other_query_errors_are_left_alone(project: Path) -> None:
    import duckdb

    wh = Warehouse("data/sample")
    view = wh.view("users")
    with pytest.raises(duckdb.BinderException):
        wh.sql(f"SELECT nope FROM {view}")
    wh.close()


# ------------------------------------------------------------------ naming an encoding


@pytest.mark.parametrize(("given", "name"), [("latin-1", "latin-1"), ("Latin1", "latin-1"),
                                             ("ISO-8859-1", "latin-1"), ("iso_8859_1", "latin-1"),
                                             ("UTF-8", "utf-8"), ("utf8", "utf-8"), ("utf-16", "utf-16")])
def test_encoding_names(given: str, name: str) -> None:
    assert check_encoding(given, "data.orders.encoding") == name


def test_every_encoding_offered_is_one_duckdb_reads(exports: Path) -> None:
    import duckdb

    con = duckdb.connect()
    for name in set(CSV_ENCODINGS.values()):
        (exports / "orders.csv").write_bytes("id,name\n1,Müller\n".encode(name))
        got = con.execute(f"SELECT name FROM read_csv_auto('exports/orders.csv', encoding = '{name}')")
        assert got.fetchall() == [("Müller",)], name
    con.close()


def test_a_csv_not_in_its_declared_encoding_names_the_key(exports: Path) -> None:
    (exports / "orders.csv").write_bytes(b"id\n1\n")  # an odd number of bytes
    wh = Warehouse("data/sample", {"orders": {"path": "exports/orders.csv", "encoding": "utf-16"}})
    with pytest.raises(DataError) as info:
        wh.df("orders")
    assert str(info.value) == (
        "exports/orders.csv: table 'orders' (data.orders): cannot be read as utf-16 text (File is "
        "not utf-16 encoded); name the file's encoding in the spec's data section: orders: {path: "
        "exports/orders.csv, encoding: ...} (utf-8, utf-16 or latin-1)")
    wh.close()


def test_spec_encoding_is_passed_to_the_template(exports: Path) -> None:
    (exports / "orders.csv").write_bytes(LATIN1)
    write_spec(exports.parent / "playbooks" / "ok.yml",
               extra="data:\n  orders: {path: exports/orders.csv, encoding: Latin1}\n")
    cs = load_spec("playbooks/ok.yml")
    assert cs.sources == {"orders": {"path": "exports/orders.csv", "encoding": "latin-1"}}
    wh = Warehouse(cs.data_dir, cs.sources)
    assert wh.df("orders")["name"].tolist() == ["José", "Müller"]
    wh.close()


@pytest.mark.parametrize(("entry", "expected"), [
    ("{path: exports/orders.csv, encoding: cp1252}",
     "playbooks/bad.yml: data.orders.encoding: encoding 'cp1252' is not one the CSV reader knows: use "
     "utf-8, utf-16 or latin-1; convert a file in any other encoding to UTF-8 first "
     "(e.g. `iconv -f cp1252 -t utf-8 orders.csv > orders-utf8.csv`)"),
    ("{path: exports/orders.parquet, encoding: latin-1}",
     "playbooks/bad.yml: data.orders.encoding: only a CSV file takes an encoding (Parquet records "
     "its own); remove the key"),
    ("{path: exports/orders.csv, charset: latin-1}",
     "playbooks/bad.yml: data.orders: unknown key 'charset'"),
])
def test_a_bad_encoding_is_refused_at_spec_load(exports: Path, entry: str, expected: str) -> None:
    (exports / "orders.csv").write_bytes(LATIN1)
    pd.DataFrame({"id": [1]}).to_parquet(exports / "orders.parquet")
    write_spec(exports.parent / "playbooks" / "bad.yml", extra=f"data:\n  orders: {entry}\n")
    with pytest.raises(SpecError) as info:
        load_spec("playbooks/bad.yml")
    assert expected in str(info.value)


def test_the_utf8_check_finds_the_line_and_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    body = ("é" * 600_000 + "\n") * 2  # two-byte characters across the 1 MiB chunk boundary
    path.write_bytes(body.encode() + b"ok\n\xff\n")
    assert utf8_problem(path) == (4, 0xFF)
    path.write_bytes(body.encode())
    assert utf8_problem(path) is None
    path.write_bytes(b"a\n" + "é".encode()[:1])  # ends inside a character
    assert utf8_problem(path) == (2, 0xC3)


# ------------------------------------------------------------------ through a template


def _reading_notebook(project: Path) -> None:
    """A template that reads one table through the Warehouse and records its row count."""
    nb = nbformat.read(project / "notebooks" / "trivial.ipynb", as_version=4)
    nb.cells[0].source = "# reads\n\nFixture template: reads one table."
    nb.cells[1].source = nb.cells[1].source.replace(
        'greeting: str = "hello"  # what to say', 'table: str = "orders"  # table to read')
    nb.cells[2].source = ("from playbook.sources import Warehouse\n"
                          "frame = Warehouse(data_dir, sources).df(table)\nrows = len(frame)")
    nb.cells[3].source = nb.cells[3].source.replace(
        'headline=f"{greeting} x {times}"', 'headline=f"{rows} rows"').replace(
        'metrics={"times": times, "ratio": 0.5}', 'metrics={"rows": rows}')
    nbformat.write(nb, project / "notebooks" / "reads.ipynb")


def test_a_run_over_a_latin1_csv_fails_naming_the_file_then_reads_it_with_its_encoding(
        exports: Path) -> None:
    project = exports.parent
    _reading_notebook(project)
    (exports / "orders.csv").write_bytes(LATIN1)
    spec = write_spec(project / "playbooks" / "t.yml", runs="  - template: reads\n",
                      extra="data:\n  orders: exports/orders.csv\n")
    result = CliRunner().invoke(main, ["run", "--quiet", "playbooks/t.yml"])
    assert result.exit_code == 1, result.output
    assert f"  reads: failed — DataError: {NOT_UTF8}" in result.output
    spec.write_text(spec.read_text().replace("orders: exports/orders.csv",
                                             "orders: {path: exports/orders.csv, encoding: latin-1}"))
    result = CliRunner().invoke(main, ["run", "--quiet", "playbooks/t.yml"])
    assert result.exit_code == 0, result.output
    newest = sorted((project / "outputs" / "runs" / "trivial-campaign").iterdir())[-1]
    assert json.loads((newest / "reads.outcome.json").read_text())["metrics"] == {"rows": 2}
    manifest = json.loads((newest / "run.json").read_text())
    assert manifest["sources"]["orders"] == {"path": "exports/orders.csv", "encoding": "latin-1"}
    assert manifest["inputs"]["orders"]["bytes"] == len(LATIN1)
