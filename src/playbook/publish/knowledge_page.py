"""The archive's knowledge view (``knowledge.html``): what the team learned and how fast it
learns, shown from the numbers of :func:`playbook.knowledge_view.knowledge` (read from the
catalog alone). :func:`knowledge_context` formats them as plain strings for
``knowledge.html.j2``, which escapes them; the speed figures come first, each with its unit."""

from __future__ import annotations

from datetime import date
from typing import Any

from playbook.i18n import formats as fmt
from playbook.i18n import gettext, ngettext
from playbook.knowledge_view import Group, Impact, Knowledge, Rate, knowledge


def _days(value: float | None, language: str) -> str:
    if value is None:
        return "–"
    return ngettext("%(num)s day", "%(num)s days", round(value), language) % {"num": fmt.number(value, 1 if value % 1
                                                                                               else 0, language)}


def _rate(rate: Rate, language: str) -> str:
    """``60.0% (95% CI 31.3%–83.2%), 6 of 10``; ``–`` when nothing was decided."""
    if not rate.n or rate.share is None or rate.interval is None:
        return "–"
    low, high = rate.interval
    return gettext("{share} ({interval}), {wins} of {n}", language).format(
        share=fmt.percent(rate.share, language=language),
        interval=fmt.interval(low, high, language=language), wins=rate.wins, n=rate.n)


def _rate_figure(rate: Rate, language: str) -> dict[str, str]:
    """A rate as a figure: the share, and its interval with the counts as the note."""
    if not rate.n or rate.share is None or rate.interval is None:
        return {"value": "–", "note": ""}
    return {"value": fmt.percent(rate.share, language=language),
            "note": gettext("{interval}, {wins} of {n}", language).format(
                interval=fmt.interval(*rate.interval, language=language), wins=rate.wins, n=rate.n)}


def _impact(item: Impact, language: str) -> dict[str, Any]:
    interval = (fmt.interval(item.low, item.high, kind="lift", language=language)
                if item.low is not None and item.high is not None else gettext("no interval", language))
    return {"kpi": item.kpi, "experiments": item.experiments, "total": fmt.percent(item.total, sign=True,
                                                                                   language=language),
            "interval": interval}


def _group(group: Group, language: str) -> dict[str, Any]:
    return {"name": group.name or gettext("no area", language), "experiments": group.experiments,
            "decided": group.rate.n, "rate": _rate(group.rate, language),
            "impact": [_impact(i, language) for i in group.impact]}


def _date(day: date | None) -> str:
    return day.isoformat() if day is not None else "–"


def _range(values: list[int]) -> str:
    return f"{min(values)}–{max(values)}" if values else "–"


def _speed(k: Knowledge, language: str) -> list[dict[str, str]]:
    months = len(k.per_month)
    per_month = k.per_month_mean
    steps = [("to_design", gettext("Median days from idea to design", language)),
             ("to_decision", gettext("Median days from design to decision", language)),
             ("idea_to_decision", gettext("Median days from idea to decision", language))]
    out = [{"label": gettext("Experiments decided per month", language),
            "value": (gettext("{n} per month", language).format(n=fmt.number(per_month, 1, language))
                      if per_month is not None else "–"),
            "note": ngettext("mean over %(num)s calendar month, from the first decision to the latest",
                             "mean over %(num)s calendar months, from the first decision to the latest",
                             months, language) % {"num": months} if months else ""}]
    for key, label in steps:
        values = [v for p in k.ideas if (v := getattr(p, key)) is not None]
        out.append({"label": label, "value": _days(k.medians.get(key), language),
                    "note": (ngettext("%(num)s idea", "%(num)s ideas", len(values), language) % {"num": len(values)}
                             + " · " + gettext("range {range} days", language).format(range=_range(values)))
                    if values else gettext("no idea has both dates yet", language)})
    share = k.decided_share
    out.append({"label": gettext("Ideas decided", language),
                "value": fmt.percent(share.share, language=language) if share.share is not None else "–",
                "note": (gettext("{wins} of {n} ideas in the backlog", language) if k.backlog_source
                         else gettext("{wins} of {n} ideas named in specs; no ice_backlog outcome yet", language)
                         ).format(wins=share.wins, n=share.n)})
    return out


def knowledge_context(catalog: dict[str, Any], language: str = "en") -> dict[str, Any]:
    """The context of ``knowledge.html.j2``: plain strings and numbers (the page escapes them)."""
    k = knowledge(catalog)
    decided = [x for x in k.experiments if x.decided_on is not None]
    return {
        "speed": _speed(k, language),
        "experiments": len(k.experiments),
        "decided": len(decided),
        "win_rate": _rate_figure(k.rate, language),
        "impact": [_impact(i, language) for i in k.impact],
        "by_area": [_group(g, language) for g in k.by_area],
        "by_quarter": [_group(g, language) for g in k.by_quarter],
        "per_month": list(k.per_month.items()),
        "ideas": [{"id": p.idea, "text": p.text or "", "area": p.area or "", "created": _date(p.created),
                   "designed": _date(p.designed), "decided": _date(p.decided), "decision": p.decision,
                   "to_design": "–" if p.to_design is None else str(p.to_design),
                   "to_decision": "–" if p.to_decision is None else str(p.to_decision),
                   "campaigns": list(p.campaigns)}
                  for p in sorted(k.ideas, key=lambda p: (p.decided is None, p.designed is None, p.idea))],
        "undated": k.undated,
        "backlog_source": k.backlog_source,
    }


__all__ = ["knowledge_context"]
