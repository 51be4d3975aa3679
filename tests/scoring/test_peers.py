"""Gauges on one water system judged against each other: a drifting or frozen sensor is told from a real
loss by its peer, at the fastest and slowest report intervals, and the healthy peer is never blamed."""

from __future__ import annotations

import pytest

from core.policy import Policy
from scoring.models import Models
from scoring.state import DeviceState, GaugeTrack, PeerTrack, PremisesState, dump_state, load_state
from simulators import GaugeTrial, gauge_stream
from training.gauges import run_trial, trial_signals

FASTEST, SLOWEST = 60.0, 3600.0


def test_a_lone_trial_reads_the_same_whether_or_not_peers_exist() -> None:
    lone = gauge_stream(GaugeTrial("sprinkler_pressure", "drift_down", SLOWEST, 0.01, 4))
    assert lone.peer_readings == []
    paired = gauge_stream(GaugeTrial("sprinkler_pressure", "drift_down", SLOWEST, 0.01, 4, peers=1))
    assert len(paired.peer_readings[0]) == pytest.approx(len(paired.readings), abs=2)
    three = gauge_stream(GaugeTrial("sprinkler_pressure", "drift_down", SLOWEST, 0.01, 4, peers=2))
    assert three.peer_readings[0] != three.peer_readings[1]  # each peer its own head, noise and schedule
    assert lone.readings == gauge_stream(GaugeTrial("sprinkler_pressure", "drift_down", SLOWEST, 0.01, 4)).readings


@pytest.mark.parametrize("interval", [FASTEST, SLOWEST])
@pytest.mark.parametrize("device_type", ["sprinkler_pressure", "tank_level"])
def test_two_healthy_gauges_on_one_system_raise_nothing(models: Models, device_type: str, interval: float) -> None:
    for seed in range(3):
        result = run_trial(GaugeTrial(device_type, "healthy", interval, 0.0, seed, peers=1), Policy(), models)  # type: ignore[arg-type]
        assert result.false_signals == ()
        assert result.healthy_s > 2 * 4.9 * 86_400  # both gauges' healthy time


@pytest.mark.parametrize("interval", [FASTEST, SLOWEST])
def test_a_fast_drift_down_is_told_from_a_pump_failure_by_its_peer(models: Models, interval: float) -> None:
    """Alone, a gauge falling 0.05 MPa an hour reported hourly looks like a pump that stopped until a
    refill shows against the fall: never called a drift before (docs/scoring.md), so the low-pressure
    rule often comes first. Beside a peer that still reads the sawtooth, it is the sensor, raised
    before the rule trips on the false reading."""
    for seed in range(4):
        made, raised = trial_signals(
            GaugeTrial("sprinkler_pressure", "drift_down", SLOWEST, 0.05, seed), Policy(), models
        )
        refill = made.first_refill()
        drifts = [s.time.timestamp() for s in raised if s.rule == "sensor_drift" and s.time.timestamp() >= made.onset]
        assert not drifts or (refill is not None and drifts[0] >= refill - 0.001)  # signal times hold microseconds
    for seed in range(4):
        trial = GaugeTrial("sprinkler_pressure", "drift_down", interval, 0.05, seed, peers=1)
        made, raised = trial_signals(trial, Policy(), models)
        drift = next(s for s in raised if s.rule == "sensor_drift" and s.time.timestamp() >= made.onset)
        assert drift.device_id == "P-GAUGE-G1"
        # against the peer, or by its own refill landing low (whichever shows first)
        assert drift.evidence.get("peer", "P-GAUGE-G2") == "P-GAUGE-G2" and drift.evidence["direction"] == "reads low"
        assert not [s for s in raised if s.rule.startswith("low_") and s.time <= drift.time]
        assert run_trial(trial, Policy(), models).peer_blamed == 0


@pytest.mark.parametrize("fault", ["pump_failure", "pipe_leak"])
def test_a_real_loss_seen_by_both_gauges_is_not_a_sensor_fault(models: Models, fault: str) -> None:
    for seed in range(3):
        result = run_trial(GaugeTrial("sprinkler_pressure", fault, SLOWEST, 0.0, seed, peers=1), Policy(), models)
        assert result.caught_s is not None
        assert not result.mislabelled and result.peer_blamed == 0


@pytest.mark.parametrize("fault", ["drift_up", "drift_down"])
def test_a_slow_drift_is_laid_on_the_gauge_that_moved(models: Models, fault: str) -> None:
    for seed in range(4):
        result = run_trial(GaugeTrial("sprinkler_pressure", fault, 300.0, 0.005, seed, peers=1), Policy(), models)
        assert result.caught_s is not None and result.caught_s <= 86_400 and result.first
        assert result.peer_blamed == 0


def test_a_frozen_tank_gauge_is_raised_when_its_peer_moves_and_it_does_not(models: Models) -> None:
    """Hourly, a 1 cm tank gauge's level falls a step every one to five readings, so alone a frozen one
    takes up to 12 readings and more; its peer's fall (or refill) says so sooner. Seeds 5-7: alone 12.0,
    12.2 and 9.5 h."""
    for seed in (5, 6, 7):
        trial = GaugeTrial("tank_level", "stuck", SLOWEST, 0.0, seed, peers=1)
        made, raised = trial_signals(trial, Policy(), models)
        stuck = next(s for s in raised if s.rule == "sensor_stuck" and s.time.timestamp() >= made.onset)
        assert stuck.device_id == "P-GAUGE-G1"
        assert stuck.evidence["peer"] == "P-GAUGE-G2" and float(stuck.evidence["peer_moved"]) != 0  # a fall or a refill
        lone = run_trial(GaugeTrial("tank_level", "stuck", SLOWEST, 0.0, seed), Policy(), models)
        assert lone.caught_s is not None and stuck.time.timestamp() - made.onset < lone.caught_s


def test_a_peer_track_survives_the_state_round_trip() -> None:
    peer = PeerTrack(offset=0.2, sd=0.003, hours=[[1.0, 2.0, 0.5, 0.001, 0.0, 0.3, 0.0, 1e-6]], run_v=0.41, run_t=5.0)
    track = GaugeTrack(last_v=0.3, peers={"G2": peer}, by_peer=True)
    state = PremisesState("P", devices={"G": DeviceState(gauges={"water_pressure_mpa": track})})
    assert load_state(dump_state(state)).devices["G"].gauges["water_pressure_mpa"] == track
