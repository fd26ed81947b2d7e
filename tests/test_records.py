"""Tables as JSON records for an outcome's details: one function (playbook.analyses.records)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from playbook.analyses.records import records


def test_records_are_json_with_every_missing_value_as_null() -> None:
    df = pd.DataFrame({
        "n": [1, 2], "rate": [0.5, np.nan], "lift": [np.inf, -0.1],
        "day": pd.to_datetime(["2026-01-02", None]), "arm": ["A", None],
        "count": pd.array([3, None], dtype="Int64"),
    })
    rows = records(df)
    assert rows == [
        {"n": 1, "rate": 0.5, "lift": None, "day": "2026-01-02T00:00:00", "arm": "A", "count": 3},
        {"n": 2, "rate": None, "lift": -0.1, "day": None, "arm": None, "count": None},
    ]
    assert all(type(row["n"]) is int for row in rows or [])
    json.dumps(rows, allow_nan=False)
    assert records(None) is None
