"""Metrics of an experiment readout as data: validate the notebook's ``metrics`` parameter.

An analyst lists metrics as dicts (a notebook parameter or a spec's YAML); each becomes a
:class:`MetricDef`. Every key is checked here, and an error names the metric and the key::

    {"name": "apply_rate", "kind": "binary", "event": "apply", "role": "primary"}
    {"name": "approval_rate", "kind": "ratio", "numerator_event": "approve",
     "denominator_event": "apply", "role": "guardrail", "margin": 0.05}
    {"name": "revenue_per_user", "kind": "mean", "event": "disburse", "value": "revenue",
     "role": "secondary", "cap_quantile": 0.99}
    {"name": "loan_size", "kind": "ratio", "table": "orders", "numerator_value": "amount",
     "role": "guardrail", "margin": 0.10}

Kinds (the unit is always the randomized user; every assigned user counts, with 0 when they
did nothing):

    binary   1 if the user has at least one ``event`` row in the window (with ``value`` > 0 when
             ``value`` is given, e.g. a 0/1 column of a per-user table), else 0
    mean     per user, the sum of ``value`` over the window's ``event`` rows (the row count
             when ``value`` is omitted): revenue per user, loans per user
    ratio    sum over users of the numerator / sum of the denominator (each a sum of a value
             or a row count, like ``mean``): approval rate per application, amount per order;
             tested with the delta method, the user being the unit

Keys: ``name`` (letters, digits, ``_``), ``kind``, ``role`` (``primary``, ``secondary``,
``guardrail``; exactly one primary), ``higher_is_better`` (default true), ``margin`` (guardrails:
the relative drop that is still acceptable, default 0.05 = 5% of control), ``window_days``
(default: the readout's), ``cap_quantile`` or ``cap`` (winsorize mean metrics and ratio
numerators from above at a pooled quantile / fixed value), ``cuped`` (default: true for the
primary metric when the readout uses CUPED; binary and mean metrics only), ``table`` (default
``events``), ``ts`` (timestamp column, default ``ts``; empty for a table with one row per user
and no time, read without a window), ``event_col`` (default ``event``), ``event`` / ``value``
for binary and mean, ``numerator_event`` / ``numerator_value`` / ``denominator_event`` /
``denominator_value`` for ratio, ``unit`` (shown next to means and ratios, e.g. ``EUR``),
``description``. ``event`` may be omitted to use every row of ``table``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from playbook.errors import DataError

KINDS = ("binary", "mean", "ratio")
ROLES = ("primary", "secondary", "guardrail")
DEFAULT_MARGIN = 0.05
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_COMMON = {"name", "kind", "role", "higher_is_better", "margin", "window_days", "cap_quantile", "cap",
           "cuped", "table", "ts", "event_col", "description", "unit"}
_KEYS = {
    "binary": _COMMON | {"event", "value"},
    "mean": _COMMON | {"event", "value"},
    "ratio": _COMMON | {"numerator_event", "numerator_value", "denominator_event", "denominator_value"},
}


@dataclass(frozen=True)
class Part:
    """One per-user sum: rows of ``table`` (optionally only ``event``), summing ``value`` or counting."""

    table: str
    ts: str | None
    event_col: str
    event: str | None
    value: str | None
    window_days: float | None


@dataclass(frozen=True)
class MetricDef:
    """A validated metric (see the module docstring for each key)."""

    name: str
    kind: str
    role: str
    higher_is_better: bool
    margin: float
    numerator: Part
    denominator: Part | None
    cap_quantile: float | None
    cap: float | None
    cuped: bool | None
    description: str = ""
    unit: str = ""

    @property
    def parts(self) -> list[Part]:
        return [self.numerator] + ([self.denominator] if self.denominator else [])


@dataclass(frozen=True)
class _Reader:
    """One metric dict being read; ``i`` (its position) and ``name`` go into every message."""

    i: int
    name: str
    raw: Mapping[str, Any]

    def err(self, key: str, msg: str) -> DataError:
        return DataError(f"metrics[{self.i}] ({self.name}): key '{key}': {msg}")

    def text(self, key: str, default: str | None) -> str | None:
        value = self.raw.get(key, default)
        if value is None or value == "":
            return None if key != "event_col" else default
        if not isinstance(value, str):
            raise self.err(key, f"expected a column or event name (text), got {value!r}")
        return value

    def number(self, key: str, lo: float, hi: float, default: float | None = None) -> float | None:
        value = self.raw.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= float(value) <= hi:
            raise self.err(key, f"expected a number between {lo} and {hi}, got {value!r}")
        return float(value)

    def part(self, prefix: str, window: float | None) -> Part:
        table = self.text("table", "events") or "events"
        ts = self.raw.get("ts", "ts")
        if ts not in (None, "") and not isinstance(ts, str):
            raise self.err("ts", f"expected a timestamp column name or empty, got {ts!r}")
        return Part(
            table=table,
            ts=ts or None,
            event_col=self.text("event_col", "event") or "event",
            event=self.text(f"{prefix}event", None),
            value=self.text(f"{prefix}value", None),
            window_days=window,
        )

    def caps(self, kind: str) -> tuple[float | None, float | None]:
        """(cap_quantile, cap): at most one, and none for a binary metric."""
        cap_q = self.number("cap_quantile", 1e-9, 1.0)
        cap = self.number("cap", -1e300, 1e300)
        if cap_q is not None and cap is not None:
            raise self.err("cap", "give either cap (a value) or cap_quantile (a quantile), not both")
        if kind == "binary" and (cap_q is not None or cap is not None):
            raise self.err("cap_quantile" if cap_q is not None else "cap", "a binary metric cannot be capped")
        return cap_q, cap

    def cuped(self, kind: str) -> bool | None:
        cuped = self.raw.get("cuped")
        if cuped is not None and not isinstance(cuped, bool):
            raise self.err("cuped", f"expected true or false, got {cuped!r}")
        if cuped and kind == "ratio":
            raise self.err("cuped", "CUPED here adjusts binary and mean metrics (the pre-period table "
                           "holds one value per user); set cuped: false for a ratio metric")
        return cuped

    def parts(self, kind: str, window: float | None) -> tuple[Part, Part | None]:
        """(numerator, denominator); a ratio's two must differ."""
        if kind != "ratio":
            return self.part("", window), None
        num = self.part("numerator_", window)
        den = self.part("denominator_", window)
        if num.event is None and num.value is None and den.event is None and den.value is None:
            raise self.err("numerator_event", "a ratio needs a numerator_event or numerator_value that "
                           "differs from its denominator (e.g. approve per apply, amount per order)")
        return num, den


def _reader(i: int, raw: Any) -> tuple[_Reader, str]:
    """The reader of metric ``i`` and its kind, once the dict, its name, kind and keys are checked."""
    if not isinstance(raw, Mapping):
        raise DataError(f"metrics[{i}]: expected a dict such as {{'name': 'apply_rate', 'kind': 'binary', "
                        f"'event': 'apply', 'role': 'primary'}}, got {raw!r}")
    name = raw.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise DataError(f"metrics[{i}]: key 'name': expected letters, digits and _ (starting with a letter), "
                        f"got {name!r}")
    r = _Reader(i, name, raw)
    kind = raw.get("kind")
    if kind not in KINDS:
        raise r.err("kind", f"expected one of {', '.join(KINDS)}, got {kind!r}")
    unknown = sorted(set(raw) - _KEYS[kind])
    if unknown:
        raise r.err(unknown[0], f"unknown key for a {kind} metric; allowed: {', '.join(sorted(_KEYS[kind]))}")
    return r, kind


def parse_metric(i: int, raw: Any) -> MetricDef:
    """Validate one metric dict (``i`` is its position, for messages)."""
    r, kind = _reader(i, raw)
    role = raw.get("role", "secondary")
    if role not in ROLES:
        raise r.err("role", f"expected one of {', '.join(ROLES)}, got {role!r}")
    hib = raw.get("higher_is_better", True)
    if not isinstance(hib, bool):
        raise r.err("higher_is_better", f"expected true or false, got {hib!r}")
    margin = r.number("margin", 0.0, 1.0, DEFAULT_MARGIN)
    window = r.number("window_days", 1e-6, 3650.0)
    cap_q, cap = r.caps(kind)
    cuped = r.cuped(kind)
    num, den = r.parts(kind, window)
    desc = raw.get("description", "")
    unit = raw.get("unit", "")
    if not isinstance(unit, str):
        raise r.err("unit", f"expected text such as 'EUR' or 'loans', got {unit!r}")
    return MetricDef(name=r.name, kind=kind, role=role, higher_is_better=hib,
                     margin=float(margin or 0.0), numerator=num, denominator=den,
                     cap_quantile=cap_q, cap=cap, cuped=cuped, description=str(desc), unit=unit)


def parse_metrics(metrics: Any) -> list[MetricDef]:
    """Validate the ``metrics`` parameter: a non-empty list, unique names, exactly one primary."""
    if not isinstance(metrics, list | tuple) or not metrics:
        raise DataError("metrics: give a non-empty list of metric dicts, e.g. [{'name': 'apply_rate', "
                        "'kind': 'binary', 'event': 'apply', 'role': 'primary'}]")
    out = [parse_metric(i, m) for i, m in enumerate(metrics)]
    names = [m.name for m in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DataError(f"metrics: name '{dup[0]}' is used twice; give each metric its own name")
    primaries = [m.name for m in out if m.role == "primary"]
    if len(primaries) != 1:
        raise DataError(f"metrics: exactly one metric needs role 'primary' (found {len(primaries)}: "
                        f"{', '.join(primaries) or 'none'}); the decision is read on it")
    return out
