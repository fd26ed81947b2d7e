"""A second test warehouse: the contract's tables and columns, none of the sample's names.

Written from the sample warehouse with every name a template could assume renamed (events,
process steps, channels, devices, regions, experiments, arms, ticket categories, id formats)
and other value ranges (pre-period scores 0-1000, amounts in cents), with no marker file
(``_warehouse.json``): an export, as another team would hand it over. The sample's own planted
defects are repaired, and this warehouse's own are planted instead (:data:`DEFECTS`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

EVENTS = {"visit": "landing", "register": "signup", "verify_identity": "kyc_passed",
          "apply": "loan_request", "approve": "loan_ok", "disburse": "cash_out"}
STEPS = {"submit": "intake", "document_check": "docs", "manual_review": "underwriting",
         "credit_decision": "decision", "payout": "funding"}
CHANNELS = {"organic": "seo", "search": "sem", "social": "tiktok", "affiliate": "partners",
            "display": "banners"}
DEVICES = {"ios": "iphone", "android": "android_app", "web": "desktop"}
REGIONS = {"north": "nord", "south": "sud", "east": "est", "west": "ouest", "central": "centre"}
EXPERIMENTS = {"limit-banner": "exp_credit_line_2026", "onboarding-copy": "exp_welcome_text"}
ARMS = {"control": "A", "treatment": "B"}
CAMPAIGN_CHANNELS = {"email": "mail", "push": "notification", "sms": "text", "in_app": "inbox"}
CATEGORIES = {"verification": "kyc", "application": "loan", "payment": "billing",
              "account": "profile", "other": "misc"}

#: (table, rule, column) of every defect planted here, and how many rows each touches.
DEFECTS = {
    ("orders", "uniqueness", "order_id"): 80,  # 40 ids, each twice
    ("orders", "not_future", "ts"): 10,  # loaded with a year of 2099
    ("process_log", "distinct_rows", ""): 60,  # a load that ran twice for 60 rows
    ("users", "completeness", "user_id"): 12,  # keys lost in the export
}
FUTURE = pd.Timestamp("2099-01-01")
SNAPSHOT = "2026-11-24T06:00:00Z"


def _map(s: pd.Series, mapping: dict[str, str]) -> pd.Series:
    return s.map(lambda v: mapping.get(v, v) if isinstance(v, str) else v)


def write_other_warehouse(sample: Path, out: Path, seed: int = 11) -> Path:
    """Write the second warehouse into ``out`` from the sample warehouse in ``sample``."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    t = {p.stem: pd.read_parquet(p) for p in sample.glob("*.parquet")}

    users = t["users"].assign(channel=lambda d: _map(d.channel, CHANNELS),
                              device=lambda d: _map(d.device, DEVICES),
                              region=lambda d: _map(d.region, REGIONS).fillna("nord"))
    users["user_id"] = users["user_id"].astype("Int64")
    users.loc[rng.choice(len(users), DEFECTS[("users", "completeness", "user_id")],
                         replace=False), "user_id"] = pd.NA

    events = t["events"].assign(event=lambda d: _map(d.event, EVENTS))

    orders = t["orders"].drop_duplicates("order_id").copy()
    orders = orders[(orders.amount >= 0) & (orders.ts <= pd.Timestamp(SNAPSHOT[:19]))]
    orders["amount"] = (orders["amount"] * 100).round()  # cents
    dup = orders.sample(40, random_state=seed).assign(amount=lambda d: d.amount + 1)
    orders = pd.concat([orders, dup], ignore_index=True)
    future = rng.choice(len(orders), DEFECTS[("orders", "not_future", "ts")], replace=False)
    orders.loc[future, "ts"] = FUTURE + pd.to_timedelta(future, unit="h")
    orders["order_id"] = orders["order_id"].map(lambda i: f"ORD{i:09d}")

    spend = t["spend"].assign(channel=lambda d: _map(d.channel, CHANNELS))
    assignments = t["assignments"].assign(experiment=lambda d: _map(d.experiment, EXPERIMENTS),
                                          variant=lambda d: _map(d.variant, ARMS))
    metrics_pre = t["metrics_pre"].assign(experiment=lambda d: _map(d.experiment, EXPERIMENTS),
                                          pre_value=lambda d: d.pre_value * 10)

    log = t["process_log"].assign(step=lambda d: _map(d.step, STEPS),
                                  case_id=lambda d: d.case_id.str.replace("APP-", "case/"))
    again = log.sample(DEFECTS[("process_log", "distinct_rows", "")], random_state=seed)
    log = pd.concat([log, again], ignore_index=True)

    tickets = t["tickets"].assign(category=lambda d: _map(d.category, CATEGORIES),
                                  ticket_id=lambda d: d.ticket_id.str.replace("TCK-", "T"))
    campaigns = t["campaigns"].assign(channel=lambda d: _map(d.channel, CAMPAIGN_CHANNELS))
    backlog = t["backlog"]

    for name, frame in dict(users=users, events=events, orders=orders, spend=spend,
                            assignments=assignments, metrics_pre=metrics_pre,
                            process_log=log, tickets=tickets, campaigns=campaigns,
                            backlog=backlog).items():
        frame.to_parquet(out / f"{name}.parquet", index=False)
    return out


#: The spec an analyst writes for this warehouse: parameters only, no code (README: "Your own
#: warehouse" quotes it). ``exports/crm-2026-11`` is where the tests put the export.
SPEC = """\
campaign: crm-export-review
title: CRM export review
owner: growth-data
hypothesis: >-
  The November CRM export is fit to decide on; KYC loses the most new users, worst on desktop;
  underwriting is the slowest step; the credit-line banner lifts loan requests.
ice: {impact: 7, confidence: 5, ease: 8}
tags: [diagnosis, experiment]
data:
  warehouse: exports/crm-2026-11
  snapshot: "2026-11-24T06:00:00Z"
runs:
  - template: data_quality
  - template: funnel_diagnosis
    parameters:
      steps: [landing, signup, kyc_passed, loan_request, loan_ok, cash_out]
      entry_start: "2026-09-01"
      entry_end: "2026-10-15"
  - template: process_efficiency
    parameters:
      sla_hours: {intake: 1.0, docs: 4.0, underwriting: 24.0, decision: 4.0, funding: 2.0}
  - template: experiment_design
    parameters:
      metrics:
        - {name: request_rate, kind: binary, event: loan_request, role: primary}
      eligible_event: kyc_passed
      before: "2026-08-17"
      rho_experiment: exp_credit_line_2026
      control: A
  - template: experiment_readout
    name: credit_line
    parameters:
      experiment: exp_credit_line_2026
      control: A
      metrics:
        - {name: request_rate, kind: binary, event: loan_request, role: primary}
        - {name: approval_rate, kind: ratio, numerator_event: loan_ok,
           denominator_event: loan_request, role: guardrail, margin: 0.1}
      start: "2026-08-17"
      end: "2026-11-09"
      mde_rel: 0.08
  - template: experiment_readout
    name: welcome_text
    parameters:
      experiment: exp_welcome_text
      control: A
      metrics:
        - {name: kyc_rate, kind: binary, event: kyc_passed, role: primary}
"""
