"""Tables and values as JSON-able data, for the ``details`` of an outcome; metric order."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def plain(value: Any) -> Any:
    """A JSON-able scalar: timestamps as ISO text, numpy scalars as Python, NaN/inf as None."""
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def records(df: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    """A DataFrame as a list of JSON-able row dicts (``None`` stays ``None``).

    Every missing value (NaN, NaT, ``pd.NA``, None) and every infinity becomes ``None``."""
    if df is None:
        return None
    rows = df.astype(object).where(df.notna(), None).to_dict("records")
    return [{k: plain(v) for k, v in row.items()} for row in rows]


def lead_with(metrics: dict[str, float], first: list[str]) -> dict[str, float]:
    """``metrics`` with the names in ``first`` (those present) moved to the front, in that order.

    The archive shows an outcome's first four metrics as its key metrics."""
    lead = {k: metrics[k] for k in first if k in metrics}
    return {**lead, **{k: v for k, v in metrics.items() if k not in lead}}
