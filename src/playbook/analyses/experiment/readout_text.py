"""Words of the readout's prose and tables in the report's language: p-values, separators,
metric roles, guardrail verdicts and the sentence on effects that differ by segment (English
text unchanged; zh-CN from the ``experiment`` catalogue)."""

from __future__ import annotations

from typing import Any

from playbook.i18n import gettext as _
from playbook.i18n import pgettext
from playbook.report import esc, pct


def p_text(p: float) -> str:
    """A p-value as the prose shows it: ``< 0.0001``, ``0.0003``, ``0.639``."""
    return "< 0.0001" if p < 1e-4 else f"{p:.2g}" if p < 0.01 else f"{p:.3f}"


def separator(kind: str = "list") -> str:
    """The separator of a list (``", "``, 、) or of clauses (``"; "``, ；)."""
    return pgettext("experiment", ", ") if kind == "list" else pgettext("experiment", "; ")


def role_label(role: object) -> str:
    """A metric's role as the reader reads it (``primary`` / 主要指标)."""
    return {"primary": pgettext("metric role", "primary"), "secondary": pgettext("metric role", "secondary"),
            "guardrail": pgettext("metric role", "guardrail")}.get(str(role), str(role))


def guardrail_label(verdict: str) -> str:
    """A guardrail's verdict (``pass`` / 守住, ``fail`` / 未通过); other text as it is."""
    return {"pass": pgettext("guardrail", "pass"), "fail": pgettext("guardrail", "fail")}.get(verdict, verdict)


def heterogeneity_sentence(het: Any, *, arms: int, correction: str | None) -> str:
    """Whether the effect differs by each breakdown (``het``: the readout's heterogeneity table),
    one clause per breakdown; "" without breakdowns. ``arms``: the number of arms (with more than
    two, a clause names its arm)."""
    if het is None or not len(het):
        return ""
    tested = het[het["p_value"].notna()]
    parts = []
    for seg in dict.fromkeys(het["segment"]):
        rows = tested[tested["segment"] == seg]
        if not len(rows):
            parts.append(_("{segment}: fewer than two levels large enough to compare").format(segment=esc(seg)))
            continue
        differs = rows[rows["differs"]]
        for r in differs.itertuples():
            parts.append(_("**the effect differs by {segment}**{for_arm} (Cochran's Q p {p} over {levels} levels "
                           "after correction): from {lift_min} ({level_min}) to {lift_max} ({level_max})").format(
                segment=esc(seg), for_arm=_(" for {arm}").format(arm=esc(r.arm)) if arms > 2 else "",
                p=p_text(r.p_value_adj), levels=r.levels,
                lift_min=pct(r.lift_min, 1, sign=True), level_min=esc(r.level_min),
                lift_max=pct(r.lift_max, 1, sign=True), level_max=esc(r.level_max)))
        if not len(differs):
            corrected = _(" after correction") if len(tested) > 1 and correction != "none" else ""
            parts.append(_("no evidence that the effect differs by {segment} (Cochran's Q p {p} over {levels} "
                           "levels{corrected})").format(
                segment=esc(seg), p=p_text(float(rows["p_value_adj"].min())),
                levels=int(rows["levels"].max()), corrected=corrected))
    return _("Across segments: {parts}. The decision is read on the whole sample; the segment lifts are shown "
             "for exploring.").format(parts=separator("clauses").join(parts))


__all__ = ["guardrail_label", "heterogeneity_sentence", "p_text", "role_label", "separator"]
