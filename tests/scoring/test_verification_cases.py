"""Every verification case at the room sensor's fastest (1 s) and slowest (1 h) interval, on the scorer in
memory: what is confirmed, when, and the evidence named (the matrix's trials, simulators/trials.py)."""

from __future__ import annotations

import pytest

from core.policy import Policy
from scoring.models import Models
from simulators.trials import Devices, Trial, stream
from training.verification import run_trial

INTERVALS = (1.0, 3600.0)
SEEDS = range(4)
IDS = Devices("P-TRIAL")
POLICY = Policy()


@pytest.mark.parametrize("interval", INTERVALS)
@pytest.mark.parametrize("case", ["lone_alarm", "hvac_drift"])
def test_a_lone_alarm_in_a_calm_or_slowly_warming_room_is_never_confirmed(
    models: Models, case: str, interval: float
) -> None:
    for noise in (0.1, 0.5):
        for seed in SEEDS:
            result = run_trial(Trial(case, interval, noise, "ordinary", seed), POLICY, models)
            assert not result.confirmed and result.reason == "unverified:window_ended", result


@pytest.mark.parametrize("interval", INTERVALS)
def test_cooking_in_a_kitchen_zone_is_not_confirmed(models: Models, interval: float) -> None:
    for seed in SEEDS:
        result = run_trial(Trial("cooking", interval, 0.2, "kitchen", seed), POLICY, models)
        assert not result.confirmed, result


def test_the_same_cooking_rise_in_an_ordinary_zone_is_heat(models: Models) -> None:
    # 10 °C in a minute is a rate of rise by the standard: only the zone's use says it is cooking.
    results = [run_trial(Trial("cooking", 1.0, 0.2, "ordinary", seed), POLICY, models) for seed in SEEDS]
    assert all(r.confirmed and r.reason == "alarm_and_heat" for r in results)


def test_a_flaming_fire_seen_every_second_is_confirmed_by_heat_within_90_s(models: Models) -> None:
    for noise in (0.1, 1.0):
        for seed in SEEDS:
            result = run_trial(Trial("flaming_fire", 1.0, noise, "ordinary", seed), POLICY, models)
            assert result.confirmed and result.reason == "alarm_and_heat", result
            assert result.delay_s is not None and result.delay_s <= 90
            # in the order they happened: heat seen before the alarm confirms at the alarm and comes first
            heat_first = result.delay_s < 1e-3  # the alarm's own time, to the millisecond of its message
            order = [f"heat:{IDS.sensor}", f"alarm:{IDS.uitd}"]
            assert list(result.evidence) == (order if heat_first else order[::-1]), result


@pytest.mark.parametrize("case", ["flaming_fire", "flaming_late"])
def test_a_flaming_fire_seen_hourly_is_confirmed_by_the_first_reading_that_shows_the_rise(
    models: Models, case: str
) -> None:
    for seed in SEEDS:
        result = run_trial(Trial(case, 3600.0, 0.5, "ordinary", seed), POLICY, models)
        assert result.confirmed and result.reason == "alarm_and_heat", result
        assert result.late_s is not None and abs(result.late_s) < 1e-3  # at that reading itself
        assert result.evidence == (f"alarm:{IDS.uitd}", f"heat:{IDS.sensor}")


def test_a_fire_whose_heat_starts_after_the_alarm_is_confirmed_every_second(models: Models) -> None:
    for seed in SEEDS:
        result = run_trial(Trial("flaming_late", 1.0, 0.5, "ordinary", seed), POLICY, models)
        assert result.confirmed and result.delay_s is not None and result.delay_s <= 150, result


@pytest.mark.parametrize("interval", INTERVALS)
def test_a_smouldering_fire_has_no_heat_to_show(models: Models, interval: float) -> None:
    # Smoke without heat (EN 54-7 TF2/TF3): one detector stays unverified; a second one would confirm it.
    for seed in SEEDS:
        assert not run_trial(Trial("smouldering_fire", interval, 0.2, "ordinary", seed), POLICY, models).confirmed


@pytest.mark.parametrize("interval", INTERVALS)
@pytest.mark.parametrize(
    ("case", "reason", "evidence"),
    [
        ("two_detectors", "two_detectors", (f"alarm:{IDS.uitd}", f"alarm:{IDS.uitd}")),
        ("two_smoke_alarms", "two_detectors", (f"alarm:{IDS.alarms[0]}", f"alarm:{IDS.alarms[1]}")),
        ("detector_then_flow", "detector_and_flow", (f"alarm:{IDS.uitd}", f"flow:{IDS.uitd}")),
        ("flow_then_detector", "detector_and_flow", (f"flow:{IDS.uitd}", f"alarm:{IDS.uitd}")),
        ("manual_call_point", "manual_call_point", (f"alarm:{IDS.uitd}",)),
    ],
)
def test_corroboration_confirms_at_the_corroborating_record_whatever_the_sensor_interval(
    models: Models, case: str, reason: str, evidence: tuple[str, ...], interval: float
) -> None:
    for seed in SEEDS:
        result = run_trial(Trial(case, interval, 0.5, "ordinary", seed), POLICY, models)
        assert result.confirmed and result.reason == reason, result
        assert result.late_s is not None and abs(result.late_s) < 1e-3  # decided by that record itself
        assert result.evidence == evidence  # every device relied on, in the order they happened


def test_the_trial_stream_is_the_same_for_the_same_trial() -> None:
    trial = Trial("flaming_fire", 5.0, 0.5, "kitchen", 3)
    first, again = stream(trial), stream(trial)
    assert [m.payload for m in first.messages] == [m.payload for m in again.messages]
    assert [m.at for m in first.messages] == sorted(m.at for m in first.messages)
