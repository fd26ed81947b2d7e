"""Group-sequential designs: alpha spending for a planned number of looks (Lan & DeMets 1983).

When the looks are planned (say, weekly for four weeks) alpha spending is tighter than a
confidence sequence. A spending function alpha(t) says how much of the type-I error may be used
up by information fraction t = n_now / n_planned; the boundary z_k at look k is the value for
which P(first crossing at look k | H0) = alpha(t_k) - alpha(t_{k-1}). Spending functions here
(total two-sided alpha, or one-sided alpha with ``sides=1``; a = alpha / sides is spent on each
side):

    obrien_fleming  a(t) = 2 (1 - Phi(z_{1-a/2} / sqrt(t)))   (Lan-DeMets O'Brien-Fleming type)
    pocock          a(t) = a log(1 + (e - 1) t)               (Lan-DeMets Pocock type)
    power           a(t) = a t^rho                            (Kim-DeMets; rho=2 is Spotify
                                                               confidence's default)

Boundaries are computed by **recursive numerical integration** (Armitage, McPherson & Rowe
1969; as ldbounds/gsDesign): the score S_k = Z_k sqrt(t_k) is Brownian motion with independent
N(drift * dt, dt) increments; the density of S on the continuation region is carried from
look to look on a Simpson grid and each boundary is found by root-finding. Two-sided designs
use a symmetric continuation region (-b, b); one-sided designs truncate the lower side at
``ZTRUNC`` = 8 (as ldbounds). Boundaries are capped at ``ZTRUNC`` too. The same recursion with
a drift gives the exact power of a design (:func:`crossing_probability`).

:func:`group_sequential_test` reads out a look: the interval is effect +- z_k * se (the
"adjusted" interval of Spotify confidence), the p-value is the nominal one, and the result's
``alpha`` is the nominal level of this look (2 (1 - Phi(z_k)) two-sided), so ``p_value < alpha``
exactly when the boundary is crossed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, cast

import numpy as np
from scipy import optimize
from scipy import stats as st

from playbook.errors import DataError
from playbook.stats.effects import estimate_effect
from playbook.stats.frequentist import FrequentistResult, frequentist_result
from playbook.stats.suffstats import ArmStats

__all__ = [
    "SpendingBounds",
    "crossing_probability",
    "group_sequential_test",
    "spending_bounds",
    "spending_function",
]

Spending = Literal["obrien_fleming", "pocock", "power"]
ZTRUNC = 8.0
_MAX_POINTS = 2001


def spending_function(t: float, alpha: float, spending: Spending = "obrien_fleming", rho: float = 2.0) -> float:
    """Cumulative alpha spent **per side** at information fraction t, for per-side level ``alpha``."""
    if t <= 0:
        return 0.0
    t = min(t, 1.0)
    if spending == "obrien_fleming":
        return float(2.0 * st.norm.sf(st.norm.isf(alpha / 2.0) / math.sqrt(t)))
    if spending == "pocock":
        return alpha * math.log(1.0 + (math.e - 1.0) * t)
    if spending == "power":
        if not rho > 0:
            raise DataError(f"power spending needs rho > 0, got {rho!r}")
        return float(alpha * t**rho)
    raise DataError(f"spending must be 'obrien_fleming', 'pocock' or 'power', got {spending!r}")


@dataclass(frozen=True)
class SpendingBounds:
    """Boundaries of a group-sequential design.

    ``z_bounds[k]`` is the |z| (two-sided) or z (one-sided) to cross at look k;
    ``cumulative_alpha`` the alpha spent up to each look (all sides); ``nominal_alpha`` the
    fixed-test p-value threshold equivalent to each boundary.
    """

    information: tuple[float, ...]
    z_bounds: tuple[float, ...]
    cumulative_alpha: tuple[float, ...]
    nominal_alpha: tuple[float, ...]
    alpha: float
    sides: int
    spending: str


def _check_information(information: Sequence[float]) -> np.ndarray:
    t = np.asarray(information, dtype=float)
    if t.ndim != 1 or t.size == 0:
        raise DataError("information: give at least one information fraction (n at look / planned n)")
    if np.any(t <= 0) or np.any(t > 1 + 1e-12) or np.any(np.diff(t) <= 0):
        raise DataError(
            f"information fractions must increase strictly within (0, 1], got {list(map(float, t))}; "
            "each is the sample size at a look divided by the planned final sample size"
        )
    return cast(np.ndarray, np.minimum(t, 1.0))


class _Recursion:
    """Density of the score S on the continuation region, carried from look to look."""

    def __init__(self, drift: float, sides: int) -> None:
        self.drift = drift
        self.sides = sides
        self.t_prev = 0.0
        self.grid: np.ndarray | None = None  # S values
        self.mass: np.ndarray | None = None  # density times Simpson weight

    def _tails(self, c: float, dt: float) -> float:
        mu = self.drift * dt
        sd = math.sqrt(dt)
        if self.grid is None:
            up = float(st.norm.sf((c - mu) / sd))
            low = float(st.norm.cdf((-c - mu) / sd)) if self.sides == 2 else 0.0
            return up + low
        assert self.mass is not None
        up = st.norm.sf((c - self.grid - mu) / sd)
        low = st.norm.cdf((-c - self.grid - mu) / sd) if self.sides == 2 else 0.0
        return float(np.sum(self.mass * (up + low)))

    def cross(self, t: float, c: float) -> float:
        """P(no earlier crossing and crossing at information t with S-bound c)."""
        return self._tails(c, t - self.t_prev)

    def advance(self, t: float, c: float) -> None:
        dt = t - self.t_prev
        lo = -c if self.sides == 2 else -ZTRUNC * math.sqrt(t)
        n = int(min(_MAX_POINTS, max(201, math.ceil((c - lo) / (0.02 * math.sqrt(dt))))))
        n += 1 - n % 2  # odd, for Simpson
        x = np.linspace(lo, c, n)
        h = (c - lo) / (n - 1)
        w = np.ones(n)
        w[1:-1:2], w[2:-1:2] = 4.0, 2.0
        w *= h / 3.0
        mu, sd = self.drift * dt, math.sqrt(dt)
        if self.grid is None:
            dens = st.norm.pdf((x - mu) / sd) / sd
        else:
            assert self.mass is not None
            kern = np.exp(-0.5 * ((x[:, None] - self.grid[None, :] - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
            dens = kern @ self.mass
        self.grid, self.mass, self.t_prev = x, dens * w, t


def spending_bounds(
    information: Sequence[float],
    alpha: float = 0.05,
    spending: Spending = "obrien_fleming",
    sides: int = 2,
    rho: float = 2.0,
) -> SpendingBounds:
    """Boundaries for looks at the given information fractions (e.g. [0.25, 0.5, 0.75, 1])."""
    if not 0 < alpha < 1:
        raise DataError(f"alpha must be between 0 and 1, got {alpha!r}")
    if sides not in (1, 2):
        raise DataError(f"sides must be 1 or 2, got {sides!r}")
    t = _check_information(information)
    side_alpha = alpha / sides
    rec = _Recursion(drift=0.0, sides=sides)
    bounds, spent = [], []
    prev = 0.0
    for tk in t:
        cum = sides * spending_function(float(tk), side_alpha, spending, rho)
        target = max(cum - prev, 0.0)
        c_max = ZTRUNC * math.sqrt(tk)
        if target <= rec.cross(tk, c_max):
            c = c_max
        elif target >= rec.cross(tk, 1e-9):
            c = 1e-9
        else:
            c = optimize.brentq(lambda cc, tk=tk, target=target: rec.cross(tk, cc) - target, 1e-9, c_max, xtol=1e-10)
        actual = rec.cross(tk, c)
        prev += actual
        bounds.append(c / math.sqrt(tk))
        spent.append(prev)
        rec.advance(tk, c)
    nominal = tuple(float(sides * st.norm.sf(b)) for b in bounds)
    return SpendingBounds(
        information=tuple(float(x) for x in t),
        z_bounds=tuple(float(b) for b in bounds),
        cumulative_alpha=tuple(float(a) for a in spent),
        nominal_alpha=nominal,
        alpha=alpha,
        sides=sides,
        spending=spending,
    )


@lru_cache(maxsize=256)
def _cached_bounds(
    information: tuple[float, ...], alpha: float, spending: Spending, sides: int, rho: float
) -> SpendingBounds:
    return spending_bounds(information, alpha=alpha, spending=spending, sides=sides, rho=rho)


def crossing_probability(bounds: SpendingBounds, drift: float) -> float:
    """P(crossing any boundary) when E[Z at full information] = ``drift``: the design's power.

    With drift 0 this is the total alpha actually spent. For two-sided designs both sides count.
    """
    rec = _Recursion(drift=drift, sides=bounds.sides)
    total = 0.0
    for tk, b in zip(bounds.information, bounds.z_bounds, strict=True):
        c = b * math.sqrt(tk)
        total += rec.cross(tk, c)
        rec.advance(tk, c)
    return min(total, 1.0)


def group_sequential_test(
    control: ArmStats,
    treatment: ArmStats,
    *,
    planned_n: float,
    previous_n: Sequence[float] = (),
    alpha: float = 0.05,
    spending: Spending = "obrien_fleming",
    rho: float = 2.0,
    relative: bool = True,
    theta: float | None = None,
) -> FrequentistResult:
    """Read out the current look of a two-sided group-sequential design.

    ``planned_n`` is the planned final total sample size (both arms), ``previous_n`` the total
    sample sizes at earlier looks. The information fraction of a look is n / max(planned_n, n
    now), so an overrun look is treated as the final one.
    """
    est = estimate_effect(control, treatment, theta=theta)
    n_now = est.n_control + est.n_treatment
    if not planned_n > 0:
        raise DataError(f"planned_n (planned final total sample size) must be > 0, got {planned_n!r}")
    if n_now == 0:
        raise DataError("group_sequential_test: both arms are empty; there is no look to read out")
    looks = [float(x) for x in previous_n] + [float(n_now)]
    horizon = max(planned_n, n_now)
    # cached: a daily readout recomputes the same design's bounds for every metric
    b = _cached_bounds(tuple(x / horizon for x in looks), alpha, spending, 2, rho)
    z_bound = b.z_bounds[-1]
    nominal = b.nominal_alpha[-1]
    effect, se, reason = est.for_test(relative)
    design: dict[str, Any] = {
        "relative": relative, "test": "group-sequential", "alpha": nominal, "null_value": 0.0,
        "distribution": "z", "df": math.inf,
    }
    if reason is not None:
        return frequentist_result(est, reason=reason, **design)
    z = effect / se
    readout = (effect - z_bound * se, effect + z_bound * se, se, float(2 * st.norm.sf(abs(z))), z)
    return frequentist_result(est, readout=readout, **design)
