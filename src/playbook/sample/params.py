"""The knobs of the sample warehouse: reference time, funnel rates, channel economics, experiments.

Everything the generator plants is a constant here, so that :data:`playbook.sample.PLANTED`
(the truth that tests and templates check against) is built from the very numbers that drive the
simulation rather than restated by hand.

Times inside the generator are float seconds since :data:`START` (midnight, naive UTC); they
become ``timestamp[us]`` (naive UTC, whole seconds) when written.
"""

from __future__ import annotations

from datetime import datetime, timedelta

GENERATOR_VERSION = "1.0"

#: Reference "now" of the sample warehouse (naive UTC). The generator never reads the wall clock.
AS_OF = datetime(2026, 11, 24, 6, 0, 0)
#: First instant of the history: 182 days and 6 hours before AS_OF.
START = datetime(2026, 5, 26, 0, 0, 0)
DAY = 86_400.0
HOUR = 3_600.0
T_END = (AS_OF - START).total_seconds()  # AS_OF in generator seconds
N_DAYS = 183  # 182 full days + the 6-hour partial day of AS_OF

USERS_PER_SCALE = 20_000
BLOCK_USERS = 1_000  # users per random-number block; results never depend on the chunk size

# -- users -------------------------------------------------------------------------------------
CHANNELS = ["organic", "search", "social", "affiliate", "display"]
CHANNEL_SHARE = [0.30, 0.25, 0.20, 0.12, 0.13]
DEVICES = ["ios", "android", "web"]
DEVICE_SHARE = [0.40, 0.35, 0.25]
REGIONS = ["north", "south", "east", "west", "central"]
REGION_SHARE = [0.22, 0.24, 0.18, 0.20, 0.16]
AGE_BANDS = ["18-24", "25-34", "35-44", "45-54", "55+"]
AGE_SHARE = [0.22, 0.34, 0.22, 0.14, 0.08]
SIGNUP_GROWTH = 0.30  # signups per day grow linearly by 30% over the history
WEEKEND_FACTOR = 0.85
HOUR_WEIGHTS = [1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1.0, 2.0, 3.0, 4.0, 4.5, 5.0,
                5.0, 5.0, 5.0, 5.0, 5.0, 5.5, 6.0, 6.5, 6.0, 5.0, 3.5, 2.0]

# -- funnel (first pass: visit -> register -> verify_identity -> apply -> approve -> disburse) ----
EVENTS = ["visit", "register", "verify_identity", "apply", "approve", "disburse"]
P_REGISTER = 0.70
P_VERIFY = 0.514  # ios / android
P_VERIFY_WEB = 0.257  # web: half the rate -- the planted weak segment
P_APPLY = 0.80  # times the channel's apply multiplier
P_DISBURSE = 0.85  # approved -> disbursed (the customer accepts the offer)
#: channel -> (apply multiplier, approval probability, monthly repeat-loan probability,
#:             acquisition cost per new user, CPM, CTR)
CHANNEL_ECON = {
    "organic": (1.00, 0.70, 0.55, 0.80, 2.0, 0.020),
    "search": (1.05, 0.70, 0.55, 5.00, 12.0, 0.045),
    "social": (0.95, 0.62, 0.45, 4.00, 6.0, 0.012),
    "affiliate": (1.00, 0.65, 0.50, 6.00, 9.0, 0.030),
    "display": (0.80, 0.45, 0.25, 7.50, 3.0, 0.004),
}
REPEAT_MONTHS = 6
REPEAT_DECAY = 0.75  # probability of a repeat loan in month k is p_repeat * 0.75**k
P_REPEAT_APPROVE_BONUS = 0.20
P_REPEAT_DISBURSE = 0.95
LOAN_MEDIAN = 400.0  # first loan amount: lognormal, median 400, sigma 0.6, rounded to 10
LOAN_SIGMA = 0.6
REPEAT_LOAN_FACTOR = 1.2
FEE_RATE = 0.10  # revenue of a disburse event = 10% of the loan amount

# -- experiments (both run 2026-08-17 .. 2026-11-09, intended split 50/50) ----------------------
EXP_START = (datetime(2026, 8, 17) - START).total_seconds()
EXP_END = (datetime(2026, 11, 9) - START).total_seconds()
LIMIT_BANNER_LIFT = 0.08  # relative lift on P(apply) for users assigned at verify_identity
ONBOARDING_P_CONTROL = 0.53  # SRM: 53/47 although 50/50 was intended; no effect on anything
PRE_RHO = 0.5  # target correlation of metrics_pre.pre_value with the experiment's outcome

# -- process_log: step -> (median duration h, lognormal sigma, median wait before the step h) ---
PROCESS_STEPS = {
    "submit": (4 / 60, 0.5, 0.0),
    "document_check": (40 / 60, 0.6, 0.25),
    "manual_review": (26.0, 0.5, 0.5),
    "credit_decision": (1.5, 0.5, 10 / 60),
    "payout": (0.75, 0.5, 2.0),  # the wait is the customer accepting the offer
}

# -- tickets -------------------------------------------------------------------------------------
TICKET_CATEGORIES = ["verification", "application", "payment", "account", "other"]
TICKET_SHARE = [0.30, 0.25, 0.20, 0.15, 0.10]
TICKETS_PER_USER = 0.15  # plus 0.35 for users who applied
CSAT_SHARE = [0.08, 0.10, 0.17, 0.30, 0.35]  # 1..5
CSAT_RESPONSE = 0.70
P_TICKET_ABANDONED = 0.03  # never resolved (resolved_ts null) even long before AS_OF

# -- planted data-quality defects ------------------------------------------------------------------
P_REGION_MISSING = 0.04
P_ORDER_NEGATIVE = 0.005
P_ORDER_DUPLICATE = 0.003
P_ORDER_FUTURE = 0.002
SPEND_LAG_DAYS = 5  # spend's newest date is AS_OF's date minus 5 days; its SLA is 1 day

# -- campaigns (CRM campaigns to existing users) -----------------------------------------------------
CAMPAIGN_CHANNELS = {  # channel -> (participation rate, conversion rate, cost per contact)
    "email": (0.08, 0.10, 0.02),
    "push": (0.05, 0.08, 0.01),
    "sms": (0.06, 0.12, 0.05),
    "in_app": (0.12, 0.15, 0.005),
}
N_CAMPAIGNS = 30
CAMPAIGN_NOISE = 0.10  # lognormal sigma of each campaign's rates around its channel's rate
N_IDEAS = 25

# -- win-back campaign (repeat loans of existing customers in one region; a kpi_review to find) ----
#: From 2026-10-12 (a Monday) to 2026-11-23 (exclusive: six full weeks), customers in region
#: ``south`` apply for repeat loans at 1 + WINBACK_LIFT times their usual rate; the other regions
#: are the comparison group. The extra loans come from their own random stream
#: (``default_rng([seed, block, WINBACK_STREAM])``), so every other draw is unchanged.
WINBACK_REGION = "south"
WINBACK_START = (datetime(2026, 10, 12) - START).total_seconds()
WINBACK_END = (datetime(2026, 11, 23) - START).total_seconds()
WINBACK_LIFT = 0.30  # relative lift of the repeat-loan rate (applications, hence orders)
WINBACK_STREAM = 14


def as_datetime(seconds: float) -> datetime:
    """Generator seconds -> naive UTC datetime."""
    return START + timedelta(seconds=seconds)
