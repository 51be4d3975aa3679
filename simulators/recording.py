"""Recorded streams: a run written to a file, to replay later at another speed or inspect.

One JSON object per line: ``{"i": index, "at": simulated send time (Unix seconds), "topic": ...,
"payload": base64, "device_id": ..., "seq": ...}``. Base64 because a payload may be any bytes (the
transport-fault scenarios send invalid UTF-8 on purpose). The same run gives the same file, byte for
byte.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import msgspec

from simulators.engine import Outgoing
from simulators.errors import RecordingError


class _Line(msgspec.Struct, forbid_unknown_fields=True):
    i: int
    at: float
    topic: str
    payload: str
    device_id: str | None = None
    seq: int | None = None


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(_Line)


def record(messages: Iterable[Outgoing], out: IO[bytes]) -> Iterator[Outgoing]:
    """Write each message to ``out`` as it passes, yielding it on (so a run can publish and record at once)."""
    for m in messages:
        line = _Line(m.index, m.at, m.topic, base64.b64encode(m.payload).decode("ascii"), m.device_id, m.seq)
        out.write(_ENCODER.encode(line) + b"\n")
        yield m


def read(path: Path) -> Iterator[Outgoing]:
    """The messages of a recorded stream, in file order. Raises RecordingError naming a bad line."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = _DECODER.decode(raw)
                payload = base64.b64decode(line.payload, validate=True)
            except (msgspec.DecodeError, ValueError) as exc:
                raise RecordingError(f"{path}, line {number}: not a recorded message: {exc}") from None
            yield Outgoing(line.i, line.at, line.topic, payload, line.device_id, line.seq)
