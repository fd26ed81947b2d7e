"""What retention_cohorts shows, ready for the report: each table as the keyword arguments of
``report.table`` (frame, formats, labels, caption), and the paragraphs with their numbers, so
that the notebook only places them."""

from __future__ import annotations

from typing import Any

import pandas as pd

from playbook.analyses.retention.result import RetentionResult, share_ci
from playbook.i18n import gettext as _
from playbook.report import num, share_with_ci


def marks_table(result: RetentionResult) -> dict[str, Any]:
    """Day-n retention of the latest complete cohorts with its trend across cohorts."""
    marks = [{"day": f"D{m.day}", "value": share_ci(m.rate, m.ci_low, m.ci_high), "users": m.users,
              "cohorts": ", ".join(m.latest), "slope": m.trend.slope, "p": m.trend.p_value} for m in result.day]
    return {"df": pd.DataFrame(marks), "formats": {"users": "{:,.0f}", "slope": "{:+.4f}", "p": "{:.2g}"},
            "labels": {"day": _("day"), "value": _("retained (95% CI)"), "users": _("users"),
                       "cohorts": _("latest complete cohorts pooled"), "slope": _("trend, log-odds per cohort"),
                       "p": _("trend p-value")},
            "caption": _("Day-n retention of the latest complete cohorts, and its trend across all complete cohorts")}


def revenue_table(result: RetentionResult) -> dict[str, Any] | None:
    """Revenue of the complete cohort periods, pooled, as a share of period 0; None without any."""
    rev = result.revenue[result.revenue["complete"]]
    if not len(rev):
        return None
    pooled = rev.groupby(["period", "label"], as_index=False)["revenue"].sum()
    base = pooled.loc[pooled["period"] == 0, "revenue"]
    pooled["ratio"] = pooled["revenue"] / (float(base.iloc[0]) if len(base) and base.iloc[0] else float("nan"))
    return {"df": pooled[["label", "revenue", "ratio"]], "formats": {"revenue": "{:,.0f}", "ratio": "{:.1%}"},
            "labels": {"label": _("period"), "revenue": _("revenue of complete cohorts"),
                       "ratio": _("share of period 0")},
            "caption": _("Revenue retention: revenue in each period over period 0, cohorts whose period is complete")}


def repurchase_text(result: RetentionResult) -> str:
    """The repurchase paragraph: rate, the interval between purchases, the orders left out."""
    r, ex = result.repurchase, result.excluded_orders
    return _("**Repurchase.** {rate} of {n} purchasers observed for {days} days bought again within {days} days. "
             "Between two purchases: median {p50} days (95% CI {p50lo} to {p50hi}), p90 {p90} days "
             "(95% CI {p90lo} to {p90hi}), over {m} intervals. Left out of purchases: {future} orders after the "
             "snapshot and {neg} with a negative amount.").format(
        rate=share_with_ci(r.rate, r.ci_low, r.ci_high), n=num(r.purchasers), days=r.horizon_days,
        p50=num(r.p50_days, 1), p50lo=num(r.p50_ci[0], 1), p50hi=num(r.p50_ci[1], 1),
        p90=num(r.p90_days, 1), p90lo=num(r.p90_ci[0], 1), p90hi=num(r.p90_ci[1], 1),
        m=num(r.intervals), future=num(ex["after_as_of"]), neg=num(ex["negative_amount"]))


def decay_text(result: RetentionResult) -> str:
    """The repeat-decay paragraph: the month-over-month ratio with its interval."""
    d = result.decay
    return _("**Repeat decay.** Each 30-day month after the first purchase, the chance of a repeat purchase is "
             "{ratio} times the previous month's (95% CI {lo} to {hi}; {cells} complete cohort-months of {cohorts} "
             "first-purchase cohorts, {family} model with log link).").format(
        ratio=num(d.ratio, 3), lo=num(d.ci_low, 3), hi=num(d.ci_high, 3), cells=d.cells, cohorts=d.cohorts,
        family=d.family)


def usage_table(result: RetentionResult) -> dict[str, Any]:
    """Active days per active user in each calendar month, with the distribution."""
    u = result.usage
    df = u.assign(mean_ci=[f"{m:.2f} ({lo:.2f}–{hi:.2f})" for m, lo, hi in u[["mean", "ci_low", "ci_high"]].to_numpy()],
                  complete=[_("yes") if c else _("no (month not over)") for c in u["complete"]])
    return {"df": df[["month", "users", "mean_ci", "p50", "p90", "1", "2", "3", "4-7", "8-14", "15+", "complete"]],
            "formats": {"month": lambda v: str(v)[:7], "users": "{:,.0f}", "p50": "{:.0f}", "p90": "{:.0f}"},
            "labels": {"month": _("month"), "users": _("active users"), "mean_ci": _("mean active days (95% CI)"),
                       "p50": _("median"), "p90": _("p90"), "complete": _("complete")},
            "caption": _("Monthly usage frequency: active days per active user, and how many users had 1, 2, 3, "
                         "4-7, 8-14 or 15+ active days")}


def lifecycle_table(result: RetentionResult) -> dict[str, Any]:
    """New, returning, resurrecting and dormant users in each calendar period."""
    life = result.lifecycle
    return {"df": life.assign(period=[str(p)[:10] for p in life["period"]],
                              complete=[_("yes") if c else _("no") for c in life["complete"]]),
            "formats": {c: "{:,.0f}" for c in ("new", "returning", "resurrecting", "dormant")},
            "labels": {"period": _("period"), "new": _("new"), "returning": _("returning"),
                       "resurrecting": _("resurrecting"), "dormant": _("dormant"), "complete": _("complete")},
            "caption": _("Lifecycle: active users by kind in each calendar period; dormant were active the period "
                         "before")}


def segments_table(result: RetentionResult, breakdown: str) -> dict[str, Any] | None:
    """Day-n retention per segment of ``breakdown`` with the chi-square test; None without one."""
    seg = result.segments
    if seg is None or not len(seg):
        return None
    df = seg.assign(value=[share_with_ci(*v) for v in seg[["rate", "ci_low", "ci_high"]].to_numpy()])
    return {"df": df[["day", "segment", "users", "value", "chi2", "p_value"]],
            "formats": {"users": "{:,.0f}", "chi2": "{:.1f}", "p_value": "{:.2g}"},
            "labels": {"day": _("day"), "segment": breakdown, "users": _("users"), "value": _("retained (95% CI)"),
                       "chi2": _("chi-square"), "p_value": _("p-value")}}


__all__ = ["decay_text", "lifecycle_table", "marks_table", "repurchase_text", "revenue_table", "segments_table",
           "usage_table"]
