"""The small words of the readout's prose and tables in the report's language: p-values,
separators, metric roles and guardrail verdicts (English text unchanged; zh-CN from the
``experiment`` catalogue)."""

from __future__ import annotations

from playbook.i18n import pgettext


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


__all__ = ["guardrail_label", "p_text", "role_label", "separator"]
