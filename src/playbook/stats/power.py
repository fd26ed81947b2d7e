"""Experiment design: sample size, duration, MDE and power, with the readout's variance model.

    metric = MetricSpec.proportion(0.03)             or .mean(mean, sd) or .from_stats(stats)
    sample_size(metric, mde=0.10)                    units per arm for a 10% relative lift
    minimum_detectable_effect(metric, n_control=...) the lift detectable with the traffic at hand
    power_at(metric, mde=..., n_control=...)         power of a running or planned experiment
    running_power(estimate, mde=0.05)                power from both arms' observed variances, and
                                                     the users still needed for the target power
    duration_days(result.n_total, daily_units=...)   how long that takes

**One variance model with the readout** (:mod:`playbook.stats.effects`): the variance of the
difference is v_control / n_control + v_treatment / n_treatment with per-unit variances, the
relative effect is read as absolute = relative * baseline. Per metric kind:

* proportions: normal approximation (z) with v = p(1-p) per arm, **unpooled** under H0 and H1
  (default ``null_variance="unpooled"``), because the readout's test is unpooled: its standard
  error is estimated from the data, i.e. at the H1 rates. R's ``power.prop.test`` sizes the
  *pooled* z test instead (pooled 2 p_bar q_bar under H0, unpooled under H1);
  ``null_variance="pooled"`` reproduces it exactly: 0.5 vs 0.75 at n = 50 gives power
  0.7401659, n = 76.7 for power 0.9; 0.03 vs 0.02 needs 3825.15 per arm. statsmodels'
  ``NormalIndPower`` with Cohen's arcsine effect size h gives 76.65: a variance-stabilizing
  approximation that matches no readout test, so we do not use it.
* **relative readouts**: when the MDE is relative (``relative_mde=True``, the default, as the
  readout's default lift is relative) the readout divides by the delta-method standard error
  of the relative lift, v_a (m_b/m_a)^2 + v_b / r in absolute units; that variance sets the
  critical value while the estimate varies with v_a + v_b / r. For a positive lift this needs
  a little more data than an absolute readout (about +5% for +10% on a 10% rate). The
  approximation ignores that the estimated standard error moves with the estimate; simulation
  (tests/stats/test_simulations.py) shows the real power 1-2 points above the design at a 10%
  lift, i.e. conservative. An absolute MDE sizes an absolute readout. The experiment readout
  reads relative lifts with Fieller's interval (:mod:`playbook.stats.fieller`), whose test of
  "no lift" is the absolute test: for it this model is conservative by those few percent.
* means and ratios: the **noncentral t** with Welch-Satterthwaite df (R's ``power.t.test``
  and statsmodels' ``TTestIndPower`` for equal arms: n = 20, delta = sd gives power 0.8689528;
  power 0.9 needs 22.02110). Both arms are assumed to have the baseline's per-unit variance;
  a ratio's per-unit variance is the delta-method one of :class:`~playbook.stats.suffstats.RatioStats`.

Power counts rejections in the direction of the effect only (R's ``strict = FALSE``); the
opposite tail of a two-sided test adds less than 5e-5 for any design with power above 0.5
(about 1e-6 at power 0.8), which is why statsmodels, which counts it, differs in the 5th decimal.

Options, all shared by the four functions:

* ``ratio`` = n_treatment / n_control per treatment arm (unequal allocation).
* ``arms`` > 2: each of the arms - 1 treatments is compared with control at alpha / (arms - 1)
  (Bonferroni; Holm in the readout is never less powerful, so the design is conservative).
* ``alternative``: "two-sided" or "greater" (one-sided at alpha).
* ``margin`` > 0: a non-inferiority design, H0 effect <= -margin, one-sided at alpha; ``mde`` is
  then the assumed true effect (usually 0). Uses unpooled variances under H0.
* ``variance_reduction`` = rho^2 from CUPED (:func:`playbook.stats.cuped.variance_reduction`):
  variances are multiplied by 1 - rho^2.
* ``sequential``: "confidence_sequence" sizes for the always-valid test of
  :mod:`~playbook.stats.sequential` by requiring the planned power at the final sample size with
  its wider critical value (conservative: stopping early only adds power); "obrien_fleming" or
  "pocock" sizes an alpha-spending design with ``looks`` equally spaced looks exactly, by the
  recursive integration of :mod:`~playbook.stats.spending` with a drift. Sequential designs
  use the normal approximation. ``SampleSizeResult.inflation`` is n / n(fixed design).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import optimize
from scipy import stats as st

from playbook.errors import DataError
from playbook.stats.effects import EffectEstimate
from playbook.stats.power_model import DesignOptions, MetricSpec, Sequential, design, solve_n
from playbook.stats.sequential import DEFAULT_TUNING, critical_value

__all__ = [
    "MetricSpec",
    "SampleSizeResult",
    "duration_days",
    "RunningPower",
    "minimum_detectable_effect",
    "power_at",
    "running_power",
    "sample_size",
]

@dataclass(frozen=True)
class SampleSizeResult:
    """Units needed (unrounded, as R reports them; ``units_*`` rounded up).

    ``n_treatment`` is per treatment arm; ``n_total`` over all ``arms``; ``effect`` the absolute
    effect designed for and ``relative_effect`` it relative to the baseline; ``alpha_per_comparison``
    after the Bonferroni split; ``inflation`` n / n of the same fixed-horizon design.
    """

    n_control: float
    n_treatment: float
    n_total: float
    arms: int
    effect: float
    relative_effect: float
    alpha: float
    alpha_per_comparison: float
    power: float
    alternative: str
    sequential: str | None
    inflation: float

    @property
    def units_control(self) -> int:
        return math.ceil(self.n_control - 1e-9)

    @property
    def units_treatment(self) -> int:
        return math.ceil(self.n_treatment - 1e-9)

    @property
    def units_total(self) -> int:
        return self.units_control + (self.arms - 1) * self.units_treatment


def sample_size(  # noqa: PLR0913 - the options shared by the four functions, keyword-only
    metric: MetricSpec,
    mde: float,
    *,
    relative_mde: bool = True,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: str = "two-sided",
    ratio: float = 1.0,
    arms: int = 2,
    margin: float = 0.0,
    relative_margin: bool = True,
    variance_reduction: float = 0.0,
    null_variance: str = "unpooled",
    sequential: Sequential = None,
    looks: int = 1,
    tuning: float = DEFAULT_TUNING,
) -> SampleSizeResult:
    """Units per arm to detect ``mde`` (relative to the baseline unless ``relative_mde=False``)."""
    options = DesignOptions(alpha=alpha, alternative=alternative, ratio=ratio, arms=arms, margin=margin,
                            relative_margin=relative_margin, variance_reduction=variance_reduction,
                            null_variance=null_variance, sequential=sequential, looks=looks, tuning=tuning)
    d = design(metric, mde, relative_mde=relative_mde, options=options)
    n1 = solve_n(d, power)
    n_fixed = solve_n(d.fixed(), power) if sequential else n1
    return SampleSizeResult(
        n_control=n1,
        n_treatment=n1 * ratio,
        n_total=n1 * (1 + (arms - 1) * ratio),
        arms=arms,
        effect=d.delta,
        relative_effect=d.delta / metric.mean if metric.mean else math.inf,
        alpha=alpha,
        alpha_per_comparison=d.alpha,
        power=power,
        alternative="greater" if d.sides == 1 else "two-sided",
        sequential=sequential,
        inflation=n1 / n_fixed,
    )


def power_at(  # noqa: PLR0913 - the options shared by the four functions, keyword-only
    metric: MetricSpec,
    mde: float,
    n_control: float,
    *,
    relative_mde: bool = True,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    ratio: float = 1.0,
    arms: int = 2,
    margin: float = 0.0,
    relative_margin: bool = True,
    variance_reduction: float = 0.0,
    null_variance: str = "unpooled",
    sequential: Sequential = None,
    looks: int = 1,
    tuning: float = DEFAULT_TUNING,
) -> float:
    """Power to detect ``mde`` with ``n_control`` control units (and ``ratio`` x that per treatment)."""
    options = DesignOptions(alpha=alpha, alternative=alternative, ratio=ratio, arms=arms, margin=margin,
                            relative_margin=relative_margin, variance_reduction=variance_reduction,
                            null_variance=null_variance, sequential=sequential, looks=looks, tuning=tuning)
    return design(metric, mde, relative_mde=relative_mde, options=options).power(n_control)


def minimum_detectable_effect(  # noqa: PLR0913 - the options shared by the four functions, keyword-only
    metric: MetricSpec,
    n_control: float,
    *,
    power: float = 0.8,
    relative: bool = True,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    ratio: float = 1.0,
    arms: int = 2,
    variance_reduction: float = 0.0,
    null_variance: str = "unpooled",
    sequential: Sequential = None,
    looks: int = 1,
    tuning: float = DEFAULT_TUNING,
) -> float:
    """Smallest positive lift detectable with the given power (relative unless ``relative=False``)."""
    if not 0 < power < 1:
        raise DataError(f"power must be between 0 and 1, got {power!r}")
    if not n_control > 2:
        raise DataError(f"n_control must be > 2 units, got {n_control!r}")

    options = DesignOptions(alpha=alpha, alternative=alternative, ratio=ratio, arms=arms,
                            variance_reduction=variance_reduction, null_variance=null_variance,
                            sequential=sequential, looks=looks, tuning=tuning)

    def pw(delta: float) -> float:
        d = design(metric, delta, relative_mde=False, options=options, relative_readout=relative)
        return d.power(n_control) - power

    hi = (1 - metric.mean) * (1 - 1e-9) if metric.kind == "proportion" else 1.0
    if metric.kind != "proportion":
        hi = 10 * math.sqrt(metric.variance)
        while pw(hi) < 0:
            hi *= 4
    elif pw(hi) < 0:
        raise DataError(
            f"even a lift to a rate of 1 is not detectable with {n_control!r} units per arm at power {power!r}"
        )
    delta = float(optimize.brentq(pw, hi * 1e-12, hi, xtol=1e-14, rtol=1e-12))
    return delta / metric.mean if relative else delta


def duration_days(n_total: float, daily_units: float, share: float = 1.0) -> int:
    """Whole days to enroll ``n_total`` units with ``daily_units`` eligible per day, ``share`` in the test."""
    if not daily_units > 0:
        raise DataError(f"daily_units must be > 0, got {daily_units!r}")
    if not 0 < share <= 1:
        raise DataError(f"share (fraction of traffic in the experiment) must be in (0, 1], got {share!r}")
    return max(1, math.ceil(n_total / (daily_units * share) - 1e-9))


@dataclass(frozen=True)
class RunningPower:
    """Power of a running experiment for an effect, from the variances both arms show so far.

    ``power`` now; ``users_per_arm`` the control-arm size that reaches ``target`` (treatment arms
    grow in the current ratio), ``more_users_per_arm`` beyond the current control size and
    ``more_users_total`` over every arm (``arms`` in all); ``effect`` is absolute.
    """

    power: float
    target: float
    effect: float
    n_control: int
    users_per_arm: int
    more_users_per_arm: int
    more_users_total: int


def running_power(
    est: EffectEstimate,
    mde: float,
    *,
    relative_mde: bool = True,
    power: float = 0.8,
    alpha: float = 0.05,
    arms: int = 2,
    sequential: Sequential = None,
    tuning: float = DEFAULT_TUNING,
) -> RunningPower:
    """Power now, and users to reach ``power``, for ``mde`` given an experiment's current estimate.

    Unlike :func:`power_at`, which assumes the baseline's variance in every arm, this reads the
    standard error of the running comparison (``est.absolute_se``: each arm's own observed,
    CUPED-adjusted variance over its size) and scales it with the sample at the current split:
    se(k) = se_now sqrt(n_control / k). Power is that of the absolute (equivalently, Fieller's
    relative) two-sided test of no effect, normal approximation, at ``alpha / (arms - 1)``
    (Bonferroni, as the design), with the confidence sequence's critical value at the grown
    sample when ``sequential="confidence_sequence"``. The opposite tail is counted (it matters
    only at power near alpha). ``mde`` is relative to the control mean unless ``relative_mde``.
    """
    if not 0 < power < 1:
        raise DataError(f"power must be between 0 and 1, got {power!r}")
    if not 0 < alpha < 1:
        raise DataError(f"alpha must be between 0 and 1, got {alpha!r}")
    if sequential not in (None, "confidence_sequence"):
        raise DataError(f"running_power: sequential must be None or 'confidence_sequence', got {sequential!r}")
    if est.degenerate is not None or not 0 < est.absolute_se < math.inf or est.n_control < 2:
        raise DataError(f"the running comparison has no standard error ({est.degenerate or 'zero_variance'}); "
                        "its power cannot be estimated yet")
    delta = abs(mde * est.control_mean if relative_mde else mde)
    if not delta > 0:
        raise DataError("the effect to detect is 0 (a zero mde or a zero control mean); give a non-zero mde")
    a = alpha / (arms - 1)
    n_c = est.n_control
    grow = (est.n_control + est.n_treatment) / n_c  # units of this comparison per control unit
    per_unit = est.absolute_se**2 * n_c  # variance of the difference times the control size

    def power_at_size(k: float) -> float:
        se = math.sqrt(per_unit / k)
        crit = critical_value(k * grow, a, tuning) if sequential else float(st.norm.isf(a / 2))
        return float(st.norm.sf(crit - delta / se) + st.norm.cdf(-crit - delta / se))

    now = power_at_size(n_c)
    if now >= power:
        need = n_c
    else:
        hi = 2.0 * n_c
        while power_at_size(hi) < power:
            hi *= 2
            if hi > 1e13:
                raise DataError("the users needed exceed 1e13; the effect is too small to detect")
        need = math.ceil(optimize.brentq(lambda k: power_at_size(k) - power, n_c, hi, xtol=1e-6) - 1e-9)
    more = max(need - n_c, 0)
    total_now = n_c + (arms - 1) * est.n_treatment
    ratio = est.n_treatment / n_c
    more_total = max(math.ceil(need * (1 + (arms - 1) * ratio) - 1e-9) - total_now, 0)
    return RunningPower(power=now, target=power, effect=delta, n_control=n_c, users_per_arm=need,
                        more_users_per_arm=more, more_users_total=int(more_total))
