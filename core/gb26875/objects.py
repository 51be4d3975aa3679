"""The data unit of GB/T 26875.3-2011: every information object a UITD sends (types 1-8, 21, 24-26,
28), decoded from a frame and encoded for simulators and tests. The data unit is a type byte, an
object count, then the objects; most objects end with their own 6-byte time label."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from core.gb26875.codes import (
    ANALOG,
    COMPONENT_CONFIG,
    COMPONENT_STATE,
    SYSTEM_CLOCK,
    SYSTEM_CONFIG,
    SYSTEM_OPERATION,
    SYSTEM_STATE,
    SYSTEM_TYPES,
    SYSTEM_VERSION,
    UITD_CLOCK,
    UITD_CONFIG,
    UITD_OPERATION,
    UITD_STATE,
    UITD_VERSION,
    UPLINK_TYPES,
)
from core.gb26875.frame import CHINA, COMMAND_NAMES, CONTROL, REQUEST, RESPONSE, SEND_DATA, Frame, read_time, time_label
from core.wire import DecodeError

# -- information objects ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class System:
    """Which building fire-protection system behind the UITD (type 0-255, address 0-255)."""

    type: int
    address: int

    def describe(self) -> str:
        return f"system {self.address} ({SYSTEM_TYPES.get(self.type, f'type {self.type}')})"


@dataclass(frozen=True, slots=True)
class SystemState:
    system: System
    bits: int
    at: datetime


@dataclass(frozen=True, slots=True)
class ComponentState:
    system: System
    component: int
    """The standard's component type code (its table of component types)."""
    address: bytes
    """The 4-byte component address as sent; vendors split it differently (:func:`split_address`)."""
    bits: int
    description: str
    at: datetime


@dataclass(frozen=True, slots=True)
class AnalogValue:
    system: System
    component: int
    address: bytes
    kind: int
    raw: int
    """The signed 16-bit count; times the kind's step is the value in the kind's unit."""
    at: datetime


@dataclass(frozen=True, slots=True)
class Operation:
    """An operation on a system (type 4, ``system`` set) or on the UITD (type 24, ``system`` None)."""

    system: System | None
    bits: int
    operator: int
    at: datetime


@dataclass(frozen=True, slots=True)
class SoftwareVersion:
    system: System | None
    major: int
    minor: int


@dataclass(frozen=True, slots=True)
class Configuration:
    system: System | None
    text: str


@dataclass(frozen=True, slots=True)
class ComponentConfig:
    system: System
    component: int
    address: bytes
    description: str


@dataclass(frozen=True, slots=True)
class Clock:
    system: System | None
    at: datetime


@dataclass(frozen=True, slots=True)
class UitdState:
    bits: int
    at: datetime


InfoObject = (
    SystemState
    | ComponentState
    | AnalogValue
    | Operation
    | SoftwareVersion
    | Configuration
    | ComponentConfig
    | Clock
    | UitdState
)


@dataclass(frozen=True, slots=True)
class DataUnit:
    """A frame's data unit: ``kind`` None for an empty one (keep-alive, confirm, deny)."""

    kind: int | None
    objects: tuple[InfoObject, ...]


def _text(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("gb18030", errors="replace").strip()


class _Reader:
    def __init__(self, data: bytes, kind: int, tz: timezone) -> None:
        self.data, self.pos, self.kind, self.tz = data, 2, kind, tz

    def take(self, n: int, index: int) -> bytes:
        if self.pos + n > len(self.data):
            raise DecodeError(
                "bad_frame",
                f"type-{self.kind} object {index} needs {n} more byte(s) at data byte {self.pos}, "
                f"the data unit has {len(self.data)}",
            )
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def time(self, index: int) -> datetime:
        return read_time(self.take(6, index), self.tz, f"type-{self.kind} object {index}")

    def system(self, index: int) -> System:
        raw = self.take(2, index)
        return System(raw[0], raw[1])


def _object(r: _Reader, kind: int, i: int) -> InfoObject:
    if kind == SYSTEM_STATE:
        system, bits = r.system(i), int.from_bytes(r.take(2, i), "little")
        return SystemState(system, bits, r.time(i))
    if kind == COMPONENT_STATE:
        system, head = r.system(i), r.take(7, i)
        description = _text(r.take(31, i))
        return ComponentState(system, head[0], head[1:5], int.from_bytes(head[5:7], "little"), description, r.time(i))
    if kind == ANALOG:
        system, head = r.system(i), r.take(8, i)
        raw = int.from_bytes(head[6:8], "little", signed=True)
        return AnalogValue(system, head[0], head[1:5], head[5], raw, r.time(i))
    if kind == SYSTEM_OPERATION:
        system, body = r.system(i), r.take(2, i)
        return Operation(system, body[0], body[1], r.time(i))
    if kind == SYSTEM_VERSION:
        system, body = r.system(i), r.take(2, i)
        return SoftwareVersion(system, body[0], body[1])
    if kind == SYSTEM_CONFIG:
        system, size = r.system(i), r.take(1, i)[0]
        return Configuration(system, _text(r.take(size, i)))
    if kind == COMPONENT_CONFIG:
        system, head = r.system(i), r.take(5, i)
        return ComponentConfig(system, head[0], head[1:5], _text(r.take(31, i)))
    if kind == SYSTEM_CLOCK:
        return Clock(r.system(i), r.time(i))
    if kind == UITD_STATE:
        return UitdState(r.take(1, i)[0], r.time(i))
    if kind == UITD_OPERATION:
        body = r.take(2, i)
        return Operation(None, body[0], body[1], r.time(i))
    if kind == UITD_VERSION:
        body = r.take(2, i)
        return SoftwareVersion(None, body[0], body[1])
    if kind == UITD_CONFIG:
        return Configuration(None, _text(r.take(r.take(1, i)[0], i)))
    assert kind == UITD_CLOCK
    return Clock(None, r.time(i))


def decode_data(frame: Frame, *, tz: timezone = CHINA) -> DataUnit:
    """The information objects of a send-data or response frame, or the empty unit of a keep-alive,
    confirm, deny or response. Raises DecodeError ``unsupported_frame`` (a reserved command, or one
    only the centre sends) or ``bad_frame``."""
    if frame.command not in COMMAND_NAMES:
        raise DecodeError("unsupported_frame", f"command {frame.command} is reserved or vendor-defined")
    if frame.command in (CONTROL, REQUEST) or (frame.data and frame.command not in (SEND_DATA, RESPONSE)):
        name = COMMAND_NAMES[frame.command]
        raise DecodeError("unsupported_frame", f"command {frame.command} ({name}) is sent by the centre, not to it")
    if not frame.data:
        return DataUnit(None, ())
    if len(frame.data) < 2:
        raise DecodeError("bad_frame", "the data unit needs a type byte and an object count")
    kind, count = frame.data[0], frame.data[1]
    if kind not in UPLINK_TYPES:
        raise DecodeError("unsupported_frame", f"information type {kind} is not one the standard sends upstream")
    if count == 0:
        raise DecodeError("bad_frame", f"a type-{kind} data unit with no objects")
    reader = _Reader(frame.data, kind, tz)
    objects = tuple(_object(reader, kind, i) for i in range(count))
    if reader.pos != len(frame.data):
        raise DecodeError(
            "bad_frame",
            f"{count} type-{kind} object(s) end at data byte {reader.pos}, the data unit has {len(frame.data)}",
        )
    return DataUnit(kind, objects)


def data_unit(kind: int, objects: list[bytes]) -> bytes:
    if not 1 <= len(objects) <= 255:
        raise ValueError(f"a data unit holds 1-255 objects, not {len(objects)}")
    return bytes((kind, len(objects))) + b"".join(objects)


def component_state_object(
    component: int,
    address: bytes,
    bits: int,
    description: str,
    at: datetime,
    *,
    system: System = System(1, 1),
    tz: timezone = CHINA,
) -> bytes:
    text = description.encode("gb18030")[:31].ljust(31, b"\x00")
    return (
        bytes((system.type, system.address, component))
        + address
        + bits.to_bytes(2, "little")
        + text
        + time_label(at, tz)
    )


def analog_object(
    component: int,
    address: bytes,
    kind: int,
    raw: int,
    at: datetime,
    *,
    system: System = System(1, 1),
    tz: timezone = CHINA,
) -> bytes:
    return (
        bytes((system.type, system.address, component))
        + address
        + bytes((kind,))
        + raw.to_bytes(2, "little", signed=True)
        + time_label(at, tz)
    )


def uitd_state_object(bits: int, at: datetime, tz: timezone = CHINA) -> bytes:
    return bytes((bits,)) + time_label(at, tz)


def uitd_operation_object(bits: int, operator: int, at: datetime, tz: timezone = CHINA) -> bytes:
    return bytes((bits, operator)) + time_label(at, tz)
