"""The tables segmentation shows, formatted for the reader (numbers with their intervals,
segment names in the report's language where the packaged mapping names them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from playbook.analyses.segments.result import SegmentationResult
from playbook.i18n import formats, pgettext
from playbook.i18n import gettext as _
from playbook.report import share_with_ci
from playbook.tags import TagSet


def segment_label(name: str) -> str:
    """A segment's or tier's name as the reader sees it (``pgettext("segment", name)``: the
    packaged names have translations; a team's own names show as written)."""
    return pgettext("segment", name)


def _money(value: float, low: float, high: float) -> str:
    if value != value:  # NaN: no buyer
        return "–"
    if low != low:
        return formats.number(value, 0)
    return _("{value} (95% CI {low}–{high})").format(value=formats.number(value, 0), low=formats.number(low, 0),
                                                      high=formats.number(high, 0))


def _with_ci(df: pd.DataFrame, col: str) -> list[str]:
    return [share_with_ci(*v) for v in df[[col, f"{col}_ci_low", f"{col}_ci_high"]].to_numpy(float)]


def profile_table(frame: pd.DataFrame, *, scored: bool = True) -> tuple[pd.DataFrame, dict[str, str]]:
    """A profile (segments or tiers) ready for ``report.table``: the frame and its labels."""
    df = frame.assign(
        name=[segment_label(n) for n in frame["name"]],
        users=[formats.count(n) for n in frame["users"]],
        share=_with_ci(frame, "share"), revenue_share=_with_ci(frame, "revenue_share"),
        mean_monetary=[_money(*v) for v in
                       frame[["mean_monetary", "mean_monetary_ci_low", "mean_monetary_ci_high"]].to_numpy(float)],
        active_30_share=_with_ci(frame, "active_30_share"), active_90_share=_with_ci(frame, "active_90_share"),
        repeat_rate=_with_ci(frame, "repeat_rate"))
    cols = ["name", "users", "share", "revenue_share", "mean_monetary", "active_30_share", "active_90_share",
            "repeat_rate"]
    labels = {"name": _("segment") if scored else _("tier"), "users": _("users"), "share": _("share of users"),
              "revenue_share": _("share of revenue"), "mean_monetary": _("mean spend per buyer"),
              "active_30_share": _("bought in the last 30 days"), "active_90_share": _("bought in the last 90 days"),
              "repeat_rate": _("two purchases or more")}
    return df[cols], labels


def channel_table(channels: pd.DataFrame, top: int = 5) -> pd.DataFrame:
    """Segments (rows) by their ``top`` largest channels overall (columns): share of the
    segment's users, the other channels together in ``other channels``."""
    if channels.empty:
        return channels
    biggest = list(channels.groupby("channel")["users"].sum().sort_values(ascending=False).index[:top])
    ch = channels.assign(channel=channels["channel"].where(channels["channel"].isin(biggest), _("other channels")))
    wide = ch.pivot_table(index="segment", columns="channel", values="share", aggfunc="sum", fill_value=0.0, sort=False)
    wide = wide.reindex(columns=[c for c in [*biggest, _("other channels")] if c in wide.columns])
    out = wide.map(lambda v: formats.percent(v, 0)).reset_index()
    out["segment"] = [segment_label(s) for s in out["segment"]]
    return out.rename(columns={"segment": _("segment")})


def migration_table(migration: pd.DataFrame) -> pd.DataFrame:
    """Previous segment (rows) by current segment (columns): ``count (share of the row)``."""
    if migration.empty:
        return migration
    wide = migration.pivot_table(index="previous", columns="current", values="users", aggfunc="sum", fill_value=0)
    totals = wide.sum(axis=1)
    cells = wide.apply(lambda col: [f"{formats.count(n)} ({formats.percent(n / t, 0)})" if n else "–"
                                    for n, t in zip(col, totals, strict=False)])
    cells.index = [segment_label(s) for s in cells.index]
    cells.columns = [segment_label(s) for s in cells.columns]
    return cells.rename_axis(index=_("segment in the previous run")).reset_index()


def tags_table(written: Sequence[TagSet], folder: Any) -> pd.DataFrame:
    """The tag sets this run wrote: name, date, users, tags and the file (relative to ``folder``)."""
    rows = []
    for t in written:
        snap = t.latest
        assert snap is not None
        rows.append({_("tag set"): t.name, _("as of"): formats.day(snap.as_of), _("users"): formats.count(snap.users),
                     _("tags"): ", ".join(f"{k} {formats.count(v)}" for k, v in snap.counts.items()),
                     _("file"): str(t.file(snap.as_of).relative_to(folder))})
    return pd.DataFrame(rows)


def watch_table(result: SegmentationResult) -> pd.DataFrame:
    """The watch segments' share of buyers now and before, the change with its interval."""
    w = result.watch_change
    row: dict[str, Any] = {_("segments"): ", ".join(segment_label(s) for s in result.watch),
                           _("share of buyers now"): formats.percent(w["now"])}
    if result.previous is not None:
        row[_("previous run")] = formats.day(result.previous.as_of)
        row[_("share then")] = formats.percent(w["before"])
        row[_("change")] = formats.percent(w["change"], sign=True) + " (" + formats.interval(
            w["low"], w["high"], kind="lift") + ")"
        row[_("p-value")] = formats.p_value(w["p_value"])
    return pd.DataFrame([row])
