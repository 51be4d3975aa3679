"""Threshold rules, repeats, panel signals and offline devices, with time taken from the records."""

from __future__ import annotations

from core.policy import Policy, ThresholdRule
from scoring.models import Models
from tests.scoring.helpers import Harness


def test_low_pressure_raises_only_after_ten_minutes_and_clears_past_the_margin(models: Models) -> None:
    h = Harness(models)
    h.reading(0, "SP", "water_pressure_mpa", 0.30)
    h.reading(60, "SP", "water_pressure_mpa", 0.04)
    h.reading(600, "SP", "water_pressure_mpa", 0.04)  # 540 s below: not yet
    assert h.signals("low_sprinkler_pressure") == []
    h.reading(661, "SP", "water_pressure_mpa", 0.045)
    raised = h.signals("low_sprinkler_pressure")
    assert [s.state for s in raised] == ["raised"]
    assert raised[0].kind == "hazard_candidate"
    assert raised[0].evidence["limit"] == 0.05 and raised[0].evidence["breached_since_s"] == 601
    h.reading(700, "SP", "water_pressure_mpa", 0.055)  # above the limit, inside the margin: still raised
    assert len(h.signals("low_sprinkler_pressure")) == 1
    h.reading(760, "SP", "water_pressure_mpa", 0.061)
    assert [s.state for s in h.signals("low_sprinkler_pressure")] == ["raised", "cleared"]


def test_a_short_dip_never_raises(models: Models) -> None:
    h = Harness(models)
    for t, value in ((0, 0.3), (60, 0.01), (300, 0.01), (400, 0.3), (500, 0.01), (900, 0.01), (1000, 0.3)):
        h.reading(t, "SP", "water_pressure_mpa", value)
    assert h.signals("low_sprinkler_pressure") == []


def test_residual_current_uses_the_device_setpoint_and_counts_repeats_in_24_hours(models: Models) -> None:
    h = Harness(models)
    hour = 3600
    for n in range(3):
        h.reading(n * 5 * hour, "EM", "residual_current_ma", 320.0)  # over the 300 mA setpoint
        h.reading(n * 5 * hour + 60, "EM", "residual_current_ma", 150.0)  # back under 250
    repeated = h.signals("residual_current_repeated")
    assert [s.state for s in repeated] == ["raised"]
    assert repeated[0].evidence["breaches"] == 3
    assert len(h.signals("residual_current")) == 6  # each breach raised and cleared at once (no minimum)
    h.reading(30 * hour, "EM", "residual_current_ma", 150.0)  # the first breaches have left the 24 h window
    assert [s.state for s in h.signals("residual_current_repeated")] == ["raised", "cleared"]


def test_a_late_reading_does_not_move_a_rule(models: Models) -> None:
    h = Harness(models)
    h.reading(0, "SP", "water_pressure_mpa", 0.04)
    h.reading(700, "SP", "water_pressure_mpa", 0.04)
    assert len(h.signals("low_sprinkler_pressure")) == 1
    h.reading(100, "SP", "water_pressure_mpa", 0.3)  # delayed in transport: older than the latest
    assert len(h.signals("low_sprinkler_pressure")) == 1


def test_policy_rules_replace_the_defaults(models: Models) -> None:
    strict = ThresholdRule(
        name="low_pressure_strict", kind="supervisory", metric="water_pressure_mpa", direction="below", limit=0.2
    )
    h = Harness(models, Policy(rules=(strict,)))
    h.reading(0, "SP", "water_pressure_mpa", 0.1)
    assert [(s.rule, s.kind) for s in h.signals()] == [("low_pressure_strict", "supervisory")]


def test_panel_faults_supervisory_and_disabled_points_raise_and_clear(models: Models) -> None:
    h = Harness(models)
    h.event(0, "UITD", "fault", "smoke_detector", "2F", 1, 7)
    h.event(10, "UITD", "supervisory", "pressure_switch", "B1", 2, 1)
    h.event(20, "UITD", "disabled", "smoke_detector", "4F", 1, 9)
    h.event(25, "UITD", "fault", "smoke_detector", "2F", 1, 7)  # repeated: no second signal
    assert [(s.rule, s.kind, s.subject) for s in h.signals()] == [
        ("component_fault", "trouble", "1/7"),
        ("supervisory", "supervisory", "2/1"),
        ("component_disabled", "trouble", "1/9"),
    ]
    h.event(30, "UITD", "fault_cleared", "smoke_detector", "2F", 1, 7)
    h.event(40, "UITD", "supervisory_cleared", "pressure_switch", "B1", 2, 1)
    h.event(50, "UITD", "enabled", "smoke_detector", "4F", 1, 9)
    assert [s.state for s in h.signals()][3:] == ["cleared"] * 3


def test_a_silent_device_goes_offline_after_k_intervals_and_back_online(models: Models) -> None:
    h = Harness(models)
    h.status(0, "UITD")
    h.reading(0, "EM", "current_a", 10.0)
    h.reading(170, "EM", "current_a", 10.0)  # EM reports every 60 s; k = 3 → offline after 180 s of silence
    h.status(175, "UITD")
    assert not [s for s in h.signals("device_offline") if s.device_id == "EM"]
    h.status(400, "UITD")
    offline = [s for s in h.signals("device_offline") if s.device_id == "EM"]
    assert [s.state for s in offline] == ["raised"]
    assert offline[0].time.timestamp() - 1_767_571_200.0 == 350  # when it became overdue, not when noticed
    h.reading(420, "EM", "current_a", 10.0)
    assert [s.state for s in h.signals("device_offline") if s.device_id == "EM"] == ["raised", "cleared"]


def test_the_broker_last_will_marks_a_device_offline_at_once(models: Models) -> None:
    h = Harness(models)
    h.status(0, "UITD", "offline")
    assert [(s.device_id, s.evidence["reason"]) for s in h.signals("device_offline")] == [("UITD", "broker last will")]
    h.status(30, "UITD", "online")
    assert [s.state for s in h.signals("device_offline")] == ["raised", "cleared"]


def test_a_device_back_online_is_watched_again(models: Models) -> None:
    h = Harness(models)
    h.reading(0, "EM", "current_a", 10.0)
    for t in range(10, 100_001, 10):  # every device of the premises silent while the wall clock ticks: all offline
        h.advance(t)
    h.reading(100_010, "EM", "current_a", 10.0)
    h.status(100_500, "UITD")  # EM silent again for more than 3 x 60 s
    assert [s.state for s in h.signals("device_offline") if s.device_id == "EM"] == ["raised", "cleared", "raised"]
