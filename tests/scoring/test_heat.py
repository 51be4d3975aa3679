"""Heat from one sensor's readings (scoring/heat.py): physics over time, not the difference of two readings."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from core.policy import VerificationPolicy
from scoring.heat import Heat, HeatReading, HeatTrack, observe

POLICY = VerificationPolicy()
ORDINARY = POLICY.heat_class("ordinary")
KITCHEN = POLICY.heat_class("kitchen")
READING = HeatReading.of(POLICY)


def _feed(points: list[tuple[float, float]], heat: object = ORDINARY) -> list[tuple[float, Heat]]:
    track = HeatTrack()
    found = []
    for t, value in points:
        seen = observe(track, t, value, heat, READING)  # type: ignore[arg-type]
        if seen is not None:
            found.append((t, seen))
    return found


def _steady(
    seed: int, gap: tuple[float, float], sd: float, hours: float, base: float = 22.0
) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    t, out = 0.0, []
    while t < hours * 3600:
        out.append((t, round(base + rng.gauss(0, sd), 1)))
        t += rng.uniform(*gap)
    return out


def test_a_steady_sensor_reporting_every_one_to_three_seconds_never_shows_heat() -> None:
    # The night shift's false fire: 22 °C ± 0.2 every 1-3 s once made every lone alarm "alarm_and_heat".
    for seed in range(5):
        assert _feed(_steady(seed, (1.0, 3.0), 0.2, 2.0)) == []


def test_noise_up_to_one_degree_never_shows_heat_at_any_interval() -> None:
    for gap in (1.0, 2.0, 5.0, 10.0, 60.0, 300.0, 3600.0):
        for sd in (0.1, 0.5, 1.0):
            assert _feed(_steady(int(gap * 10 + sd * 100), (gap * 0.98, gap * 1.02), sd, max(2.0, gap / 100))) == []


def test_a_slow_warm_room_is_not_heat_at_a_fast_interval() -> None:
    ramp = [(float(t), 22.0 + 3.0 * t / 1800) for t in range(0, 3600, 2)]  # HVAC: 3 °C in 30 min
    assert _feed(ramp) == []


def test_a_fire_rise_is_a_rate_of_rise_measured_over_a_minute() -> None:
    points = [(float(t), 22.0) for t in range(0, 120)] + [(120.0 + t, 22.0 + 0.25 * t) for t in range(1, 120)]
    found = _feed(points)
    first_t, first = found[0]
    assert first.rule == "rate_of_rise" and first.rate_c_per_min >= 8.3
    assert first.span_s >= 30  # the medians of the first and last thirds of a minute of readings
    assert 120 < first_t <= 120 + 60  # 15 °C/min is seen within its first minute


def test_two_readings_a_second_apart_never_make_a_rate() -> None:
    track = HeatTrack()
    assert observe(track, 0.0, 22.0, ORDINARY, READING) is None
    assert observe(track, 1.0, 26.0, ORDINARY, READING) is None  # 240 °C/min between two readings: noise


def test_a_sparse_sensor_shows_the_rise_since_its_reading_before_however_long_ago() -> None:
    for gap in (300.0, 1800.0, 3600.0):
        points = [(i * gap, 22.0 + (0.1 if i % 2 else 0.0)) for i in range(12)] + [(12 * gap, 37.0)]
        [(t, seen)] = _feed(points)
        assert t == 12 * gap and seen.rule == "rise" and seen.rise_c >= 10 and seen.span_s == gap


def test_a_rise_the_devices_own_noise_explains_is_not_heat() -> None:
    rng = random.Random(5)
    noisy = [(i * 300.0, 22.0 + rng.gauss(0, 4.0)) for i in range(40)]  # a sensor with 4 °C of noise
    track = HeatTrack()
    for t, value in noisy:
        observe(track, t, value, ORDINARY, READING)
    assert observe(track, 40 * 300.0, noisy[-1][1] + 11.0, ORDINARY, READING) is None  # within its noise
    calm = HeatTrack()
    for i in range(40):
        observe(calm, i * 300.0, 22.0, ORDINARY, READING)
    assert observe(calm, 40 * 300.0, 33.0, ORDINARY, READING) is not None  # the same rise on a calm one


def test_a_fixed_temperature_is_heat_everywhere_and_the_kitchen_reads_nothing_else() -> None:
    assert _feed([(0.0, 22.0), (60.0, 57.0)])[0][1].rule == "fixed"
    cooking = [(float(t), 25.0) for t in range(0, 300)] + [(300.0 + t, 25.0 + t / 6) for t in range(1, 61)]
    assert _feed(cooking) != []  # an ordinary zone: a 10 °C/min rise is heat
    assert _feed(cooking, KITCHEN) == []  # a kitchen (class BS): only its fixed 69 °C
    [(t, seen)] = _feed([*cooking, (400.0, 70.0)], KITCHEN)
    assert (t, seen.rule, seen.limit) == (400.0, "fixed", 69.0)


def test_a_quantised_sensor_learns_its_resolution() -> None:
    track = HeatTrack()
    for i in range(50):
        observe(track, float(i), 22.0 + (0.5 if i % 3 == 0 else 0.0), ORDINARY, READING)
    assert track.resolution == 0.5


def test_a_device_reporting_ten_times_a_second_keeps_a_bounded_window() -> None:
    track = HeatTrack()
    for i in range(6000):
        observe(track, i / 10, 22.0, ORDINARY, READING)
    assert len(track.times) <= 101 and track.times[-1] - track.times[0] <= POLICY.heat_rise_window_s


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0.5, 4000), st.floats(-40, 40)), min_size=1, max_size=60))
def test_any_stream_keeps_the_track_ordered_and_bounded(steps: list[tuple[float, float]]) -> None:
    track = HeatTrack()
    t = 0.0
    for gap, value in steps:
        t += gap
        observe(track, t, value, ORDINARY, READING)
        assert track.times == sorted(track.times) and len(track.times) == len(track.values)
        assert track.times[-1] == t and t - track.times[0] <= POLICY.heat_rise_window_s
        assert len(track.steps) <= 32
