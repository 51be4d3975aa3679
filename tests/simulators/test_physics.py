"""Sensor physics, checked as statistics over simulated weeks (no clock, no network)."""

from __future__ import annotations

import itertools
import statistics

import numpy as np

from core.registry import Device, Premises, RegistryFile
from simulators.physics import (
    WATER_HEAD_MPA_PER_M,
    EbikeModel,
    Environment,
    Model,
    PressureGauge,
    PressureModel,
    build_model,
    local_hours,
    local_weekday,
    share_water_systems,
)
from tests.simulators.conftest import START

WEEK = 7 * 86400


def _premises(fleet: RegistryFile, category: str) -> Premises:
    return next(p for p in fleet.premises if p.category == category)


def _device(fleet: RegistryFile, premises: Premises, kind: str) -> Device:
    return next(d for d in fleet.devices if d.premises == premises.id and d.type == kind)


def _series(model: Model, seconds: float, step: float) -> tuple[np.ndarray, list[dict[str, float]]]:
    times = np.arange(START, START + seconds, step)
    return times, [model.sample(float(t)) for t in times]


def test_residual_current_in_its_natural_band_and_following_load(fleet: RegistryFile) -> None:
    premises = _premises(fleet, "high_rise_residential")
    device = _device(fleet, premises, "electrical_monitor")
    model = build_model(device, Environment.of(premises, 1), 1)
    times, samples = _series(model, WEEK, 60)
    leak = np.array([s["residual_current_ma"] for s in samples])
    current = np.array([s["current_a"] for s in samples])
    # GB 50116: natural leakage 100-200 mA, alarm setpoint 300-500 mA: normal operation never reaches it.
    assert 60 <= np.median(leak) <= 220
    assert np.percentile(leak, 99.9) < device.setpoints["residual_current_ma"]
    assert np.corrcoef(leak, current)[0, 1] > 0.5
    evening = np.array([19 <= local_hours(float(t)) < 22 for t in times])
    night = np.array([2 <= local_hours(float(t)) < 5 for t in times])
    assert current[evening].mean() > 2 * current[night].mean()  # residential: evening peak


def test_cable_temperature_lags_current(fleet: RegistryFile) -> None:
    premises = _premises(fleet, "commercial_complex")
    device = _device(fleet, premises, "electrical_monitor")
    model = build_model(device, Environment.of(premises, 1), 1)
    _, samples = _series(model, 3 * 86400, 60)
    current = np.array([s["current_a"] for s in samples])
    temp = np.array([s["cable_temp_c"] for s in samples])
    c, t = current - current.mean(), temp - temp.mean()
    lags = range(0, 120)  # minutes
    corr = [np.dot(c[: len(c) - lag], t[lag:]) for lag in lags]
    best = int(np.argmax(corr))
    assert 5 <= best <= 90, f"temperature should follow current by minutes, best lag {best} min"
    assert temp.max() < device.setpoints["cable_temp_c"]  # PVC limit 70 °C not reached in normal use


def test_offices_rest_at_weekends(fleet: RegistryFile) -> None:
    premises = _premises(fleet, "high_rise_public")
    model = build_model(_device(fleet, premises, "electrical_monitor"), Environment.of(premises, 1), 1)
    times, samples = _series(model, WEEK, 300)
    current = np.array([s["current_a"] for s in samples])
    working = np.array([local_weekday(float(t)) < 5 and 9 <= local_hours(float(t)) < 17 for t in times])
    weekend = np.array([local_weekday(float(t)) >= 5 and 9 <= local_hours(float(t)) < 17 for t in times])
    assert current[weekend].mean() < 0.6 * current[working].mean()


def test_pressure_stays_in_band_with_jockey_pump_cycles(fleet: RegistryFile) -> None:
    premises = _premises(fleet, "high_rise_residential")
    model = build_model(_device(fleet, premises, "sprinkler_pressure"), Environment.of(premises, 1), 1)
    _, samples = _series(model, WEEK, 300)
    pressure = np.array([s["water_pressure_mpa"] for s in samples])
    assert pressure.min() > 0.05  # GB 55036: most unfavourable point >= 0.05 MPa
    assert pressure.max() - pressure.min() < 0.08
    assert model.pump_starts >= 3  # type: ignore[attr-defined]
    assert len(set(pressure.round(3))) > 10  # noise and quantisation, not a constant


def test_gauges_on_one_water_system_read_one_sawtooth_a_static_head_apart(fleet: RegistryFile) -> None:
    valve = next(d for d in fleet.devices if d.type == "sprinkler_pressure" and "alarm valve" in d.location)
    top = next(d for d in fleet.devices if d.premises == valve.premises and d.id.endswith("-SP01"))
    premises = next(p for p in fleet.premises if p.id == valve.premises)
    env = Environment.of(premises, 1)
    models: dict[str, Model] = {d.id: build_model(d, env, 1) for d in (top, valve)}
    share_water_systems(models, {premises.id: premises})
    system, gauge = models[top.id], models[valve.id]
    assert isinstance(system, PressureModel) and isinstance(gauge, PressureGauge) and gauge.system is system
    gauge.drift_per_day = system.drift_per_day = 0.0  # the slow sensor drift is another test's
    times = np.arange(START, START + 3 * 86400, 300)
    pairs = [(system.sample(float(t)), gauge.sample(float(t))) for t in times]
    upper, lower = (np.array([m["water_pressure_mpa"] for m in side]) for side in zip(*pairs, strict=True))
    storey_m = (premises.height_m or 0.0) / (premises.floors or 1)
    floors_between = (premises.floors or 1) - (int(valve.zone[:-1]) if valve.zone and valve.zone.endswith("F") else 0)
    head = WATER_HEAD_MPA_PER_M * storey_m * floors_between
    assert abs(float(np.median(lower - upper)) - head) < 0.002  # the storeys between, and only them
    assert float(np.std(lower - upper)) < 0.005  # two sensors' noise: the system moves them together
    refills = np.diff(upper) > 0.012  # a refill lifts by the band, 0.02-0.04 MPa; a pair's noise is 0.003
    assert refills.sum() >= 3 and np.array_equal(refills, np.diff(lower) > 0.012)  # one jockey pump
    assert lower.min() > valve.setpoints["water_pressure_mpa"]  # its low-pressure limit holds its head too


def test_tank_refills_and_batteries_decay(fleet: RegistryFile) -> None:
    premises = _premises(fleet, "high_rise_residential")
    model = build_model(_device(fleet, premises, "tank_level"), Environment.of(premises, 1), 1)
    _, samples = _series(model, 30 * 86400, 600)
    level = np.array([s["tank_level_m"] for s in samples])
    assert level.max() - level.min() < 0.15
    battery = [s["battery_pct"] for s in samples]
    assert battery[-1] < battery[0]
    assert all(b2 <= b1 for b1, b2 in itertools.pairwise(battery))


def test_ebike_charging_happens_in_the_evening(fleet: RegistryFile) -> None:
    premises = _premises(fleet, "rental_housing")
    model = build_model(_device(fleet, premises, "ebike_charger"), Environment.of(premises, 1), 1)
    assert isinstance(model, EbikeModel)
    times, samples = _series(model, WEEK, 300)
    charging = [local_hours(float(t)) for t, s in zip(times, samples, strict=True) if s["charging_current_a"] > 1.0]
    assert charging, "no charging session in a week"
    assert statistics.mean(h >= 18 or h < 7 for h in charging) > 0.95
    assert max(s["charging_current_a"] for s in samples) < 4.0


def test_same_seed_same_signal() -> None:
    from simulators.fleet import generate_fleet

    fleet = generate_fleet(20, seed=9)
    premises = {p.id: p for p in fleet.premises}
    for device in fleet.devices[:30]:
        a = build_model(device, Environment.of(premises[device.premises], 4), 4)
        b = build_model(device, Environment.of(premises[device.premises], 4), 4)
        assert [a.sample(START + i * 300) for i in range(50)] == [b.sample(START + i * 300) for i in range(50)]
