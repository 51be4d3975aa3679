"""The anomaly model on windows of readings: stuck and drifting sensors are flagged, normal ones not."""

from __future__ import annotations

import random

from scoring.models import Models
from tests.scoring.helpers import Harness


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
