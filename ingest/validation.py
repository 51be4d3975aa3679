"""Validation of one MQTT message against the contract, the registry and the clock.

:meth:`Validator.check` turns any topic and bytes into either validated records or one
:class:`~ingest.records.DeadLetter`; it never raises for bad input. Beyond the codec's reasons
(docs/protocol.md), ingest refuses with:

| reason | when |
|---|---|
| ``unknown_device`` | the device id is not in the registry |
| ``premises_mismatch`` | the device belongs to another premises than the topic names |
| ``channel_not_allowed`` | the device's type does not send on that channel (a tank gauge with events) |
| ``metric_not_allowed`` | a metric the device's type does not measure |
| ``event_not_allowed`` | an event kind the device's type does not emit |
| ``ts_in_future`` / ``ts_too_old`` | the timestamp is further from the time of receipt than the policy allows |
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from core import gb26875
from core.domain import DEVICE_TYPES
from core.policy import IngestPolicy
from core.registry import RegistryFile
from core.wire import DecodeError, Event, RawFrame, Status, Telemetry, WireMessage, decode
from ingest.frames import NO_PANEL, Panel, PointInfo, frame_records
from ingest.records import DeadLetter, EventRecord, Reading, Record, StatusRecord


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    premises_id: str
    type: str


class RegistryIndex:
    """Device id → (premises, type), every premises id, and the UITDs' panels (point lists, address
    order): what ingest needs of the registry, in memory."""

    def __init__(
        self, devices: Mapping[str, DeviceInfo], premises: Iterable[str] = (), panels: Mapping[str, Panel] | None = None
    ) -> None:
        self._devices = dict(devices)
        self.premises = frozenset(premises) | {d.premises_id for d in self._devices.values()}
        self.panels = dict(panels or {})

    @classmethod
    def of(cls, registry: RegistryFile) -> RegistryIndex:
        points: dict[str, dict[tuple[int, int], PointInfo]] = {}
        for p in registry.panel_points:
            points.setdefault(p.device, {})[(p.loop, p.address)] = PointInfo(p.zone, p.maps_to, p.description)
        panels = {
            d.id: Panel.of(points.get(d.id, {}), d.address_order or "loop_point")
            for d in registry.devices
            if d.id in points or d.address_order
        }
        return cls(
            {d.id: DeviceInfo(d.premises, d.type) for d in registry.devices}, (p.id for p in registry.premises), panels
        )

    def panel(self, device_id: str) -> Panel:
        return self.panels.get(device_id, NO_PANEL)

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[tuple[str, str, str]],
        premises: Iterable[str] = (),
        panels: Mapping[str, Panel] | None = None,
    ) -> RegistryIndex:
        """From (device id, premises id, type) rows, as ``SELECT id, premises_id, type FROM devices`` gives,
        the ids of ``premises`` (those without devices included) and the UITDs' panels."""
        return cls({device: DeviceInfo(premises, kind) for device, premises, kind in rows}, premises, panels)

    def get(self, device_id: str) -> DeviceInfo | None:
        return self._devices.get(device_id)

    def __len__(self) -> int:
        return len(self._devices)


@dataclass(frozen=True, slots=True)
class ValidationPolicy:
    """How far a device's clock may be from ours. Defaults: 5 minutes ahead, 7 days behind
    (a device that buffered through an outage still delivers its week); the policy file's ``[ingest]``."""

    max_future: timedelta = timedelta(minutes=5)
    max_past: timedelta = timedelta(days=7)
    frame_timezone: timezone = gb26875.CHINA

    @classmethod
    def of(cls, policy: IngestPolicy) -> ValidationPolicy:
        return cls(timedelta(seconds=policy.max_future_s), timedelta(seconds=policy.max_past_s))


class _Rejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail


class Validator:
    def __init__(self, index: RegistryIndex, policy: ValidationPolicy | None = None) -> None:
        self.index = index
        self.policy = policy or ValidationPolicy()

    def check(self, topic: str, payload: bytes, received_at: datetime) -> list[Record] | DeadLetter:
        """Records for a good message (one per metric of a telemetry message), else one dead letter."""
        try:
            message = decode(topic, payload)
            device = self._device(message)
            return self._records(message, device, received_at)
        except DecodeError as error:
            return DeadLetter(received_at, topic, bytes(payload), error.reason, error.detail)
        except _Rejected as refusal:
            return DeadLetter(received_at, topic, bytes(payload), refusal.reason, refusal.detail)

    def _device(self, message: WireMessage) -> DeviceInfo:
        device = self.index.get(message.device_id)
        if device is None:
            raise _Rejected("unknown_device", f"device {message.device_id!r} is not in the registry")
        if device.premises_id != message.premises_id:
            raise _Rejected(
                "premises_mismatch",
                f"device {message.device_id!r} belongs to premises {device.premises_id!r}, not {message.premises_id!r}",
            )
        if message.channel not in DEVICE_TYPES[device.type].channels:
            raise _Rejected("channel_not_allowed", f"a {device.type} does not send on channel {message.channel!r}")
        return device

    def _timely(self, ts: datetime, received_at: datetime) -> None:
        if ts - received_at > self.policy.max_future:
            raise _Rejected("ts_in_future", f"timestamp {ts.isoformat()} is {ts - received_at} ahead of receipt")
        if received_at - ts > self.policy.max_past:
            raise _Rejected("ts_too_old", f"timestamp {ts.isoformat()} is {received_at - ts} behind receipt")

    def _may_measure(self, reading: Reading, premises_id: str) -> None:
        """A frame's analog value, on the UITD or on the device its point list maps the point to."""
        device = self.index.get(reading.device_id)
        if device is None or device.premises_id != premises_id:
            raise _Rejected(
                "unknown_device",
                f"the point list maps a point to {reading.device_id!r}, not a device of {premises_id!r}",
            )
        if reading.metric not in DEVICE_TYPES[device.type].metrics:
            raise _Rejected("metric_not_allowed", f"a {device.type} does not measure {reading.metric}")

    def _records(self, message: WireMessage, device: DeviceInfo, received_at: datetime) -> list[Record]:
        spec = DEVICE_TYPES[device.type]
        p, d = message.premises_id, message.device_id
        payload = message.payload
        if isinstance(payload, RawFrame):
            tz = self.policy.frame_timezone
            frame = gb26875.decode_frame(payload.data, tz=tz)
            self._timely(frame.sent_at, received_at)
            records = frame_records(frame, p, d, received_at, self.index.panel(d), tz=tz)
            for record in records:
                if isinstance(record, Reading):
                    self._may_measure(record, p)
            return records
        assert message.ts is not None  # JSON channels always carry one (the codec guarantees it)
        self._timely(message.ts, received_at)
        if isinstance(payload, Telemetry):
            unknown = sorted(set(payload.metrics) - spec.metrics)
            if unknown:
                raise _Rejected("metric_not_allowed", f"a {device.type} does not measure {', '.join(unknown)}")
            return [
                Reading(message.ts, p, d, name, value, payload.seq, received_at)
                for name, value in payload.metrics.items()
            ]
        if isinstance(payload, Event):
            if payload.kind not in spec.event_kinds:
                raise _Rejected("event_not_allowed", f"a {device.type} does not emit {payload.kind!r} events")
            return [_event_record(payload, p, d, message.ts, received_at)]
        assert isinstance(payload, Status)
        return [
            StatusRecord(
                message.ts,
                p,
                d,
                payload.seq,
                payload.state,
                payload.battery_pct,
                payload.rssi_dbm,
                payload.firmware,
                received_at,
                payload.detail,
            )
        ]


def _event_record(event: Event, premises_id: str, device_id: str, time: datetime, received_at: datetime) -> EventRecord:
    c = event.component
    return EventRecord(
        time,
        premises_id,
        device_id,
        event.seq,
        event.kind,
        c.type if c else None,
        c.loop if c else None,
        c.address if c else None,
        c.zone if c else None,
        event.detail,
        received_at,
    )
