"""The idea backlog: every growth idea with its id, ICE scores and area, from the warehouse's
``backlog`` table or from a CSV or YAML file the team keeps (e.g. ``playbooks/backlog.yml``).

One reader, :func:`read_backlog`, for ``ice_backlog`` and ``playbook new --from-idea``. The
columns (a YAML file holds a list of ideas, or ``{ideas: [...]}``, with the same keys):

==========  ======================================================================  =========
idea_id     the idea's id, unique (``IDEA-007``); a spec's ``idea:`` names it         required
idea        what the idea is, in a sentence                                           required
impact, confidence, ease   ICE scores, whole numbers 1 to 10                          required
area        the part of the business (acquisition, activation, ...)                   optional
owner, status, reach (users a month, for RICE), created (the day it was added)        optional
==========  ======================================================================  =========
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from playbook.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from playbook.sources import Warehouse

REQUIRED = ("idea_id", "idea", "impact", "confidence", "ease")
OPTIONAL = ("area", "owner", "status", "reach", "created")
SCORES = ("impact", "confidence", "ease")


def _from_file(path: Path) -> pd.DataFrame:
    import pandas as pd
    import yaml

    if not path.is_file():
        raise DataError(f"{path}: backlog file not found; point the backlog at a CSV or YAML file, or "
                        "at the warehouse's backlog table")
    if path.suffix.lower() == ".csv":
        return pd.read_csv(path, dtype={"idea_id": str})
    if path.suffix.lower() not in (".yml", ".yaml"):
        raise DataError(f"{path}: a backlog is a .csv, .yml or .yaml file")
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML ({exc})") from None
    ideas = raw.get("ideas") if isinstance(raw, dict) else raw
    if not isinstance(ideas, list) or not all(isinstance(i, dict) for i in ideas):
        raise DataError(f"{path}: expected a list of ideas (or ideas: [...]), each a mapping with "
                        f"{', '.join(REQUIRED)}")
    return pd.DataFrame(ideas)


def _check(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    import pandas as pd

    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise DataError(f"{where}: the backlog has no column {', '.join(map(repr, missing))} (it has "
                        f"{', '.join(map(str, frame.columns))}); every idea needs {', '.join(REQUIRED)}")
    frame = frame.copy()
    frame["idea_id"] = frame["idea_id"].astype(str)
    dup = frame["idea_id"][frame["idea_id"].duplicated()].unique().tolist()
    if dup:
        raise DataError(f"{where}: idea_id {', '.join(dup[:5])} appears twice; every idea needs its own id")
    for col in SCORES:
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = frame["idea_id"][values.isna() | (values < 1) | (values > 10) | (values % 1 != 0)].tolist()
        if bad:
            raise DataError(f"{where}: column '{col}' of idea {', '.join(bad[:5])} is not a whole number "
                            "from 1 to 10 (ICE scores are anchored 1-10)")
        frame[col] = values.astype(int)
    for col in OPTIONAL:
        if col not in frame.columns:
            frame[col] = None
    if frame["created"].notna().any():
        frame["created"] = pd.to_datetime(frame["created"], errors="coerce").dt.date
    return frame[[*REQUIRED, *OPTIONAL, *[c for c in frame.columns if c not in (*REQUIRED, *OPTIONAL)]]]


def read_backlog(source: str | Path | None = None, warehouse: Warehouse | None = None,
                 table: str = "backlog") -> pd.DataFrame:
    """The backlog from the file ``source`` (relative to the project), else the warehouse's
    ``table``; checked (module docstring). Errors name the file or table and the column."""
    if source:
        from playbook.project import paths

        path = paths().resolve(source)
        return _check(_from_file(path), str(path))
    if warehouse is None:
        raise DataError("backlog: name a backlog file, or give the warehouse that has the backlog table")
    frame = warehouse.df(table)
    return _check(frame, f"{warehouse.source(table).location}: table '{table}'")


def find_idea(backlog: pd.DataFrame, idea_id: str, where: str = "backlog") -> dict[str, Any]:
    """The idea ``idea_id`` as a dict; a :class:`DataError` naming the (up to three) closest ids if it is
    not there."""
    import difflib

    rows = backlog[backlog["idea_id"] == str(idea_id)]
    if rows.empty:
        close = difflib.get_close_matches(str(idea_id), backlog["idea_id"].tolist(), n=3)
        hint = f" (close ids: {', '.join(close)})" if close else f" ({len(backlog)} ideas, none close)"
        raise DataError(f"{where}: no idea '{idea_id}'{hint}")
    return {k: (None if v is None or (isinstance(v, float) and v != v) else v)
            for k, v in rows.iloc[0].to_dict().items()}


__all__ = ["OPTIONAL", "REQUIRED", "SCORES", "find_idea", "read_backlog"]
