"""The count model behind a campaign forecast, and its prediction intervals.

Two negative-binomial (NB2) GLMs with a log link (statsmodels), both on the same terms:

participation
    ``participants ~ channel + log(budget / audience) + log(duration)`` with offset
    ``log(audience)``: the model is for the participation rate, the count follows from it.
conversion
    ``conversions ~ the same terms`` with offset ``log(participants)``: the conversion rate of
    those who took part.

**Terms the data can support.** Past campaigns are few, so terms enter in order and only while
there are at least ``per_coef`` campaigns for every coefficient: first a level for each channel
(most campaigns first; a channel needs ``min_channel`` campaigns of its own, channels with fewer
share one pooled level), then log budget per audience member, then log duration (each dropped
when it does not vary beyond the channels: a rank-deficient design). :class:`Design` says which
terms were kept and which were dropped.

**Dispersion.** ``Var(y) = mu + alpha mu^2``: a campaign's rate varies around what its terms
predict (the audience, the offer, the season), which a binomial or Poisson count with the same
mean would understate by far once audiences are in the thousands. ``alpha`` is Pearson's moment
estimate with ``n - p`` degrees of freedom, ``sum(((y - mu)^2 - mu) / mu^2) / (n - p)`` (floored
at 0), the fit iterated with it three times.

**Prediction interval.** By simulation (``draws``, seeded): each draw takes a scale
``r = (n - p) / chi2(n - p)``, coefficients from ``N(beta, r cov)`` and the dispersion
``alpha r`` (a multivariate t for both: parameter uncertainty at this sample size), then the count
from the gamma-Poisson (NB2) distribution around the drawn mean. For conversions the draw of
participants comes first (the planned campaign's participants are not known), and conversions
are clipped to the participants. The 95% interval is the 2.5% and 97.5% quantiles of the draws.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from playbook.analyses.forecast.data import Planned

TERMS = ("log_budget_per_member", "log_duration")
ITERATIONS = 3


@dataclass(frozen=True)
class Design:
    """Which terms a fit uses: own channel levels, continuous terms kept, and what was dropped."""

    channels: tuple[str, ...]  # channels with a level of their own
    pooled: tuple[str, ...]  # channels sharing the pooled level (fewer than min_channel campaigns)
    terms: tuple[str, ...]  # continuous terms kept, of TERMS
    dropped: tuple[str, ...]  # terms (and channel levels) left out for want of campaigns
    centers: tuple[float, ...]  # mean of each kept term (terms are centred)
    shares: tuple[float, ...]  # share of campaigns of each own channel (an unseen channel's mix)

    @property
    def coefficients(self) -> int:
        return len(self.channels) + bool(self.pooled) + len(self.terms)


@dataclass(frozen=True)
class Fit:
    """One fitted NB2 GLM: coefficients, their covariance, dispersion and degrees of freedom."""

    beta: np.ndarray
    cov: np.ndarray
    alpha: float
    df: int


def features(frame: pd.DataFrame | Planned) -> dict[str, np.ndarray]:
    """The continuous terms of past campaigns (a frame) or of the planned one."""
    if isinstance(frame, Planned):
        return {"log_budget_per_member": np.array([np.log(frame.budget / frame.audience)]),
                "log_duration": np.array([np.log(frame.duration_days)])}
    return {"log_budget_per_member": np.log(frame["budget"].to_numpy(float) / frame["audience"].to_numpy(float)),
            "log_duration": np.log(frame["duration_days"].to_numpy(float))}


def _matrix(design: Design, channels: np.ndarray, feats: dict[str, np.ndarray]) -> np.ndarray:
    cols = [(channels == c).astype(float) for c in design.channels]
    if design.pooled:
        cols.append(np.isin(channels, design.channels, invert=True).astype(float))
    cols += [feats[t] - m for t, m in zip(design.terms, design.centers, strict=True)]
    return np.column_stack(cols) if cols else np.ones((len(channels), 1))


def choose_design(frame: pd.DataFrame, *, min_channel: int, per_coef: int) -> Design:
    """The terms ``frame``'s campaigns can support (module docstring)."""
    n = len(frame)
    counts = frame["channel"].value_counts()
    order = sorted(counts.index, key=lambda c: (-counts[c], str(c)))
    own: list[str] = []
    dropped: list[str] = []
    for c in order:
        rest = n - int(counts[own].sum()) - int(counts[c])
        coefs = len(own) + 1 + (rest > 0)
        if counts[c] >= min_channel and n >= per_coef * coefs:
            own.append(str(c))
        else:
            dropped.append(f"channel:{c}")
    pooled = tuple(str(c) for c in order if str(c) not in own)
    feats = features(frame)
    terms: list[str] = []
    for t in TERMS:
        trial = Design(tuple(own), pooled, (*terms, t), (), tuple(float(feats[x].mean()) for x in (*terms, t)), ())
        x = _matrix(trial, frame["channel"].to_numpy(), feats)
        if n >= per_coef * trial.coefficients and np.linalg.matrix_rank(x) == x.shape[1]:
            terms.append(t)
        else:
            dropped.append(t)
    shares = tuple(float(counts[c]) / n for c in own)
    return Design(tuple(own), pooled, tuple(terms), tuple(dropped),
                  tuple(float(feats[t].mean()) for t in terms), shares)


def row(design: Design, channel: str, feats: dict[str, np.ndarray]) -> np.ndarray:
    """The design row of one campaign; a channel the fit has not seen (in a backtest) gets the
    pooled level, or the mix of the own channels when nothing is pooled."""
    x: np.ndarray = _matrix(design, np.array([channel]), feats)[0]
    if channel not in design.channels and not design.pooled and design.channels:
        x[: len(design.channels)] = design.shares
    return x


def _moment_alpha(y: np.ndarray, mu: np.ndarray, df: int) -> float:
    return max(0.0, float(np.sum(((y - mu) ** 2 - mu) / mu**2)) / max(df, 1))


def fit(frame: pd.DataFrame, design: Design, target: str, exposure: np.ndarray) -> Fit:
    """The NB2 GLM of ``target`` on ``design``'s terms with offset ``log(exposure)`` (rows with
    zero exposure are left out)."""
    import statsmodels.api as sm

    keep = exposure > 0
    x = _matrix(design, frame["channel"].to_numpy(), features(frame))[keep]
    y = frame[target].to_numpy(float)[keep]
    offset = np.log(exposure[keep])
    df = max(len(y) - x.shape[1], 1)
    alpha = 0.0
    result = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # IRLS on a handful of campaigns may warn of slow convergence
        for _ in range(ITERATIONS):
            family = sm.families.NegativeBinomial(alpha=alpha) if alpha > 0 else sm.families.Poisson()
            result = sm.GLM(y, x, family=family, offset=offset).fit()
            alpha = _moment_alpha(y, np.asarray(result.fittedvalues), df)
    assert result is not None
    return Fit(beta=np.asarray(result.params, float), cov=np.asarray(result.cov_params(), float),
               alpha=alpha, df=df)


def _nb(rng: np.random.Generator, mu: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Gamma-Poisson draws with mean ``mu`` and ``Var = mu + alpha mu^2``."""
    lam = np.where(alpha > 0, rng.gamma(1.0 / np.maximum(alpha, 1e-12), np.maximum(alpha, 1e-12) * mu), mu)
    out: np.ndarray = rng.poisson(np.maximum(lam, 0.0)).astype(float)
    return out


def _coef_draws(rng: np.random.Generator, f: Fit, draws: int) -> tuple[np.ndarray, np.ndarray]:
    r = f.df / rng.chisquare(f.df, draws)
    vals, vecs = np.linalg.eigh((f.cov + f.cov.T) / 2)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    z = rng.standard_normal((draws, len(f.beta)))
    beta = f.beta + (z @ root.T) * np.sqrt(r)[:, None]
    return beta, f.alpha * r


@dataclass(frozen=True)
class Prediction:
    """Point forecasts (the fitted means) and simulated draws of one campaign."""

    participants: float
    conversions: float
    participation_rate: float
    conversion_rate: float
    participant_draws: np.ndarray
    conversion_draws: np.ndarray


def predict(part: Fit, conv: Fit, x: np.ndarray, audience: float, *, draws: int, seed: int) -> Prediction:
    """Mean and draws of one campaign's participants and conversions (module docstring)."""
    rng = np.random.default_rng(seed)
    rate_p, rate_c = float(np.exp(x @ part.beta)), float(np.exp(x @ conv.beta))
    b_p, a_p = _coef_draws(rng, part, draws)
    mu_p = audience * np.exp(np.clip(b_p @ x, -50, 0))
    p = np.minimum(_nb(rng, mu_p, a_p), audience)
    b_c, a_c = _coef_draws(rng, conv, draws)
    mu_c = p * np.exp(np.clip(b_c @ x, -50, 0))
    c = np.minimum(_nb(rng, mu_c, a_c), p)
    mean_p = audience * min(rate_p, 1.0)
    return Prediction(participants=mean_p, conversions=mean_p * min(rate_c, 1.0),
                      participation_rate=min(rate_p, 1.0), conversion_rate=min(rate_c, 1.0),
                      participant_draws=p, conversion_draws=c)


def interval(draws: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` interval of ``draws`` (their quantiles)."""
    tail = (1 - level) / 2
    lo, hi = np.quantile(draws, [tail, 1 - tail])
    return float(lo), float(hi)
