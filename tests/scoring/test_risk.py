"""Risk tiers with hysteresis, risk scores from live signals, and models that survive save and load."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from core.policy import Policy, RiskPolicy
from scoring.errors import ModelError
from scoring.models import Models, load, load_models, save
from scoring.records import Feedback, RiskScore
from scoring.risk import RiskInputs, tier_of
from tests.scoring.helpers import Harness, at
from training.models import train_anomaly, train_risk

POLICY = RiskPolicy(red=60, orange=35, yellow=15, hysteresis=5)


@pytest.mark.parametrize(
    ("score", "current", "expected"),
    [
        (70, None, "red"),
        (40, None, "orange"),
        (20, None, "yellow"),
        (5, None, "blue"),
        (36, "yellow", "orange"),  # up at once
        (61, "blue", "red"),
        (57, "red", "red"),  # below the floor but inside the hysteresis band
        (54.9, "red", "orange"),  # past the band: down
        (12, "yellow", "yellow"),
        (9.9, "yellow", "blue"),
        (5, "red", "blue"),  # far down: straight to where it belongs
        (31, "red", "orange"),  # held by orange's band, not red's
    ],
)
def test_tiers_rise_at_once_and_fall_only_past_the_hysteresis(score: float, current: str | None, expected: str) -> None:
    assert tier_of(score, POLICY, current) == expected  # type: ignore[arg-type]


def test_a_score_hovering_at_a_floor_does_not_flap() -> None:
    tier = None
    changes = 0
    for score in (36, 34, 35.5, 33, 34.9, 31, 36, 32):
        new = tier_of(score, POLICY, tier)  # type: ignore[arg-type]
        changes += new != tier
        tier = new
    assert changes == 1  # the first assignment only


def test_live_signals_raise_the_score_and_name_their_factors(models: Models) -> None:
    h = Harness(models)
    h.status(0, "UITD")
    first = [d for d in h.decisions if isinstance(d, RiskScore)]
    assert len(first) == 1 and first[0].previous_tier is None and first[0].revision == 1
    for n in range(4):
        h.event(10 + n, "UITD", "fault", "smoke_detector", "2F", 1, n)
    h.event(20, "UITD", "supervisory", "pressure_switch", "B1", 2, 1)
    h.reading(30, "SP", "water_pressure_mpa", 0.01)
    h.reading(700, "SP", "water_pressure_mpa", 0.01)
    scores = [d for d in h.decisions if isinstance(d, RiskScore)]
    assert scores[-1].score > first[0].score
    names = {f.name for f in scores[-1].factors}
    assert names & {"active_faults", "low_water", "supervisory_open"}, names
    assert all(f.points > 0 for f in scores[-1].factors)
    assert [s.revision for s in scores] == list(range(1, len(scores) + 1))


def test_each_open_item_is_scored_as_if_closed_and_the_tier_it_would_leave(models: Models) -> None:
    """The counterfactuals a unit is shown come from the model itself: closing an item gives the score
    the model gives the premises without it, and the tier that score leaves (hysteresis included)."""
    risk = models.risk
    policy = Policy().risk
    inputs = RiskInputs("market", 16.0, 1100, "untrustworthy", active_faults=2, low_water=1, other_hazards=1,
                        offline_share=0.2, false_alarms_30d=3, fires_365d=1)  # fmt: skip
    score, _ = risk.score(inputs, 3)
    tier = tier_of(score, policy)
    found = {c.item: c for c in risk.if_closed(inputs, policy, tier)}
    # every closable item that is open, and only those (history is not closable)
    assert set(found) == {"active_faults", "low_water", "other_hazards", "offline_share", "credit_status"}
    assert found["active_faults"].value == 2 and found["credit_status"].value == "untrustworthy"
    cases = [("active_faults", replace(inputs, active_faults=1)), ("low_water", replace(inputs, low_water=0)),
             ("credit_status", replace(inputs, credit_status="normal"))]  # fmt: skip
    for item, closed in cases:
        expected, _ = risk.score(closed, 3)
        assert found[item].score == pytest.approx(expected, abs=0.01)
        assert found[item].tier == tier_of(expected, policy, tier)
        assert found[item].score <= score
    assert risk.if_closed(RiskInputs("market", 16.0, 1100, "normal"), policy, "blue") == ()


def test_a_risk_score_carries_what_closing_each_item_would_do(models: Models) -> None:
    h = Harness(models)
    for n in range(3):
        h.event(10 + n, "UITD", "fault", "smoke_detector", "2F", 1, n)
    last = [d for d in h.decisions if isinstance(d, RiskScore)][-1]
    (fault,) = [c for c in last.if_closed if c.item == "active_faults"]
    assert fault.value == last.inputs["active_faults"] >= 1 and fault.score < last.score


def test_risk_inputs_count_what_is_active(models: Models) -> None:
    h = Harness(models)
    h.event(0, "UITD", "fault", "smoke_detector", "2F", 1, 1)
    h.event(1, "UITD", "fault", "smoke_detector", "2F", 1, 2)
    h.event(2, "UITD", "fault_cleared", "smoke_detector", "2F", 1, 1)
    h.reading(3, "EM", "cable_temp_c", 90.0)
    h.reading(70, "EM", "cable_temp_c", 91.0)
    site = h.scorer.sites.get("P-1")
    assert site is not None
    inputs = h.scorer.inputs(h.state, site, h.state.clock)
    assert (inputs.active_faults, inputs.electrical_abnormal, inputs.hazards_90d) == (1, 1, 1)


def test_models_train_save_load_and_score_the_same(tmp_path: Path) -> None:
    risk, summary = train_risk(premises=800, seed=5)
    assert 0.6 < summary["auc_held_out"] <= 1.0
    anomaly, _ = train_anomaly(premises=3, hours=6, seed=6)
    save(tmp_path, "risk", risk, summary)
    save(tmp_path, "anomaly", anomaly, {})
    loaded = load_models(tmp_path)
    assert loaded.risk.version == risk.version and loaded.anomaly is not None
    assert loaded.anomaly.version == anomaly.version
    probe = [
        RiskInputs("market", 12.0, 300, "untrustworthy", active_faults=3, low_water=1, false_alarms_30d=4),
        RiskInputs("school_training", 20.0, 800, "trustworthy"),
    ]
    assert loaded.risk.probabilities(probe).tolist() == risk.probabilities(probe).tolist()
    assert loaded.risk.score(probe[0], 3) == risk.score(probe[0], 3)
    features = (-6.0, 0.0, 1.0)
    for metric in anomaly.metrics:
        assert loaded.anomaly.judge(metric, features) == anomaly.judge(metric, features)


def test_a_model_file_of_the_wrong_kind_or_missing_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="run `firewarden model train`"):
        load_models(tmp_path)
    anomaly, _ = train_anomaly(premises=2, hours=4, seed=6)
    path = save(tmp_path, "anomaly", anomaly, {})
    with pytest.raises(ModelError, match="is not a risk model file"):
        load(path, "risk")
    path.write_bytes(b"not json")
    with pytest.raises(ModelError, match="not a readable model file"):
        load(path, "anomaly")


def test_feedback_moves_the_risk_inputs_once_per_reference(models: Models) -> None:
    # Every rescore published, whatever the model makes of one false alarm (the size is the model's).
    h = Harness(models, Policy(risk=RiskPolicy(report_change=0)))
    h.status(0, "UITD")
    site = h.scorer.sites.get("P-1")
    assert site is not None

    def inputs() -> tuple[int, int]:
        now = h.state.clock
        counted = h.scorer.inputs(h.state, site, now)
        return counted.false_alarms_30d, counted.other_hazards

    assert inputs() == (0, 0)
    rescored = h.scorer.feedback(h.state, Feedback(at(10), "P-1", "false_alarm", "UITD:1"))
    assert [type(d) for d in rescored] == [RiskScore]  # the risk is rescored at once
    assert h.scorer.feedback(h.state, Feedback(at(11), "P-1", "false_alarm", "UITD:1")) == []  # a repeat
    assert inputs() == (1, 0)
    h.scorer.feedback(h.state, Feedback(at(12), "P-1", "real_fire", "UITD:2"))
    assert inputs() == (0, 0)  # the episode filed as false was a fire
    h.scorer.feedback(h.state, Feedback(at(13), "P-1", "hazard_overdue", "7"))
    h.scorer.feedback(h.state, Feedback(at(14), "P-1", "hazard_overdue", "8"))
    assert inputs() == (0, 2)  # an overdue hazard counts as a live one
    h.scorer.feedback(h.state, Feedback(at(15), "P-1", "hazard_closed", "7"))
    assert inputs() == (0, 1)
