"""Checks and sums shared by the sufficient-statistics classes of :mod:`playbook.stats.suffstats`.

A unit count, an array of per-unit values, capping (winsorizing) from above, the sums of two
arrays over the same units, a covariance from sums, and the field-by-field sum that combines
two instances of one class over disjoint units. Errors are :class:`~playbook.errors.DataError`
naming ``what`` (the class or function being built).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import Field, fields
from typing import Any, ClassVar, Protocol, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from playbook.errors import DataError

__all__ = ["add_fields", "as_array", "cap_value", "capped", "check_n", "covariance", "paired_sums"]


class _Dataclass(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]


_D = TypeVar("_D", bound=_Dataclass)


def check_n(n: Any, what: str) -> None:
    """Raise DataError unless ``n`` is a non-negative integer (a count of units)."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise DataError(f"{what}: n must be a non-negative integer count of units, got {n!r}")


def as_array(values: ArrayLike, what: str) -> np.ndarray:
    """``values`` as a one-dimensional float array; DataError for another shape, NaN or infinity."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise DataError(f"{what}: expected a one-dimensional array of unit values, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.sum(~np.isfinite(arr)))
        raise DataError(f"{what}: {bad} value(s) are NaN or infinite; fill or drop them before aggregating")
    return arr


def cap_value(values: ArrayLike, quantile: float) -> float:
    """The value at ``quantile`` (e.g. 0.99) of ``values``: the cap to winsorize every arm at."""
    if not 0.0 < quantile <= 1.0:
        raise DataError(f"cap_quantile must be in (0, 1], got {quantile!r}")
    arr = as_array(values, "cap_value")
    if arr.size == 0:
        raise DataError("cap_value: no values to take a quantile of")
    return float(np.quantile(arr, quantile))


def paired_sums(a: np.ndarray, b: np.ndarray) -> tuple[int, float, float, float, float, float]:
    """(n, sum a, sum a^2, sum b, sum b^2, sum a*b) of two per-unit arrays of the same units."""
    return int(a.size), float(a.sum()), float(a @ a), float(b.sum()), float(b @ b), float(a @ b)


def covariance(n: int, cross: float, sum_a: float, sum_b: float) -> float:
    """Sample covariance (denominator n - 1) from sums and the sum of cross-products; 0.0 below 2 units."""
    if n < 2:
        return 0.0
    return (cross - sum_a * sum_b / n) / (n - 1)


def add_fields(a: _D, b: _D) -> _D:
    """Field by field sum of two instances of the same frozen dataclass (combining disjoint units)."""
    make: Callable[..., _D] = type(a)
    return make(*(getattr(a, f.name) + getattr(b, f.name) for f in fields(a)))


def capped(arr: np.ndarray, cap: float | None, cap_quantile: float | None) -> np.ndarray:
    """``arr`` winsorized from above at ``cap``, or at its own ``cap_quantile`` (one of the two)."""
    if cap is not None and cap_quantile is not None:
        raise DataError("pass either cap (a value) or cap_quantile (a quantile), not both")
    if cap_quantile is not None and arr.size:
        cap = cap_value(arr, cap_quantile)
    if cap is not None:
        arr = np.minimum(arr, cap)
    return arr
