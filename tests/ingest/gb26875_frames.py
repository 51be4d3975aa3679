"""Frames for the GB/T 26875.3 tests: built from the standard's layout, decoded to records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core import gb26875 as gb
from ingest.frames import NO_PANEL, Panel, frame_records
from ingest.records import EventRecord, Record

SENT = datetime(2026, 1, 5, 0, 30, 15, tzinfo=UTC)  # 08:30:15 China time
LABEL = bytes((15, 30, 8, 5, 1, 26))  # second, minute, hour, day, month, year - 2000 (China time)
RECEIVED = SENT + timedelta(seconds=2)
P, D = "P-1", "P-1-UITD"


def component_object(code: int, loop: int, point: int, bits: int, text: str = "") -> bytes:
    description = text.encode("gb18030").ljust(31, b"\x00")
    return (
        bytes((1, 1, code))
        + loop.to_bytes(2, "little")
        + point.to_bytes(2, "little")
        + bits.to_bytes(2, "little")
        + description
        + LABEL
    )


def frame_of(kind: int, *objects: bytes, command: int = 2, serial: int = 1) -> gb.Frame:
    return gb.decode_frame(
        gb.encode_frame(serial, command, bytes((kind, len(objects))) + b"".join(objects), sent_at=SENT)
    )


def records(frame: gb.Frame, panel: Panel = NO_PANEL) -> list[Record]:
    return frame_records(frame, P, D, RECEIVED, panel)


def events(frame: gb.Frame, panel: Panel = NO_PANEL) -> list[EventRecord]:
    return [r for r in records(frame, panel) if isinstance(r, EventRecord)]
