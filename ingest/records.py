"""What ingest hands on: validated records for storage and the bus, and dead letters for everything else.

Downstream stages (scoring, alerts) import these types; they never see wire payloads. The three record
types are tagged msgspec structs (``"type": "reading" | "event" | "status"`` on the bus), so one
stream carries all three in the order ingest accepted them.

Every record carries ``received_at``, when ingest read its message from the broker (ingest's clock,
UTC): the device's own ``time`` may be skewed or old (a buffered backlog), the time of receipt is
not, and scoring judges whether a device still reports by it. It is not part of what a message says:
two deliveries of one message differ in it and are still the same message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import msgspec


class Reading(msgspec.Struct, frozen=True, tag="reading"):
    """One metric of one telemetry message. ``time`` is the device's timestamp, UTC."""

    time: datetime
    premises_id: str
    device_id: str
    metric: str
    value: float
    seq: int
    received_at: datetime | None = None


class EventRecord(msgspec.Struct, frozen=True, tag="event"):
    """A panel or alarm event (from JSON or a GB/T 26875.3 frame)."""

    time: datetime
    premises_id: str
    device_id: str
    seq: int
    kind: str
    component_type: str | None = None
    loop: int | None = None
    address: int | None = None
    zone: str | None = None
    detail: str | None = None
    received_at: datetime | None = None
    unknown_point: bool = False
    """A GB/T 26875.3 point missing from the UITD's point list in the registry (so no zone): scoring
    raises a warning signal so the registry gets completed. Not stored: the event row has no zone."""


class StatusRecord(msgspec.Struct, frozen=True, tag="status"):
    """A device's own status: online/offline, battery, radio, firmware (and what GB/T 26875.3 frames report)."""

    time: datetime
    premises_id: str
    device_id: str
    seq: int
    state: str
    battery_pct: float | None = None
    rssi_dbm: float | None = None
    firmware: str | None = None
    received_at: datetime | None = None
    detail: str | None = None
    """What a GB/T 26875.3 frame said of the device beyond being online: keep-alive, a version, a
    configuration, a clock, a mode, an operation, its answer to a command of the centre."""
    clock_skew_s: float | None = None
    """The device's clock less ingest's time of receipt, from a GB/T 26875.3 clock upload."""


Record = Reading | EventRecord | StatusRecord


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that was refused, kept whole with the reason, so that nothing is lost."""

    received_at: datetime
    topic: str
    payload: bytes
    reason: str
    detail: str
