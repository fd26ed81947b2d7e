"""Bayesian readout: a Gaussian posterior for the lift, chance to win and expected loss.

This is gbstats' Gaussian (normal-approximation) model. The likelihood of the lift is
N(estimate, se^2) with estimate and se from :func:`playbook.stats.effects.estimate_effect`
(delta method on the relative scale by default, as gbstats). The prior on the same scale is
either flat (``prior=None``) or normal N(mean, variance) (:class:`NormalPrior`); the posterior is
normal with precision = 1/se^2 + 1/prior_variance and precision-weighted mean.

Reported, all on the chosen scale (relative lift by default):

* ``effect`` posterior mean and ``ci_low``/``ci_high`` the equal-tailed (1 - alpha) credible
  interval; ``se`` the posterior standard deviation.
* ``chance_to_win`` P(lift > 0), for a metric where higher is better (flip with
  ``higher_is_better=False``).
* ``risk_control`` / ``risk_treatment``: the expected loss of shipping that arm,
  E[max(lift, 0)] and E[max(-lift, 0)] (sign flipped when lower is better): how much you
  expect to give up if you pick that arm and it is in fact the worse one. gbstats reports the
  same pair as ``risk`` = [control, treatment].

Why the normal approximation rather than Beta/Gamma conjugates: it covers means, ratios and
CUPED with one model, matches gbstats' current engine, and agrees with the exact Beta model at
readout sample sizes. Degenerate estimates give chance_to_win 0.5, zero risk, an infinite
interval and ``degenerate`` set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scipy import stats as st

from playbook.errors import DataError
from playbook.stats.effects import EffectEstimate, estimate_effect
from playbook.stats.suffstats import ArmStats

__all__ = ["BayesianResult", "NormalPrior", "bayesian_test", "evaluate_posterior"]


@dataclass(frozen=True)
class NormalPrior:
    """A normal prior N(mean, variance) on the lift, on the same scale as the test."""

    mean: float = 0.0
    variance: float = 0.3**2

    def __post_init__(self) -> None:
        if not self.variance > 0:
            raise DataError(
                f"NormalPrior: variance must be > 0, got {self.variance!r}; use prior=None for a flat prior"
            )


@dataclass(frozen=True)
class BayesianResult:
    """Posterior summary of the lift (see module docstring for each field)."""

    scale: str
    effect: float
    ci_low: float
    ci_high: float
    se: float
    chance_to_win: float
    risk_control: float
    risk_treatment: float
    alpha: float
    control_mean: float
    treatment_mean: float
    n_control: int
    n_treatment: int
    prior: NormalPrior | None = None
    degenerate: str | None = None

    @property
    def risk(self) -> tuple[float, float]:
        """(risk_control, risk_treatment), gbstats' ``risk`` pair."""
        return self.risk_control, self.risk_treatment


def _expected_positive_part(mu: float, sigma: float) -> float:
    """E[max(X, 0)] for X ~ N(mu, sigma^2)."""
    z = mu / sigma
    return mu * float(st.norm.cdf(z)) + sigma * float(st.norm.pdf(z))


def evaluate_posterior(
    est: EffectEstimate,
    *,
    relative: bool = True,
    prior: NormalPrior | None = None,
    alpha: float = 0.05,
    higher_is_better: bool = True,
) -> BayesianResult:
    """The posterior for an :class:`~playbook.stats.effects.EffectEstimate`."""
    if not 0 < alpha < 1:
        raise DataError(f"alpha must be between 0 and 1, got {alpha!r}")
    effect, se, reason = est.for_test(relative)
    common: dict[str, Any] = {
        "scale": "relative" if relative else "absolute", "alpha": alpha, "prior": prior, **est.arms,
    }
    if reason is not None:
        return BayesianResult(
            effect=effect,
            ci_low=-math.inf,
            ci_high=math.inf,
            se=math.inf,
            chance_to_win=0.5,
            risk_control=0.0,
            risk_treatment=0.0,
            degenerate=reason,
            **common,
        )
    if prior is None:
        mean, sd = effect, se
    else:
        precision = 1.0 / se**2 + 1.0 / prior.variance
        mean = (effect / se**2 + prior.mean / prior.variance) / precision
        sd = math.sqrt(1.0 / precision)
    q = float(st.norm.ppf(1 - alpha / 2))
    sign = 1.0 if higher_is_better else -1.0
    good = sign * mean  # posterior mean of the gain from shipping treatment
    return BayesianResult(
        effect=mean,
        ci_low=mean - q * sd,
        ci_high=mean + q * sd,
        se=sd,
        chance_to_win=float(st.norm.sf(0.0, loc=good, scale=sd)),
        risk_control=_expected_positive_part(good, sd),
        risk_treatment=_expected_positive_part(-good, sd),
        **common,
    )


def bayesian_test(
    control: ArmStats,
    treatment: ArmStats,
    *,
    relative: bool = True,
    prior: NormalPrior | None = None,
    alpha: float = 0.05,
    higher_is_better: bool = True,
    theta: float | None = None,
) -> BayesianResult:
    """Gaussian Bayesian readout of treatment vs control (flat prior unless ``prior`` is given)."""
    est = estimate_effect(control, treatment, theta=theta)
    return evaluate_posterior(est, relative=relative, prior=prior, alpha=alpha, higher_is_better=higher_is_better)
