"""The two planted experiments' tables: a pre-period score per assigned user, and the rows of
``assignments`` and ``metrics_pre`` (moved out of :mod:`playbook.sample.simulate`, unchanged)."""

from __future__ import annotations

from typing import cast

import numpy as np
from scipy.special import ndtri

import playbook.sample.params as P

Columns = dict[str, np.ndarray]
#: Per experiment code: (mask over the block's users, variant, assignment time, pre-period value)
Planted = list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


def pre_value(rng: np.random.Generator, z: np.ndarray, p: np.ndarray) -> np.ndarray:
    """A pre-period score correlated ~PRE_RHO with the binary outcome ``z < ndtri(p)``."""
    c = ndtri(p)
    k = np.exp(-c * c / 2) / np.sqrt(2 * np.pi) / np.sqrt(p * (1 - p))  # corr(1{z<c}, -z)
    rho = np.clip(P.PRE_RHO / k, 0, 0.95)
    x = -rho * z + np.sqrt(1 - rho**2) * rng.standard_normal(len(z))
    return cast(np.ndarray, np.round(np.clip(50 + 15 * x, 0, 100), 2))


def experiment_tables(uid: np.ndarray, experiments: Planted) -> tuple[Columns, Columns]:
    """The assignments and the pre-period values of both experiments (by experiment code)."""
    assignments, metrics_pre = [], []
    for code, (mask, variant, t_assign, pre) in enumerate(experiments):
        i = np.flatnonzero(mask)
        assignments.append((uid[i], np.full(len(i), code, np.int8), variant[i], t_assign[i]))
        metrics_pre.append((uid[i], np.full(len(i), code, np.int8), pre[i]))
    a = [np.concatenate(c) for c in zip(*assignments, strict=True)]
    mp = [np.concatenate(c) for c in zip(*metrics_pre, strict=True)]
    return (dict(zip(["user_id", "experiment", "variant", "assigned_ts"], a, strict=True)),
            dict(zip(["user_id", "experiment", "pre_value"], mp, strict=True)))
