"""Building records and a scorer for in-memory scoring tests: time is whatever the records say."""

from __future__ import annotations

from datetime import UTC, datetime

from core.policy import Policy
from core.registry import Device, Premises, RegistryFile, Unit
from ingest.records import EventRecord, Reading, StatusRecord
from scoring.models import Models
from scoring.records import AlarmDecision, Decision, Signal
from scoring.scorer import Scorer
from scoring.site import Sites
from scoring.state import PremisesState

T0 = 1_767_571_200.0
P = "P-1"


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, UTC)


def registry() -> RegistryFile:
    premises = Premises(
        id=P,
        name="test premises",
        category="multi_use",
        address="1 Test Road",
        jurisdiction="J-1",
        height_m=30.0,
        occupancy=200,
        unit=Unit(name="unit", contact="someone"),
    )

    def device(ident: str, kind: str, zone: str, interval: int = 60, **setpoints: float) -> Device:
        return Device(
            id=ident,
            premises=P,
            type=kind,
            location=f"{zone} {kind}",
            zone=zone,
            expected_interval_s=interval,
            setpoints=setpoints,
        )

    return RegistryFile(
        premises=[premises],
        devices=[
            device("UITD", "uitd", "1F"),
            device("SP", "sprinkler_pressure", "9F", 300, water_pressure_mpa=0.05),
            device("EM", "electrical_monitor", "B1", residual_current_ma=300.0, cable_temp_c=70.0),
            device("TS3", "temperature_sensor", "3F", 300),
            device("SA3", "smoke_alarm", "3F", 3600),
            device("SA3b", "smoke_alarm", "3F", 3600),
        ],
    )


class Harness:
    """One premises' state and a scorer; feed records, collect what was decided."""

    def __init__(self, models: Models, policy: Policy | None = None) -> None:
        self.scorer = Scorer(policy or Policy(), Sites.of(registry()), models)
        self.state: PremisesState = self.scorer.new_state(P)
        self.seq = 0
        self.decisions: list[Decision] = []

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def reading(self, t: float, device: str, metric: str, value: float) -> list[Decision]:
        return self._feed(self.scorer.process(self.state, Reading(at(t), P, device, metric, value, self._next())))

    def event(self, t: float, device: str, kind: str, component: str | None = None, zone: str | None = None,
              loop: int | None = None, address: int | None = None) -> list[Decision]:  # fmt: skip
        record = EventRecord(at(t), P, device, self._next(), kind, component, loop, address, zone)
        return self._feed(self.scorer.process(self.state, record))

    def status(self, t: float, device: str, state: str = "online") -> list[Decision]:
        return self._feed(self.scorer.process(self.state, StatusRecord(at(t), P, device, self._next(), state)))

    def advance(self, t: float) -> list[Decision]:
        return self._feed(self.scorer.advance(self.state, T0 + t))

    def _feed(self, out: list[Decision]) -> list[Decision]:
        self.decisions.extend(out)
        return out

    def signals(self, rule: str | None = None) -> list[Signal]:
        return [d for d in self.decisions if isinstance(d, Signal) and (rule is None or d.rule == rule)]

    def alarms(self) -> list[AlarmDecision]:
        return [d for d in self.decisions if isinstance(d, AlarmDecision)]
