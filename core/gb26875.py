"""GB/T 26875.3-2011 frames between a user information transmission device (UITD) and the centre.

The executable form of the frame layer and of every information object the standard defines for
commands 2 (send data) and 5 (response); docs/protocol.md's coverage table says the same. Ingest maps
the decoded objects to records (:mod:`ingest.frames`); simulators, the CLI and the console build frames
with the encoders here.

A frame::

    @@ | serial 2 | version 2 | time 6 | source 6 | destination 6 | length 2 | command 1 | data (length) | sum 1 | ##

Multi-byte integers are little-endian. A time label is second, minute, hour, day, month, year - 2000,
in the device's local time. The checksum is the arithmetic sum, modulo 256, of the 25 control-unit
bytes (serial to command) and the data. The data unit is a type byte, an object count, then the
objects; most objects end with their own 6-byte time label. A send-data frame with an empty data unit
is the UITD's keep-alive (every 20-30 s); confirm (3) and deny (6) frames carry no data unit either.

Decoding never raises anything but :class:`~core.wire.DecodeError` (``bad_frame``, ``bad_checksum``,
``unsupported_frame``) for bad input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Final, Literal

from core.wire import DecodeError

START: Final = b"@@"
END: Final = b"##"
CONTROL_UNIT_BYTES: Final = 25
EMPTY_FRAME_BYTES: Final = 2 + CONTROL_UNIT_BYTES + 3
MAX_DATA_BYTES: Final = 1024
CHINA: Final = timezone(timedelta(hours=8))

# Commands (the control unit's command byte).
CONTROL, SEND_DATA, CONFIRM, REQUEST, RESPONSE, DENY = 1, 2, 3, 4, 5, 6
COMMAND_NAMES: Final = {
    CONTROL: "control",
    SEND_DATA: "send data",
    CONFIRM: "confirm",
    REQUEST: "request",
    RESPONSE: "response",
    DENY: "deny",
}

# Information types of the data unit (table 2 of the standard): uplink, then the centre's commands.
SYSTEM_STATE, COMPONENT_STATE, ANALOG, SYSTEM_OPERATION, SYSTEM_VERSION = 1, 2, 3, 4, 5
SYSTEM_CONFIG, COMPONENT_CONFIG, SYSTEM_CLOCK = 6, 7, 8
UITD_STATE, UITD_OPERATION, UITD_VERSION, UITD_CONFIG, UITD_CLOCK = 21, 24, 25, 26, 28
INITIALISE_UITD, SYNC_CLOCK, DUTY_CHECK = 89, 90, 91
UPLINK_TYPES: Final = (1, 2, 3, 4, 5, 6, 7, 8, 21, 24, 25, 26, 28)

SYSTEM_TYPES: Final = {
    0: "general",
    1: "fire alarm system",
    10: "fire linkage controller",
    11: "hydrant system",
    12: "automatic sprinkler system",
    13: "gas extinguishing system",
    14: "water spray system (pump)",
    15: "water spray system (pressure vessel)",
    16: "foam system",
    17: "dry powder system",
    18: "smoke control system",
    19: "fire doors and shutters",
    20: "fire lift",
    21: "emergency broadcast",
    22: "emergency lighting and evacuation signs",
    23: "fire power supply",
    24: "fire telephone",
}


@dataclass(frozen=True, slots=True)
class AnalogKind:
    """One row of the standard's analog-value table: what the 16-bit signed value measures."""

    name: str
    unit: str
    step: float
    """The value's unit per count (the table's smallest step)."""


ANALOG_KINDS: Final = {
    1: AnalogKind("event count", "events", 1.0),
    2: AnalogKind("height", "m", 0.01),
    3: AnalogKind("temperature", "°C", 0.1),
    4: AnalogKind("pressure", "MPa", 0.1),
    5: AnalogKind("pressure", "kPa", 0.1),
    6: AnalogKind("gas concentration", "%LEL", 0.1),
    7: AnalogKind("time", "s", 1.0),
    8: AnalogKind("voltage", "V", 0.1),
    9: AnalogKind("current", "A", 0.1),
    10: AnalogKind("flow", "L/s", 0.1),
    11: AnalogKind("air volume", "m³/min", 0.1),
    12: AnalogKind("wind speed", "m/s", 1.0),
}


@dataclass(frozen=True, slots=True)
class Frame:
    serial: int
    version: tuple[int, int]
    sent_at: datetime
    source: bytes
    destination: bytes
    command: int
    data: bytes
    label: bytes
    """The frame's own time label as sent (what identifies a retransmission, with the serial)."""


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


# -- frame layer ------------------------------------------------------------------------------------


def checksum(body: bytes) -> int:
    return sum(body) & 0xFF


def time_label(moment: datetime, tz: timezone = CHINA) -> bytes:
    local = moment.astimezone(tz)
    if not 2000 <= local.year <= 2099:
        raise ValueError(f"{local.isoformat()} is outside the time label's years 2000-2099")
    return bytes((local.second, local.minute, local.hour, local.day, local.month, local.year - 2000))


def read_time(label: bytes, tz: timezone, where: str) -> datetime:
    second, minute, hour, day, month, year = label
    try:
        return datetime(2000 + year, month, day, hour, minute, second, tzinfo=tz).astimezone(UTC)
    except ValueError:
        raise DecodeError("bad_frame", f"{where}: time label {label.hex(' ')} is not a date") from None


def label_seconds(label: bytes) -> int:
    """Seconds from 2000-01-01 00:00 to a (valid) time label, in the label's own local time: below 2^32
    for every label the standard can express (years 2000-2099)."""
    second, minute, hour, day, month, year = label
    moment = datetime(2000 + year, month, day, hour, minute, second)
    return int((moment - datetime(2000, 1, 1)).total_seconds())


def record_seq(label: bytes, serial: int, index: int, n: int) -> int:
    """The ``seq`` of record ``n`` of object ``index`` of the frame with this time label and serial:
    (label as seconds since 2000, < 2^32) << 31 | serial << 15 | index << 7 | n. Below 2^63 for every
    label of the standard's years 2000-2099, the same when a frame is sent again, increasing with time."""
    return label_seconds(label) << 31 | serial << 15 | index << 7 | n


def encode_frame(
    serial: int,
    command: int,
    data: bytes,
    *,
    sent_at: datetime,
    source: bytes = bytes(6),
    destination: bytes = bytes(6),
    version: tuple[int, int] = (1, 1),
    tz: timezone = CHINA,
) -> bytes:
    """A whole frame, checksum and delimiters included."""
    if not 0 <= serial <= 0xFFFF:
        raise ValueError(f"serial {serial} is outside 0-65535")
    if len(data) > MAX_DATA_BYTES:
        raise ValueError(f"{len(data)} data bytes is over the standard's {MAX_DATA_BYTES}")
    control = (
        serial.to_bytes(2, "little")
        + bytes(version)
        + time_label(sent_at, tz)
        + source
        + destination
        + len(data).to_bytes(2, "little")
        + bytes((command,))
    )
    body = control + data
    return START + body + bytes((checksum(body),)) + END


def decode_frame(raw: bytes, *, tz: timezone = CHINA) -> Frame:
    """The frame in ``raw`` (exactly one). Raises DecodeError ``bad_frame`` or ``bad_checksum``."""
    if len(raw) < EMPTY_FRAME_BYTES:
        raise DecodeError("bad_frame", f"{len(raw)} bytes is shorter than an empty frame ({EMPTY_FRAME_BYTES})")
    if raw[:2] != START or raw[-2:] != END:
        raise DecodeError("bad_frame", f"a frame starts with @@ and ends with ##, got {raw[:2]!r}...{raw[-2:]!r}")
    length = int.from_bytes(raw[24:26], "little")
    if length > MAX_DATA_BYTES:
        raise DecodeError("bad_frame", f"data length {length} is over the standard's {MAX_DATA_BYTES} bytes")
    expected = EMPTY_FRAME_BYTES + length
    if len(raw) != expected:
        raise DecodeError("bad_frame", f"length field says {length} data bytes, so {expected} in all; got {len(raw)}")
    body = raw[2 : 2 + CONTROL_UNIT_BYTES + length]
    if checksum(body) != raw[-3]:
        raise DecodeError("bad_checksum", f"checksum byte is {raw[-3]:#04x}, the bytes sum to {checksum(body):#04x}")
    return Frame(
        serial=int.from_bytes(raw[2:4], "little"),
        version=(raw[4], raw[5]),
        sent_at=read_time(raw[6:12], tz, "frame"),
        source=raw[12:18],
        destination=raw[18:24],
        command=raw[26],
        data=raw[27 : 27 + length],
        label=raw[6:12],
    )


def header_of(raw: bytes) -> tuple[int, bytes] | None:
    """(serial, source address) of what looks like a frame, however damaged the rest: what a denial
    refers to. None when ``raw`` does not even start like a frame."""
    if len(raw) < 18 or raw[:2] != START:
        return None
    return int.from_bytes(raw[2:4], "little"), raw[12:18]


# -- data unit --------------------------------------------------------------------------------------


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
    confirm or deny. Raises DecodeError ``unsupported_frame`` or ``bad_frame``."""
    if frame.command not in COMMAND_NAMES:
        raise DecodeError("unsupported_frame", f"command {frame.command} is reserved or vendor-defined")
    if not frame.data:
        return DataUnit(None, ())
    if frame.command not in (SEND_DATA, RESPONSE):
        name = COMMAND_NAMES[frame.command]
        raise DecodeError("unsupported_frame", f"command {frame.command} ({name}) is sent by the centre, not to it")
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


# -- meanings of bits and codes ---------------------------------------------------------------------

Condition = tuple[int, str, str]
"""(bit, event kind, what the standard calls it)."""

SYSTEM_CONDITIONS: Final[tuple[Condition, ...]] = (
    (1, "fire_alarm", "fire alarm"),
    (2, "fault", "fault"),
    (3, "disabled", "disabled"),
    (4, "supervisory", "supervisory"),
    (5, "feedback", "started"),
    (6, "feedback", "feedback"),
    (8, "fault", "main power fault"),
    (9, "fault", "backup power fault"),
    (10, "fault", "bus fault"),
    (13, "reset", "reset"),
)
SYSTEM_STATES: Final = ((7, "delay"), (11, "manual mode"), (12, "configuration changed"))
"""Bits of a system's state that are modes, not conditions: they go into the device's status."""
COMPONENT_CONDITIONS: Final[tuple[Condition, ...]] = (
    (1, "fire_alarm", "fire alarm"),
    (2, "fault", "fault"),
    (3, "disabled", "disabled"),
    (4, "supervisory", "supervisory"),
    (5, "feedback", "started"),
    (6, "feedback", "feedback"),
    (8, "fault", "power fault"),
)
COMPONENT_STATES: Final = ((7, "delay"),)
"""Bits 9-15 of a component's state are reserved, and ignored."""
UITD_CONDITIONS: Final[tuple[Condition, ...]] = (
    (1, "fire_alarm", "fire alarm"),
    (2, "fault", "fault"),
    (3, "fault", "main power fault"),
    (4, "fault", "backup power fault"),
    (5, "fault", "channel to the monitoring centre fault"),
    (6, "fault", "monitoring line fault"),
)
SYSTEM_OPERATIONS: Final = (
    (0, "reset"),
    (1, "silence"),
    (2, "manual alarm"),
    (3, "alarm cleared"),
    (4, "self-check"),
    (5, "confirm"),
    (6, "test"),
)
UITD_OPERATIONS: Final = (
    (0, "reset"),
    (1, "silence"),
    (2, "manual alarm"),
    (3, "alarm cleared"),
    (4, "self-check"),
    (5, "duty check answered"),
    (6, "test"),
)
OPERATION_EVENTS: Final = {"reset": "reset", "manual alarm": "fire_alarm", "alarm cleared": "reset", "test": "test"}
"""Operations that are events; the others (silence, self-check, confirm, duty check answered) are status."""

# The standard's component type codes, mapped onto the wire contract's component types. Codes without
# a close match become input_output_module; every event keeps the original code in its detail.
_COMPONENTS: Final[dict[range, str]] = {
    range(1, 2): "panel",
    range(10, 14): "gas_detector",
    range(21, 23): "panel",
    range(23, 25): "manual_call_point",
    range(25, 26): "smoke_detector",
    range(30, 38): "heat_detector",
    range(40, 45): "smoke_detector",
    range(50, 54): "smoke_detector",
    range(61, 70): "flame_detector",
    range(74, 75): "gas_detector",
    range(84, 89): "input_output_module",
    range(91, 92): "fire_pump",
    range(95, 96): "fire_pump",
    range(96, 97): "sprinkler_flow_switch",
    range(97, 100): "pressure_switch",
    range(102, 103): "fire_door",
    range(111, 112): "smoke_exhaust_fan",
    range(117, 118): "fire_shutter",
    range(118, 119): "fire_door",
    range(121, 122): "sounder",
}
COMPONENT_CODES: Final = {
    "panel": 1,
    "gas_detector": 11,
    "manual_call_point": 23,
    "heat_detector": 31,
    "smoke_detector": 42,
    "flame_detector": 62,
    "input_output_module": 87,
    "fire_pump": 91,
    "sprinkler_flow_switch": 96,
    "pressure_switch": 99,
    "fire_door": 102,
    "smoke_exhaust_fan": 111,
    "fire_shutter": 117,
    "sounder": 121,
    "power_supply": 82,
}
"""A standard code per wire component type, for encoders (``power_supply``: 82, fire electrical control)."""


def component_type(code: int) -> str:
    for codes, name in _COMPONENTS.items():
        if code in codes:
            return name
    return "input_output_module"


AddressOrder = Literal["loop_point", "point_loop", "number"]
ADDRESS_ORDERS: Final[tuple[str, ...]] = ("loop_point", "point_loop", "number")


def split_address(address: bytes, order: str = "loop_point") -> tuple[int | None, int]:
    """(loop, point) of a 4-byte component address by the vendor's order: ``loop_point`` (two
    little-endian 16-bit halves, loop first: the layout most implementations and the standard's own
    figure use), ``point_loop`` (point first), or ``number`` (one 32-bit number, no loop)."""
    if order == "number":
        return None, int.from_bytes(address, "little")
    first, second = int.from_bytes(address[:2], "little"), int.from_bytes(address[2:], "little")
    return (first, second) if order == "loop_point" else (second, first)


def join_address(loop: int | None, point: int, order: str = "loop_point") -> bytes:
    """The 4 bytes of a component address: the inverse of :func:`split_address`."""
    if order == "number":
        return point.to_bytes(4, "little")
    halves = ((loop or 0), point) if order == "loop_point" else (point, (loop or 0))
    return halves[0].to_bytes(2, "little") + halves[1].to_bytes(2, "little")


# -- encoders for objects and the centre's frames ---------------------------------------------------


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


def reply(raw: bytes, *, accept: bool, now: datetime, centre: bytes = bytes(6), tz: timezone = CHINA) -> bytes | None:
    """The centre's confirm (command 3) or deny (6) of the frame ``raw``: the same serial, addressed back
    to the frame's source, no data unit. None when ``raw`` has no header to answer."""
    header = header_of(raw)
    if header is None:
        return None
    serial, source = header
    return encode_frame(serial, CONFIRM if accept else DENY, b"", sent_at=now, source=centre, destination=source, tz=tz)


def command_frame(
    kind: Literal["duty_check", "sync_clock"],
    serial: int,
    *,
    now: datetime,
    centre: bytes = bytes(6),
    uitd: bytes = bytes(6),
    answer_minutes: int = 10,
    tz: timezone = CHINA,
) -> bytes:
    """A control command (1) of the centre: ``duty_check`` (type 91; its byte is reserved by the
    standard, and set to the answer window in minutes as UITDs in the field read it) or ``sync_clock``
    (type 90, carrying the centre's time as a time label)."""
    if kind == "duty_check":
        data = bytes((DUTY_CHECK, 1, max(0, min(255, answer_minutes))))
    else:
        data = bytes((SYNC_CLOCK, 1)) + time_label(now, tz)
    return encode_frame(serial, CONTROL, data, sent_at=now, source=centre, destination=uitd, tz=tz)
