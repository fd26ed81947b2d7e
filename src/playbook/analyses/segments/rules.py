"""Named segments as an editable mapping (YAML), and the value tiers' cut points.

A segments file (the packaged ``segments/segments.yaml`` documents the format) lists rules::

    segments:
      - name: champions
        meaning: Bought recently, buy often and spend the most
        r: [4, 5]        # R score from 4 to 5 (both included)
        f: [4, 5]
        m: [4, 5]        # a score left out matches any value

Rules are tried top to bottom; the **first** that matches names the user's segment. Users no
rule matches are :data:`OTHER`; users without a purchase are :data:`NO_PURCHASE` (both names
are reserved). A bad rule is a :class:`DataError` naming the file and the segment.

Value tiers rank the users with a purchase by monetary value: ``tier_cuts=[0.01, 0.10, 0.50]``
makes ``top_1pct`` (fewer than 1% of buyers spent more), ``top_1_10pct``, ``top_10_50pct`` and
``rest``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from playbook.errors import DataError, ParameterError
from playbook.sql import quote_string

NO_PURCHASE = "no_purchase"
OTHER = "other"
RESERVED = (NO_PURCHASE, OTHER)
SCORES = ("r", "f", "m")
RULE_KEYS = {"name", "meaning", *SCORES}
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
DEFAULT_FILE = "segments.yaml"
PACKAGED = f"playbook/analyses/segments/{DEFAULT_FILE}"


@dataclass(frozen=True)
class SegmentRule:
    """One named segment: score ranges (None: any score) and what it means."""

    name: str
    meaning: str
    r: tuple[int, int] | None = None
    f: tuple[int, int] | None = None
    m: tuple[int, int] | None = None

    def ranges(self) -> dict[str, tuple[int, int]]:
        return {k: v for k, v in (("r", self.r), ("f", self.f), ("m", self.m)) if v is not None}

    def matches(self, r: int, f: int, m: int) -> bool:
        score = {"r": r, "f": f, "m": m}
        return all(lo <= score[k] <= hi for k, (lo, hi) in self.ranges().items())

    def in_words(self) -> str:
        """``R 4-5, F 4-5, M any`` (English: a tag set's definitions are a shared asset)."""
        parts = []
        for k in SCORES:
            rng = self.ranges().get(k)
            text = "any" if rng is None else (f"{rng[0]}" if rng[0] == rng[1] else f"{rng[0]}-{rng[1]}")
            parts.append(f"{k.upper()} {text}")
        return ", ".join(parts)

    def condition(self) -> str:
        """The rule as a SQL condition over the columns ``r``, ``f``, ``m`` (numbers only)."""
        terms = [f"{k} BETWEEN {lo:d} AND {hi:d}" for k, (lo, hi) in self.ranges().items()]
        return " AND ".join(terms) or "TRUE"


@dataclass(frozen=True)
class SegmentRules:
    """The rules of a segments file, in order, and where they came from."""

    rules: tuple[SegmentRule, ...]
    source: str

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.rules]

    def assign(self, r: int, f: int, m: int) -> str:
        """The first segment whose rule matches, else :data:`OTHER` (reference for the SQL)."""
        return next((rule.name for rule in self.rules if rule.matches(r, f, m)), OTHER)

    def case_sql(self) -> str:
        """``CASE WHEN <rule 1> THEN 'name' ... ELSE 'other' END``: first match wins."""
        whens = " ".join(f"WHEN {rule.condition()} THEN {quote_string(rule.name)}" for rule in self.rules)
        return f"CASE {whens} ELSE {quote_string(OTHER)} END" if whens else quote_string(OTHER)


def load_segment_rules(path: str | Path | None = None) -> SegmentRules:
    """The rules of a segments file (default: the packaged one); a :class:`DataError` naming the
    file and the segment for anything wrong."""
    if path is None or str(path) == "":
        text = resources.files("playbook.analyses.segments").joinpath(DEFAULT_FILE).read_text(encoding="utf-8")
        where = PACKAGED
    else:
        from playbook.project import paths

        p = paths().resolve(path)
        if not p.is_file():
            raise DataError(f"{p}: segments file not found; give segments_file an existing YAML file "
                            f"(copy {PACKAGED} to start), or leave it empty for the packaged segments")
        text, where = p.read_text(encoding="utf-8"), str(p)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DataError(f"{where}: not valid YAML ({exc})") from None
    return parse_segment_rules(raw, where)


def parse_segment_rules(raw: Any, where: str) -> SegmentRules:
    """Validate the parsed YAML of a segments file (``where`` names it in errors)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("segments"), list) or not raw["segments"]:
        raise DataError(f"{where}: expected a mapping with 'segments': a list of rules "
                        "(name, meaning, r/f/m ranges); see " + PACKAGED)
    rules: list[SegmentRule] = []
    for i, item in enumerate(raw["segments"]):
        rules.append(_rule(item, where, i, {r.name for r in rules}))
    return SegmentRules(tuple(rules), where)


def _rule(item: Any, where: str, i: int, seen: set[str]) -> SegmentRule:
    if not isinstance(item, dict):
        raise DataError(f"{where}: segments[{i}]: expected a mapping with name, meaning and r/f/m ranges")
    name = item.get("name")
    at = f"segment '{name}'" if isinstance(name, str) else f"segments[{i}]"
    if not isinstance(name, str) or not NAME.match(name):
        raise DataError(f"{where}: {at}: name must be lower-case letters, digits and underscores, "
                        "starting with a letter (e.g. 'at_risk')")
    if name in RESERVED:
        raise DataError(f"{where}: {at}: the name '{name}' is reserved (users without a purchase are "
                        f"'{NO_PURCHASE}', users no rule matches are '{OTHER}'); choose another")
    if name in seen:
        raise DataError(f"{where}: {at}: defined twice; each segment has one rule")
    unknown = sorted(str(k) for k in item if k not in RULE_KEYS)
    if unknown:
        raise DataError(f"{where}: {at}: unknown key {', '.join(map(repr, unknown))} "
                        f"(a rule has {', '.join(sorted(RULE_KEYS))})")
    ranges = {k: _range(item[k], where, at, k) for k in SCORES if k in item}
    if not ranges:
        raise DataError(f"{where}: {at}: no score range; give at least one of r, f, m as [low, high]")
    return SegmentRule(name, str(item.get("meaning") or ""), **ranges)


def _range(value: Any, where: str, at: str, key: str) -> tuple[int, int]:
    ok = (isinstance(value, list) and len(value) == 2
          and all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 5 for v in value)
          and value[0] <= value[1])
    if not ok:
        raise DataError(f"{where}: {at}: {key} must be [low, high] with whole scores from 1 to 5 and "
                        f"low <= high (got {value!r}); e.g. {key}: [4, 5]")
    return int(value[0]), int(value[1])


# -- value tiers -------------------------------------------------------------------------------------
def tier_names(cuts: list[float]) -> list[str]:
    """``[0.01, 0.1, 0.5]`` -> ``top_1pct, top_1_10pct, top_10_50pct, rest``."""
    pct = [_pct(c) for c in cuts]
    names = [f"top_{pct[0]}pct"]
    names += [f"top_{a}_{b}pct" for a, b in zip(pct, pct[1:], strict=False)]
    return [*names, "rest"]


def _pct(c: float) -> str:
    text = f"{c * 100:.4g}"
    return text.replace(".", "_")


def check_tier_cuts(cuts: Any) -> list[float]:
    """Increasing shares strictly between 0 and 1 (a :class:`ParameterError` naming tier_cuts)."""
    ok = isinstance(cuts, list | tuple) and len(cuts) >= 1 and all(
        isinstance(c, int | float) and not isinstance(c, bool) and math.isfinite(c) and 0 < c < 1 for c in cuts)
    if not ok or any(b <= a for a, b in zip(cuts, cuts[1:], strict=False)):
        raise ParameterError(f"tier_cuts={cuts!r}: give increasing shares of buyers between 0 and 1, "
                             "e.g. [0.01, 0.10, 0.50] for the top 1%, the next 9%, the next 40% and the rest")
    return [float(c) for c in cuts]


def tier_meaning(name: str, cuts: list[float]) -> tuple[str, str]:
    """What a tier means and its rule, in words (English, for the tag set's definitions)."""
    names = tier_names(cuts)
    i = names.index(name)
    lo = _pct(0.0 if i == 0 else cuts[i - 1]).replace("_", ".") + "%"
    hi = _pct(1.0 if i == len(cuts) else cuts[i]).replace("_", ".") + "%"
    meaning = (f"Buyers in the top {hi} by money spent" if i == 0 else
               f"Buyers ranked from the top {lo} to the top {hi} by money spent" if i < len(cuts) else
               f"Buyers below the top {lo} by money spent")
    rule = (f"the share of buyers who spent more is at least {lo} and below {hi} "
            "(equal spending, equal tier: ties go to the higher tier)")
    return meaning, rule
