"""Scenarios: what happens during a run (docs/simulators.md), and the ground truth it leaves behind."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO

import msgspec

from simulators.engine import DeviceState, GroundTruth, Simulation
from simulators.errors import ScenarioError
from simulators.physics import stable_seed
from simulators.scenarios.context import Context, Kind
from simulators.scenarios.kinds import KINDS, background, check_kind
from simulators.scenarios.spec import Scenario, ScenarioEvent, load_scenario, parse_duration

__all__ = [
    "KINDS",
    "Scenario",
    "ScenarioError",
    "ScenarioEvent",
    "apply_scenario",
    "background",
    "load_scenario",
    "parse_duration",
    "write_ground_truth",
]


def apply_scenario(sim: Simulation, scenario: Scenario) -> None:
    """Schedule every event of ``scenario`` into ``sim``: the listed ones, then the random ones.

    Raises ScenarioError naming the event and field for an unknown kind, an unknown or unsuitable
    target, or an event outside the run.
    """
    for index, event in enumerate(scenario.events):
        where = f"events[{index}]"
        kind = check_kind(event.kind, where)
        if event.at >= sim.end - sim.start:
            raise ScenarioError(f"{where}: field 'at': {event.at:g} s is not inside the run's duration")
        target = _target(sim, kind, event, where, random.Random(stable_seed(sim.seed, "target", index)))
        _apply(sim, kind, target, sim.start + event.at, event.duration, event.params, ("event", index))
    for name, count in sorted(scenario.random.items()):
        kind = check_kind(name, f"random.{name}")
        candidates = _eligible(sim, kind)
        if count and not candidates:
            raise ScenarioError(f"random.{name}: no device in this fleet can have a {name}")
        rng = random.Random(stable_seed(sim.seed, "random", name))
        for n in range(count):
            at = sim.start + rng.uniform(0.02, 0.9) * (sim.end - sim.start)
            _apply(sim, kind, rng.choice(candidates), at, None, {}, ("random", name, n))


def _eligible(sim: Simulation, kind: Kind) -> list[DeviceState]:
    return [s for s in sim.devices.values() if kind.eligible(sim, s)]


def _target(sim: Simulation, kind: Kind, event: ScenarioEvent, where: str, rng: random.Random) -> DeviceState:
    if event.device is not None:
        state = sim.devices.get(event.device)
        if state is None:
            raise ScenarioError(f"{where}: field 'device': no device {event.device!r} in the fleet")
        if event.premises is not None and state.premises.id != event.premises:
            raise ScenarioError(f"{where}: field 'device': {event.device} is not in premises {event.premises}")
        if not kind.eligible(sim, state):
            needs = f": it needs {kind.needs}" if kind.needs else ""
            raise ScenarioError(f"{where}: field 'device': a {state.device.type} cannot have a {kind.name}{needs}")
        return state
    if event.premises is not None:
        if event.premises not in sim.by_premises:
            raise ScenarioError(f"{where}: field 'premises': no premises {event.premises!r} in the fleet")
        candidates = [s for s in sim.by_premises[event.premises] if kind.eligible(sim, s)]
        if not candidates:
            raise ScenarioError(f"{where}: field 'premises': nothing in {event.premises} can have a {kind.name}")
        return rng.choice(candidates)
    candidates = _eligible(sim, kind)
    if not candidates:
        raise ScenarioError(f"{where}: field 'kind': no device in this fleet can have a {kind.name}")
    return rng.choice(candidates)


def _apply(
    sim: Simulation,
    kind: Kind,
    target: DeviceState,
    start: float,
    duration: float | None,
    params: dict[str, float],
    key: tuple[object, ...],
) -> None:
    rng = random.Random(stable_seed(sim.seed, "apply", *key))
    kind.apply(Context(sim, target, start, duration or kind.default_duration, dict(params), rng))


def _time(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_ground_truth(truths: Iterable[GroundTruth], out: IO[bytes]) -> int:
    """One JSON object per line, in id order. Returns how many were written."""
    written = 0
    for truth in sorted(truths, key=lambda g: g.id):
        record = {
            "id": truth.id,
            "kind": truth.kind,
            "category": truth.category,
            "expected": truth.expected,
            "premises_id": truth.premises_id,
            "device_ids": sorted(set(truth.device_ids)),
            "zone": truth.zone,
            "start": _time(truth.start),
            "end": _time(truth.end),
            "details": truth.details,
            "messages": [{"device_id": d, "seq": s} for d, s in truth.messages],
            "stream_indices": truth.stream_indices,
        }
        out.write(msgspec.json.encode(record) + b"\n")
        written += 1
    return written
