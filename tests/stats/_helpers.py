"""Helpers for the statistics tests: reference tolerances and simulation sizes (imported relatively).

Simulations run with a small ``size`` in the default test run (tolerances derived from the
binomial standard error of the simulation) and a large one behind ``@pytest.mark.slow``
(tolerances of the brief: +-1 point for type-I error and coverage, +-3 points for power).
"""

from __future__ import annotations

import math

import numpy as np

from playbook.stats import SampleMeanStats


def mean_stats(total: float, sum_squares: float, n: int) -> SampleMeanStats:
    """A mean metric as the reference file writes it: (sum, sum_squares, n)."""
    return SampleMeanStats(n=n, sum=total, sum_squares=sum_squares)


def rate_tolerance(p: float, size: int, z: float = 4.0, floor: float = 0.0) -> float:
    """z binomial standard errors of a simulated rate around p, at least ``floor``."""
    return max(z * math.sqrt(p * (1 - p) / size), floor)


def simulate_mean_arms(rng: np.random.Generator, size: int, n: int, mean: float, sd: float) -> tuple[np.ndarray, ...]:
    """Sufficient statistics (n, sum, sum_squares) of ``size`` simulated normal arms of n units.

    Sum and centered sum of squares of n normal draws are independent: sum ~ N(n mu, n sd^2),
    centered SS ~ sd^2 chi2(n - 1); no per-unit draws are needed.
    """
    total = rng.normal(n * mean, sd * math.sqrt(n), size)
    centered = sd * sd * rng.chisquare(n - 1, size)
    return np.full(size, n), total, centered + total * total / n
