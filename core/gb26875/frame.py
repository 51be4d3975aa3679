"""The frame layer of GB/T 26875.3-2011 and the centre's own frames.

A frame::

    @@ | serial 2 | version 2 | time 6 | source 6 | destination 6 | length 2 | command 1 | data (length) | sum 1 | ##

Multi-byte integers are little-endian. A time label is second, minute, hour, day, month, year - 2000,
in the device's local time. The checksum is the arithmetic sum, modulo 256, of the 25 control-unit
bytes (serial to command) and the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Final, Literal

from core.gb26875.codes import DUTY_CHECK, SYNC_CLOCK
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


CONNECTION_INDEX = 255
"""The object index of a status the TCP gateway says of a UITD's connection: no frame reaches it (a data
unit counts its objects in one byte, so its indexes end at 254)."""


def connection_seq(at: datetime, state: str) -> int:
    """The ``seq`` of the status a gateway publishes when a UITD connects (``online``) or its connection
    ends (``offline``) at ``at``: :func:`record_seq`'s layout at the gateway's clock (China time, as a
    UITD's labels), object :data:`CONNECTION_INDEX`, so never a frame's; one per state and second."""
    local = at.astimezone(CHINA).replace(tzinfo=None)
    seconds = int((local - datetime(2000, 1, 1)).total_seconds())
    return seconds << 31 | CONNECTION_INDEX << 7 | (1 if state == "offline" else 0)


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
