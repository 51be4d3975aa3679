"""Frames cut out of a TCP byte stream as it arrives: split anywhere, glued together, with garbage
between them, damaged, or claiming more than the standard allows."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from core import gb26875 as gb
from core.gb26875 import MAX_FRAME_BYTES, FrameCutter

AT = datetime(2026, 1, 5, 0, 30, 15, tzinfo=UTC)


def frame(serial: int, data: bytes = b"") -> bytes:
    return gb.encode_frame(serial, gb.SEND_DATA, data, sent_at=AT, source=bytes.fromhex("a9bff8c710f3"))


def test_frames_split_at_every_byte_and_glued_together_come_out_whole_and_in_order() -> None:
    frames = [frame(1), frame(2, bytes((2, 1)) + bytes(40)), frame(3, b"@@##" * 10)]
    stream = b"".join(frames)
    for cut in range(1, len(stream)):
        cutter = FrameCutter()
        assert cutter.feed(stream[:cut]) + cutter.feed(stream[cut:]) == frames, cut
        assert (cutter.garbage, cutter.held) == (0, 0)
    cutter = FrameCutter()
    assert [f for byte in stream for f in cutter.feed(bytes((byte,)))] == frames


def test_garbage_between_frames_is_counted_and_skipped() -> None:
    noise = b"\x00\xffAT+OK\r\n@"
    cutter = FrameCutter()
    assert cutter.feed(noise + frame(1) + noise + noise + frame(2) + b"#") == [frame(1), frame(2)]
    assert cutter.garbage == 3 * len(noise) + 1
    assert cutter.held == 0


def test_an_at_sign_before_a_frame_does_not_hold_the_frame_back() -> None:
    """``@`` + ``@@...`` looks like a start one byte early, claiming a length read from the wrong bytes:
    the frame sent whole comes out at once, not when (if ever) more bytes come."""
    for serial in range(1, 300):
        whole = frame(serial, bytes((2, 1)) + bytes(serial % 40))
        assert FrameCutter().feed(b"@" + whole) == [whole], serial
        assert FrameCutter().feed(b"x@@" + whole) == [whole], serial


def test_a_damaged_frame_costs_only_its_own_bytes() -> None:
    broken = bytearray(frame(1, bytes(10)))
    broken[-1:] = b"X"  # its end is not ## where its length says
    oversized = bytearray(frame(2))
    oversized[24:26] = (1025).to_bytes(2, "little")  # more data than the standard allows
    cutter = FrameCutter()
    assert cutter.feed(bytes(broken) + bytes(oversized) + frame(3)) == [frame(3)]
    assert cutter.garbage == len(broken) + len(oversized)


def test_a_bad_checksum_is_not_the_cutters_business() -> None:
    """Delimiters and length agree: the frame goes on, and ingest denies it (as on MQTT)."""
    bad = bytearray(frame(1))
    bad[-3] ^= 0xFF
    assert FrameCutter().feed(bytes(bad)) == [bytes(bad)]


def test_what_the_cutter_holds_stays_bounded_by_one_frame_whatever_comes() -> None:
    rng = random.Random(7)
    cutter = FrameCutter()
    found = []
    for _ in range(2000):
        found += cutter.feed(rng.randbytes(rng.randint(1, 700)))
        assert cutter.held < MAX_FRAME_BYTES
    found += cutter.feed(frame(9))
    assert found[-1] == frame(9)
