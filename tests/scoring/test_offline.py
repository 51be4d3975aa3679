"""Offline devices under backlogs: judged by the time of receipt, with the wall clock stopped by a stalled
stream, never cleared before they were raised. In memory, through the runners' engine, with given times."""

from __future__ import annotations

from datetime import UTC, datetime

from core.policy import Policy
from core.registry import Device, Premises, RegistryFile, Unit
from ingest.records import Reading, Record, StatusRecord
from scoring.engine import Engine
from scoring.models import Models
from scoring.records import Decision, Signal
from scoring.scorer import Scorer
from scoring.site import Sites

T0 = 1_767_571_200.0
LATENESS_S = 120.0
DEVICES = {"P-A": ["EM-A", "UITD-A"], "P-B": ["EM-B", "UITD-B"]}
ALL = [d for ids in DEVICES.values() for d in ids]


def _registry() -> RegistryFile:
    premises = [
        Premises(id=p, name=p, category="multi_use", address="1 Road", jurisdiction="J-1", height_m=30.0,
                 occupancy=100, unit=Unit(name="unit", contact="someone"))
        for p in DEVICES
    ]  # fmt: skip
    devices = [
        Device(id=d, premises=p, type="electrical_monitor" if d.startswith("EM") else "uitd", location="1F",
               zone="1F", expected_interval_s=60)
        for p, ids in DEVICES.items() for d in ids
    ]  # fmt: skip
    return RegistryFile(premises=premises, devices=devices)


def _at(t: float) -> datetime:
    return datetime.fromtimestamp(T0 + t, UTC)


class City:
    """Two premises whose devices report every 60 s; the engine ticks with the wall clock, as LocalRunner does."""

    def __init__(self, models: Models) -> None:
        self.engine = Engine(Scorer(Policy(), Sites.of(_registry()), models))
        self.decisions: list[Decision] = []
        self.seq = 0

    def message(self, device: str, t: float, received: float) -> None:
        premises = next(p for p, ids in DEVICES.items() if device in ids)
        self.seq += 1
        record: Record
        if device.startswith("EM"):
            record = Reading(_at(t), premises, device, "current_a", 10.0, self.seq, _at(received))
        else:
            record = StatusRecord(_at(t), premises, device, self.seq, "online", received_at=_at(received))
        self.decisions.extend(self.engine.process(record))

    def tick(self, wall: float) -> None:
        self.decisions.extend(self.engine.advance(T0 + wall, LATENESS_S))

    def report(self, start: float, end: float, devices: list[str]) -> None:
        """Every device reports on time from ``start`` to ``end`` (each at its own second of the minute),
        received half a second later; the wall clock ticks after each message."""
        for t in range(int(start), int(end), 60):
            for device in devices:
                at = t + 15 * ALL.index(device)
                self.message(device, at, at + 0.5)
                self.tick(at + 1)

    def offline(self) -> list[Signal]:
        return [d for d in self.decisions if isinstance(d, Signal) and d.rule == "device_offline"]

    def still_offline(self) -> set[str]:
        return {d for state in self.engine.states.values() for d, s in state.devices.items() if not s.online}


def test_a_twelve_minute_backlog_after_a_pipeline_outage_leaves_no_device_offline(models: Models) -> None:
    city = City(models)
    city.report(0, 600, ALL)
    for wall in range(600, 1320, 10):  # ingest (or the broker, or the bus) is away for 12 minutes
        city.tick(wall)
    assert city.offline() == [], "a stalled stream was taken for silent devices"
    # The broker held every device's messages; ingest delivers them in a few seconds, one device's
    # backlog after another's, each ending with the message stamped "now".
    receipt = 1320.0
    for device in ALL:
        for t in range(600, 1321, 60):
            receipt += 0.01
            city.message(device, t, receipt)
        city.tick(receipt)
    city.report(1380, 1800, ALL)
    assert city.offline() == []
    assert city.still_offline() == set()


def test_devices_cut_off_while_the_city_reports_are_offline_until_their_backlog_arrives(models: Models) -> None:
    city = City(models)
    city.report(0, 600, ALL)
    city.report(600, 1320, DEVICES["P-A"])  # P-B's network is down: its devices buffer for 12 minutes
    raised = {s.device_id: s for s in city.offline() if s.state == "raised"}
    assert set(raised) == set(DEVICES["P-B"])
    for device, signal in raised.items():  # when each became overdue: 3 intervals after its last message arrived
        assert signal.time == _at(540 + 15 * ALL.index(device) + 0.5 + 180)
    receipt = 1320.0
    for device in DEVICES["P-B"]:
        for t in range(600, 1321, 60):
            receipt += 0.01
            city.message(device, t, receipt)
    city.report(1380, 1800, ALL)
    cleared = {s.device_id: s for s in city.offline() if s.state == "cleared"}
    assert set(cleared) == set(DEVICES["P-B"])
    assert all(cleared[d].time >= raised[d].time for d in cleared), "cleared before it was raised"
    assert all(cleared[d].time > _at(1320) for d in cleared)  # when the backlog arrived, not its old stamps
    assert city.still_offline() == set()


def test_a_last_will_stands_until_a_message_received_after_it(models: Models) -> None:
    city = City(models)
    city.report(0, 300, ALL)
    city.seq += 1
    will = StatusRecord(_at(310), "P-A", "UITD-A", city.seq, "offline", received_at=_at(310))
    city.decisions.extend(city.engine.process(will))
    city.message("UITD-A", 305, 309.0)  # sent and received before the will, handed on after it
    assert city.still_offline() == {"UITD-A"}
    city.message("UITD-A", 320, 320.5)
    assert city.still_offline() == set()
    states = [s.state for s in city.offline() if s.device_id == "UITD-A"]
    assert states == ["raised", "cleared"]
