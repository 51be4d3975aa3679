"""Gauge trials: one water-system gauge, days of healthy sawtooth, then one fault, at a chosen report interval.

Each trial is a sprinkler pressure gauge or a tank level gauge of its own random physics
(:mod:`simulators.physics`: setpoint, band, leak or drain rate, noise, quantisation), reporting every
``interval_s`` (±2 %). It runs ``learn_s`` healthy, then the fault begins at a random moment of the
next six hours and lasts to the end (``after_s`` later). The faults:

- ``healthy``: none (every hour of the trial is healthy time);
- ``stuck``: the reading freezes at its value at the onset;
- ``drift_up`` / ``drift_down``: the reading gains or loses ``size`` per hour (MPa or m), quantised
  like the gauge; up hides a real loss, down reads a loss that is not there;
- ``pump_failure``: the jockey pump no longer starts: no more refills, and the pressure falls at the
  system's own leak rate and 0-0.02 MPa/h more;
- ``pipe_leak``: a leak the pump cannot keep up with: no refills, and a fall 0.08-0.25 MPa/h faster;
- ``valve_closed``: the gauge behind a closed valve reads a constant 0-0.03 MPa;
- ``tank_not_refilling``: the float valve no longer refills the tank, which drains at its own rate
  and 0.02-0.05 m/h of use more.

With ``peers``, more gauges of the same metric on the same water system report too, each on its own
schedule: lower on the riser, a static head of 0.05-0.25 MPa above the first (a tank's other level
gauges: within 2 cm of it), each with its own noise. A real loss lowers them all; a sensor fault or a
closed valve is the first gauge's alone. A lone trial's readings are the same as before there were
peers, and a one-peer trial's the same as before there could be more.

A trial is pure: the same trial gives the same readings.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal

from core.registry import Device, RegistryFile
from simulators.physics import Environment, Model, PressureModel, TankModel, build_model, quantise, stable_seed
from simulators.trials import TRIAL_DISTRICT, trial_premises

GaugeType = Literal["sprinkler_pressure", "tank_level"]
_Change = Callable[[float, float], float]
"""A fault's change of a reading: (time, value) → the value reported."""
PREMISES: Final = "P-GAUGE"
DEVICE: Final = "P-GAUGE-G1"
WATER_SYSTEM: Final = "system-1"
NOISE: Final[dict[str, float]] = {"sprinkler_pressure": 0.002, "tank_level": 0.004}
START: Final = datetime(2026, 6, 1, 16, 0, tzinfo=UTC).timestamp()
GAUGE_FAULTS: Final = (
    "healthy",
    "stuck",
    "drift_up",
    "drift_down",
    "pump_failure",
    "pipe_leak",
    "valve_closed",
    "tank_not_refilling",
)
SENSOR_FAULTS: Final = frozenset({"stuck", "drift_up", "drift_down"})
PRESSURE_ONLY: Final = frozenset({"pump_failure", "pipe_leak", "valve_closed"})
TANK_ONLY: Final = frozenset({"tank_not_refilling"})
GAUGE_INTERVALS: Final = (60.0, 300.0, 600.0, 3600.0)
METRIC: Final[dict[str, str]] = {"sprinkler_pressure": "water_pressure_mpa", "tank_level": "tank_level_m"}
RESOLUTION: Final[dict[str, float]] = {"sprinkler_pressure": 0.001, "tank_level": 0.01}
SETPOINT: Final[dict[str, float]] = {"sprinkler_pressure": 0.05, "tank_level": 2.0}


@dataclass(frozen=True, slots=True)
class GaugeTrial:
    device_type: GaugeType
    fault: str
    interval_s: float
    size: float
    """A drift's rate per hour (MPa or m); 0 for the other faults."""
    seed: int
    peers: int = 0
    """Other gauges on the same water system that report too (the module's docstring)."""
    learn_s: float = 3 * 86_400.0
    after_s: float = 2 * 86_400.0

    def __post_init__(self) -> None:
        if self.fault not in GAUGE_FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; valid faults are {', '.join(GAUGE_FAULTS)}")
        if self.fault in PRESSURE_ONLY and self.device_type != "sprinkler_pressure":
            raise ValueError(f"{self.fault} is a pressure gauge's fault")
        if self.fault in TANK_ONLY and self.device_type != "tank_level":
            raise ValueError(f"{self.fault} is a tank gauge's fault")
        if self.interval_s <= 0:
            raise ValueError(f"interval {self.interval_s} s must be positive")
        if not 0 <= self.peers <= 8:
            raise ValueError(f"{self.peers} peers: a trial has 0 to 8")

    @property
    def metric(self) -> str:
        return METRIC[self.device_type]


@dataclass(slots=True)
class GaugeStream:
    trial: GaugeTrial
    onset: float
    end: float
    readings: list[tuple[float, float]]
    """(time, reported value) of every reading, in order."""
    peer_readings: list[list[tuple[float, float]]]
    """Each peer gauge's readings (none without peers)."""
    levels: list[float] = field(default_factory=list)
    """The system's true pressure or level at each of ``readings``, without the sensor's noise, fault
    or resolution: what no detector sees, for bounds on what any could do."""

    def first_refill(self) -> float | None:
        """The time of the gauge's first reading from the onset that shows the system restored itself
        (its true level above the reading before's): None when none does (a real loss, or too soon)."""
        for i in range(1, len(self.levels)):
            if self.readings[i][0] >= self.onset and self.levels[i] > self.levels[i - 1]:
                return self.readings[i][0]
        return None

    def healthy_log10_chance(self, until: float) -> float:
        """log10 of the chance that this gauge, healthy, would have read what a stuck one reads: its
        first reading from the onset again at every reading after it up to ``until``, at the system's
        true levels then (its own noise and resolution). It bounds what any test can do: one that knew
        the true level (no detector does) could call the run stuck only once this chance is below
        the false alarms it may raise."""
        sigma, step = NOISE[self.trial.device_type], RESOLUTION[self.trial.device_type]
        after = [(t, v, level) for (t, v), level in zip(self.readings, self.levels, strict=True) if t >= self.onset]
        if not after:
            return 0.0
        frozen = after[0][1]
        total = 0.0
        for t, _, level in after[1:]:
            if t > until:
                break
            low, high = (frozen - step / 2 - level) / sigma, (frozen + step / 2 - level) / sigma
            chance = 0.5 * (math.erf(high / math.sqrt(2)) - math.erf(low / math.sqrt(2)))
            total += math.log10(max(chance, 1e-300))
        return total


def registry(device_type: GaugeType, interval_s: float, peers: int = 0) -> RegistryFile:
    """The trial premises with its gauge (setpoint: the level its threshold rule holds to), and
    ``peers`` more on the same water system (``P-GAUGE-G2``, ``-G3``...)."""
    devices = [_device(DEVICE, device_type, interval_s, peers > 0)]
    devices += [_device(f"P-GAUGE-G{k + 2}", device_type, interval_s, True) for k in range(peers)]
    return RegistryFile(
        jurisdictions=[TRIAL_DISTRICT],
        premises=[trial_premises(PREMISES, "gauge trial")],
        devices=devices,
    )


def _device(device_id: str, device_type: GaugeType, interval_s: float, peer: bool) -> Device:
    return Device(
        id=device_id,
        premises=PREMISES,
        type=device_type,
        location="roof, most unfavourable point" if device_id == DEVICE else f"riser, gauge {device_id[-1]}",
        zone="B1",
        expected_interval_s=max(1, round(interval_s)),
        setpoints={METRIC[device_type]: SETPOINT[device_type]},
        water_system=WATER_SYSTEM if peer else None,
    )


def stream(trial: GaugeTrial) -> GaugeStream:
    rng = random.Random(
        stable_seed("gauge-trial", trial.device_type, trial.fault, trial.interval_s, trial.size, trial.seed)
    )
    reg = registry(trial.device_type, trial.interval_s, trial.peers)
    env = Environment.of(reg.premises[0], trial.seed)
    model = build_model(reg.devices[0], env, rng.getrandbits(32))
    model.drift_per_day = 0.0  # the trial's drift is its fault; a healthy gauge does not drift
    metric, step = trial.metric, RESOLUTION[trial.device_type]
    onset = START + trial.learn_s + rng.uniform(0, 6 * 3600)
    end = onset + trial.after_s
    if trial.fault == "healthy":
        onset = end
    fault = _fault(trial, rng, onset)
    out = GaugeStream(trial, onset, end, [], [])
    frozen: float | None = None
    broken = False
    t = START + rng.uniform(0, trial.interval_s)
    peers = [_Peer(trial, k) for k in range(trial.peers)]
    out.peer_readings = [[] for _ in peers]
    while min([t, *(p.t for p in peers)]) < end:
        first = min(peers, key=lambda p: p.t, default=None)
        if first is not None and first.t < t:  # a peer reads the same system, a static head apart
            if first.t >= onset and not broken:
                broken = _break(trial, model, rng)
            model.sample(first.t)
            true = _level(model) + first.offset + first.rng.gauss(0, NOISE[trial.device_type])
            out.peer_readings[first.index].append((first.t, quantise(true, step)))
            first.t += trial.interval_s * first.rng.uniform(0.98, 1.02)
            continue
        if t >= onset and not broken:
            broken = _break(trial, model, rng)
        value = model.sample(t)[metric]
        out.levels.append(_level(model))
        if t >= onset:
            if trial.fault == "stuck":
                frozen = value if frozen is None else frozen
                value = frozen
            else:
                value = quantise(fault(t, value), step)
        out.readings.append((t, value))
        t += trial.interval_s * rng.uniform(0.98, 1.02)
    return out


class _Peer:
    """A peer gauge's own draws: its static head, its schedule and its noise (the first peer's are those
    of the single peer trials had before there could be more)."""

    def __init__(self, trial: GaugeTrial, index: int) -> None:
        key = ("gauge-peer",) if index == 0 else ("gauge-peer", index + 1)
        self.index = index
        self.rng = random.Random(stable_seed(*key, trial.device_type, trial.fault, trial.interval_s, trial.seed))
        pressure = trial.device_type == "sprinkler_pressure"
        self.offset = self.rng.uniform(0.05, 0.25) if pressure else self.rng.uniform(-0.02, 0.02)
        self.t = START + self.rng.uniform(0, trial.interval_s)


def _level(model: Model) -> float:
    """The system's own pressure or level, without a sensor's noise."""
    if isinstance(model, PressureModel) and model.pressure is not None:
        return model.pressure
    if isinstance(model, TankModel) and model.level is not None:
        return model.level
    raise ValueError(f"{type(model).__name__} is no water-system gauge's model")


def _break(trial: GaugeTrial, model: Model, rng: random.Random) -> bool:
    """The physics of a real loss, from the onset: nothing restores the level any more."""
    if trial.fault == "tank_not_refilling" and isinstance(model, TankModel):
        model.full_m = -1.0  # the float valve never opens: the level drains, and 0.02-0.05 m/h more is used
        model.drain_per_h += rng.uniform(0.02, 0.05)
    elif trial.fault in ("pump_failure", "pipe_leak") and isinstance(model, PressureModel):
        model.band = 1e9  # the jockey pump never starts (or cannot keep up): no more refills
        model.leak_per_h += rng.uniform(0.0, 0.02) if trial.fault == "pump_failure" else rng.uniform(0.08, 0.25)
    return True


def _fault(trial: GaugeTrial, rng: random.Random, onset: float) -> _Change:
    def hours(t: float) -> float:
        return (t - onset) / 3600

    if trial.fault == "drift_up":
        return lambda t, v: v + trial.size * hours(t)
    if trial.fault == "drift_down":
        return lambda t, v: v - trial.size * hours(t)
    if trial.fault == "valve_closed":
        level = round(rng.uniform(0.0, 0.03), 3)
        return lambda t, v: level
    return lambda t, v: v
