"""The variance model behind :mod:`playbook.stats.power`: a metric's baseline (:class:`MetricSpec`),
one design (arms, variance, critical values, sequential inflation) shared by sample size, power
and MDE, and the solver for n. :mod:`playbook.stats.power` re-exports :class:`MetricSpec`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from scipy import optimize
from scipy import stats as st

from playbook.errors import DataError
from playbook.stats.sequential import DEFAULT_TUNING, critical_value
from playbook.stats.spending import Spending, SpendingBounds, crossing_probability, spending_bounds
from playbook.stats.suffstats import (
    ArmStats,
    ProportionStats,
    RatioRegressionAdjustedStats,
    RatioStats,
    RegressionAdjustedStats,
)

__all__ = ["Design", "DesignOptions", "MetricSpec", "Sequential", "design", "solve_n"]

Sequential = Literal["confidence_sequence", "obrien_fleming", "pocock"] | None


@dataclass(frozen=True)
class MetricSpec:
    """The baseline of a metric: its control mean (rate, ratio) and per-unit variance."""

    kind: str
    mean: float
    variance: float

    def __post_init__(self) -> None:
        if self.kind not in ("proportion", "mean", "ratio"):
            raise DataError(f"MetricSpec.kind must be proportion, mean or ratio, got {self.kind!r}")
        if self.kind == "proportion" and not 0 < self.mean < 1:
            raise DataError(f"baseline rate must be strictly between 0 and 1, got {self.mean!r}")
        if not self.variance > 0 or not math.isfinite(self.variance):
            raise DataError(
                f"baseline per-unit variance must be positive, got {self.variance!r}; a constant metric "
                "cannot be tested (check the pre-period data)"
            )

    @classmethod
    def proportion(cls, rate: float) -> MetricSpec:
        """A conversion rate, e.g. 0.03."""
        return cls("proportion", rate, rate * (1 - rate) if 0 < rate < 1 else 0.0)

    @classmethod
    def mean_metric(cls, mean: float, sd: float) -> MetricSpec:
        """A per-unit mean with its per-unit standard deviation."""
        return cls("mean", mean, sd * sd)

    @classmethod
    def from_stats(cls, stats: ArmStats) -> MetricSpec:
        """Baseline from sufficient statistics of historical (pre-period) data."""
        if isinstance(stats, ProportionStats):
            return cls.proportion(stats.mean)
        if isinstance(stats, RegressionAdjustedStats):
            return cls("mean", stats.post.mean, stats.post.variance)
        if isinstance(stats, RatioRegressionAdjustedStats):
            return cls("ratio", stats.post.mean, stats.post.variance)
        kind = "ratio" if isinstance(stats, RatioStats) else "mean"
        return cls(kind, stats.mean, stats.variance)


@dataclass(frozen=True)
class Design:
    """One design: what sample size, power and MDE are computed for (built by :func:`design`)."""

    metric: MetricSpec
    delta: float  # absolute true effect (signed)
    alpha: float  # per comparison
    sides: int
    ratio: float
    margin: float  # absolute, >= 0
    shrink: float  # 1 - rho^2
    null_variance: str
    sequential: Sequential
    looks: int
    tuning: float
    relative_readout: bool

    def variances(self) -> tuple[float, float]:
        """(V0, V1): variance of the difference times n_control, under H0 and H1."""
        m = self.metric
        r = self.ratio
        # A relative readout divides by its standard error v_a (m_b/m_a)^2 + v_b / r (delta method,
        # absolute units): that scales the critical value, while the estimate itself still varies
        # with the absolute variance v_a + v_b / r.
        grow = ((m.mean + self.delta) / m.mean) ** 2 if self.relative_readout and m.mean else 1.0
        if m.kind == "proportion":
            p1 = m.mean
            p2 = p1 + self.delta
            if not 0 < p2 < 1:
                raise DataError(
                    f"baseline {p1!r} plus effect {self.delta!r} gives a rate of {p2!r}, outside (0, 1); "
                    "use a smaller effect"
                )
            v1 = p1 * (1 - p1) + p2 * (1 - p2) / r
            if self.null_variance == "pooled" and self.margin == 0:
                pbar = (p1 + r * p2) / (1 + r)
                v0 = pbar * (1 - pbar) * (1 + 1 / r)
            else:
                v0 = p1 * (1 - p1) * grow + p2 * (1 - p2) / r
        else:
            v1 = m.variance * (1 + 1 / r)
            v0 = m.variance * (grow + 1 / r)
        return v0 * self.shrink, v1 * self.shrink

    @property
    def gap(self) -> float:
        """Distance of the true effect from the null boundary, in the direction tested."""
        if self.margin > 0:
            return self.delta + self.margin
        return abs(self.delta) if self.sides == 2 else self.delta

    def power(self, n1: float) -> float:
        if n1 <= 1:
            return 0.0
        v0, v1 = self.variances()
        se0, se1 = math.sqrt(v0 / n1), math.sqrt(v1 / n1)
        gap = self.gap
        if self.sequential == "confidence_sequence":
            n_total = n1 * (1 + self.ratio)
            return float(st.norm.cdf((gap - critical_value(n_total, self.alpha, self.tuning) * se0) / se1))
        if self.sequential in ("obrien_fleming", "pocock"):
            b = self._bounds()
            scaled = replace(b, z_bounds=tuple(z * se0 / se1 for z in b.z_bounds))  # onto the se1 scale
            return crossing_probability(scaled, gap / se1)
        if self.metric.kind == "proportion":
            z = float(st.norm.isf(self.alpha / self.sides))
            return float(st.norm.cdf((gap - z * se0) / se1))
        n2 = n1 * self.ratio
        s1, s2 = self.metric.variance / n1, self.metric.variance / n2
        df = (s1 + s2) ** 2 / (s1 * s1 / (n1 - 1) + s2 * s2 / max(n2 - 1, 1e-9))
        q = float(st.t.isf(self.alpha / self.sides, df))
        return float(st.nct.sf(q * se0 / se1, df, gap / se1))

    def _bounds(self) -> SpendingBounds:
        info = [k / self.looks for k in range(1, self.looks + 1)]
        spending: Spending = "pocock" if self.sequential == "pocock" else "obrien_fleming"
        return spending_bounds(info, alpha=self.alpha, spending=spending, sides=self.sides)

    def fixed(self) -> Design:
        return replace(self, sequential=None)


@dataclass(frozen=True)
class DesignOptions:
    """The options sample size, power and MDE share (see :mod:`playbook.stats.power`)."""

    alpha: float = 0.05
    alternative: str = "two-sided"
    ratio: float = 1.0
    arms: int = 2
    margin: float = 0.0
    relative_margin: bool = True
    variance_reduction: float = 0.0
    null_variance: str = "unpooled"
    sequential: Sequential = None
    looks: int = 1
    tuning: float = DEFAULT_TUNING

    def check(self) -> None:
        """DataError naming the option that is out of range."""
        if not 0 < self.alpha < 1:
            raise DataError(f"alpha must be between 0 and 1, got {self.alpha!r}")
        if self.alternative not in ("two-sided", "greater"):
            raise DataError(f"alternative must be 'two-sided' or 'greater', got {self.alternative!r}")
        if not self.ratio > 0:
            raise DataError(f"ratio (n_treatment / n_control) must be > 0, got {self.ratio!r}")
        if not isinstance(self.arms, int) or self.arms < 2:
            raise DataError(f"arms must be an integer >= 2 (control plus treatments), got {self.arms!r}")
        if not 0 <= self.variance_reduction < 1:
            raise DataError(f"variance_reduction (CUPED rho^2) must be in [0, 1), got {self.variance_reduction!r}")
        if self.margin < 0:
            raise DataError(f"margin must be >= 0, got {self.margin!r}")
        if self.null_variance not in ("pooled", "unpooled"):
            raise DataError(f"null_variance must be 'pooled' or 'unpooled', got {self.null_variance!r}")
        self._check_sequential()

    def _check_sequential(self) -> None:
        if self.sequential not in (None, "confidence_sequence", "obrien_fleming", "pocock"):
            raise DataError(
                f"sequential must be None, 'confidence_sequence', 'obrien_fleming' or 'pocock', got {self.sequential!r}"
            )
        if self.sequential in ("obrien_fleming", "pocock") and (not isinstance(self.looks, int) or self.looks < 1):
            raise DataError(f"looks must be a positive integer for alpha spending, got {self.looks!r}")


def design(
    metric: MetricSpec,
    mde: float,
    *,
    relative_mde: bool,
    options: DesignOptions,
    relative_readout: bool | None = None,
) -> Design:
    """The checked design; DataError naming the option that is out of range."""
    options.check()
    delta = mde * metric.mean if relative_mde else mde
    abs_margin = options.margin * abs(metric.mean) if options.relative_margin else options.margin
    sides = 1 if (options.alternative == "greater" or abs_margin > 0) else 2
    if options.sequential == "confidence_sequence" and sides == 1:
        raise DataError("confidence sequences here are two-sided; use alternative='two-sided' without a margin")
    if relative_readout is None:
        relative_readout = relative_mde
    if relative_readout and metric.mean == 0:
        raise DataError("a relative lift needs a non-zero baseline mean; use relative_mde=False")
    return Design(
        metric, delta, options.alpha / (options.arms - 1), sides, options.ratio, abs_margin,
        1.0 - options.variance_reduction, options.null_variance, options.sequential, options.looks,
        options.tuning, relative_readout,
    )


def solve_n(design: Design, power: float) -> float:
    """Control-arm units at which ``design`` reaches ``power``."""
    if not 0 < power < 1:
        raise DataError(f"power must be between 0 and 1 (e.g. 0.8), got {power!r}")
    if design.gap <= 0:
        raise DataError(
            "the effect to detect is 0 (or points against the tested direction); give a non-zero mde, "
            "or a margin for a non-inferiority design"
        )
    lo, hi = 2.0, 4.0
    while design.power(hi) < power:
        lo, hi = hi, hi * 4
        if hi > 1e13:
            raise DataError("the required sample size exceeds 1e13 units; the effect is too small to detect")
    return float(optimize.brentq(lambda n: design.power(n) - power, lo, hi, xtol=1e-9, rtol=1e-12))
