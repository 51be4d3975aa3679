"""Wire contract v1: MQTT topics and payloads, defined once for simulators (encode) and ingest (decode).

The contract is specified in ``docs/protocol.md``; this module is its executable form. Decoding never
raises anything but :class:`DecodeError` for bad input: any bytes on any topic become either a
:class:`WireMessage` or a ``DecodeError`` whose ``reason`` is one of :data:`DECODE_REASONS`, which
ingest stores with the raw bytes as a dead letter.

What the codec checks is what needs no registry and no clock: topic grammar, size, UTF-8, JSON,
schema, metric names and their physical ranges. Whether the device exists, belongs to the premises
and may send that metric, and whether the timestamp is plausible *now*, are ingest's checks.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal, get_args

import msgspec

from core.domain import ID_PATTERN, METRICS, ComponentType, EventKind
from core.errors import FirewardenError

TOPIC_ROOT: Final = "fw/v1"
MAX_PAYLOAD_BYTES: Final = 64 * 1024
MAX_SEQ: Final = 2**63 - 1  # stored as PostgreSQL bigint

DecodeReason = Literal[
    "bad_topic",
    "unknown_channel",
    "oversize",
    "not_utf8",
    "bad_json",
    "schema",
    "unknown_metric",
    "out_of_range",
    "bad_timestamp",
    "bad_frame",
    "bad_checksum",
    "unsupported_frame",
]
DECODE_REASONS: Final[tuple[str, ...]] = get_args(DecodeReason)


class DecodeError(FirewardenError):
    """A message that does not fit the wire contract. ``reason`` is a stable code; ``detail`` says where."""

    def __init__(self, reason: DecodeReason, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


Seq = Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQ)]
# A timestamp is RFC 3339 with an offset, or integer epoch milliseconds. msgspec decodes the string
# form to an aware datetime and rejects a naive one through tz=True.
Timestamp = Annotated[datetime, msgspec.Meta(tz=True)] | Annotated[int, msgspec.Meta(ge=0)]
SmallInt = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]
# PostgreSQL text cannot hold U+0000, so free-text fields refuse it here (reason ``schema``).
_NO_NUL = r"^[^\x00]*$"
Zone = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=_NO_NUL)]


class Component(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """The panel component an event is about: its type and where it sits on the panel's loops."""

    type: ComponentType
    loop: SmallInt | None = None
    address: SmallInt | None = None
    zone: Zone | None = None


class Telemetry(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    seq: Seq
    ts: Timestamp
    metrics: dict[str, float]


class Event(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    seq: Seq
    ts: Timestamp
    kind: EventKind
    component: Component | None = None
    detail: Annotated[str, msgspec.Meta(max_length=1024, pattern=_NO_NUL)] | None = None


class Status(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    seq: Seq
    ts: Timestamp
    state: Literal["online", "offline"]
    battery_pct: Annotated[float, msgspec.Meta(ge=0, le=100)] | None = None
    rssi_dbm: Annotated[float, msgspec.Meta(ge=-150, le=0)] | None = None
    firmware: Annotated[str, msgspec.Meta(max_length=64, pattern=_NO_NUL)] | None = None
    detail: Annotated[str, msgspec.Meta(max_length=1024, pattern=_NO_NUL)] | None = None


Payload = Telemetry | Event | Status


@dataclass(frozen=True, slots=True)
class RawFrame:
    """A GB/T 26875.3 binary frame, carried as is; ingest's frame decoder turns it into events."""

    data: bytes


class WireMessage(msgspec.Struct, frozen=True):
    """A decoded, contract-conforming message. ``ts`` is timezone-aware UTC (``None`` for raw frames)."""

    premises_id: str
    device_id: str
    channel: str
    payload: Payload | RawFrame
    ts: datetime | None

    @property
    def seq(self) -> int | None:
        return None if isinstance(self.payload, RawFrame) else self.payload.seq


_DECODERS: Final[dict[str, msgspec.json.Decoder[Any]]] = {
    "telemetry": msgspec.json.Decoder(Telemetry),
    "event": msgspec.json.Decoder(Event),
    "status": msgspec.json.Decoder(Status),
}
_ENCODER: Final = msgspec.json.Encoder()


def topic_for(premises_id: str, device_id: str, channel: str) -> str:
    """The topic a device publishes ``channel`` on. Raises ValueError for ids outside the grammar."""
    for label, value in (("premises id", premises_id), ("device id", device_id)):
        if not ID_PATTERN.fullmatch(value):
            raise ValueError(f"{label} {value!r} does not match {ID_PATTERN.pattern}")
    if channel not in _DECODERS and channel != "gb26875":
        raise ValueError(f"unknown channel {channel!r}")
    return f"{TOPIC_ROOT}/{premises_id}/{device_id}/{channel}"


DOWNLINK_ROOT: Final = "fw/down/v1"
"""Where the centre publishes to devices (docs/protocol.md, "Downlink"). Outside ``fw/v1/``, so that
ingest's subscription to every device topic never receives what the centre sends."""


def downlink_topic(premises_id: str, device_id: str, channel: str = "gb26875") -> str:
    """The topic the centre sends ``channel`` frames to one device on (its confirms, denials, commands)."""
    return f"{DOWNLINK_ROOT}/{premises_id}/{device_id}/{channel}"


@functools.lru_cache(maxsize=65_536)
def parse_topic(topic: str) -> tuple[str, str, str]:
    """(premises_id, device_id, channel) of a v1 topic, or DecodeError ``bad_topic``/``unknown_channel``.

    Remembered for the 65,536 topics seen last (a city's devices send on a few topics each, over and
    over; a refused topic is checked every time)."""
    parts = topic.split("/")
    if len(parts) != 5 or f"{parts[0]}/{parts[1]}" != TOPIC_ROOT:
        raise DecodeError("bad_topic", f"topic {topic[:200]!r} is not {TOPIC_ROOT}/<premises>/<device>/<channel>")
    _, _, premises_id, device_id, channel = parts
    for label, value in (("premises id", premises_id), ("device id", device_id)):
        if not ID_PATTERN.fullmatch(value):
            raise DecodeError("bad_topic", f"{label} {value[:80]!r} does not match {ID_PATTERN.pattern}")
    if channel not in _DECODERS and channel != "gb26875":
        raise DecodeError(
            "unknown_channel", f"channel {channel[:80]!r} is not one of telemetry, event, status, gb26875"
        )
    return premises_id, device_id, channel


def decode(topic: str, payload: bytes) -> WireMessage:
    """Decode one MQTT message. Raises only :class:`DecodeError` for input that breaks the contract."""
    premises_id, device_id, channel = parse_topic(topic)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise DecodeError("oversize", f"payload is {len(payload)} bytes, the limit is {MAX_PAYLOAD_BYTES}")
    if channel == "gb26875":
        return WireMessage(premises_id, device_id, channel, RawFrame(bytes(payload)), None)
    # One pass for a good message: msgspec checks UTF-8 itself, raising UnicodeDecodeError inside a
    # string and DecodeError elsewhere, so the separate UTF-8 check runs only on the failure path.
    try:
        body: Payload = _DECODERS[channel].decode(payload)
    except msgspec.ValidationError as exc:
        reason: DecodeReason = "bad_timestamp" if str(exc).endswith("at `$.ts`") else "schema"
        raise DecodeError(reason, str(exc)) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        _raise_if_not_utf8(payload)
        raise DecodeError("bad_json", str(exc)) from None
    if isinstance(body, Telemetry):
        _check_metrics(body.metrics)
    return WireMessage(premises_id, device_id, channel, body, _to_utc(body.ts))


def encode(message: WireMessage) -> tuple[str, bytes]:
    """(topic, payload bytes) for a message: the inverse of :func:`decode`."""
    topic = topic_for(message.premises_id, message.device_id, message.channel)
    if isinstance(message.payload, RawFrame):
        return topic, message.payload.data
    return topic, encode_payload(message.payload)


def encode_payload(payload: Payload) -> bytes:
    """The JSON bytes of one payload, for senders that build their topics once (the simulators)."""
    return _ENCODER.encode(payload)


def _raise_if_not_utf8(payload: bytes) -> None:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError("not_utf8", f"payload is not UTF-8 at byte {exc.start}") from None


def _check_metrics(metrics: dict[str, float]) -> None:
    if not metrics:
        raise DecodeError("schema", "telemetry carries no metrics - at `$.metrics`")
    for name, value in metrics.items():
        metric = METRICS.get(name)
        if metric is None:
            raise DecodeError("unknown_metric", f"metric {name[:80]!r} is not in the v1 vocabulary - at `$.metrics`")
        if not metric.in_range(value):
            shown = "non-finite" if not math.isfinite(value) else repr(value)
            raise DecodeError(
                "out_of_range",
                f"{name} = {shown} {metric.unit} is outside the physical range "
                f"[{metric.low}, {metric.high}] - at `$.metrics.{name}`",
            )


def _to_utc(ts: datetime | int) -> datetime:
    if isinstance(ts, datetime):
        return ts.astimezone(UTC)
    try:
        return datetime.fromtimestamp(ts / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise DecodeError("bad_timestamp", f"epoch milliseconds {ts} is outside the representable range") from None
