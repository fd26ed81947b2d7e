"""The small tables that do not follow individual users: spend, campaigns, backlog.

Each draws from its own stream, ``np.random.default_rng([seed, 1_000_000 + k])``, so that it
never shares random numbers with the user blocks.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

import playbook.sample.params as P
from playbook.sample.simulate import DAY_P


def spend(seed: int, n_users: int) -> pd.DataFrame:
    """Daily spend per channel, proportional to the expected new users of the day.

    Spend = cost per new user x expected new users x lognormal noise (sigma 0.08). The table
    stops ``SPEND_LAG_DAYS`` days before AS_OF's date: the planted stale table.
    """
    rng = np.random.default_rng([seed, 1_000_000])
    last = P.AS_OF.date() - timedelta(days=P.SPEND_LAG_DAYS)
    n_days = (last - P.START.date()).days + 1
    rows = []
    for c, share in zip(P.CHANNELS, P.CHANNEL_SHARE, strict=True):
        _, _, _, cost, cpm, ctr = P.CHANNEL_ECON[c]
        expected = n_users * share * DAY_P[:n_days]
        amount = np.round(cost * expected * np.exp(0.08 * rng.standard_normal(n_days)), 2)
        impressions = np.round(amount / cpm * 1000 * np.exp(0.05 * rng.standard_normal(n_days)))
        clicks = rng.binomial(impressions.astype(np.int64), ctr)
        rows.append(pd.DataFrame({
            "date": pd.date_range(P.START.date(), periods=n_days, freq="D").date,
            "channel": c, "spend": amount, "impressions": impressions.astype(np.int64),
            "clicks": clicks.astype(np.int64)}))
    return pd.concat(rows).sort_values(["date", "channel"], kind="stable").reset_index(drop=True)


def campaigns(seed: int) -> pd.DataFrame:
    """Past CRM campaigns: participants ~ audience x channel rate, conversions ~ participants x rate."""
    rng = np.random.default_rng([seed, 1_000_001])
    names = list(P.CAMPAIGN_CHANNELS)
    themes = ["limit-up", "win-back", "refi", "summer", "payday", "welcome", "referral", "holiday"]
    rows = []
    for i in range(P.N_CAMPAIGNS):
        ch = names[int(rng.integers(len(names)))]
        part, conv, cost = P.CAMPAIGN_CHANNELS[ch]
        start = P.START.date() - timedelta(days=int(rng.integers(0, 540)))
        end = start + timedelta(days=int(rng.integers(7, 29)))
        audience = int(np.round(rng.uniform(5_000, 120_000), -2))
        p_rate = min(part * np.exp(P.CAMPAIGN_NOISE * rng.standard_normal()), 1.0)
        c_rate = min(conv * np.exp(P.CAMPAIGN_NOISE * rng.standard_normal()), 1.0)
        participants = int(rng.binomial(audience, p_rate))
        rows.append({
            "campaign": f"{start:%Y-%m}-{ch.replace('_', '-')}-{themes[i % len(themes)]}-{i + 1:02d}",
            "channel": ch, "start": start, "end": end,
            "budget": round(audience * cost * float(np.exp(0.1 * rng.standard_normal())) + 500, 2),
            "audience": audience, "participants": participants,
            "conversions": int(rng.binomial(participants, c_rate))})
    return pd.DataFrame(rows).sort_values("start", kind="stable").reset_index(drop=True)


IDEAS = [
    ("Show pre-approved limit on home screen", "activation"),
    ("Selfie-free identity check on web", "activation"),
    ("Save progress in the verification flow", "activation"),
    ("Instant bank-account verification", "activation"),
    ("Referral bonus for first loan", "referral"),
    ("Win-back email after 60 days inactive", "retention"),
    ("Loyalty fee discount on third loan", "retention"),
    ("Push reminder before repayment date", "retention"),
    ("Cut display budget in half", "acquisition"),
    ("Landing pages per search intent", "acquisition"),
    ("Affiliate payout per funded loan", "acquisition"),
    ("Social lookalike audiences", "acquisition"),
    ("Explain the fee in plain words", "revenue"),
    ("Offer a higher limit at disbursement", "revenue"),
    ("Same-day payout on weekends", "revenue"),
    ("Chat support inside the application", "activation"),
    ("Shorter application form", "activation"),
    ("Dark-mode app theme", "retention"),
    ("Credit-score insights tab", "retention"),
    ("Calculator on the landing page", "acquisition"),
    ("Partner with payroll apps", "acquisition"),
    ("Document upload from desktop", "activation"),
    ("Price test on repeat-loan fee", "revenue"),
    ("Invite a friend leaderboard", "referral"),
    ("Progress bar in onboarding", "activation"),
]


def backlog(seed: int) -> pd.DataFrame:
    """Growth ideas with an id, ICE scores (1-10), monthly reach, a status and the day each was
    added to the backlog."""
    rng = np.random.default_rng([seed, 1_000_002])
    owners = ["ana", "ben", "chen", "dara", "eli", "fatma"]
    statuses = ["idea", "running", "done", "dropped"]
    n = P.N_IDEAS
    frame = pd.DataFrame({
        "idea": [idea for idea, _ in IDEAS[:n]],
        "owner": rng.choice(owners, size=n),
        "area": [area for _, area in IDEAS[:n]],
        "impact": rng.integers(1, 11, n), "confidence": rng.integers(1, 11, n),
        "ease": rng.integers(1, 11, n),
        "reach": (np.round(rng.lognormal(np.log(8_000), 1.0, n), -2)).astype(np.int64) + 100,
        "status": rng.choice(statuses, size=n, p=[0.5, 0.15, 0.25, 0.1]),
    })
    # drawn after the columns above, which stay as they were before ids and dates were added
    first = P.START.date() - timedelta(days=60)
    frame.insert(0, "idea_id", [f"IDEA-{i + 1:03d}" for i in range(n)])
    frame["created"] = [first + timedelta(days=int(d)) for d in rng.integers(0, 240, n)]
    return frame
