"""GB/T 26875.3 frames: built from the standard's layout, decoded to events, and every kind of damage."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.wire import DECODE_REASONS, DecodeError, decode
from ingest.gb26875 import Frame, component_type, decode_frame, encode_frame, frame_events

SENT = datetime(2026, 1, 5, 0, 30, 15, tzinfo=UTC)  # 08:30:15 China time
LABEL = bytes((15, 30, 8, 5, 1, 26))  # second, minute, hour, day, month, year - 2000 (China time)


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


def test_a_frame_assembled_byte_by_byte_decodes() -> None:
    data = bytes((2, 1)) + component_object(42, 2, 37, 0b10, "3楼东")
    control = (
        (7).to_bytes(2, "little")
        + bytes((1, 0))
        + LABEL
        + bytes(6)
        + bytes(6)
        + len(data).to_bytes(2, "little")
        + bytes((2,))
    )
    raw = b"@@" + control + data + bytes((sum(control + data) % 256,)) + b"##"
    assert raw == encode_frame(7, 2, data, sent_at=SENT)  # the encoder follows the same layout
    frame = decode_frame(raw)
    assert (frame.serial, frame.version, frame.sent_at, frame.command) == (7, (1, 0), SENT, 2)
    (event,) = frame_events(frame)
    assert event.kind == "fire_alarm"
    assert event.component is not None
    assert (event.component.type, event.component.loop, event.component.address) == ("smoke_detector", 2, 37)
    assert event.detail == "gb26875 system type 1, component type 42: 3楼东"
    assert event.ts == int(SENT.timestamp() * 1000)


def frame_of(kind: int, *objects: bytes, command: int = 2, serial: int = 1) -> Frame:
    return decode_frame(encode_frame(serial, command, bytes((kind, len(objects))) + b"".join(objects), sent_at=SENT))


@pytest.mark.parametrize(
    ("bits", "kinds"),
    [
        (0b0000_0000_0000_0010, ["fire_alarm"]),  # bit 0 left 0, as field devices send real alarms
        (0b0000_0000_0000_0011, ["fire_alarm"]),
        (0b0000_0000_0000_0100, ["fault"]),
        (0b0000_0000_0000_1000, ["disabled"]),
        (0b0000_0000_0001_0000, ["supervisory"]),
        (0b0000_0000_0110_0000, ["feedback", "feedback"]),
        (0b0000_0001_0000_0100, ["fault", "fault"]),
        (0b0000_0000_0000_0001, ["fault_cleared"]),  # only "normal": back to normal
    ],
)
def test_component_status_bits(bits: int, kinds: list[str]) -> None:
    assert [e.kind for e in frame_events(frame_of(2, component_object(31, 1, 5, bits)))] == kinds


def test_system_uitd_and_operation_objects() -> None:
    system = bytes((1, 3)) + (0b10_0000_0000_0000 | 0b100).to_bytes(2, "little") + LABEL
    events = frame_events(frame_of(1, system))
    assert [(e.kind, e.component and e.component.type) for e in events] == [("fault", "panel"), ("reset", "panel")]
    uitd = bytes((0b0010_0100,)) + LABEL
    assert [e.detail for e in frame_events(frame_of(21, uitd))] == [
        "gb26875 UITD state",
        "gb26875 UITD state; channel to monitoring centre fault",
    ]
    operation = bytes((0b0100_0101, 9)) + LABEL
    assert [e.kind for e in frame_events(frame_of(24, operation))] == ["reset", "fire_alarm", "test"]


def test_several_objects_and_retransmission() -> None:
    objects = [component_object(42, 1, n, 0b10) for n in range(1, 21)]
    first = frame_events(frame_of(2, *objects, serial=300))
    again = frame_events(frame_of(2, *objects, serial=300))
    later = frame_events(frame_of(2, *objects, serial=301))
    assert len({e.seq for e in first}) == 20
    assert [e.seq for e in first] == [e.seq for e in again]  # a retransmitted frame is stored once
    assert not {e.seq for e in first} & {e.seq for e in later}
    assert all(0 <= e.seq < 2**63 for e in first)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (1, "panel"),
        (11, "gas_detector"),
        (23, "manual_call_point"),
        (31, "heat_detector"),
        (42, "smoke_detector"),
        (62, "flame_detector"),
        (91, "fire_pump"),
        (96, "sprinkler_flow_switch"),
        (97, "pressure_switch"),
        (111, "smoke_exhaust_fan"),
        (121, "sounder"),
        (200, "input_output_module"),
    ],
)
def test_component_types_from_table_5(code: int, name: str) -> None:
    assert component_type(code) == name


def _broken(raw: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as caught:
        frame_events(decode_frame(raw))
    return caught.value


GOOD = encode_frame(5, 2, bytes((2, 1)) + component_object(42, 1, 1, 0b10), sent_at=SENT)


def test_bad_checksum() -> None:
    error = _broken(GOOD[:-3] + bytes(((GOOD[-3] + 1) % 256,)) + GOOD[-2:])
    assert error.reason == "bad_checksum"
    assert "sum to" in error.detail


def test_a_flipped_data_byte_fails_the_checksum() -> None:
    damaged = bytearray(GOOD)
    damaged[40] ^= 0x10
    assert _broken(bytes(damaged)).reason == "bad_checksum"


@pytest.mark.parametrize("cut", [1, 3, 10, 30, len(GOOD) - 2])
def test_truncated_frames(cut: int) -> None:
    assert _broken(GOOD[:cut]).reason == "bad_frame"


def test_length_field_and_delimiters() -> None:
    wrong_length = GOOD[:24] + (len(GOOD) - 30 + 5).to_bytes(2, "little") + GOOD[26:]  # 5 more than it has
    assert "length field says" in _broken(wrong_length).detail
    assert "starts with @@" in _broken(b"##" + GOOD[2:]).detail
    bad_time = encode_frame(
        5, 2, bytes((2, 1)) + component_object(42, 1, 1, 2)[:-6] + bytes((0, 0, 0, 31, 2, 26)), sent_at=SENT
    )
    assert "is not a date" in _broken(bad_time).detail
    short_objects = encode_frame(5, 2, bytes((2, 2)) + component_object(42, 1, 1, 2), sent_at=SENT)
    assert "2 type-2 objects need 92 bytes, got 46" in _broken(short_objects).detail


def test_unsupported_commands_and_types_are_refused_not_dropped() -> None:
    assert _broken(encode_frame(5, 3, b"", sent_at=SENT)).reason == "unsupported_frame"
    assert "information type 3" in _broken(encode_frame(5, 2, bytes((3, 0)), sent_at=SENT)).detail


def test_the_wire_codec_carries_frames_whole() -> None:
    message = decode("fw/v1/P-1/P-1-UITD/gb26875", GOOD)
    assert message.payload.data == GOOD  # type: ignore[union-attr]


@settings(max_examples=1500)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.binary(max_size=120).map(lambda b: b"@@" + b + b"##"),
        st.integers(0, len(GOOD) - 1).flatmap(
            lambda i: st.integers(0, 255).map(lambda v: GOOD[:i] + bytes((v,)) + GOOD[i + 1 :])
        ),
    )
)
def test_any_bytes_give_events_or_a_decode_error(raw: bytes) -> None:
    try:
        events = frame_events(decode_frame(raw))
    except DecodeError as error:
        assert error.reason in DECODE_REASONS
    else:
        assert all(e.kind for e in events)
