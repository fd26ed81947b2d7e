"""The readout's decision rules (:func:`decide`): ship, no-ship, keep-running or invalid,
and the arm the decision is about; the rules are in :mod:`playbook.analyses.experiment.readout`'s docstring."""

from __future__ import annotations

import pandas as pd

from playbook.errors import DataError


def _arm_decision(rows: pd.DataFrame, reached: bool, alpha: float) -> tuple[str, list[str]]:
    """Rules 2 to 5 of the module docstring for one treatment arm's rows: (decision, reasons)."""
    prim = rows[rows["role"] == "primary"].iloc[0]
    good = (prim["lift_rel"] > 0) == bool(prim["higher_is_better"])
    guards = rows[rows["role"] == "guardrail"]
    failing = guards[guards["guardrail"] == "fail"]
    harmful = failing[(failing["p_value"] < alpha) & failing["degenerate"].isna()
                      & ((failing["lift_rel"] > 0) != failing["higher_is_better"].astype(bool))]
    if prim["significant"] and not good:
        return "no-ship", [f"the primary metric {prim['metric']} is significantly worse"]
    if len(harmful):
        return "no-ship", [f"guardrail {g} is significantly worse beyond its margin" for g in harmful["metric"]]
    if len(failing):
        names = ", ".join(failing["metric"])
        if reached:
            return "no-ship", [f"guardrail {names} could not be shown non-inferior at its margin with the "
                               "planned sample"]
        return "keep-running", [f"guardrail {names} is not yet shown non-inferior at its margin, and the "
                                "planned sample is not reached"]
    if prim["significant"]:
        return "ship", [f"the primary metric {prim['metric']} is significantly better and every guardrail holds"]
    if reached:
        return "no-ship", [f"the primary metric {prim['metric']} shows no significant effect at the planned sample"]
    return "keep-running", [f"the primary metric {prim['metric']} is not significant yet and the planned sample "
                            "is not reached"]


def decide(comparisons: pd.DataFrame, srm_invalid: bool, reached: bool, alpha: float) -> tuple[str, str | None,
                                                                                              list[str]]:
    """The decision rules of the module docstring: (decision, arm it is about, reasons)."""
    if srm_invalid:
        return "invalid", None, ["the traffic split does not match the design (sample ratio mismatch)"]
    per_arm = {str(arm): _arm_decision(rows, reached, alpha) for arm, rows in comparisons.groupby("arm", sort=False)}
    for decision in ("ship", "keep-running", "no-ship"):
        arms = [a for a, (d, _) in per_arm.items() if d == decision]
        if arms:
            prim = comparisons[(comparisons["role"] == "primary") & comparisons["arm"].isin(arms)]
            sign = 1 if bool(prim["higher_is_better"].iloc[0]) else -1
            best = str(prim.loc[(sign * prim["lift_rel"]).idxmax(), "arm"])
            return decision, best, per_arm[best][1]
    raise DataError("no treatment arm to decide on")  # pragma: no cover - _arms guarantees one
