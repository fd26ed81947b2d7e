"""The planted win-back campaign: extra repeat-loan applications of one region's customers.

From :data:`~playbook.sample.params.WINBACK_START` to ``WINBACK_END`` a customer of region
:data:`~playbook.sample.params.WINBACK_REGION` applies for repeat loans at ``1 + WINBACK_LIFT``
times the usual rate. The usual rate in month k after the first payout is ``p_channel x
REPEAT_DECAY**k`` spread evenly over the month's last 95% (see ``simulate._loans``), so the
extra applications are a thinned copy of it: in month k a customer gets one extra application
with probability ``WINBACK_LIFT x p_k x overlap / (0.95 x 30 days)``, at a uniform time in the
overlap of that month with the campaign. In expectation the region's repeat applications in
any stretch of the campaign are ``1 + WINBACK_LIFT`` times what they would have been.

The draws come from ``np.random.default_rng([seed, block, WINBACK_STREAM])``, their own stream,
so the rest of the warehouse is drawn exactly as before the campaign was planted.
"""

from __future__ import annotations

import numpy as np

import playbook.sample.params as P

MONTH = 30 * P.DAY


def winback_rng(seed: int, block: int) -> np.random.Generator:
    """The campaign's own random stream for a block."""
    return np.random.default_rng([seed, block, P.WINBACK_STREAM])


def extra_applications(rng: np.random.Generator, region: np.ndarray, c_idx: np.ndarray,
                       t_disb: np.ndarray, repeat_p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(block positions, application times) of the campaign's extra repeat applications.

    ``region`` holds the block's region codes, ``c_idx`` the customers' positions, ``t_disb``
    their first payout and ``repeat_p`` every user's monthly repeat-loan probability."""
    treated = region[c_idx] == P.REGIONS.index(P.WINBACK_REGION)
    c, t0 = c_idx[treated], t_disb[treated]
    k = np.arange(P.REPEAT_MONTHS)
    lo = np.maximum(t0[:, None] + (k + 0.05) * MONTH, P.WINBACK_START)
    hi = np.minimum(t0[:, None] + (k + 1.0) * MONTH, P.WINBACK_END)
    overlap = np.maximum(hi - lo, 0.0)
    p = P.WINBACK_LIFT * repeat_p[c, None] * P.REPEAT_DECAY**k * overlap / (0.95 * MONTH)
    hit = rng.uniform(size=p.shape) < p
    rows, months = np.nonzero(hit)
    t = np.floor(lo[rows, months] + rng.uniform(size=len(rows)) * overlap[rows, months])
    return c[rows], t
