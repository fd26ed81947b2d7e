"""The readout's decision rules (:func:`decide`): ship, no-ship, keep-running or invalid,
and the arm the decision is about; the rules are in :mod:`playbook.analyses.experiment.readout`'s docstring."""

from __future__ import annotations

import pandas as pd

from playbook.errors import DataError
from playbook.i18n import gettext as _
from playbook.i18n import pgettext


def _arm_decision(rows: pd.DataFrame, reached: bool, alpha: float) -> tuple[str, list[str]]:
    """Rules 2 to 5 of the module docstring for one treatment arm's rows: (decision, reasons)."""
    prim = rows[rows["role"] == "primary"].iloc[0]
    good = (prim["lift_rel"] > 0) == bool(prim["higher_is_better"])
    guards = rows[rows["role"] == "guardrail"]
    failing = guards[guards["guardrail"] == "fail"]
    harmful = failing[(failing["p_value"] < alpha) & failing["degenerate"].isna()
                      & ((failing["lift_rel"] > 0) != failing["higher_is_better"].astype(bool))]
    if prim["significant"] and not good:
        return "no-ship", [_("the primary metric {metric} is significantly worse").format(metric=prim["metric"])]
    if len(harmful):
        return "no-ship", [_("guardrail {metric} is significantly worse beyond its margin").format(metric=g)
                         for g in harmful["metric"]]
    if len(failing):
        names = pgettext("experiment", ", ").join(failing["metric"])
        if reached:
            return "no-ship", [_("guardrail {metrics} could not be shown non-inferior at its margin with the "
                                 "planned sample").format(metrics=names)]
        return "keep-running", [_("guardrail {metrics} is not yet shown non-inferior at its margin, and the "
                                  "planned sample is not reached").format(metrics=names)]
    if prim["significant"]:
        return "ship", [_("the primary metric {metric} is significantly better and every guardrail holds").format(
            metric=prim["metric"])]
    if reached:
        return "no-ship", [_("the primary metric {metric} shows no significant effect at the planned sample").format(
            metric=prim["metric"])]
    return "keep-running", [_("the primary metric {metric} is not significant yet and the planned sample "
                              "is not reached").format(metric=prim["metric"])]


def decide(comparisons: pd.DataFrame, srm_invalid: bool, reached: bool, alpha: float) -> tuple[str, str | None,
                                                                                              list[str]]:
    """The decision rules of the module docstring: (decision, arm it is about, reasons)."""
    if srm_invalid:
        return "invalid", None, [_("the traffic split does not match the design (sample ratio mismatch)")]
    per_arm = {str(arm): _arm_decision(rows, reached, alpha) for arm, rows in comparisons.groupby("arm", sort=False)}
    for decision in ("ship", "keep-running", "no-ship"):
        arms = [a for a, (d, _reasons) in per_arm.items() if d == decision]
        if arms:
            prim = comparisons[(comparisons["role"] == "primary") & comparisons["arm"].isin(arms)]
            sign = 1 if bool(prim["higher_is_better"].iloc[0]) else -1
            best = str(prim.loc[(sign * prim["lift_rel"]).idxmax(), "arm"])
            return decision, best, per_arm[best][1]
    raise DataError("no treatment arm to decide on")  # pragma: no cover - _arms guarantees one
