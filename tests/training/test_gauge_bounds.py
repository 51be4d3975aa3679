"""What a trial's readings held: the separability bound of `firewarden evaluate gauges`, in memory."""

from __future__ import annotations

import math

import pytest

from simulators import GaugeStream, GaugeTrial
from training.gauges import _separable

HOUR = 3600.0


def _stream(fault: str, interval: float, readings: list[float], levels: list[float], size: float = 0.0) -> GaugeStream:
    trial = GaugeTrial("tank_level", fault, interval, size, 1)
    times = [i * interval for i in range(len(readings))]
    return GaugeStream(trial, 0.0, times[-1] + interval, list(zip(times, readings, strict=True)), [], levels)


MID_STEP = math.erf(0.005 / (0.004 * math.sqrt(2)))  # within ±5 mm of the level: 0.79
AT_THE_EDGE = 0.5 * math.erf(0.010 / (0.004 * math.sqrt(2)))  # within 0-10 mm above it: 0.49


@pytest.mark.parametrize(("level", "per_reading"), [(2.50, MID_STEP), (2.495, AT_THE_EDGE)])
def test_a_stuck_runs_healthy_chance_is_its_readings_chances_of_landing_in_the_step(
    level: float, per_reading: float
) -> None:
    # a tank gauge (noise 4 mm, whole centimetres) reading 2.50 twelve times, its true level still
    made = _stream("stuck", 300.0, [2.50] * 12, [level] * 12)
    assert made.healthy_log10_chance(until=math.inf) == pytest.approx(11 * math.log10(per_reading))
    assert made.healthy_log10_chance(until=5 * 300.0) == pytest.approx(5 * math.log10(per_reading))


def test_a_stuck_run_is_separable_only_once_a_healthy_gauge_could_hardly_have_read_it() -> None:
    still = _stream("stuck", 300.0, [2.50] * 20, [2.50] * 20)  # mid-step: 0.79 a reading, 12 in an hour
    falling = _stream("stuck", 300.0, [2.50] * 20, [2.50 - 0.002 * i for i in range(20)])  # 2.4 cm an hour
    assert _separable(still, None) is False
    assert _separable(falling, None) is True


def test_a_downward_drift_is_separable_when_a_refill_shows_before_the_first_rule() -> None:
    levels = [2.60 - 0.01 * i for i in range(8)] + [2.68] + [2.67 - 0.01 * i for i in range(15)]  # refill at 8 h
    made = _stream("drift_down", HOUR, [round(v, 2) for v in levels], levels, size=0.05)
    assert made.first_refill() == 8 * HOUR
    assert _separable(made, rule_t=None) is True
    assert _separable(made, rule_t=9 * HOUR) is True
    assert _separable(made, rule_t=7 * HOUR) is False  # the rule tripped first: a real loss looked the same
    no_refill = _stream("drift_down", HOUR, [2.6] * 30, [2.60 - 0.01 * i for i in range(30)], size=0.05)
    assert no_refill.first_refill() is None and _separable(no_refill, None) is False
    assert _separable(_stream("drift_up", HOUR, [2.6] * 3, [2.6] * 3, size=0.05), None) is True
    assert _separable(_stream("healthy", HOUR, [2.6] * 3, [2.6] * 3), None) is None
