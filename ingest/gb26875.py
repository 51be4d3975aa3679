"""GB/T 26875.3-2011 frames (user information transmission device ↔ monitoring centre), as far as we use them.

A frame::

    @@ | serial 2 | version 2 | time 6 | source 6 | destination 6 | length 2 | command 1 | data (length) | sum 1 | ##

Multi-byte integers are little-endian. The time label is second, minute, hour, day, month, year-2000,
in the device's local time. The checksum is the arithmetic sum, modulo 256, of the 25 control-unit
bytes (serial to command) and the data. The data unit is a type byte, an object count, then the
objects, each followed by its own 6-byte time label.

Covered (docs/protocol.md says the same):
- type 1, fire-protection system state (system type, address, 16 status bits): one event per set
  condition, component ``panel``;
- type 2, component state (system type and address, component type and address as loop and point,
  16 status bits, a 31-byte GB 18030 description): one event per set condition, the component type
  mapped from the standard's table 5;
- type 21, UITD state (8 status bits): one event per set condition, component ``panel``;
- type 24, UITD operation (8 operation bits, operator): ``reset``, ``test``, ``fire_alarm`` (manual alarm).

Commands other than 2 (send data) and 5 (response), and other information types, are decoded as far as
the frame but refused as ``unsupported_frame``: stored as dead letters with their bytes, so a later
version can process them. Each event's ``seq`` is derived from the frame's time, serial number and the
object's position, so a retransmitted frame gives the same seqs and is stored once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

from core.wire import Component, DecodeError, Event

START: Final = b"@@"
END: Final = b"##"
CONTROL_UNIT_BYTES: Final = 25
MAX_DATA_BYTES: Final = 1024
CHINA: Final = timezone(timedelta(hours=8))

SEND_DATA, RESPONSE = 2, 5


@dataclass(frozen=True, slots=True)
class Frame:
    serial: int
    version: tuple[int, int]
    sent_at: datetime
    source: bytes
    destination: bytes
    command: int
    data: bytes


def checksum(body: bytes) -> int:
    return sum(body) & 0xFF


def _time_label(moment: datetime, tz: timezone) -> bytes:
    local = moment.astimezone(tz)
    return bytes((local.second, local.minute, local.hour, local.day, local.month, local.year - 2000))


def _read_time(label: bytes, tz: timezone, where: str) -> datetime:
    second, minute, hour, day, month, year = label
    try:
        return datetime(2000 + year, month, day, hour, minute, second, tzinfo=tz).astimezone(UTC)
    except ValueError:
        raise DecodeError("bad_frame", f"{where}: time label {label.hex()} is not a date") from None


def encode_frame(
    serial: int,
    command: int,
    data: bytes,
    *,
    sent_at: datetime,
    source: bytes = bytes(6),
    destination: bytes = bytes(6),
    version: tuple[int, int] = (1, 0),
    tz: timezone = CHINA,
) -> bytes:
    """A whole frame, checksum and delimiters included (for simulators and tests)."""
    control = (
        serial.to_bytes(2, "little")
        + bytes(version)
        + _time_label(sent_at, tz)
        + source
        + destination
        + len(data).to_bytes(2, "little")
        + bytes((command,))
    )
    body = control + data
    return START + body + bytes((checksum(body),)) + END


def decode_frame(raw: bytes, *, tz: timezone = CHINA) -> Frame:
    """The frame in ``raw`` (exactly one). Raises DecodeError ``bad_frame`` or ``bad_checksum``."""
    if len(raw) < 2 + CONTROL_UNIT_BYTES + 3:
        raise DecodeError(
            "bad_frame", f"{len(raw)} bytes is shorter than an empty frame ({2 + CONTROL_UNIT_BYTES + 3})"
        )
    if raw[:2] != START or raw[-2:] != END:
        raise DecodeError("bad_frame", f"a frame starts with @@ and ends with ##, got {raw[:2]!r}...{raw[-2:]!r}")
    length = int.from_bytes(raw[24:26], "little")
    if length > MAX_DATA_BYTES:
        raise DecodeError("bad_frame", f"data length {length} is over the standard's {MAX_DATA_BYTES} bytes")
    expected = 2 + CONTROL_UNIT_BYTES + length + 3
    if len(raw) != expected:
        raise DecodeError("bad_frame", f"length field says {length} data bytes, so {expected} in all; got {len(raw)}")
    body = raw[2 : 2 + CONTROL_UNIT_BYTES + length]
    if checksum(body) != raw[-3]:
        raise DecodeError("bad_checksum", f"checksum byte is {raw[-3]:#04x}, the bytes sum to {checksum(body):#04x}")
    return Frame(
        serial=int.from_bytes(raw[2:4], "little"),
        version=(raw[4], raw[5]),
        sent_at=_read_time(raw[6:12], tz, "frame"),
        source=raw[12:18],
        destination=raw[18:24],
        command=raw[26],
        data=raw[27 : 27 + length],
    )


# Table 5 of the standard, mapped onto the wire contract's component types. Codes without a close
# match become input_output_module, and every event keeps the original code in its detail.
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


def component_type(code: int) -> str:
    for codes, name in _COMPONENTS.items():
        if code in codes:
            return name
    return "input_output_module"


# Status bits → event kind, for types 1 (system) and 2 (component).
_STATE_BITS: Final = (
    (1, "fire_alarm", None),
    (2, "fault", None),
    (3, "disabled", None),
    (4, "supervisory", None),
    (5, "feedback", "started"),
    (6, "feedback", "feedback"),
    (8, "fault", "power fault"),
    (9, "fault", "backup power fault"),
    (10, "fault", "bus fault"),
    (13, "reset", None),
)
_UITD_BITS: Final = (
    (1, "fire_alarm", None),
    (2, "fault", None),
    (3, "fault", "main power fault"),
    (4, "fault", "backup power fault"),
    (5, "fault", "channel to monitoring centre fault"),
    (6, "fault", "monitoring line fault"),
)
_OPERATION_BITS: Final = (
    (0, "reset", "reset"),
    (2, "fire_alarm", "manual alarm"),
    (3, "reset", "alarm cleared"),
    (4, "test", "self-check"),
    (6, "test", "test"),
)
_OBJECT_BYTES: Final = {1: 4, 2: 40, 21: 1, 24: 2}


def frame_events(frame: Frame, *, tz: timezone = CHINA) -> list[Event]:
    """The events a frame carries. Raises DecodeError ``unsupported_frame`` or ``bad_frame``."""
    if frame.command not in (SEND_DATA, RESPONSE):
        raise DecodeError("unsupported_frame", f"command {frame.command} carries no state (only 2 and 5 do)")
    if len(frame.data) < 2:
        raise DecodeError("bad_frame", "the data unit needs a type byte and an object count")
    kind, count = frame.data[0], frame.data[1]
    size = _OBJECT_BYTES.get(kind)
    if size is None:
        raise DecodeError("unsupported_frame", f"information type {kind} is not decoded by this version")
    objects = frame.data[2:]
    if len(objects) != count * (size + 6):
        raise DecodeError(
            "bad_frame", f"{count} type-{kind} objects need {count * (size + 6)} bytes, got {len(objects)}"
        )
    # seq: frame time (seconds) | serial | object index | condition: unique per event, equal on retransmission.
    base = int(frame.sent_at.timestamp()) << 32 | frame.serial << 16
    events: list[Event] = []
    for index in range(count):
        chunk = objects[index * (size + 6) : (index + 1) * (size + 6)]
        at = _read_time(chunk[size:], tz, f"object {index}")
        ts = int(at.timestamp() * 1000)
        for n, (event_kind, component, detail) in enumerate(_object_events(kind, chunk[:size])):
            events.append(
                Event(
                    seq=base | index << 8 | n,
                    ts=ts,
                    kind=event_kind,  # type: ignore[arg-type]
                    component=component,
                    detail=detail,
                )
            )
    return events


def _object_events(kind: int, body: bytes) -> list[tuple[str, Component | None, str | None]]:
    if kind == 1:
        system_type, system_address, bits = body[0], body[1], int.from_bytes(body[2:4], "little")
        panel = Component("panel", None, system_address, None)
        return _by_bits(bits, _STATE_BITS, panel, f"gb26875 system type {system_type}")
    if kind == 2:
        system_type, code = body[0], body[2]
        loop, point = int.from_bytes(body[3:5], "little"), int.from_bytes(body[5:7], "little")
        bits = int.from_bytes(body[7:9], "little")
        description = body[9:40].split(b"\x00", 1)[0].decode("gb18030", errors="replace").strip()
        component = Component(component_type(code), loop, point, None)  # type: ignore[arg-type]
        note = f"gb26875 system type {system_type}, component type {code}" + (f": {description}" if description else "")
        return _by_bits(bits, _STATE_BITS, component, note)
    if kind == 21:
        return _by_bits(body[0], _UITD_BITS, Component("panel"), "gb26875 UITD state")
    operator = body[1]
    return [
        (k, Component("panel"), f"gb26875 UITD operation: {d}, operator {operator}")
        for bit, k, d in _OPERATION_BITS
        if body[0] >> bit & 1
    ]


def _by_bits(
    bits: int, table: tuple[tuple[int, str, str | None], ...], component: Component, note: str
) -> list[tuple[str, Component | None, str | None]]:
    # Bit 0 (1 normal, 0 test) is ignored: devices in the field leave it 0 while reporting real fire
    # alarms, and reading it as "test" would file real fires as tests.
    found: list[tuple[str, Component | None, str | None]] = [
        (kind, component, f"{note}; {detail}" if detail else note) for bit, kind, detail in table if bits >> bit & 1
    ]
    if not found:
        # Only "normal" is set: the point reports itself back to normal, which clears a fault.
        found.append(("fault_cleared", component, f"{note}; normal"))
    return found
