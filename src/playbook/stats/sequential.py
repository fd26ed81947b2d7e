"""Always-valid inference: confidence sequences you may look at every day.

A fixed-horizon test is valid only if you look once. Growth teams look every morning; with
30 daily looks at a fixed 5% test the false-positive rate of "stop at the first p < 0.05" is
about 20-30%. A **confidence sequence** is an interval that covers the true lift at *all*
sample sizes simultaneously with probability 1 - alpha, so stopping whenever it excludes zero
keeps the error rate at alpha.

We use the asymptotic confidence sequence of Waudby-Smith, Arnold, Wu, Howard & Ramdas
("Time-uniform central limit theory and asymptotic confidence sequences", arXiv 2103.06476,
eq. 9), as gbstats does. With N = n_control + n_treatment and se the fixed-horizon standard
error of the lift (:mod:`playbook.stats.effects`):

    halfwidth = se * sqrt( 2 (N rho^2 + 1) / (N rho^2) * log( sqrt(N rho^2 + 1) / alpha ) )

    rho = sqrt( (-2 log alpha + log(-2 log alpha + 1)) / tuning )

``tuning`` (gbstats' "sequential tuning parameter", default 5000) is the total sample size at
which the sequence is tightest; choose about the sample size where you expect to decide. The
always-valid p-value is the smallest alpha whose sequence excludes zero (eq. 155, reparameterized):

    p = min(1, sqrt(N rho^2 + 1) * exp(-N rho^2 z^2 / (2 (N rho^2 + 1))))   with z = lift / se

The normal quantile is used (the result is asymptotic), so the result reports ``distribution
"z"``. The cost of always-valid inference is width: the multiplier is larger than 1.96 at
every N (see :func:`critical_value`), which :mod:`playbook.stats.power` turns into a sample
size inflation factor. For a fixed number of planned looks, alpha spending
(:mod:`playbook.stats.spending`) is tighter.
"""

from __future__ import annotations

import math
from typing import Any

from playbook.errors import DataError
from playbook.stats.effects import EffectEstimate, estimate_effect
from playbook.stats.fieller import (
    RelativeMethod,
    fieller_interval,
    fieller_statistic,
    supports_fieller,
)
from playbook.stats.frequentist import FrequentistResult, frequentist_result
from playbook.stats.suffstats import ArmStats

__all__ = [
    "DEFAULT_TUNING",
    "confidence_sequence_test",
    "critical_value",
    "evaluate_sequence",
    "sequential_rho",
]

DEFAULT_TUNING = 5000.0


def sequential_rho(alpha: float, tuning: float = DEFAULT_TUNING) -> float:
    """The mixing parameter rho that makes the sequence tightest at ``tuning`` total units."""
    if not 0 < alpha < 1:
        raise DataError(f"alpha must be between 0 and 1, got {alpha!r}")
    if not tuning > 0:
        raise DataError(f"tuning (the sample size where the sequence is tightest) must be > 0, got {tuning!r}")
    la = -2.0 * math.log(alpha)
    return math.sqrt((la + math.log(la + 1.0)) / tuning)


def critical_value(n_total: float, alpha: float = 0.05, tuning: float = DEFAULT_TUNING) -> float:
    """The multiplier of se giving the confidence-sequence halfwidth at ``n_total`` units."""
    if not n_total > 0:
        raise DataError(f"n_total must be > 0, got {n_total!r}")
    r2 = sequential_rho(alpha, tuning) ** 2
    nr2 = n_total * r2
    return math.sqrt(2.0 * (nr2 + 1.0) / nr2 * math.log(math.sqrt(nr2 + 1.0) / alpha))


def evaluate_sequence(
    est: EffectEstimate, *, relative: bool = True, alpha: float = 0.05, tuning: float = DEFAULT_TUNING,
    relative_method: RelativeMethod = "delta",
) -> FrequentistResult:
    """The confidence sequence and always-valid p-value for an effect estimate.

    ``relative_method="fieller"``: the relative sequence is Fieller's interval at the sequence's
    critical value and its p-value the absolute one (:mod:`playbook.stats.fieller`).
    """
    effect, se, reason = est.for_test(relative)
    n_total = est.n_control + est.n_treatment
    design: dict[str, Any] = {
        "relative": relative, "test": "sequential", "alpha": alpha, "null_value": 0.0, "distribution": "z",
        "df": math.inf,
    }
    sequential_rho(alpha, tuning)  # validates alpha and tuning
    if reason is not None:
        return frequentist_result(est, reason=reason, **design)
    crit = critical_value(n_total, alpha, tuning)
    if relative and relative_method == "fieller" and supports_fieller(est):
        low, high = fieller_interval(est, crit)
        z = fieller_statistic(est, 0.0)
    else:
        low, high = effect - crit * se, effect + crit * se
        z = effect / se
    nr2 = n_total * sequential_rho(alpha, tuning) ** 2
    log_p = 0.5 * math.log(nr2 + 1.0) - nr2 * z * z / (2.0 * (nr2 + 1.0))
    p = 1.0 if log_p >= 0 else math.exp(log_p)
    return frequentist_result(est, readout=(low, high, se, p, z), **design)


def confidence_sequence_test(
    control: ArmStats,
    treatment: ArmStats,
    *,
    relative: bool = True,
    alpha: float = 0.05,
    tuning: float = DEFAULT_TUNING,
    theta: float | None = None,
    relative_method: RelativeMethod = "delta",
) -> FrequentistResult:
    """Two-sided always-valid test of treatment vs control; safe to run after every day."""
    est = estimate_effect(control, treatment, theta=theta)
    return evaluate_sequence(est, relative=relative, alpha=alpha, tuning=tuning, relative_method=relative_method)
