"""ICE and RICE scores, the ranking, and how the ranking holds up when one score moves by one.

**Scores** (anchors 1-10 for impact I, confidence C and ease E):

ICE product   I x C x E (1 to 1000); with ``geometric`` its cube root (I x C x E)^(1/3), back on
              the 1-10 scale (the order is the same, the numbers read like the anchors)
ICE mean      (I + C + E) / 3
RICE          reach x I x (C / 10) / effort: reach in users a month, confidence as a share
              (C / 10), effort = 11 - E (E = 10 is the least effort, 1) unless the backlog has an
              ``effort`` column, which is then used as it is (person-weeks or any positive unit)

Both ICE scores are always shown; :class:`Scoring` says which one ranks (or RICE).

**Ranking.** rank = 1 + the number of ideas with a strictly higher score: equal scores share a
rank (ties), and the next rank is skipped (1, 2, 2, 4).

**Sensitivity (+/-1).** Each idea's I, C and E (or effort) is moved by -1 and by +1, one at a
time, kept within 1..10 (effort: at least 1), the other ideas unchanged; the idea's rank is
computed again each time. Its *rank range* is the best and worst rank over those changes and
the unchanged one. An idea is **stable** when no single change moves its rank by more than
``stable_within`` places (default 1). A **flip** is a pair of ideas whose order reverses (the
one above falls strictly below) under one +/-1 change of either idea's scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from playbook.errors import DataError, ParameterError
from playbook.i18n import gettext as _

METHODS = ("ice", "rice")
ICE_SCORES = ("product", "mean")
FACTORS = ("impact", "confidence", "ease")
DIGITS = 9  # scores equal to 9 decimals are ties


@dataclass(frozen=True)
class Scoring:
    """Which score ranks: ``method`` ice or rice; for ice, ``ice_score`` product or mean and,
    for the product, ``geometric`` (its cube root)."""

    method: str = "ice"
    ice_score: str = "product"
    geometric: bool = False

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ParameterError(f"score: must be 'ice' or 'rice', got {self.method!r}")
        if self.ice_score not in ICE_SCORES:
            raise ParameterError(f"ice_score: must be 'product' or 'mean', got {self.ice_score!r}")

    def name(self) -> str:
        """The score's name as the report writes it."""
        if self.method == "rice":
            return _("RICE")
        if self.ice_score == "mean":
            return _("ICE mean")
        return _("ICE product (geometric mean)") if self.geometric else _("ICE product")


def ice_product(impact: np.ndarray, confidence: np.ndarray, ease: np.ndarray, geometric: bool = False) -> np.ndarray:
    product = np.asarray(impact, float) * np.asarray(confidence, float) * np.asarray(ease, float)
    return np.asarray(np.cbrt(product) if geometric else product, float)


def ice_mean(impact: np.ndarray, confidence: np.ndarray, ease: np.ndarray) -> np.ndarray:
    return np.asarray((np.asarray(impact, float) + np.asarray(confidence, float) + np.asarray(ease, float)) / 3, float)


def rice(reach: np.ndarray, impact: np.ndarray, confidence: np.ndarray, effort: np.ndarray) -> np.ndarray:
    value = np.asarray(reach, float) * np.asarray(impact, float) * np.asarray(confidence, float) / 10
    return np.asarray(value / np.asarray(effort, float), float)


@dataclass(frozen=True)
class Inputs:
    """The score inputs of the ranked ideas: I, C and the third factor (ease for ICE; for RICE
    the effort: 11 - ease, or the ``effort`` column), and reach (RICE only)."""

    impact: np.ndarray
    confidence: np.ndarray
    third: np.ndarray
    reach: np.ndarray
    effort_column: bool = False
    derived_effort: bool = False  # RICE's effort = 11 - ease: a change of it is a change of ease

    def change(self, factor: int, step: int) -> tuple[str, int]:
        """The backlog column and step that moving ``factor`` by ``step`` stands for."""
        if factor < 2:
            return FACTORS[factor], step
        if self.derived_effort:
            return "ease", -step
        return ("effort" if self.effort_column else "ease"), step

    def moved(self, i: int, factor: int, step: int) -> Inputs | None:
        """Idea ``i``'s factor (0 impact, 1 confidence, 2 third) moved by ``step``, within its
        bounds; None when the bound leaves it where it is."""
        arrays = [self.impact.copy(), self.confidence.copy(), self.third.copy()]
        old = arrays[factor][i]
        upper = np.inf if factor == 2 and self.effort_column else 10.0
        new = float(np.clip(old + step, 1.0, upper))
        if new == old:
            return None
        arrays[factor][i] = new
        return Inputs(arrays[0], arrays[1], arrays[2], self.reach, self.effort_column, self.derived_effort)


def inputs(ideas: pd.DataFrame, scoring: Scoring) -> Inputs:
    """The :class:`Inputs` of ``ideas`` (the backlog's checked columns) for ``scoring``."""
    impact = ideas["impact"].to_numpy(float)
    confidence = ideas["confidence"].to_numpy(float)
    if scoring.method == "ice":
        return Inputs(impact, confidence, ideas["ease"].to_numpy(float), np.ones(len(ideas)))
    reach = pd.to_numeric(ideas["reach"], errors="coerce").to_numpy(float)
    bad = ideas["idea_id"][~(reach > 0)].tolist()
    if bad:
        raise DataError(f"backlog: column 'reach' of idea {', '.join(map(str, bad[:5]))} is missing or not "
                        "positive; RICE needs each idea's reach (users a month), or set score: ice")
    if "effort" in ideas.columns:
        effort = pd.to_numeric(ideas["effort"], errors="coerce").to_numpy(float)
        bad = ideas["idea_id"][~(effort >= 1)].tolist()
        if bad:
            raise DataError(f"backlog: column 'effort' of idea {', '.join(map(str, bad[:5]))} is missing or "
                            "below 1; give every idea an effort of 1 or more, or drop the column (effort = 11 - ease)")
        return Inputs(impact, confidence, effort, reach, effort_column=True)
    return Inputs(impact, confidence, 11 - ideas["ease"].to_numpy(float), reach, derived_effort=True)


#: A score function: inputs -> one score per idea (stated confidence goes in; calibration, if
#: any, happens inside).
ScoreFn = Callable[[Inputs], np.ndarray]


def score_fn(scoring: Scoring, confidence_map: Callable[[np.ndarray], np.ndarray] | None = None) -> ScoreFn:
    """The score of :class:`Inputs` under ``scoring``; ``confidence_map`` turns the stated
    confidence into the one that is scored (the calibrated confidence), identity if None."""

    def fn(x: Inputs) -> np.ndarray:
        c = x.confidence if confidence_map is None else confidence_map(x.confidence)
        if scoring.method == "rice":
            return rice(x.reach, x.impact, c, x.third)
        if scoring.ice_score == "mean":
            return ice_mean(x.impact, c, x.third)
        return ice_product(x.impact, c, x.third, scoring.geometric)

    return fn


def ranks(scores: np.ndarray) -> np.ndarray:
    """1 + the number of strictly higher scores (ties share the best rank)."""
    s = np.round(np.asarray(scores, float), DIGITS)
    return np.asarray(1 + (s[None, :] > s[:, None]).sum(axis=1), int)


def sensitivity(x: Inputs, fn: ScoreFn, ids: list[str], stable_within: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per idea: score, rank, rank_low (best), rank_high (worst), the largest move, stable, and
    the ids it is tied with; and the flips: above, below, idea_moved, factor, step, and the
    scores after the change."""
    if isinstance(stable_within, bool) or not isinstance(stable_within, int) or stable_within < 0:
        raise ParameterError(f"stable_within: must be a whole number of places, 0 or more; got {stable_within!r}")
    base = np.round(fn(x), DIGITS)
    rank = ranks(base)
    n = len(base)
    low, high, flips = rank.copy(), rank.copy(), []
    seen: set[tuple[int, int]] = set()
    for i in range(n):
        for factor in range(3):
            for step in (-1, 1):
                moved = x.moved(i, factor, step)
                if moved is None:
                    continue
                s = np.round(fn(moved), DIGITS)
                r = 1 + int((np.delete(s, i) > s[i]).sum())
                low[i], high[i] = min(low[i], r), max(high[i], r)
                for j in range(n):
                    pair = (i, j) if base[i] > base[j] else (j, i)
                    if j == i or base[i] == base[j] or pair in seen:
                        continue
                    if (base[i] > base[j]) != (s[i] > s[j]) and s[i] != s[j]:
                        seen.add(pair)
                        column, change = x.change(factor, step)
                        flips.append({"above": ids[pair[0]], "below": ids[pair[1]], "idea_moved": ids[i],
                                      "factor": column, "step": change,
                                      "score_above": float(s[pair[0]]), "score_below": float(s[pair[1]])})
    tied = [[ids[j] for j in range(n) if j != i and base[j] == base[i]] for i in range(n)]
    move = np.maximum(rank - low, high - rank)
    table = pd.DataFrame({"idea_id": ids, "score": base, "rank": rank, "rank_low": low, "rank_high": high,
                          "rank_move": move, "stable": move <= stable_within, "tied_with": tied})
    flip_cols = ["above", "below", "idea_moved", "factor", "step", "score_above", "score_below"]
    return table, pd.DataFrame(flips, columns=flip_cols)


__all__ = ["FACTORS", "ICE_SCORES", "METHODS", "Inputs", "Scoring", "ice_mean", "ice_product", "inputs", "ranks",
           "rice", "score_fn", "sensitivity"]
