"""What every scenario kind is made of: the :class:`Context` its ``apply`` gets, and :class:`Kind`."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from simulators.engine import DeviceState, GroundTruth, Simulation

Apply = Callable[["Context"], None]


@dataclass(frozen=True, slots=True)
class Context:
    """What a kind's ``apply`` gets: the run, its target, when, for how long, and its own random stream."""

    sim: Simulation
    target: DeviceState
    start: float
    duration: float
    params: dict[str, float]
    rng: random.Random

    @property
    def end(self) -> float:
        return self.start + self.duration

    def siblings(self, *types: str) -> list[DeviceState]:
        """Devices of the target's premises, of the given types (all types when none given)."""
        return [s for s in self.sim.by_premises[self.target.premises.id] if not types or s.device.type in types]

    def water_system(self, state: DeviceState | None = None) -> list[DeviceState]:
        """The gauges on the water system ``state`` (default: the target) measures, itself first: all
        of its premises' gauges of its type naming the same ``water_system``, or itself alone."""
        state = state or self.target
        system = state.device.water_system
        if system is None:
            return [state]
        same = [
            s
            for s in self.sim.by_premises[state.premises.id]
            if s is not state and s.device.type == state.device.type and s.device.water_system == system
        ]
        return [state, *same]

    def truth(
        self, kind: str, category: str, expected: str, *, device_ids: list[str] | None = None, zone: str | None = None,
        details: dict[str, object] | None = None,
    ) -> GroundTruth:  # fmt: skip
        return self.sim.truth(
            kind, category, expected, self.start, self.end, premises_id=self.target.premises.id,
            device_ids=device_ids, zone=zone, details=details,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    category: str
    default_duration: float
    eligible: Callable[[Simulation, DeviceState], bool]
    apply: Apply
    needs: str | None = None
    """What a target must be, said when a scenario names one that is not (the device type is said anyway)."""


def has(*types: str) -> Callable[[Simulation, DeviceState], bool]:
    return lambda sim, s: s.device.type in types


def ramp(ctx: Context, t: float) -> float:
    """0 at the start of the window, 1 at its end."""
    return min(1.0, max(0.0, (t - ctx.start) / ctx.duration))
