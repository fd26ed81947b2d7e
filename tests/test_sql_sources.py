"""SQL sources: one read-only SELECT against a DuckDB file, and data paths confined to the project.

Every attack below was reproduced on the parenthesis-wrapping implementation (a dropped table
waiting in the .wal, a file written with COPY, /etc/passwd published through read_csv). Each test
checks the database file and its .wal byte for byte and that no file appeared anywhere in the
project, besides the error naming the spec key.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import duckdb
import nbformat
import pandas as pd
import pytest
from click.testing import CliRunner
from tests.conftest import write_spec

from playbook.cli import main
from playbook.errors import DataError, SpecError
from playbook.runner.spec import load_spec
from playbook.sources import Warehouse

PASSWD_MARK = "root:x:0:0"


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def snapshot(*folders: Path) -> dict[str, str | None]:
    """Every file under ``folders`` with its SHA-256 (a written or changed file shows up)."""
    return {str(p): _digest(p) for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


def make_crm(path: Path) -> Path:
    """A DuckDB file with tickets and customers, checkpointed (no .wal left)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE tickets AS SELECT range AS id, CASE WHEN range % 2 = 0 THEN 'open' ELSE 'closed' END "
        "AS state, range % 3 AS customer_id FROM range(6)"
    )
    con.execute("CREATE TABLE customers AS SELECT range AS id, 'c' || range AS name FROM range(3)")
    con.execute("CHECKPOINT")
    con.close()
    return path


@pytest.fixture
def crm(project: Path) -> Path:
    return make_crm(project / "crm.duckdb")


def attacks(db: Path, project: Path, outside_csv: Path) -> dict[str, str]:
    return {
        # closes the wrapper's parenthesis, re-attaches the file writable and drops a table
        "reattach_and_drop": (
            "select 1 as x); USE memory; DETACH src_t; ATTACH '" + str(db) + "' AS w; "
            "DROP TABLE w.customers; USE memory; SELECT (1"
        ),
        "reattach_and_drop_unwrapped": (
            "select 1 as x; ATTACH '" + str(db) + "' AS w (READ_WRITE); DROP TABLE w.customers"
        ),
        "copy_to_file": (
            "select 1 as x); COPY (select 42 AS answer) TO '" + str(project / "pwned.csv") + "'; SELECT (1"
        ),
        "read_csv_passwd": "select * from read_csv('/etc/passwd', sep=':', header=false)",
        "read_text_passwd": "select content from read_text('/etc/passwd')",
        "passwd_in_subquery": (
            "select * from tickets where cast(id as varchar) in "
            "(select column0 from read_csv('/etc/passwd', sep=':', header=false))"
        ),
        "file_as_table_name": "select * from '" + str(outside_csv) + "'",
        "glob": "select * from glob('/etc/*')",
        "query_function": "select * from query('drop table customers')",
        "two_statements": "select * from tickets; drop table customers",
        "attach_alone": "attach '" + str(db) + "' as w",
        "drop_alone": "drop table customers",
        "copy_alone": "copy tickets to '" + str(project / "pwned.csv") + "'",
        "pragma": "pragma database_list",
        "set_external_access": "set enable_external_access = true",
        "install": "install httpfs",
        "create_as_select": "create table stolen as select * from tickets",
        "unknown_table": "select * from no_such_table",
    }


ATTACKS = sorted(attacks(Path("x"), Path("y"), Path("z")))


@pytest.fixture
def outside_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("outside")
    path = folder / "secret.csv"
    path.write_text("a,b\nOUTSIDE_ROW,1\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("case", ATTACKS)
def test_sql_attack_is_refused_and_leaves_every_file_as_it_was(
    project: Path, crm: Path, outside_csv: Path, case: str
) -> None:
    sql = attacks(crm, project, outside_csv)[case]
    wal = crm.with_name(crm.name + ".wal")
    before = snapshot(project)
    before_db, before_wal = _digest(crm), _digest(wal)

    rows = None
    with pytest.raises(DataError) as info:
        wh = Warehouse(project / "data" / "sample", {"t": {"sql": sql, "connection": str(crm)}})
        try:
            rows = wh.df("t")
        finally:
            wh.close()
    assert rows is None
    assert str(info.value).startswith("data.t.sql: "), str(info.value)
    assert PASSWD_MARK not in str(info.value) and "OUTSIDE_ROW" not in str(info.value)

    assert _digest(crm) == before_db
    assert _digest(wal) == before_wal
    assert snapshot(project) == before, "a file was written or changed"
    con = duckdb.connect(str(crm), read_only=True)
    assert {r[0] for r in con.execute("SHOW TABLES").fetchall()} == {"customers", "tickets"}
    con.close()


@pytest.mark.parametrize("case", ["reattach_and_drop", "copy_to_file", "read_csv_passwd",
                                  "two_statements", "file_as_table_name", "unknown_table"])
def test_sql_attack_is_refused_when_the_spec_is_loaded(
    project: Path, crm: Path, outside_csv: Path, case: str
) -> None:
    sql = attacks(crm, project, outside_csv)[case]
    extra = "data:\n  t:\n    sql: " + json.dumps(sql) + "\n    connection: crm.duckdb\n"
    write_spec(project / "playbooks" / "bad.yml", extra=extra)
    before = snapshot(project)
    with pytest.raises(SpecError) as info:
        load_spec("playbooks/bad.yml")
    assert "playbooks/bad.yml: data.t.sql: " in str(info.value)
    assert snapshot(project) == before


def test_the_source_connection_itself_cannot_write_or_read_files(project: Path, crm: Path) -> None:
    """The second wall: even SQL that got past the check cannot write or reach other files."""
    from playbook.sources import open_source_database

    before = snapshot(project)
    con = open_source_database(crm)
    try:
        for sql in (
            "select * from read_csv('/etc/passwd')",
            "copy (select 1) to '" + str(project / "pwned.csv") + "'",
            "drop table customers",
            "insert into tickets values (99, 'open', 1)",
            "attach '" + str(project / "other.duckdb") + "' as o",
            "set enable_external_access = true",
            "set lock_configuration = false",
            "install httpfs",
        ):
            with pytest.raises(duckdb.Error):
                con.execute(sql)
        assert con.execute("select count(*) from customers").fetchone() == (3,)
    finally:
        con.close()
    assert snapshot(project) == before


def test_readme_example_resolves_table_names_inside_the_database(project: Path, crm: Path) -> None:
    """``tickets: {sql: "select * from tickets", connection: crm.duckdb}`` as the README shows."""
    sources = {
        "tickets": {"sql": "select * from tickets", "connection": str(crm)},
        "open_tickets": {"sql": "select id, state from tickets where state = 'open'", "connection": str(crm)},
        "by_customer": {
            "sql": "with t as (select customer_id, count(*) as n from tickets group by 1) "
                   "select c.name, t.n from t join main.customers c on c.id = t.customer_id order by c.name",
            "connection": str(crm),
        },
        "numbers": {"sql": "select range as n from range(3) union all select unnest([7, 8])",
                    "connection": str(crm)},
    }
    before = _digest(crm)
    wh = Warehouse(project / "data" / "sample", sources)
    try:
        assert len(wh.df("tickets")) == 6
        assert wh.columns("tickets") == {"id": "BIGINT", "state": "VARCHAR", "customer_id": "BIGINT"}
        wh.require("open_tickets", ["id", "state"])
        assert wh.df("open_tickets")["state"].unique().tolist() == ["open"]
        assert wh.df("by_customer").to_dict("list") == {"name": ["c0", "c1", "c2"], "n": [2, 2, 2]}
        assert sorted(wh.df("numbers")["n"]) == [0, 1, 2, 7, 8]
        # the source is a table of the warehouse connection, usable in the templates' SQL
        wh.view("tickets")
        assert wh.sql('select count(*) as n from "tickets" where state = ?', ["closed"])["n"][0] == 3
        # and users, from the warehouse folder, sits beside it
        wh.view("users")
        assert wh.sql('select count(*) as n from "users"')["n"][0] == 3
    finally:
        wh.close()
    assert _digest(crm) == before
    assert not crm.with_name(crm.name + ".wal").exists()


def test_a_failing_query_names_the_key(project: Path, crm: Path) -> None:
    wh = Warehouse(project / "data" / "sample",
                   {"t": {"sql": "select nope from tickets", "connection": str(crm)}})
    with pytest.raises(DataError, match=r"^data\.t\.sql: .*nope"):
        wh.df("t")
    wh.close()


def _sql_notebook(project: Path) -> None:
    """A template that reads one table through the Warehouse and records its row count."""
    nb = nbformat.read(project / "notebooks" / "trivial.ipynb", as_version=4)
    nb.cells[0].source = "# sqlread\n\nFixture template: reads one table."
    nb.cells[1].source = nb.cells[1].source.replace(
        'greeting: str = "hello"  # what to say', 'table: str = "tickets"  # table to read')
    nb.cells[2].source = ("from playbook.sources import Warehouse\n"
                          "frame = Warehouse(data_dir, sources).df(table)\nrows = len(frame)")
    nb.cells[3].source = nb.cells[3].source.replace(
        'headline=f"{greeting} x {times}"', 'headline=f"{rows} rows"').replace(
        'metrics={"times": times, "ratio": 0.5}', 'metrics={"rows": rows}')
    nbformat.write(nb, project / "notebooks" / "sqlread.ipynb")


def test_readme_example_runs_through_a_template(project: Path, crm: Path) -> None:
    _sql_notebook(project)
    extra = 'data:\n  tickets: {sql: "select * from tickets", connection: crm.duckdb}\n'
    write_spec(project / "playbooks" / "t.yml", runs="  - template: sqlread\n", extra=extra)
    before = _digest(crm)
    result = CliRunner().invoke(main, ["run", "--quiet", "playbooks/t.yml"])
    assert result.exit_code == 0, result.output
    (run_dir,) = (project / "outputs" / "runs" / "trivial-campaign").iterdir()
    outcome = json.loads((run_dir / "sqlread.outcome.json").read_text())
    assert outcome["status"] == "ok" and outcome["metrics"] == {"rows": 6}
    assert _digest(crm) == before
    assert not crm.with_name(crm.name + ".wal").exists()


# ------------------------------------------------------------------ what a spec may read


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("elsewhere")
    pd.DataFrame({"order_id": [1]}).to_csv(folder / "orders.csv", index=False)
    pd.DataFrame({"user_id": [1]}).to_parquet(folder / "users.parquet")
    make_crm(folder / "crm.duckdb")
    return folder


def _relative(target: Path, start: Path) -> str:
    return os.path.relpath(target, start)


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
@pytest.mark.parametrize("key", ["file", "connection", "warehouse"])
def test_paths_outside_the_project_are_refused_naming_the_key(
    project: Path, outside: Path, how: str, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PLAYBOOK_DATA_ROOTS", raising=False)
    target = {"file": outside / "orders.csv", "connection": outside / "crm.duckdb",
              "warehouse": outside}[key]
    if how == "absolute":
        given = str(target)
    elif how == "dotdot":
        given = _relative(target, project)
    else:
        link = project / "exports" / target.name
        link.parent.mkdir()
        link.symlink_to(target)
        given = f"exports/{target.name}"
    data = {
        "file": f"  orders: {json.dumps(given)}\n",
        "connection": f"  t: {{sql: 'select * from tickets', connection: {json.dumps(given)}}}\n",
        "warehouse": f"  warehouse: {json.dumps(given)}\n",
    }[key]
    write_spec(project / "playbooks" / "bad.yml", extra="data:\n" + data)
    where = {"file": "data.orders", "connection": "data.t.connection", "warehouse": "data.warehouse"}[key]
    with pytest.raises(SpecError) as info:
        load_spec("playbooks/bad.yml")
    message = str(info.value)
    assert f"playbooks/bad.yml: {where}: " in message
    assert "outside the project" in message and "PLAYBOOK_DATA_ROOTS" in message

    # declared as a data root, the same path is accepted
    monkeypatch.setenv("PLAYBOOK_DATA_ROOTS", str(outside))
    load_spec("playbooks/bad.yml")


def test_a_warehouse_holding_a_symlink_out_is_refused(project: Path, outside: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLAYBOOK_DATA_ROOTS", raising=False)
    wh = project / "exports" / "wh"
    wh.mkdir(parents=True)
    (wh / "orders.csv").symlink_to(outside / "orders.csv")
    write_spec(project / "playbooks" / "bad.yml", extra="data:\n  warehouse: exports/wh\n")
    with pytest.raises(SpecError, match=r"data\.warehouse: .*orders\.csv.* outside the project"):
        load_spec("playbooks/bad.yml")


def test_paths_inside_the_project_are_accepted(project: Path, crm: Path) -> None:
    (project / "exports").mkdir()
    pd.DataFrame({"order_id": [1]}).to_csv(project / "exports" / "orders.csv", index=False)
    extra = ("data:\n  orders: exports/../exports/orders.csv\n"
             f"  users: {json.dumps(str(project / 'data' / 'sample' / 'users.parquet'))}\n"
             "  t: {sql: 'select * from tickets', connection: crm.duckdb}\n")
    write_spec(project / "playbooks" / "ok.yml", extra=extra)
    cs = load_spec("playbooks/ok.yml")
    assert set(cs.sources) == {"orders", "users", "t"}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("{sql: 'select 1'}", "data.t.connection: required key is missing"),
        ("{sql: 'select 1', connection: {envv: CRM_DB}}", "data.t.connection: unknown key 'envv'"),
        ("{sql: 'select 1', connection: {env: 'not a name'}}", "data.t.connection.env: String should match"),
        ("{sql: 'select 1', connection: crm.duckdb, limit: 3}", "data.t: unknown key 'limit'"),
    ],
)
def test_a_malformed_sql_source_gets_one_message_about_it(project: Path, entry: str, expected: str) -> None:
    write_spec(project / "playbooks" / "bad.yml", extra=f"data:\n  t: {entry}\n")
    with pytest.raises(SpecError) as info:
        load_spec("playbooks/bad.yml")
    lines = str(info.value).splitlines()
    assert any(line.startswith("playbooks/bad.yml: " + expected) for line in lines), lines
    assert len(lines) <= 2 and all(line.startswith("playbooks/bad.yml: data.t") for line in lines), lines
    assert "Input should be a valid string" not in str(info.value)  # not every union member
