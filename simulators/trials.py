"""Verification trials: one zone of one premises, one fire-alarm case, as a stream of MQTT messages.

A trial is the controlled experiment alarm verification is judged by (``firewarden evaluate
verification``, docs/scoring.md): a zone ``Z1`` whose use is given (ordinary, kitchen, ...), a panel
(UITD) with two smoke detectors, a manual call point and a sprinkler flow switch in the zone, two
independent smoke alarms there, and a room temperature sensor that reports every ``interval_s`` with
noise of ``noise_c`` (standard deviation; 0.1 °C resolution). The room is calm for a while, then the
case happens around the first alarm; every case says whether it is a fire.

Cases (:data:`CASES`), the fires shaped after EN 54-7's test fires:

- ``lone_alarm``: one detector alarms; the room stays as it was (the nuisance an operator meets most);
- ``hvac_drift``: the same, while heating warms the room 3 °C over 30 minutes;
- ``cooking``: the same, while cooking warms it 10 °C in 60 s (then it cools over some 10 minutes);
- ``flaming_fire`` (TF1/TF4/TF5): the ceiling warms 15-30 °C/min up to 30-60 °C above the room; the
  detector alarms once it has warmed 0-13 °C (in flaming fires a smoke detector alarms after a small
  temperature rise: NFPA 72 Annex B's modelling proxy was 13 °C, measured rises are lower);
- ``flaming_late``: the detector alarms first and the heat (15 °C/min, up to 15-30 °C) starts
  0-60 s later (a fire that smoulders, then flames);
- ``smouldering_fire`` (TF2/TF3): smoke, and no more than 1.5 °C of warming: heat cannot tell it;
- ``two_detectors``: two panel detectors of the zone alarm 10-120 s apart;
- ``two_smoke_alarms``: two independent smoke alarms of the zone, whose events name no component or
  zone (as NB-IoT alarms send them), alarm 10-120 s apart;
- ``detector_then_flow`` / ``flow_then_detector``: a detector and the flow switch's feedback,
  10-120 s apart, either way round;
- ``manual_call_point``: someone pressed it.

A trial's stream is pure: the same trial gives the same messages.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Final

from core.domain import EventKind, ZoneUse
from core.registry import Device, Jurisdiction, PanelPoint, Premises, RegistryFile, Unit, Zone
from core.wire import Component, Event, Telemetry, encode_payload, topic_for
from simulators.engine import Outgoing, seq_base
from simulators.physics import local_hours, quantise, stable_seed

PREMISES: Final = "P-TRIAL"
ZONE: Final = "Z1"
START: Final = datetime(2026, 6, 1, 18, 0, tzinfo=UTC).timestamp()
"""Trials begin at 02:00 local time (China): nobody cooks, the room is at its night temperature."""
RESOLUTION_C: Final = 0.1

CASES: Final = (
    "lone_alarm",
    "hvac_drift",
    "cooking",
    "flaming_fire",
    "flaming_late",
    "smouldering_fire",
    "two_detectors",
    "two_smoke_alarms",
    "detector_then_flow",
    "flow_then_detector",
    "manual_call_point",
)
FIRES: Final = frozenset(CASES[3:])
"""The cases that are fires (the others are nuisance alarms)."""
HEAT_FIRES: Final = frozenset({"flaming_fire", "flaming_late"})
"""Fires whose only corroboration is heat."""
INTERVALS: Final = (1.0, 2.0, 5.0, 10.0, 60.0, 300.0, 3600.0)
NOISES: Final = (0.1, 0.2, 0.5, 1.0)


@dataclass(frozen=True, slots=True)
class Trial:
    case: str
    interval_s: float
    noise_c: float
    use: ZoneUse
    seed: int

    def __post_init__(self) -> None:
        if self.case not in CASES:
            raise ValueError(f"unknown case {self.case!r}; valid cases are {', '.join(CASES)}")
        if self.interval_s <= 0 or self.noise_c < 0:
            raise ValueError(f"interval {self.interval_s} s and noise {self.noise_c} °C must be positive")

    @property
    def fire(self) -> bool:
        return self.case in FIRES


@dataclass(frozen=True, slots=True)
class Devices:
    """The ids of a trial premises' devices: ``<premises>-UITD``, ``-TS``, ``-SA1``, ``-SA2``."""

    premises: str

    @property
    def uitd(self) -> str:
        return f"{self.premises}-UITD"

    @property
    def sensor(self) -> str:
        return f"{self.premises}-TS"

    @property
    def alarms(self) -> tuple[str, str]:
        return (f"{self.premises}-SA1", f"{self.premises}-SA2")


@dataclass(slots=True)
class TrialStream:
    """What a trial sends, and when its first alarm (and, for corroboration cases, its second
    alarm or the flow) came."""

    trial: Trial
    messages: list[Outgoing]
    alarm_at: float
    corroboration_at: float | None = None
    heat: list[tuple[float, float, float]] = field(default_factory=list)
    """(time, °C the case added to the room, °C reported) of every temperature reading, for judging heat cases."""


TRIAL_DISTRICT: Final = Jurisdiction(id="J-TRIAL", name="trial district", kind="district")


def trial_premises(ident: str, name: str) -> Premises:
    """A trial's premises: a 10-storey multi-use building of the trial district."""
    return Premises(
        id=ident,
        name=name,
        category="multi_use",
        address="1 Trial Road",
        jurisdiction=TRIAL_DISTRICT.id,
        height_m=30.0,
        floors=10,
        occupancy=200,
        unit=Unit(name="trial unit", contact="trial contact"),
    )


@cache
def registry(use: ZoneUse, interval_s: float, premises: str = PREMISES) -> RegistryFile:
    """The trial premises, with ``Z1`` used as ``use`` and a room sensor reporting every ``interval_s``."""
    ids = Devices(premises)

    def device(ident: str, kind: str, zone: str, location: str, interval: int | None = None) -> Device:
        return Device(
            id=ident, premises=premises, type=kind, location=location, zone=zone, expected_interval_s=interval
        )

    def point(address: int, kind: str) -> PanelPoint:
        return PanelPoint(device=ids.uitd, loop=1, address=address, zone=ZONE, component_type=kind)  # type: ignore[arg-type]

    return RegistryFile(
        jurisdictions=[TRIAL_DISTRICT],
        premises=[trial_premises(premises, "verification trial")],
        devices=[
            device(ids.uitd, "uitd", "1F", "fire control room"),
            device(ids.sensor, "temperature_sensor", ZONE, "Z1 ceiling", max(1, round(interval_s))),
            device(ids.alarms[0], "smoke_alarm", ZONE, "Z1 room a"),
            device(ids.alarms[1], "smoke_alarm", ZONE, "Z1 room b"),
        ],
        panel_points=[
            point(1, "smoke_detector"),
            point(2, "smoke_detector"),
            point(3, "manual_call_point"),
            point(4, "sprinkler_flow_switch"),
        ],
        zones=[] if use == "ordinary" else [Zone(premises=premises, zone=ZONE, use=use)],
    )


def merged(registries: Sequence[RegistryFile]) -> RegistryFile:
    """Several trial premises in one registry (one trial district), to run their streams side by side."""
    return RegistryFile(
        jurisdictions=list(registries[0].jurisdictions),
        premises=[p for r in registries for p in r.premises],
        devices=[d for r in registries for d in r.devices],
        panel_points=[p for r in registries for p in r.panel_points],
        zones=[z for r in registries for z in r.zones],
    )


Profile = Callable[[float], float]
"""Seconds since the first alarm → °C above the room."""


def _ramp(onset: float, rate_per_min: float, top: float) -> Profile:
    return lambda s: min(top, max(0.0, (s - onset) * rate_per_min / 60))


def _profile(case: str, rng: random.Random) -> Profile:
    """How the case warms the room around the first alarm (at 0 s)."""
    if case == "hvac_drift":
        onset = -rng.uniform(0, 1800)
        return lambda s: 3.0 * min(1.0, max(0.0, (s - onset) / 1800))
    if case == "cooking":
        onset = rng.uniform(-60, 30)
        rise = _ramp(onset, 10.0, 10.0)
        return lambda s: rise(s) * (math.exp(-(s - onset - 60) / 600) if s > onset + 60 else 1.0)
    if case == "flaming_fire":
        rate, top = rng.uniform(15, 30), rng.uniform(30, 60)
        return _ramp(-rng.uniform(0, 13) / rate * 60, rate, top)
    if case == "flaming_late":
        return _ramp(rng.uniform(0, 60), 15.0, rng.uniform(15, 30))
    if case == "smouldering_fire":
        return lambda s: 1.5 * min(1.0, max(0.0, (s + 600) / 1200))
    return lambda s: 0.0


def duration(trial: Trial, window_s: float = 180.0) -> float:
    """How long a trial's stream lasts at most: well before the alarm (ten minutes or eight of the
    sensor's intervals, and up to a minute), well after it (the verification window, or 1.6 of the
    sensor's intervals, and two minutes more)."""
    return max(600.0, 8 * trial.interval_s) + 60 + max(window_s, 1.6 * trial.interval_s) + 120


def stream(trial: Trial, window_s: float = 180.0, *, start: float = START, premises: str = PREMISES) -> TrialStream:
    """The messages of ``trial`` in send order, from ``start`` for :func:`duration` at most: the sensor's
    readings, and the case's alarms and flow, sent by the devices of ``premises``."""
    rng = random.Random(stable_seed("trial", trial.case, trial.interval_s, trial.noise_c, trial.use, trial.seed))
    ids = Devices(premises)
    uitd, sensor, (alarm_a, alarm_b) = ids.uitd, ids.sensor, ids.alarms
    before = max(600.0, 8 * trial.interval_s)
    alarm_at = start + before + rng.uniform(0, 60)
    end = alarm_at + max(window_s, 1.6 * trial.interval_s) + 120
    room = rng.uniform(18, 26)
    profile = _profile(trial.case, rng)
    events: list[tuple[float, str, EventKind, Component | None]] = []
    corroboration = None
    second = alarm_at + rng.uniform(10, 120)
    detector = Component("smoke_detector", 1, 1, ZONE)
    if trial.case == "manual_call_point":
        events.append((alarm_at, uitd, "fire_alarm", Component("manual_call_point", 1, 3, ZONE)))
        corroboration = alarm_at
    elif trial.case == "two_smoke_alarms":
        events += [(alarm_at, alarm_a, "fire_alarm", None), (second, alarm_b, "fire_alarm", None)]
        corroboration = second
    elif trial.case == "flow_then_detector":
        flow_at = alarm_at - rng.uniform(10, 120)
        events += [(flow_at, uitd, "feedback", Component("sprinkler_flow_switch", 1, 4, ZONE))]
        events += [(alarm_at, uitd, "fire_alarm", detector)]
        corroboration = alarm_at
    else:
        events.append((alarm_at, uitd, "fire_alarm", detector))
        if trial.case == "two_detectors":
            events.append((second, uitd, "fire_alarm", Component("smoke_detector", 1, 2, ZONE)))
            corroboration = second
        elif trial.case == "detector_then_flow":
            events.append((second, uitd, "feedback", Component("sprinkler_flow_switch", 1, 4, ZONE)))
            corroboration = second

    out = TrialStream(trial, [], alarm_at, corroboration)
    sent: list[tuple[float, str, str, bytes, int]] = []
    seqs = dict.fromkeys((uitd, sensor, alarm_a, alarm_b), seq_base(start))  # as a run's devices count on

    def send(t: float, device_id: str, channel: str, payload: bytes) -> None:
        sent.append((t, device_id, topic_for(premises, device_id, channel), payload, seqs[device_id]))

    t = start + rng.uniform(0, trial.interval_s)
    while t < end:
        rise = profile(t - alarm_at)
        diurnal = 1.5 * math.cos(2 * math.pi * (local_hours(t) - 15) / 24)
        value = quantise(room + diurnal + rise + rng.gauss(0, trial.noise_c), RESOLUTION_C)
        seqs[sensor] += 1
        send(t, sensor, "telemetry", encode_payload(Telemetry(seqs[sensor], _ms(t), {"temperature_c": value})))
        out.heat.append((t, rise, value))
        t += trial.interval_s * rng.uniform(0.98, 1.02)
    for at, device_id, kind, component in events:
        seqs[device_id] += 1
        send(at, device_id, "event", encode_payload(Event(seqs[device_id], _ms(at), kind, component)))
    for index, (at, device_id, topic, payload, seq) in enumerate(sorted(sent, key=lambda m: m[0])):
        out.messages.append(Outgoing(index, at, topic, payload, device_id, seq))
    return out


def _ms(t: float) -> int:
    return round(t * 1000)
