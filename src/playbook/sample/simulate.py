"""Simulate one block of users and everything they do: the per-user tables of the warehouse.

A block is :data:`~playbook.sample.params.BLOCK_USERS` consecutive users drawn from
``np.random.default_rng([seed, block_index])``, so the result of a block depends only on the
seed and its index -- never on how blocks are grouped into chunks for writing. Everything is
vectorized over the users of the block.

A block returns plain numpy columns: categorical columns as integer codes (-1 = null), times as
float seconds since ``START`` (NaN = null). Sequential ids (order_id, ticket_id, case_id) are
local indexes here; the writer offsets them by running counters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtri

import playbook.sample.params as P
from playbook.sample.experiments import Planted, experiment_tables, pre_value
from playbook.sample.winback import extra_applications, winback_rng

Columns = dict[str, np.ndarray]


def _day_weights() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probability of a signup on each day, and the hour profiles (full day, AS_OF's partial day)."""
    hours = np.asarray(P.HOUR_WEIGHTS)
    full, partial = hours / hours.sum(), hours[:6] / hours[:6].sum()
    d = np.arange(P.N_DAYS)
    weekday = (np.datetime64(P.START.date()) + d).astype("datetime64[D]").view("int64")
    weekday = (weekday + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    w = (1 + P.SIGNUP_GROWTH * d / (P.N_DAYS - 1)) * np.where(weekday >= 5, P.WEEKEND_FACTOR, 1.0)
    w[-1] *= hours[:6].sum() / hours.sum()
    return w / w.sum(), full, partial


DAY_P, HOUR_P, HOUR_P_LAST = _day_weights()
_ECON = np.array([P.CHANNEL_ECON[c][:3] for c in P.CHANNELS])  # apply mult, approve, repeat


def _lognormal(rng: np.random.Generator, median_h: float, sigma: float, n: int) -> np.ndarray:
    return median_h * P.HOUR * np.exp(sigma * rng.standard_normal(n))


def _signups(rng: np.random.Generator, n: int) -> np.ndarray:
    day = rng.choice(P.N_DAYS, size=n, p=DAY_P)
    hour = rng.choice(24, size=n, p=HOUR_P)
    last = day == P.N_DAYS - 1
    hour[last] = rng.choice(6, size=int(last.sum()), p=HOUR_P_LAST)
    return np.floor(day * P.DAY + hour * P.HOUR + rng.uniform(0, P.HOUR, n))


def _process(rng: np.random.Generator, start: np.ndarray, approve_p: np.ndarray,
             disburse_p: np.ndarray) -> dict[str, Any]:
    """Run loan applications through the process; return step times and the outcome of each."""
    n = len(start)
    steps: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    t = start.copy()
    approved = rng.uniform(size=n) < approve_p
    disbursed = approved & (rng.uniform(size=n) < disburse_p)
    for name, (median_h, sigma, wait_h) in P.PROCESS_STEPS.items():
        wait = _lognormal(rng, wait_h, 1.0, n) if wait_h else np.zeros(n)
        dur = _lognormal(rng, median_h, sigma, n)
        s = np.floor(t + wait)
        e = np.floor(s + dur) + 1
        steps[name] = (s, e)
        t = e
    return {"steps": steps, "approved": approved, "disbursed": disbursed,
            "decision": steps["credit_decision"][1], "payout": steps["payout"][1]}


class _Events:
    """The event rows of a block as they are emitted: user, time, event code and revenue.
    Every user's signup (code 0) is the first row."""

    def __init__(self, uid: np.ndarray, t0: np.ndarray) -> None:
        n = len(uid)
        self.uid = uid
        self.u: list[np.ndarray] = [uid]
        self.t: list[np.ndarray] = [t0]
        self.e: list[np.ndarray] = [np.zeros(n, np.int8)]
        self.r: list[np.ndarray] = [np.zeros(n)]

    def emit(self, idx: np.ndarray, ts: np.ndarray, code: int, revenue: np.ndarray | None = None) -> None:
        """Events ``code`` of users ``idx`` (block positions) at ``ts``; those after the data's end are dropped."""
        keep = ts < P.T_END
        self.u.append(self.uid[idx[keep]])
        self.t.append(ts[keep])
        self.e.append(np.full(int(keep.sum()), code, np.int8))
        self.r.append(np.zeros(int(keep.sum())) if revenue is None else revenue[keep])

    def columns(self) -> Columns:
        """The events sorted by user and time."""
        events = {"user_id": np.concatenate(self.u), "ts": np.concatenate(self.t),
                  "event": np.concatenate(self.e), "revenue": np.concatenate(self.r)}
        order = np.lexsort((events["event"], events["ts"], events["user_id"]))
        return {key: v[order] for key, v in events.items()}


def _users(rng: np.random.Generator, first_user: int, n: int) -> tuple[Columns, np.ndarray]:
    """The users table of the block, and which users have no region."""
    uid = np.arange(first_user, first_user + n, dtype=np.int64)
    t0 = _signups(rng, n)
    channel = rng.choice(len(P.CHANNELS), size=n, p=P.CHANNEL_SHARE).astype(np.int8)
    device = rng.choice(len(P.DEVICES), size=n, p=P.DEVICE_SHARE).astype(np.int8)
    region = rng.choice(len(P.REGIONS), size=n, p=P.REGION_SHARE).astype(np.int8)
    region_missing = rng.uniform(size=n) < P.P_REGION_MISSING
    region[region_missing] = -1
    age = rng.choice(len(P.AGE_BANDS), size=n, p=P.AGE_SHARE).astype(np.int8)
    users = {"user_id": uid, "signup_ts": t0, "channel": channel, "region": region,
             "device": device, "age_band": age}
    return users, region_missing


@dataclass(frozen=True)
class _Funnel:
    """Who registered, verified and applied (masks over the block's users) and when, and the
    experiments: per experiment code (mask, variant, assignment time, pre-period value)."""

    reg: np.ndarray
    t_reg: np.ndarray
    ver: np.ndarray
    t_ver: np.ndarray
    app: np.ndarray
    t_app: np.ndarray
    experiments: Planted


def _funnel(rng: np.random.Generator, users: Columns, apply_mult: np.ndarray, events: _Events) -> _Funnel:
    """Register, verify_identity and apply, with the two experiments planted on the way."""
    t0, device = users["signup_ts"], users["device"]
    n = len(t0)
    # register
    reg = rng.uniform(size=n) < P.P_REGISTER
    t_reg = t0 + np.floor(_lognormal(rng, 0.15, 1.0, n)) + 1
    reg_seen = reg & (t_reg < P.T_END)
    events.emit(np.flatnonzero(reg), t_reg[reg], 1)
    # onboarding-copy: assigned at register; SRM 53/47; no effect
    z_ver = rng.standard_normal(n)
    p_ver = np.where(device == P.DEVICES.index("web"), P.P_VERIFY_WEB, P.P_VERIFY)
    ob = reg_seen & (t_reg >= P.EXP_START) & (t_reg < P.EXP_END)
    ob_variant = (rng.uniform(size=n) >= P.ONBOARDING_P_CONTROL).astype(np.int8)
    ob_pre = pre_value(rng, z_ver, p_ver)
    # verify_identity
    ver = reg & (z_ver < ndtri(p_ver))
    t_ver = t_reg + np.floor(_lognormal(rng, 2.0, 1.2, n)) + 1
    ver_seen = ver & (t_ver < P.T_END)
    events.emit(np.flatnonzero(ver), t_ver[ver], 2)
    # limit-banner: assigned at verify_identity; treatment lifts P(apply) by 8%
    lb = ver_seen & (t_ver >= P.EXP_START) & (t_ver < P.EXP_END)
    lb_variant = (rng.uniform(size=n) < 0.5).astype(np.int8)
    p_app = np.minimum(P.P_APPLY * apply_mult * np.where(lb & (lb_variant == 1),
                                                          1 + P.LIMIT_BANNER_LIFT, 1.0), 0.99)
    z_app = rng.standard_normal(n)
    lb_pre = pre_value(rng, z_app, p_app)
    app = ver & (z_app < ndtri(p_app))
    t_app = t_ver + np.floor(_lognormal(rng, 24.0, 1.2, n)) + 1
    return _Funnel(reg, t_reg, ver, t_ver, app, t_app,
                   [(lb, lb_variant, t_ver, lb_pre), (ob, ob_variant, t_reg, ob_pre)])


@dataclass(frozen=True)
class _Loans:
    """Every loan application (first ones, then repeats): the applicant's block position, start,
    amount and outcome; ``first``/``rep`` hold the process of each group."""

    a_idx: np.ndarray  # applicants (first applications)
    c_idx: np.ndarray  # customers (a first loan paid out before the data's end)
    first: dict[str, Any]
    rep: dict[str, Any]
    l_idx: np.ndarray
    l_start: np.ndarray
    l_amount: np.ndarray
    disbursed: np.ndarray
    payout: np.ndarray
    n_base: int  # loans drawn from the block's main stream; the win-back campaign's extras follow


def _loans(rng: np.random.Generator, funnel: _Funnel, approve_p: np.ndarray, repeat_p: np.ndarray,
           events: _Events, *, region: np.ndarray, crng: np.random.Generator) -> _Loans:
    """First applications, then repeat loans of customers, through the process; then the
    win-back campaign's extra repeat loans (drawn from ``crng`` alone, appended last)."""
    a_idx = np.flatnonzero(funnel.app)
    first = _process(rng, funnel.t_app[a_idx], approve_p[a_idx], np.full(len(a_idx), P.P_DISBURSE))
    amount = np.maximum(50, np.round(P.LOAN_MEDIAN * np.exp(P.LOAN_SIGMA
                                                            * rng.standard_normal(len(a_idx))), -1))
    cust = first["disbursed"] & (first["payout"] < P.T_END)
    c_idx, t_disb = a_idx[cust], first["payout"][cust]
    k = np.arange(P.REPEAT_MONTHS)
    hit = rng.uniform(size=(len(c_idx), P.REPEAT_MONTHS)) < repeat_p[c_idx, None] * P.REPEAT_DECAY**k
    rows, months = np.nonzero(hit)
    r_idx = c_idx[rows]
    t_rep = np.floor(t_disb[rows] + (months + rng.uniform(0.05, 1.0, len(rows))) * 30 * P.DAY)
    rep = _process(rng, t_rep, np.minimum(approve_p[r_idx] + P.P_REPEAT_APPROVE_BONUS, 0.95),
                   np.full(len(r_idx), P.P_REPEAT_DISBURSE))
    rep_amount = np.maximum(50, np.round(P.REPEAT_LOAN_FACTOR * P.LOAN_MEDIAN * np.exp(
        P.LOAN_SIGMA * rng.standard_normal(len(r_idx))), -1))
    n_base = len(a_idx) + len(r_idx)
    x_idx, t_x = extra_applications(crng, region, c_idx, t_disb, repeat_p)
    extra = _process(crng, t_x, np.minimum(approve_p[x_idx] + P.P_REPEAT_APPROVE_BONUS, 0.95),
                     np.full(len(x_idx), P.P_REPEAT_DISBURSE))
    x_amount = np.maximum(50, np.round(P.REPEAT_LOAN_FACTOR * P.LOAN_MEDIAN * np.exp(
        P.LOAN_SIGMA * crng.standard_normal(len(x_idx))), -1))
    rep = {"steps": {k: tuple(np.concatenate([a, b]) for a, b in zip(v, extra["steps"][k], strict=True))
                     for k, v in rep["steps"].items()},
           **{k: np.concatenate([rep[k], extra[k]]) for k in ("approved", "disbursed", "decision", "payout")}}
    r_idx, t_rep, rep_amount = (np.concatenate([r_idx, x_idx]), np.concatenate([t_rep, t_x]),
                                np.concatenate([rep_amount, x_amount]))

    l_idx = np.concatenate([a_idx, r_idx])  # all loan applications
    l_start = np.concatenate([funnel.t_app[a_idx], t_rep])
    l_amount = np.concatenate([amount, rep_amount])
    approved = np.concatenate([first["approved"], rep["approved"]])
    disbursed = np.concatenate([first["disbursed"], rep["disbursed"]])
    decision = np.concatenate([first["decision"], rep["decision"]])
    payout = np.concatenate([first["payout"], rep["payout"]])
    fee = np.round(l_amount * P.FEE_RATE, 2)
    events.emit(l_idx, l_start, 3)
    events.emit(l_idx[approved], decision[approved], 4)
    events.emit(l_idx[disbursed], payout[disbursed], 5, fee[disbursed])
    return _Loans(a_idx, c_idx, first, rep, l_idx, l_start, l_amount, disbursed, payout, n_base)


def _process_log(loans: _Loans) -> tuple[Columns, int]:
    """A case per application that started before AS_OF, its steps sorted; and the case count."""
    case_keep = loans.l_start < P.T_END
    pl_case: list[np.ndarray] = []
    pl_step: list[np.ndarray] = []
    pl_s: list[np.ndarray] = []
    pl_e: list[np.ndarray] = []
    for j, name in enumerate(P.PROCESS_STEPS):
        s = np.concatenate([loans.first["steps"][name][0], loans.rep["steps"][name][0]])[case_keep]
        e = np.concatenate([loans.first["steps"][name][1], loans.rep["steps"][name][1]])[case_keep]
        ok = s < P.T_END
        if name == "payout":
            ok &= loans.disbursed[case_keep]
        pl_case.append(np.flatnonzero(ok))
        pl_step.append(np.full(int(ok.sum()), j, np.int8))
        pl_s.append(s[ok])
        pl_e.append(np.where(e[ok] < P.T_END, e[ok], np.nan))
    process: Columns = {"case_id": np.concatenate(pl_case), "step": np.concatenate(pl_step),
                        "start_ts": np.concatenate(pl_s), "end_ts": np.concatenate(pl_e)}
    order = np.lexsort((process["step"], process["case_id"]))
    return {key: v[order] for key, v in process.items()}, int(case_keep.sum())


def _orders(rng: np.random.Generator, uid: np.ndarray, loans: _Loans) -> tuple[Columns, dict[str, int]]:
    """One order per disbursed loan, with the planted defects (and their counts); the win-back
    campaign's orders follow, without defects, so the defects and their counts are unchanged."""
    paid = loans.disbursed & (loans.payout < P.T_END)
    base = np.arange(len(paid)) < loans.n_base
    o_keep = paid & base
    o_uid, o_ts, o_amt = uid[loans.l_idx[o_keep]], loans.payout[o_keep].copy(), loans.l_amount[o_keep].copy()
    o_order = np.lexsort((o_ts, o_uid))
    o_uid, o_ts, o_amt = o_uid[o_order], o_ts[o_order], o_amt[o_order]
    m = len(o_uid)
    u = rng.uniform(size=m)
    neg = u < P.P_ORDER_NEGATIVE
    dup = (u >= P.P_ORDER_NEGATIVE) & (u < P.P_ORDER_NEGATIVE + P.P_ORDER_DUPLICATE)
    fut = (u >= 1 - P.P_ORDER_FUTURE)
    o_amt[neg] = -o_amt[neg]
    o_ts[fut] = np.floor(P.T_END + rng.uniform(1 * P.HOUR, 45 * P.DAY, int(fut.sum())))
    o_id = np.arange(m, dtype=np.int64)  # local; the writer adds the running offset
    sources = np.flatnonzero(dup)
    targets_pool = np.flatnonzero(~dup)
    sources = sources[: len(targets_pool)]
    targets = rng.choice(targets_pool, size=len(sources), replace=False)
    o_id[sources] = o_id[targets]
    x_uid, x_ts, x_amt = uid[loans.l_idx[paid & ~base]], loans.payout[paid & ~base], loans.l_amount[paid & ~base]
    x_order = np.lexsort((x_ts, x_uid))
    orders = {"order_id": np.concatenate([o_id, np.arange(m, m + len(x_uid), dtype=np.int64)]),
              "user_id": np.concatenate([o_uid, x_uid[x_order]]),
              "ts": np.concatenate([o_ts, x_ts[x_order]]), "amount": np.concatenate([o_amt, x_amt[x_order]])}
    return orders, {"orders.amount.negative": int(neg.sum()),
                    "orders.order_id.duplicate_ids": len(sources),
                    "orders.order_id.duplicate_rows": 2 * len(sources),
                    "orders.ts.future": int(fut.sum())}


def _visits(rng: np.random.Generator, funnel: _Funnel, loans: _Loans, events: _Events) -> None:
    """Return visits: engagement decays after signup (the cohort curves)."""
    n = len(funnel.reg)
    engage = 1.0 + 0.5 * funnel.ver + 1.0 * np.isin(np.arange(n), loans.c_idx)
    lam = rng.gamma(1.5, 8.3 / 1.5, n) * engage * funnel.reg
    cnt = rng.poisson(lam)
    v_idx = np.repeat(np.arange(n), cnt)
    fast = rng.uniform(size=len(v_idx)) < 0.5
    offs = rng.exponential(np.where(fast, 3.0, 40.0) * P.DAY)
    events.emit(v_idx, np.floor(funnel.t_reg[v_idx] + offs) + 60, 0)


def _tickets(rng: np.random.Generator, users: Columns, a_idx: np.ndarray) -> Columns:
    uid, t0 = users["user_id"], users["signup_ts"]
    n = len(uid)
    applied = np.isin(np.arange(n), a_idx)
    k_t = rng.poisson(P.TICKETS_PER_USER + 0.35 * applied)
    t_idx = np.repeat(np.arange(n), k_t)
    opened = np.floor(t0[t_idx] + rng.exponential(5 * P.DAY, len(t_idx)))
    t_keep = opened < P.T_END
    t_idx, opened = t_idx[t_keep], opened[t_keep]
    nt = len(t_idx)
    resolved = np.floor(opened + _lognormal(rng, 18.0, 1.0, nt)) + 60
    resolved[(resolved >= P.T_END) | (rng.uniform(size=nt) < P.P_TICKET_ABANDONED)] = np.nan
    answered = ~np.isnan(resolved) & (rng.uniform(size=nt) < P.CSAT_RESPONSE)
    csat = np.where(answered, rng.choice(5, size=nt, p=P.CSAT_SHARE) + 1, -1).astype(np.int8)
    t_order = np.lexsort((opened,))
    return {"user_id": uid[t_idx][t_order], "opened_ts": opened[t_order],
            "resolved_ts": resolved[t_order],
            "category": rng.choice(5, size=nt, p=P.TICKET_SHARE).astype(np.int8)[t_order],
            "csat": csat[t_order]}


def simulate_block(seed: int, block: int, first_user: int, n: int) -> dict[str, Any]:
    """All per-user tables for users ``first_user .. first_user + n - 1`` (block ``block``).

    The stages draw from one generator in a fixed order (users, funnel, loans, orders, visits,
    tickets), so a block's tables depend on the seed and the block index alone."""
    rng = np.random.default_rng([seed, block])  # the win-back campaign draws from its own stream
    users, region_missing = _users(rng, first_user, n)
    uid = users["user_id"]
    apply_mult, approve_p, repeat_p = _ECON[users["channel"]].T
    events = _Events(uid, users["signup_ts"])
    funnel = _funnel(rng, users, apply_mult, events)
    loans = _loans(rng, funnel, approve_p, repeat_p, events, region=users["region"],
                   crng=winback_rng(seed, block))
    process, n_cases = _process_log(loans)
    orders, order_defects = _orders(rng, uid, loans)
    _visits(rng, funnel, loans, events)
    tickets = _tickets(rng, users, loans.a_idx)
    assignments, metrics_pre = experiment_tables(uid, funnel.experiments)
    return {
        "users": users,
        "events": events.columns(),
        "orders": orders,
        "assignments": assignments,
        "metrics_pre": metrics_pre,
        "process_log": process,
        "tickets": tickets,
        "_n_cases": n_cases,
        "_defects": {"users.region.missing": int(region_missing.sum()), **order_defects},
    }
