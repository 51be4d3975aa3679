"""Sensor physics: what each device type would measure, second by second, in an ordinary building.

Time is float seconds since the Unix epoch (UTC); the buildings live in China Standard Time, so
load cycles follow local hours. Every model draws from its own ``random.Random``, seeded by the
run's seed and the device id, so a device's signal does not change when other devices are added
(but for gauges on one water system, which read the system its highest gauge runs:
:func:`share_water_systems`).

The shapes, and why scoring cannot be trivial:
- electrical load follows the category's daily and weekly cycle; residual current rises with load
  and humidity (natural leakage 100-200 mA); cable temperature follows current squared through a
  first-order thermal lag, so it peaks after the load does;
- water pressure sags with a slow leak until the jockey pump cuts in (a sawtooth), tank level drains
  until the float valve refills it;
- every value carries noise, a slow per-device drift, and the quantisation of a real ADC; batteries
  decay.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from core.domain import DEVICE_TYPES
from core.registry import Device, Premises
from simulators.profiles import HOURLY_LOAD, USAGE

LOCAL_OFFSET_S = 8 * 3600
DAY_S = 86_400.0
Metrics = dict[str, float]
WATER_HEAD_MPA_PER_M = 0.0098
"""The static pressure of one metre of water: a gauge a storey lower reads a storey's height more."""
ZONE_HEIGHT_M = 60.0
"""How tall one pressure zone of a building's sprinkler or hydrant system is: taller buildings split
their systems into zones, so that no point of one is more than about 0.6 MPa of static head below
its top (GB 50974-2014 holds a hydrant's static pressure to 1.0 MPa, GB 50084 a sprinkler system's
working pressure to 1.2 MPa)."""


def local_hours(t: float) -> float:
    """Hours since local midnight, 0 <= h < 24."""
    return ((t + LOCAL_OFFSET_S) % DAY_S) / 3600.0


def local_weekday(t: float) -> int:
    """0 = Monday ... 6 = Sunday, in local time (1970-01-01 was a Thursday)."""
    return (int((t + LOCAL_OFFSET_S) // DAY_S) + 3) % 7


def local_day(t: float) -> int:
    return int((t + LOCAL_OFFSET_S) // DAY_S)


def quantise(value: float, step: float) -> float:
    return round(round(value / step) * step, 10)


def storey(zone: str | None, floors: int) -> int:
    """The storey a device's zone names: ``"12F"`` is 12, a basement (``"B1"``) 0, ``"roof"`` one above
    the top floor; anything else the first floor."""
    if zone == "roof":
        return floors + 1
    if zone and zone[0] == "B":
        return 0
    if zone and zone[-1] == "F" and zone[:-1].isdigit():
        return int(zone[:-1])
    return 1


def pressure_zone(floor: int, storey_m: float) -> int:
    """Which pressure zone (0 the lowest) of a building's water systems serves a storey."""
    return int(max(0, floor - 1) * storey_m // ZONE_HEIGHT_M)


def stable_seed(*parts: object) -> int:
    """A seed from values, equal across runs and processes (unlike ``hash``)."""
    text = "\x1f".join(map(str, parts)).encode()
    value = 1469598103934665603
    for byte in text:  # FNV-1a, 64 bit
        value = ((value ^ byte) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return value


@dataclass(slots=True)
class Environment:
    """The building around the sensors: its load cycle, humidity and ambient temperature."""

    category: str
    humidity_offset: float
    temperature_offset: float

    @classmethod
    def of(cls, premises: Premises, seed: int) -> Environment:
        rng = random.Random(stable_seed(seed, premises.id, "environment"))
        return cls(premises.category, rng.uniform(-8, 8), rng.uniform(-2, 2))

    def load(self, t: float) -> float:
        """Fraction of peak electrical load, by local hour (interpolated) and weekday."""
        use, weekend = USAGE[self.category]
        shape = HOURLY_LOAD[use]
        h = local_hours(t)
        low = int(h)
        frac = h - low
        value = shape[low] * (1 - frac) + shape[(low + 1) % 24] * frac
        return min(1.0, value * (weekend if local_weekday(t) >= 5 else 1.0))

    def humidity(self, t: float) -> float:
        """Relative humidity %, highest before dawn."""
        return max(20.0, min(100.0, 72 + self.humidity_offset + 12 * math.cos(2 * math.pi * (local_hours(t) - 5) / 24)))

    def ambient(self, t: float) -> float:
        """Indoor ambient temperature °C, warmest mid-afternoon."""
        return 24 + self.temperature_offset + 3 * math.cos(2 * math.pi * (local_hours(t) - 15) / 24)


@dataclass(slots=True)
class Model:
    """One device's signal. ``sample(t)`` advances its state to ``t`` and returns telemetry (may be empty)."""

    device: Device
    env: Environment
    rng: random.Random
    last_t: float | None = None
    origin: float = 0.0  # time of the first sample; drift grows from here
    drift_per_day: float = 0.0
    battery: float | None = None
    battery_loss_per_day: float = 0.0

    def sample(self, t: float) -> Metrics:
        if self.last_t is None:
            self.origin = t
        dt = 0.0 if self.last_t is None else max(0.0, t - self.last_t)
        self.last_t = t
        if self.battery is not None:
            self.battery = max(0.0, self.battery - self.battery_loss_per_day * dt / DAY_S)
        metrics = self.measure(t, dt)
        if self.battery is not None:
            metrics["battery_pct"] = quantise(self.battery, 1.0)
        return metrics

    def measure(self, t: float, dt: float) -> Metrics:
        return {}

    def drift(self, t: float) -> float:
        return self.drift_per_day * (t - self.origin) / DAY_S


@dataclass(slots=True)
class ElectricalModel(Model):
    rated_a: float = 60.0
    leak_ma: float = 140.0
    humidity_gain: float = 0.6
    rise_c: float = 25.0
    tau_s: float = 1800.0
    cable_c: float | None = None

    def measure(self, t: float, dt: float) -> Metrics:
        load = max(0.0, self.env.load(t) * (1 + self.rng.gauss(0, 0.06)))
        current = self.rated_a * load
        humidity = self.env.humidity(t)
        leak = self.leak_ma * (0.55 + 0.45 * load) * (1 + self.humidity_gain * (humidity - 60) / 100)
        leak += self.rng.gauss(0, 4) + self.drift(t)
        target = self.env.ambient(t) + self.rise_c * load * load
        if self.cable_c is None:
            self.cable_c = target
        else:
            self.cable_c += (target - self.cable_c) * (1 - math.exp(-dt / self.tau_s))
        return {
            "current_a": quantise(current, 0.1),
            "residual_current_ma": quantise(max(0.0, leak), 1.0),
            "cable_temp_c": quantise(self.cable_c + self.rng.gauss(0, 0.15), 0.1),
            "voltage_v": quantise(228 - 6 * load + self.rng.gauss(0, 1.5), 0.1),
        }


@dataclass(slots=True)
class PressureModel(Model):
    """Sprinkler or hydrant pressure: a slow leak, then the jockey pump restores it (a sawtooth)."""

    setpoint: float = 0.3
    band: float = 0.03
    leak_per_h: float = 0.005
    pressure: float | None = None
    pump_starts: int = 0

    def measure(self, t: float, dt: float) -> Metrics:
        if self.pressure is None:
            self.pressure = self.setpoint - self.rng.uniform(0, self.band)
        self.pressure -= self.leak_per_h * dt / 3600
        if self.pressure < self.setpoint - self.band:
            self.pressure = self.setpoint + self.rng.uniform(0, 0.01)
            self.pump_starts += 1
        value = self.pressure + self.rng.gauss(0, 0.002) + self.drift(t)
        return {"water_pressure_mpa": quantise(value, 0.001)}


@dataclass(slots=True)
class PressureGauge(Model):
    """A second gauge on a water system whose pressure another gauge's :class:`PressureModel` runs
    (its *system*): the same sawtooth, the static head between the two gauges (positive when this one
    is lower), and this gauge's own noise, drift and resolution. A real loss of the system lowers
    both; a fault of one sensor only its own reading."""

    system: PressureModel | None = None
    head_mpa: float = 0.0

    def measure(self, t: float, dt: float) -> Metrics:
        if self.system is None:
            raise ValueError(f"{self.device.id}: a gauge on a shared water system needs the system's model")
        self.system.sample(t)
        assert self.system.pressure is not None  # set by the system's first sample
        value = self.system.pressure + self.head_mpa + self.rng.gauss(0, 0.002) + self.drift(t)
        return {"water_pressure_mpa": quantise(value, 0.001)}


def share_water_systems(models: dict[str, Model], premises: dict[str, Premises]) -> None:
    """Let the pressure gauges of a premises that name one water system read one system: the highest
    gauge's model runs it, and each other gauge (by device id in ``models``, replaced in place) reads
    it with the static head between them. A premises' storey height is its height over its floors."""
    systems: dict[tuple[str, str], list[PressureModel]] = {}
    for model in models.values():
        if model.device.water_system and isinstance(model, PressureModel):
            systems.setdefault((model.device.premises, model.device.water_system), []).append(model)
    for (premises_id, _), gauges in systems.items():
        site = premises[premises_id]
        floors = site.floors or 1
        storey_m = (site.height_m or 3.0 * floors) / floors
        gauges.sort(key=lambda m: (-storey(m.device.zone, floors), m.device.id))
        top, top_floor = gauges[0], storey(gauges[0].device.zone, floors)
        for own in gauges[1:]:
            models[own.device.id] = PressureGauge(
                own.device,
                own.env,
                own.rng,
                drift_per_day=own.drift_per_day,
                battery=own.battery,
                battery_loss_per_day=own.battery_loss_per_day,
                system=top,
                head_mpa=WATER_HEAD_MPA_PER_M * storey_m * (top_floor - storey(own.device.zone, floors)),
            )


@dataclass(slots=True)
class TankModel(Model):
    """Tank level: drains slowly (evaporation, small use) until the float valve refills it."""

    full_m: float = 3.5
    drain_per_h: float = 0.005
    level: float | None = None

    def measure(self, t: float, dt: float) -> Metrics:
        if self.level is None:
            self.level = self.full_m - self.rng.uniform(0, 0.05)
        self.level -= self.drain_per_h * dt / 3600
        if self.level < self.full_m - 0.08:
            self.level = self.full_m
        return {"tank_level_m": quantise(self.level + self.rng.gauss(0, 0.004) + self.drift(t), 0.01)}


@dataclass(slots=True)
class SmokeAlarmModel(Model):
    baseline: float = 0.15
    room_offset_c: float = 0.0

    def measure(self, t: float, dt: float) -> Metrics:
        return {
            "smoke_obscuration_pct_m": quantise(
                max(0.0, self.baseline + self.rng.gauss(0, 0.03) + self.drift(t)), 0.01
            ),
            "temperature_c": quantise(self.env.ambient(t) + self.room_offset_c + self.rng.gauss(0, 0.2), 0.1),
        }


def _meal_bump(t: float) -> float:
    """0..1: how much cooking is going on (lunch and dinner peaks)."""
    h = local_hours(t)
    return max(math.exp(-(((h - 12.0) / 0.8) ** 2)), math.exp(-(((h - 18.5) / 1.0) ** 2)))


@dataclass(slots=True)
class GasModel(Model):
    cooking: float = 1.0

    def measure(self, t: float, dt: float) -> Metrics:
        bump = self.cooking * _meal_bump(t)
        return {
            "gas_lel_pct": quantise(max(0.0, abs(self.rng.gauss(0, 0.15)) + 1.5 * bump + self.drift(t)), 0.1),
            "co_ppm": quantise(max(0.0, 2 + abs(self.rng.gauss(0, 1.0)) + 18 * bump), 1.0),
        }


@dataclass(slots=True)
class EbikeModel(Model):
    """Evening charging sessions: constant current, then a tapering constant-voltage phase."""

    session_p: float = 0.75
    seed: int = 0
    sessions: dict[int, tuple[float, float, float] | None] = field(default_factory=dict)

    def session(self, day: int) -> tuple[float, float, float] | None:
        """(start, end, current) of the session beginning on local ``day``, or None. Fixed per day."""
        if day not in self.sessions:
            rng = random.Random(self.seed ^ day)
            if rng.random() > self.session_p:
                self.sessions[day] = None
            else:
                start = day * DAY_S - LOCAL_OFFSET_S + rng.uniform(18, 23.5) * 3600
                self.sessions[day] = (start, start + rng.uniform(3, 7) * 3600, rng.uniform(2.0, 3.5))
        return self.sessions[day]

    def charging_current(self, t: float) -> float:
        for day in (local_day(t), local_day(t) - 1):
            session = self.session(day)
            if session and session[0] <= t < session[1]:
                start, end, amps = session
                progress = (t - start) / (end - start)
                return amps if progress < 0.7 else amps * (1 - progress) / 0.3
        return 0.0

    def measure(self, t: float, dt: float) -> Metrics:
        amps = max(0.0, self.charging_current(t) + self.rng.gauss(0, 0.02))
        return {
            "charging_current_a": quantise(amps, 0.01),
            "voltage_v": quantise(226 + self.rng.gauss(0, 1.5), 0.1),
            "temperature_c": quantise(self.env.ambient(t) + 2.5 * amps + self.rng.gauss(0, 0.2), 0.1),
        }


@dataclass(slots=True)
class TemperatureModel(Model):
    offset_c: float = 0.0
    kitchen: bool = False

    def measure(self, t: float, dt: float) -> Metrics:
        bump = 8 * _meal_bump(t) if self.kitchen else 0.0
        value = self.env.ambient(t) + self.offset_c + bump + self.rng.gauss(0, 0.2) + self.drift(t)
        return {"temperature_c": quantise(value, 0.1)}


def build_model(device: Device, env: Environment, seed: int) -> Model:
    """The physics of one device, with its own random stream and parameters."""
    rng = random.Random(stable_seed(seed, device.id))
    drift = rng.gauss(0, 1) * 1e-4
    builders: dict[str, Callable[[], Model]] = {
        "uitd": lambda: Model(device, env, rng),
        "electrical_monitor": lambda: ElectricalModel(
            device,
            env,
            rng,
            drift_per_day=drift * 20,
            rated_a=rng.uniform(20, 160),
            leak_ma=rng.uniform(80, 160),
            humidity_gain=rng.uniform(0.3, 0.9),
            rise_c=rng.uniform(12, 30),
            tau_s=rng.uniform(900, 2700),
        ),
        "sprinkler_pressure": lambda: PressureModel(
            device,
            env,
            rng,
            drift_per_day=drift,
            setpoint=rng.uniform(0.15, 0.32),
            band=rng.uniform(0.02, 0.04),
            leak_per_h=rng.uniform(0.002, 0.012),
        ),
        "hydrant_pressure": lambda: PressureModel(
            device,
            env,
            rng,
            drift_per_day=drift,
            setpoint=rng.uniform(0.25, 0.45),
            band=rng.uniform(0.02, 0.05),
            leak_per_h=rng.uniform(0.002, 0.012),
        ),
        "tank_level": lambda: TankModel(
            device,
            env,
            rng,
            drift_per_day=drift,
            full_m=device.setpoints.get("tank_level_m", 2.0) + rng.uniform(0.3, 1.0),
            drain_per_h=rng.uniform(0.002, 0.01),
        ),
        "smoke_alarm": lambda: SmokeAlarmModel(
            device, env, rng, drift_per_day=drift, baseline=rng.uniform(0.05, 0.3), room_offset_c=rng.uniform(-1, 1)
        ),
        "gas_detector": lambda: GasModel(
            device,
            env,
            rng,
            drift_per_day=drift,
            cooking=rng.uniform(0.3, 1.0) if "kitchen" in device.location else 0.1,
        ),
        "ebike_charger": lambda: EbikeModel(
            device, env, rng, session_p=rng.uniform(0.5, 0.9), seed=rng.getrandbits(48)
        ),
        "temperature_sensor": lambda: TemperatureModel(
            device,
            env,
            rng,
            drift_per_day=drift * 10,
            offset_c=rng.uniform(-1, 2),
            kitchen="kitchen" in device.location,
        ),
    }
    model = builders[device.type]()
    if "battery_pct" in DEVICE_TYPES[device.type].metrics:
        model.battery = rng.uniform(55, 100)
        model.battery_loss_per_day = rng.uniform(0.02, 0.08)  # 3-10 years from full
    return model
