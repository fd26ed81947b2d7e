"""Fieller's interval for the relative lift: calibrated where the delta method is not.

The relative lift is a ratio, r = N / D, with N the (CUPED-adjusted) difference of the arm
means and D the control mean. The delta method (:mod:`playbook.stats.effects`) linearizes it,
r +- q se(r), which assumes D is known. At small samples that fails in one direction: when D
comes out low by chance, r is high and its delta-method se too small, so the test rejects
"no lift" too often on the positive side. At 200 users per arm on a 10% rate its type-I error
is 0.060, all of the excess in the upper tail, against 0.050 for the absolute test.

Fieller (1954) inverts the test of "r = r0" instead, i.e. of N - r0 D = 0, whose statistic

    t(r0) = sign(D) (N - r0 D) / sqrt(Var N - 2 r0 Cov(N, D) + r0^2 Var D)

is a difference of (approximately) normal quantities and needs no linearization. The interval
is every r0 not rejected: the roots of (N - r D)^2 = q^2 (Var N - 2 r Cov + r^2 Var D). Two
consequences the readout relies on:

* the test of "no relative lift" (r0 = 0) *is* the absolute Welch test, so the relative and the
  absolute readout always agree on significance, and the type-I error is the absolute test's;
* as n grows the interval converges to the delta-method one (at the sample warehouse's sizes
  they differ in the fourth decimal), so using it at every size costs nothing.

When the control mean is itself not distinguishable from 0 (D^2 <= q^2 Var D) the set of
plausible ratios is unbounded: the interval is (-inf, inf), honestly "no bounded interval".
gbstats and most platforms use the delta method; :func:`playbook.stats.frequentist.ttest`
keeps it as its default (``relative_method="delta"``, pinned to gbstats' numbers), and the
experiment readout asks for ``"fieller"``.
"""

from __future__ import annotations

import math
from typing import Literal

from playbook.stats.effects import EffectEstimate

__all__ = ["RelativeMethod", "fieller_interval", "fieller_statistic", "supports_fieller"]

RelativeMethod = Literal["delta", "fieller"]


def supports_fieller(est: EffectEstimate) -> bool:
    """True if ``est`` carries the control mean's standard error (every non-degenerate estimate)."""
    return math.isfinite(est.control_mean_se) and est.control_mean != 0


def _parts(est: EffectEstimate) -> tuple[float, float, float, float, float]:
    return (est.absolute, est.absolute_se**2, est.control_mean, est.control_mean_se**2, est.cov_absolute_control)


def fieller_statistic(est: EffectEstimate, r0: float = 0.0) -> float:
    """The statistic of H0 "relative lift = ``r0``" (positive when the lift is above ``r0``)."""
    n, vn, d, vd, c = _parts(est)
    var = vn - 2.0 * r0 * c + r0 * r0 * vd
    if not var > 0:
        return 0.0
    return math.copysign(1.0, d) * (n - r0 * d) / math.sqrt(var)


def fieller_interval(est: EffectEstimate, q: float) -> tuple[float, float]:
    """Two-sided Fieller interval of the relative lift at critical value ``q`` (e.g. 1.96).

    A one-sided bound at level alpha is the same side of the two-sided interval at 2 alpha.
    (-inf, inf) when the interval is unbounded (the control mean is not distinguishable from 0).
    """
    n, vn, d, vd, c = _parts(est)
    q2 = q * q
    a = d * d - q2 * vd
    if not a > 0:
        return -math.inf, math.inf
    half_b = n * d - q2 * c
    disc = half_b * half_b - a * (n * n - q2 * vn)
    root = math.sqrt(max(disc, 0.0))
    return (half_b - root) / a, (half_b + root) / a
