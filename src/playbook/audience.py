"""A spec's audience: run any template on the users of a tag set, or break results down by it.

In a spec::

    audience: {tag_set: rfm, tags: [champions, loyal]}   # only these users, tagged on the
                                                         # latest snapshot (or as_of: 2026-11-24)
    audience: {tag_set: rfm}                             # everyone; results can break down by rfm

The runner hands the audience to the notebook's :class:`~playbook.sources.Warehouse` through its
``sources`` (the setting ``audience``, with the snapshot it resolved, so the run record says which
one was used). The warehouse then shows every table through a view:

- ``users`` (the audience's ``users_table``) gains a column named after the tag set (``rfm``)
  that holds each user's tag (NULL for users the snapshot does not cover), so any breakdown or
  segment parameter can name it;
- with ``tags``, every table that has the key column (``user_id``) keeps only the rows of users
  tagged with one of them; tables without the key (``spend``) are left whole.

Tag values and the snapshot's path reach SQL as bound literals (:mod:`playbook.sql`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playbook.errors import DataError
from playbook.sql import quote_ident, quote_string
from playbook.tags import KEY, TagStore, check_tag_set, check_tags

SETTING = "audience"


@dataclass(frozen=True)
class Audience:
    """The users a run is about: a tag set's snapshot, optionally narrowed to some tags."""

    tag_set: str
    tags: tuple[str, ...] = ()
    as_of: str | None = None  # YYYY-MM-DD; None: the latest snapshot
    users_table: str = "users"
    key: str = KEY

    @classmethod
    def from_setting(cls, raw: Any, key: str = SETTING) -> Audience:
        """An audience from a spec's (or a sources') ``audience`` mapping; errors name ``key``."""
        if isinstance(raw, Audience):
            return raw
        if not isinstance(raw, Mapping):
            raise DataError(f"{key}: expected a mapping such as {{tag_set: rfm, tags: [champions]}}")
        unknown = set(raw) - {"tag_set", "tags", "as_of", "users_table", "key"}
        if unknown:
            raise DataError(f"{key}: unknown key {', '.join(sorted(map(str, unknown)))} (an audience "
                            "has tag_set, tags, as_of, users_table and key)")
        tags = raw.get("tags") or []
        if not isinstance(tags, list | tuple) or not all(isinstance(t, str) and t for t in tags):
            raise DataError(f"{key}.tags: expected a list of tag names, e.g. [champions, loyal]")
        as_of = raw.get("as_of")
        return cls(check_tag_set(raw.get("tag_set"), f"{key}.tag_set"), tuple(tags),
                   str(as_of)[:10] if as_of else None, str(raw.get("users_table") or "users"),
                   str(raw.get("key") or KEY))

    def as_setting(self) -> dict[str, Any]:
        out: dict[str, Any] = {"tag_set": self.tag_set, "tags": list(self.tags), "as_of": self.as_of}
        if self.users_table != "users":
            out["users_table"] = self.users_table
        if self.key != KEY:
            out["key"] = self.key
        return out

    def resolved(self, store: TagStore, key: str = SETTING) -> Audience:
        """This audience with its snapshot date fixed (the latest when none was named) and its
        tags checked against the tag set's definitions; a :class:`DataError` naming ``key``."""
        tag_set = store.get(self.tag_set, f"{key}.tag_set")
        check_tags(tag_set, self.tags, f"{key}.tags")
        snap = tag_set.snapshot(self.as_of)
        return Audience(self.tag_set, self.tags, snap.as_of.isoformat(), self.users_table, self.key)

    def snapshot_file(self, store: TagStore) -> Path:
        return store.get(self.tag_set, f"{SETTING}.tag_set").file(self.as_of)

    def view_sql(self, table: str, raw: str, columns: Mapping[str, str], store: TagStore) -> str:
        """The SELECT that shows ``table`` (its rows in the view ``raw``, with ``columns``)
        through this audience."""
        if self.key not in columns:
            return f"SELECT * FROM {raw}"
        file = quote_string(str(self.snapshot_file(store)))
        key = quote_ident(self.key)
        chosen = ", ".join(quote_string(t) for t in self.tags)
        if table == self.users_table:
            if self.tag_set in columns:
                raise DataError(f"{SETTING}: table '{table}' already has a column '{self.tag_set}'; "
                                "the audience adds the tag set's column under that name: rename it")
            join = "JOIN" if self.tags else "LEFT JOIN"
            only = f" AND a.tag IN ({chosen})" if self.tags else ""
            return (f"SELECT r.*, a.tag AS {quote_ident(self.tag_set)} FROM {raw} AS r {join} "
                    f"read_parquet({file}) AS a ON r.{key} = a.user_id{only}")
        if not self.tags:
            return f"SELECT * FROM {raw}"
        return (f"SELECT * FROM {raw} WHERE {key} IN (SELECT user_id FROM read_parquet({file}) "
                f"WHERE tag IN ({chosen}))")


__all__ = ["SETTING", "Audience"]
