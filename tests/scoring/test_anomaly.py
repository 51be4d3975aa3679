"""The anomaly model on windows of readings: stuck and drifting sensors are flagged, normal ones not."""

from __future__ import annotations

import random

import pytest

from core.policy import Policy
from ingest.records import Reading
from scoring.anomaly import _KINDS as ANOMALY_KINDS
from scoring.models import Models, shipped_models
from scoring.records import Signal
from scoring.scorer import Scorer
from scoring.site import Sites
from simulators.engine import Simulation
from simulators.fleet import generate_fleet
from tests.scoring.helpers import Harness
from training.models import START
from training.replay import simulated_records

ANOMALY_RULES = frozenset(ANOMALY_KINDS)


def _feed(h: Harness, values: list[float], start: float = 0.0, every: float = 60.0) -> None:
    for n, value in enumerate(values):
        h.reading(start + n * every, "EM", "current_a", value)


def test_a_stuck_sensor_is_flagged_and_clears_when_it_moves_again(models: Models) -> None:
    rng = random.Random(1)
    h = Harness(models)
    normal = [round(40 + rng.gauss(0, 2.0), 1) for _ in range(60)]
    _feed(h, normal)
    assert not [s for s in h.signals() if s.rule.startswith("sensor_")]
    _feed(h, [41.3] * 40, start=3600)
    stuck = h.signals("sensor_stuck")
    assert [(s.state, s.subject, s.kind) for s in stuck] == [("raised", "current_a", "trouble")]
    assert stuck[0].evidence["repeat_share"] == 1.0 and "model" in stuck[0].evidence
    _feed(h, [round(40 + rng.gauss(0, 2.0), 1) for _ in range(40)], start=7200)
    assert [s.state for s in h.signals("sensor_stuck")] == ["raised", "cleared"]


def test_normal_noise_is_not_an_anomaly(models: Models) -> None:
    rng = random.Random(2)
    h = Harness(models)
    _feed(h, [round(40 + rng.gauss(0, 2.0), 1) for _ in range(300)])
    assert [s.rule for s in h.signals() if s.rule.startswith(("sensor_", "unusual_"))] == []


@pytest.mark.parametrize("which", ["trained", "shipped"])
def test_devices_reporting_every_0_4_s_with_normal_values_raise_no_anomaly(models: Models, which: str) -> None:
    """Features are per unit of time: the same normal values, 150 to 9,000 times faster than each
    type's interval, are still normal (windows of 10 readings made a fast reporter's noise a steep
    trend: a storm of ``sensor_drift``)."""
    registry = generate_fleet(3, seed=8)
    fast = registry.model_copy(
        update={"devices": [d.model_copy(update={"expected_interval_s": 0.4}) for d in registry.devices]}
    )
    # The simulation reports every 0.4 s; the scorer knows the registry's intervals (minutes to an hour).
    sim = Simulation(fast, seed=8, start=START, duration=1800)
    scorer = Scorer(Policy(), Sites.of(registry), models if which == "trained" else shipped_models())
    states = {p.id: scorer.new_state(p.id) for p in registry.premises}
    readings = 0
    decided = []
    for _, records in simulated_records(fast, sim):
        for record in records:
            readings += isinstance(record, Reading)
            decided.extend(scorer.process(states[record.premises_id], record))
    anomalies = [d for d in decided if isinstance(d, Signal) and d.rule in ANOMALY_RULES]
    assert readings > 100_000
    assert anomalies == []


def test_a_fast_reporter_is_still_judged_and_a_stuck_one_flagged(models: Models) -> None:
    """Every 0.4 s instead of every 60 s: a stuck value is still a stuck sensor (repeats are counted
    between readings half an interval apart, so a fast reporter's few repeats of a slow quantity are not)."""
    h = Harness(models)
    rng = random.Random(3)
    _feed(h, [round(40 + rng.gauss(0, 2.0), 1) for _ in range(30_000)], every=0.4)
    assert [s.rule for s in h.signals() if s.rule in ANOMALY_RULES] == []
    _feed(h, [41.3] * 30_000, start=12_000, every=0.4)
    assert [(s.state, s.subject) for s in h.signals("sensor_stuck")] == [("raised", "current_a")]
