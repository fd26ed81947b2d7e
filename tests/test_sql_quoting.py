"""The one home of SQL quoting (playbook.sql): names and values from data or a spec."""

from __future__ import annotations

import duckdb
import pytest

from playbook.sql import quote_ident, quote_string, quote_value


@pytest.mark.parametrize("value", [True, False, 3, -2.5, "it's", 'say "hi"; DROP TABLE x', "日本"])
def test_quote_value_round_trips_through_duckdb(value: object) -> None:
    assert duckdb.connect().execute(f"SELECT {quote_value(value)}").fetchall() == [(value,)]


def test_quoted_names_and_strings_survive_quotes() -> None:
    name = 'we"ird \'col'
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t ({quote_ident(name)} VARCHAR)")
    con.execute(f"INSERT INTO t VALUES ({quote_string(name)})")
    assert con.execute(f"SELECT {quote_ident(name)} FROM t").fetchall() == [(name,)]
