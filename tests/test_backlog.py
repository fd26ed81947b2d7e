"""ice_backlog's arithmetic on hand-made backlogs: ICE product and mean, RICE, ranks with ties,
the ±1 sensitivity (rank ranges, stable, flips), the calibration and the evidence per area.
Every expected number is worked out by hand in the comments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from playbook.analyses.backlog import BacklogDecision, Scoring, analyze_backlog
from playbook.analyses.backlog.evidence import area_evidence, calibrate
from playbook.analyses.backlog.nextround import check_baselines
from playbook.errors import DataError, ParameterError
from playbook.stats.proportions import wilson_interval


def backlog(rows: list[tuple[str, int, int, int]], **extra: list[object]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["idea_id", "impact", "confidence", "ease"])
    frame.insert(1, "idea", [f"idea {i}" for i in frame["idea_id"]])
    for col in ("area", "owner", "status", "reach", "created"):
        frame[col] = extra.get(col, [None] * len(frame))
    for col, values in extra.items():
        frame[col] = values
    return frame


# A 5/5/5 = 125 (mean 5), B 6/4/5 = 120 (mean 5), C 2/2/2 = 8 (mean 2), D 5/5/5 = 125 (tied with A)
HAND = backlog([("A", 5, 5, 5), ("B", 6, 4, 5), ("C", 2, 2, 2), ("D", 5, 5, 5)])


def by_id(result_ideas: pd.DataFrame) -> pd.DataFrame:
    return result_ideas.set_index("idea_id")


def test_ice_product_and_mean_and_their_ranks() -> None:
    r = analyze_backlog(HAND)
    ideas = by_id(r.ideas)
    assert ideas["ice_product"].to_dict() == {"A": 125, "D": 125, "B": 120, "C": 8}
    assert ideas.loc["B", "ice_mean"] == 5 and ideas.loc["C", "ice_mean"] == 2
    assert ideas["rank"].to_dict() == {"A": 1, "D": 1, "B": 3, "C": 4}  # ties share the best rank
    assert list(ideas.loc["A", "tied_with"]) == ["D"] and r.ties() == 1
    mean = by_id(analyze_backlog(HAND, scoring=Scoring("ice", "mean")).ideas)
    assert mean["rank"].to_dict() == {"A": 1, "B": 1, "D": 1, "C": 4}
    geo = by_id(analyze_backlog(HAND, scoring=Scoring("ice", "product", geometric=True)).ideas)
    assert geo.loc["A", "score"] == pytest.approx(5.0) and geo.loc["B", "score"] == pytest.approx(120 ** (1 / 3))


def test_sensitivity_ranks_and_flips_by_hand() -> None:
    r = analyze_backlog(HAND)
    ideas = by_id(r.ideas)
    # A: impact 4 -> 100 < B's 120 and D's 125: rank 3; +1 -> 150: rank 1. Range 1-3, moves 2.
    assert (ideas.loc["A", "rank_low"], ideas.loc["A", "rank_high"], ideas.loc["A", "stable"]) == (1, 3, False)
    # B: any -1 (100, 90, 96) stays behind A and D: 3; any +1 (140, 150, 144) is first: 1.
    assert (ideas.loc["B", "rank_low"], ideas.loc["B", "rank_high"]) == (1, 3)
    # C: its best +1 is 12, far below 90: it stays fourth.
    assert (ideas.loc["C", "rank_low"], ideas.loc["C", "rank_high"], ideas.loc["C", "stable"]) == (4, 4, True)
    pairs = {(f.above, f.below) for f in r.flips.itertuples()}
    assert pairs == {("A", "B"), ("D", "B")}  # A and D are tied (no order to flip); C flips with none
    assert r.decision is BacklogDecision.CLOSE_CALL  # the top is tied
    assert r.metrics()["ideas_ranked_stably"] == 1 and r.metrics()["flips"] == 2
    wide = by_id(analyze_backlog(HAND, stable_within=2).ideas)
    assert wide["stable"].astype(bool).tolist() == [True] * 4


def test_a_clear_leader_and_a_flip_at_the_top() -> None:
    clear = analyze_backlog(backlog([("X", 9, 9, 9), ("Y", 5, 5, 5)]))  # 729 vs 125: X's worst is 648
    assert clear.decision is BacklogDecision.CLEAR_LEADER and "it stays first" in clear.headline()
    # X 6/5/5 = 150, Y 5/5/5 = 125: X impact -1 -> 125 ties (no flip); Y impact +1 -> 150 ties; X confidence -1
    # -> 120 < 125: a flip; the headline names the change
    close = analyze_backlog(backlog([("X", 6, 5, 5), ("Y", 5, 5, 5)]))
    assert close.decision is BacklogDecision.CLOSE_CALL
    assert "'idea Y' (Y) overtakes it if X's" in close.headline()
    assert analyze_backlog(HAND.iloc[:0]).decision is BacklogDecision.EMPTY


def test_rice_with_effort_from_ease_or_a_column() -> None:
    ideas = backlog([("A", 5, 5, 5), ("B", 2, 8, 10)], reach=[1000, 3000])
    r = by_id(analyze_backlog(ideas, scoring=Scoring("rice")).ideas)
    # A: 1000 x 5 x 0.5 / (11 - 5) = 416.67; B: 3000 x 2 x 0.8 / 1 = 4800
    assert r.loc["A", "score"] == pytest.approx(2500 / 6) and r.loc["B", "score"] == pytest.approx(4800)
    assert r["rank"].to_dict() == {"B": 1, "A": 2}
    with_effort = ideas.assign(effort=[2, 8])
    r2 = by_id(analyze_backlog(with_effort, scoring=Scoring("rice")).ideas)
    assert r2.loc["A", "score"] == pytest.approx(1250) and r2.loc["B", "score"] == pytest.approx(600)
    with pytest.raises(DataError, match="column 'reach' of idea A"):
        analyze_backlog(ideas.assign(reach=[None, 5]), scoring=Scoring("rice"))


def test_calibration_arithmetic() -> None:
    # w = 10 / (10 + 5) = 2/3; C' = 8/3 + 2/3 x 10 x 1/10 = 10/3
    assert calibrate(np.array([8.0]), np.array([10]), np.array([1]), 5)[0] == pytest.approx(10 / 3)
    assert calibrate(np.array([8.0]), np.array([0]), np.array([0]), 5)[0] == 8.0  # no evidence: as stated
    assert calibrate(np.array([6.0]), np.array([4]), np.array([0]), 0)[0] == 1.0  # kept on the 1-10 anchors
    runs = pd.DataFrame({"campaign": ["a", "b", "c", "d"], "report": ["r"] * 4, "run_date": [None] * 4,
                         "area": ["growth", "growth", "growth", "other"], "win": [True, True, False, False],
                         "lift": [0.04, 0.10, math.nan, math.nan]})
    ev = area_evidence(runs, ["growth", "other", "none"]).set_index("area")
    low, high = wilson_interval(2, 3)
    assert (ev.loc["growth", "experiments"], ev.loc["growth", "wins"]) == (3, 2)
    assert ev.loc["growth", "win_rate_ci_low"] == pytest.approx(float(low))
    assert ev.loc["growth", "win_rate_ci_high"] == pytest.approx(float(high))
    assert ev.loc["growth", "median_win_lift"] == pytest.approx(0.07)
    assert ev.loc["none", "experiments"] == 0 and math.isnan(ev.loc["none", "win_rate"])


def test_statuses_limit_the_ranking_but_every_idea_is_listed() -> None:
    ideas = HAND.assign(status=["idea", "done", "idea", "idea"])
    r = analyze_backlog(ideas, statuses=["idea"])
    assert r.metrics()["ideas"] == 3 and len(r.details()["ideas"]) == 4
    done = next(i for i in r.details()["ideas"] if i["id"] == "B")
    assert done["rank"] is None and done["status"] == "done"


def test_bad_parameters_name_themselves() -> None:
    with pytest.raises(ParameterError, match="score: must be 'ice' or 'rice'"):
        Scoring("ise")
    with pytest.raises(ParameterError, match="rank_by: must be 'calibrated' or 'raw'"):
        analyze_backlog(HAND, rank_by="best")
    with pytest.raises(ParameterError, match=r"baselines.activation: unknown key 'rate'"):
        check_baselines({"activation": {"rate": 0.1}})
    with pytest.raises(ParameterError, match="give both event and eligible_event"):
        check_baselines({"activation": {"event": "apply"}})
    r = analyze_backlog(HAND.assign(area="growth"), top_n=1)
    assert "set baselines.growth" in r.next_round["todo"].iloc[0]
    given = analyze_backlog(HAND.assign(area="growth", reach=3000), top_n=1,
                            baselines={"growth": {"baseline": 0.1}}).next_round.iloc[0]
    assert given["daily_users"] == 100 and given["days"] > 0  # reach 3,000 a month / 30
