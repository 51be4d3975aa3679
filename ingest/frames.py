"""GB/T 26875.3 frames to records: every decodable frame becomes records, never nothing.

- Types 1, 2, 21 (system, component, UITD state): an event per condition bit set, ``normal`` when
  none is; the modes (delay, manual mode, configuration changed) as the UITD's status.
- Types 4, 24 (operations): ``reset``, ``fire_alarm`` (a manual alarm, as a manual call point),
  ``test``; the others (silence, self-check, confirm, duty check answered) as the UITD's status.
- Type 3 (analog values): readings in the wire's metric units, on the device the point list maps the
  point to, else on the UITD.
- Types 5-8, 25, 26, 28 (versions, configurations, clocks): the UITD's status (``firmware`` for its
  own version, ``detail``, ``clock_skew_s``).
- An empty send-data frame (keep-alive): the UITD's status, ``detail`` ``keep-alive``; an empty confirm
  (3) or deny (6): ``detail`` ``confirm serial=N`` / ``deny serial=N``, its answer to the centre's command N.

Records are a function of the frame's bytes and the registry, so a redelivered frame gives the same
records (the same seqs) and is stored once: ``seq`` = (the frame's time label as seconds since
2000-01-01, local) << 31 | serial << 15 | object index << 7 | record number, below 2^63 for every
time label the standard can express. ``clock_skew_s`` (the device's clock less our time of receipt)
is the one measured value: not part of what the message says, like ``received_at``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from core import gb26875 as gb
from core.domain import METRICS
from core.wire import DecodeError
from ingest.records import EventRecord, Reading, Record, StatusRecord


@dataclass(frozen=True, slots=True)
class PointInfo:
    """What the registry's point list says of one panel point (docs/registry.md)."""

    zone: str | None = None
    device: str | None = None
    """A registry device that stands for this point (its analog values are that device's readings)."""
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Panel:
    """A UITD's panel as the registry describes it: its points by (loop, point) and the address order.

    Kept as plain dictionaries of strings keyed by tuples of integers, which the garbage collector
    stops tracking: a city's point lists (hundreds of thousands of points) cost a full collection
    nothing, where an object per point was a third of everything it walked in ``firewarden up``."""

    zones: Mapping[tuple[int, int], str | None]
    """Every point of the list, with its zone (None when the list gives none)."""
    address_order: str = "loop_point"
    devices: Mapping[tuple[int, int], str] = field(default_factory=dict)
    descriptions: Mapping[tuple[int, int], str] = field(default_factory=dict)

    @classmethod
    def of(cls, points: Mapping[tuple[int, int], PointInfo], address_order: str = "loop_point") -> Panel:
        return cls(
            {key: p.zone for key, p in points.items()},
            address_order,
            {key: p.device for key, p in points.items() if p.device},
            {key: p.description for key, p in points.items() if p.description},
        )

    def point(self, loop: int | None, address: int) -> PointInfo | None:
        key = (loop or 0, address)
        if key not in self.zones:
            return None
        return PointInfo(self.zones[key], self.devices.get(key), self.descriptions.get(key))


NO_PANEL = Panel({})


def seq_of(frame: gb.Frame, index: int, n: int) -> int:
    return gb.record_seq(frame.label, frame.serial, index, n)


class _Out:
    """The records of one frame, numbered per object."""

    def __init__(self, frame: gb.Frame, premises_id: str, device_id: str, received_at: datetime) -> None:
        self.frame, self.premises_id, self.device_id, self.received_at = frame, premises_id, device_id, received_at
        self.records: list[Record] = []
        self._n: dict[int, int] = {}

    def seq(self, index: int) -> int:
        n = self._n.get(index, 0)
        self._n[index] = n + 1
        return seq_of(self.frame, index, n)

    def event(
        self,
        index: int,
        at: datetime,
        kind: str,
        component: str,
        detail: str,
        *,
        loop: int | None = None,
        address: int | None = None,
        zone: str | None = None,
        unknown_point: bool = False,
    ) -> None:
        self.records.append(
            EventRecord(
                at,
                self.premises_id,
                self.device_id,
                self.seq(index),
                kind,
                component,
                loop,
                address,
                zone,
                detail,
                self.received_at,
                unknown_point=unknown_point,
            )
        )

    def status(
        self, index: int, at: datetime, detail: str, *, firmware: str | None = None, skew: float | None = None
    ) -> None:
        self.records.append(
            StatusRecord(
                at,
                self.premises_id,
                self.device_id,
                self.seq(index),
                "online",
                firmware=firmware,
                received_at=self.received_at,
                detail=detail[:1024],
                clock_skew_s=skew,
            )
        )


def frame_records(
    frame: gb.Frame,
    premises_id: str,
    device_id: str,
    received_at: datetime,
    panel: Panel = NO_PANEL,
    *,
    tz: timezone = gb.CHINA,
) -> list[Record]:
    """The records of one frame from ``device_id`` (a UITD of ``premises_id``).

    Raises DecodeError (``bad_frame``, ``unsupported_frame``, ``out_of_range``) for a frame that
    cannot be taken: it becomes a dead letter with its bytes."""
    unit = gb.decode_data(frame, tz=tz)
    out = _Out(frame, premises_id, device_id, received_at)
    if unit.kind is None:  # send data, confirm, deny or response: decode_data refused the others
        if frame.command == gb.SEND_DATA:
            detail = "keep-alive"
        elif frame.command == gb.RESPONSE:
            detail = "empty response"
        else:
            detail = f"{gb.COMMAND_NAMES[frame.command]} serial={frame.serial}"
        out.status(0, frame.sent_at, detail)
        return out.records
    for index, obj in enumerate(unit.objects):
        _object(out, index, obj, panel)
    return out.records


def _split(address: bytes, order: str, i: int) -> tuple[int | None, int]:
    loop, point = gb.split_address(address, order)
    if point > 2**31 - 1:  # stored as a PostgreSQL integer
        raise DecodeError("unsupported_frame", f"object {i}: component address {point} is over 2^31 - 1")
    return loop, point


def _object(out: _Out, i: int, obj: gb.InfoObject, panel: Panel) -> None:
    sent = out.frame.sent_at
    if isinstance(obj, gb.SystemState):
        note = f"gb26875 {obj.system.describe()}"
        _conditions(
            out, i, obj.at, obj.bits, gb.SYSTEM_CONDITIONS, gb.SYSTEM_STATES, "panel", note, address=obj.system.address
        )
    elif isinstance(obj, gb.ComponentState):
        loop, address = _split(obj.address, panel.address_order, i)
        point = panel.point(loop, address)
        text = obj.description or (point.description if point and point.description else "")
        note = f"gb26875 {obj.system.describe()}, component type {obj.component}" + (f": {text}" if text else "")
        if panel.zones and point is None:
            note += "; point not in the registry's point list"
        _conditions(
            out,
            i,
            obj.at,
            obj.bits,
            gb.COMPONENT_CONDITIONS,
            gb.COMPONENT_STATES,
            gb.component_type(obj.component),
            note,
            loop=loop,
            address=address,
            zone=point.zone if point else None,
            unknown_point=point is None,
        )
    elif isinstance(obj, gb.UitdState):
        _conditions(out, i, obj.at, obj.bits, gb.UITD_CONDITIONS, (), "panel", "gb26875 UITD state")
    elif isinstance(obj, gb.Operation):
        _operation(out, i, obj)
    elif isinstance(obj, gb.AnalogValue):
        _analog(out, i, obj, panel)
    elif isinstance(obj, gb.SoftwareVersion):
        version = f"{obj.major}.{obj.minor}"
        if obj.system is None:
            out.status(i, sent, f"UITD software {version}", firmware=version)
        else:
            out.status(i, sent, f"{obj.system.describe()} software {version}")
    elif isinstance(obj, gb.Configuration):
        whose = "UITD" if obj.system is None else obj.system.describe()
        out.status(i, sent, f"{whose} configuration: {obj.text}")
    elif isinstance(obj, gb.ComponentConfig):
        loop, address = _split(obj.address, panel.address_order, i)
        where = f"{loop}-{address}" if loop is not None else str(address)
        kind = gb.component_type(obj.component)
        out.status(
            i, sent, f"{obj.system.describe()} point {where}: {kind} (type {obj.component}) {obj.description}".strip()
        )
    else:
        assert isinstance(obj, gb.Clock)
        whose = "UITD" if obj.system is None else obj.system.describe()
        out.status(
            i, sent, f"{whose} clock {obj.at.isoformat()}", skew=round((obj.at - out.received_at).total_seconds(), 3)
        )


def _conditions(
    out: _Out,
    i: int,
    at: datetime,
    bits: int,
    conditions: tuple[gb.Condition, ...],
    modes: tuple[tuple[int, str], ...],
    component: str,
    note: str,
    *,
    loop: int | None = None,
    address: int | None = None,
    zone: str | None = None,
    unknown_point: bool = False,
) -> None:
    # Bit 0 (1 normal, 0 test) is ignored: devices in the field leave it 0 while reporting real fire
    # alarms, and reading it as "test" would file real fires as tests.
    set_ = [(kind, name) for bit, kind, name in conditions if bits >> bit & 1]
    for kind, name in set_:
        out.event(
            i,
            at,
            kind,
            component,
            f"{note}; {name}",
            loop=loop,
            address=address,
            zone=zone,
            unknown_point=unknown_point,
        )
    on = [name for bit, name in modes if bits >> bit & 1]
    if on:
        where = f" {loop}-{address}" if loop is not None else (f" {address}" if address is not None else "")
        out.status(i, at, f"{note}{where}: {', '.join(on)}")
    elif not set_:
        # No condition and no mode: the point reports itself normal, which ends what it had (scoring
        # clears its open faults, supervisory and disablement); not a "fault cleared" of its own.
        out.event(
            i,
            at,
            "normal",
            component,
            f"{note}; normal",
            loop=loop,
            address=address,
            zone=zone,
            unknown_point=unknown_point,
        )


def _operation(out: _Out, i: int, obj: gb.Operation) -> None:
    table = gb.UITD_OPERATIONS if obj.system is None else gb.SYSTEM_OPERATIONS
    whose = "UITD" if obj.system is None else obj.system.describe()
    done = [name for bit, name in table if obj.bits >> bit & 1]
    others = []
    for name in done:
        kind = gb.OPERATION_EVENTS.get(name)
        if kind is None:
            others.append(name)
            continue
        component = "manual_call_point" if kind == "fire_alarm" else "panel"
        out.event(i, obj.at, kind, component, f"gb26875 {whose} operation: {name}, operator {obj.operator}")
    if others or not done:
        out.status(i, obj.at, f"{whose} operation: {', '.join(others) or 'none'}, operator {obj.operator}")


# Analog kinds → (metric, factor from the kind's unit to the metric's), by component type code where
# the component says which quantity it is (electrical fire monitors: cable temperature, residual current).
_METRIC_OF: dict[int, tuple[str, float]] = {
    2: ("tank_level_m", 1.0),
    3: ("temperature_c", 1.0),
    4: ("water_pressure_mpa", 1.0),
    5: ("water_pressure_mpa", 0.001),
    6: ("gas_lel_pct", 1.0),
    8: ("voltage_v", 1.0),
    9: ("current_a", 1.0),
}
_BY_COMPONENT: dict[tuple[int, int], tuple[str, float]] = {
    (3, 18): ("cable_temp_c", 1.0),  # temperature-type electrical fire monitoring detector
    (9, 17): ("residual_current_ma", 1000.0),  # residual-current-type electrical fire monitoring detector
}


def metric_of(kind: int, component: int) -> tuple[str, float] | None:
    """The wire metric an analog value of ``kind`` from a component of type ``component`` is, and the
    factor to its unit; None for the kinds the wire has no metric for."""
    return _BY_COMPONENT.get((kind, component)) or _METRIC_OF.get(kind)


def _analog(out: _Out, i: int, obj: gb.AnalogValue, panel: Panel) -> None:
    analog = gb.ANALOG_KINDS.get(obj.kind)
    mapped = metric_of(obj.kind, obj.component)
    loop, address = _split(obj.address, panel.address_order, i)
    where = f"point {loop}-{address}" if loop is not None else f"point {address}"
    if analog is None or mapped is None:
        what = f"{analog.name}, {analog.unit}" if analog else "reserved or vendor-defined"
        raise DecodeError(
            "unsupported_frame",
            f"object {i}: analog type {obj.kind} ({what}) of {where} has no metric in the wire vocabulary",
        )
    name, factor = mapped
    value = round(obj.raw * analog.step * factor, 6)
    metric = METRICS[name]
    if not metric.in_range(value):
        raise DecodeError(
            "out_of_range",
            f"object {i}: {where} {name} = {value!r} {metric.unit} is outside the physical range "
            f"[{metric.low}, {metric.high}]",
        )
    point = panel.point(loop, address)
    device = point.device if point and point.device else out.device_id
    out.records.append(Reading(obj.at, out.premises_id, device, name, value, out.seq(i), out.received_at))
