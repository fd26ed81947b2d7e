"""The tables ice_backlog's report shows: columns picked, labelled and formatted for a reader."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from playbook.analyses.backlog.result import BacklogResult
from playbook.i18n import formats, pgettext
from playbook.i18n import gettext as _


def _num(x: Any, digits: int = 1) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else formats.number(float(x), digits)


def _share_ci(value: float, low: float, high: float) -> str:
    if value != value:
        return _("no experiments yet")
    return f"{formats.percent(value, 0)} ({formats.interval(low, high)})"


def ranking_table(result: BacklogResult, top: int = 25) -> tuple[pd.DataFrame, dict[str, str]]:
    """The ranked ideas: scores, both ICE scores, calibrated score, rank range, stable, ties."""
    rows = result.ranked.head(top)
    table = pd.DataFrame({
        "rank": rows["rank"].astype(int), "idea_id": rows["idea_id"], "idea": rows["idea"], "area": rows["area"],
        "ice": [f"{int(i)} / {int(c)} / {int(e)}" for i, c, e in zip(rows["impact"], rows["confidence"],
                                                                     rows["ease"], strict=True)],
        "ice_product": rows["ice_product"].map(lambda v: _num(v, 0)), "ice_mean": rows["ice_mean"].map(_num),
        "rice": rows["rice"].map(lambda v: _num(v, 0)), "score": rows["score"].map(_num),
        "calibrated_confidence": rows["calibrated_confidence"].map(_num),
        "calibrated_score": rows["calibrated_score"].map(_num),
        "range": [f"{int(a)}-{int(b)}" for a, b in zip(rows["rank_low"], rows["rank_high"], strict=True)],
        "stable": rows["stable"].map(lambda s: _("yes") if s else _("no")),
        "tied_with": rows["tied_with"].map(", ".join),
    })
    labels = {"rank": _("rank"), "idea_id": _("id"), "idea": _("idea"), "area": _("area"),
              "ice": _("I / C / E"), "ice_product": _("ICE product"), "ice_mean": _("ICE mean"), "rice": _("RICE"),
              "score": _("score"), "calibrated_confidence": _("calibrated C"),
              "calibrated_score": _("calibrated score"), "range": _("rank under ±1"), "stable": _("stable"),
              "tied_with": _("tied with")}
    return table, labels


def flips_table(result: BacklogResult, top: int = 10) -> tuple[pd.DataFrame, dict[str, str]]:
    """The flips among the top ideas: which pair reverses under which change."""
    first = set(result.ranked.head(top)["idea_id"])
    rows = result.flips[result.flips["above"].isin(first)]
    table = pd.DataFrame({"above": rows["above"], "below": rows["below"],
                          "change": [f"{m} {pgettext('score', str(f))} {int(s):+d}" for m, f, s in
                                     zip(rows["idea_moved"], rows["factor"], rows["step"], strict=True)]})
    return table, {"above": _("ranked above"), "below": _("overtakes it"), "change": _("after the change")}


def evidence_table(result: BacklogResult) -> tuple[pd.DataFrame, dict[str, str]]:
    """Per area: experiments, wins, win rate (95% CI), median lift of winners, rarely wins."""
    ev = result.evidence
    table = pd.DataFrame({
        "area": ev["area"], "experiments": ev["experiments"].map(formats.count), "wins": ev["wins"].map(formats.count),
        "win_rate": [_share_ci(v, lo, hi) for v, lo, hi in zip(ev["win_rate"], ev["win_rate_ci_low"],
                                                              ev["win_rate_ci_high"], strict=True)],
        "median_win_lift": ev["median_win_lift"].map(lambda v: "" if v != v else formats.percent(v, 1, sign=True)),
        "rarely_wins": (ev["win_rate_ci_high"] < result.settings.rare_win_rate).map(
            lambda r: _("yes") if r else ""),
    })
    labels = {"area": _("area"), "experiments": _("experiments"), "wins": _("wins (ship)"),
              "win_rate": _("win rate (95% CI)"), "median_win_lift": _("median lift of winners"),
              "rarely_wins": _("rarely wins")}
    return table, labels


def round_table(result: BacklogResult) -> tuple[pd.DataFrame, dict[str, str]]:
    """The next round: per top idea the baseline, MDE, users and days, or what to set."""
    nr = result.next_round
    table = pd.DataFrame({
        "idea_id": nr["idea_id"], "area": nr["area"], "metric": nr["metric"].fillna(""),
        "baseline": [("" if b != b else f"{formats.percent(b, 1)} ({s})") for b, s in
                     zip(nr["baseline"], nr["baseline_source"], strict=True)],
        "daily_users": nr["daily_users"].map(lambda v: _num(v, 0)),
        "mde_rel": nr["mde_rel"].map(lambda v: "" if v != v else formats.percent(v, 1, sign=True)),
        "users_total": nr["users_total"].map(lambda v: _num(v, 0)), "days": nr["days"].map(lambda v: _num(v, 0)),
        "mde_at_max_days": nr["mde_at_max_days"].map(lambda v: "" if v != v else formats.percent(v, 1, sign=True)),
        "todo": nr["todo"].fillna(""),
    })
    labels = {"idea_id": _("id"), "area": _("area"), "metric": _("primary metric"), "baseline": _("baseline"),
              "daily_users": _("eligible users a day"), "mde_rel": _("MDE (relative)"),
              "users_total": _("users needed"), "days": _("days needed"),
              "mde_at_max_days": _("MDE reachable in {days} days").format(days=result.settings.sizing.max_days),
              "todo": _("to do")}
    return table, labels


__all__ = ["evidence_table", "flips_table", "ranking_table", "round_table"]
