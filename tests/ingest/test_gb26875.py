"""GB/T 26875.3 frames: built from the standard's layout, decoded to records, and every kind of damage.
Frames published by independent implementations: test_gb26875_published.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import gb26875 as gb
from core.wire import DECODE_REASONS, DecodeError
from ingest.frames import Panel, PointInfo, seq_of
from ingest.records import EventRecord, Reading, StatusRecord
from tests.ingest.gb26875_frames import LABEL, RECEIVED, SENT, D, P, component_object, events, frame_of, records


def test_a_frame_assembled_byte_by_byte_decodes() -> None:
    data = bytes((2, 1)) + component_object(42, 2, 37, 0b10, "3楼东")
    control = (
        (7).to_bytes(2, "little")
        + bytes((1, 1))
        + LABEL
        + bytes(6)
        + bytes(6)
        + len(data).to_bytes(2, "little")
        + bytes((2,))
    )
    raw = b"@@" + control + data + bytes((sum(control + data) % 256,)) + b"##"
    assert raw == gb.encode_frame(7, 2, data, sent_at=SENT)  # the encoder follows the same layout
    frame = gb.decode_frame(raw)
    assert (frame.serial, frame.version, frame.sent_at, frame.command, frame.label) == (7, (1, 1), SENT, 2, LABEL)
    (event,) = events(frame)
    assert (event.kind, event.component_type, event.loop, event.address, event.zone) == (
        "fire_alarm",
        "smoke_detector",
        2,
        37,
        None,
    )
    assert event.detail == "gb26875 system 1 (fire alarm system), component type 42: 3楼东; fire alarm"
    assert event.time == SENT
    assert event.received_at == RECEIVED


# -- every information type, field by field ----------------------------------------------------------


def test_type_1_system_state() -> None:
    obj = bytes((13, 3)) + (1 << 2 | 1 << 8 | 1 << 13 | 1 << 11).to_bytes(2, "little") + LABEL
    (state,) = gb.decode_data(frame_of(1, obj)).objects
    assert state == gb.SystemState(gb.System(13, 3), 1 << 2 | 1 << 8 | 1 << 13 | 1 << 11, SENT)
    out = records(frame_of(1, obj))
    assert [(type(r).__name__, getattr(r, "kind", None)) for r in out] == [
        ("EventRecord", "fault"),
        ("EventRecord", "fault"),
        ("EventRecord", "reset"),
        ("StatusRecord", None),
    ]
    assert [r.detail for r in out] == [
        "gb26875 system 3 (gas extinguishing system); fault",
        "gb26875 system 3 (gas extinguishing system); main power fault",
        "gb26875 system 3 (gas extinguishing system); reset",
        "gb26875 system 3 (gas extinguishing system) 3: manual mode",
    ]
    assert all(isinstance(r, EventRecord) and r.address == 3 for r in out[:3])


def test_type_2_component_state_every_field() -> None:
    obj = component_object(31, 4, 123, 0b1_0001_0100, "2楼配电间")
    (state,) = gb.decode_data(frame_of(2, obj)).objects
    assert state == gb.ComponentState(gb.System(1, 1), 31, bytes((4, 0, 123, 0)), 0b1_0001_0100, "2楼配电间", SENT)
    assert [(e.kind, e.component_type, e.loop, e.address) for e in events(frame_of(2, obj))] == [
        ("fault", "heat_detector", 4, 123),
        ("supervisory", "heat_detector", 4, 123),
        ("fault", "heat_detector", 4, 123),
    ]


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
        (0b0000_0000_0000_0001, ["normal"]),  # only "normal": a routine report, not a "fault cleared"
        (0b0000_0000_0000_0000, ["normal"]),
        (0b1111_1110_0000_0010, ["fire_alarm"]),  # bits 9-15 are reserved for components: ignored
        (0b1111_1110_0000_0001, ["normal"]),
        (0b0000_0000_1000_0001, []),  # delay only: a mode, the device's status, no event
    ],
)
def test_component_status_bits(bits: int, kinds: list[str]) -> None:
    assert [e.kind for e in events(frame_of(2, component_object(31, 1, 5, bits)))] == kinds


def test_no_frame_claims_a_fault_cleared() -> None:
    for bits in range(0, 1 << 14):
        for kind, body in (
            (1, bytes((1, 1)) + bits.to_bytes(2, "little") + LABEL),
            (2, component_object(42, 1, 1, bits)),
        ):
            assert all(r.kind != "fault_cleared" for r in events(frame_of(kind, body))), (kind, bits)


def test_modes_are_status_not_events() -> None:
    system = bytes((1, 2)) + (1 << 7 | 1 << 11 | 1 << 12 | 1).to_bytes(2, "little") + LABEL
    (status,) = records(frame_of(1, system))
    assert isinstance(status, StatusRecord)
    assert status.detail == "gb26875 system 2 (fire alarm system) 2: delay, manual mode, configuration changed"
    assert (status.state, status.time, status.device_id) == ("online", SENT, D)


def test_type_3_analog_values_become_readings_in_wire_units() -> None:
    def analog(code: int, kind: int, raw: int, point: int = 9) -> bytes:
        return gb.analog_object(code, gb.join_address(2, point), kind, raw, SENT)

    frame = frame_of(
        3,
        analog(92, 2, 235),  # tank: height 2.35 m
        analog(99, 4, 6),  # pressure switch: 0.6 MPa
        analog(99, 5, 3500),  # 350.0 kPa
        analog(31, 3, -55),  # -5.5 °C
        analog(18, 3, 652),  # electrical fire monitor (temperature type): cable 65.2 °C
        analog(17, 9, 3),  # residual current type: 0.3 A = 300 mA
        analog(11, 6, 125),  # 12.5 %LEL
        analog(16, 8, 2301),  # 230.1 V
        analog(16, 9, 321),  # the monitor's own current: 32.1 A
    )
    (first, *_) = gb.decode_data(frame).objects
    assert first == gb.AnalogValue(gb.System(1, 1), 92, bytes((2, 0, 9, 0)), 2, 235, SENT)
    out = records(frame)
    assert all(isinstance(r, Reading) and r.device_id == D and r.time == SENT for r in out)
    assert [(r.metric, r.value) for r in out if isinstance(r, Reading)] == [
        ("tank_level_m", 2.35),
        ("water_pressure_mpa", 0.6),
        ("water_pressure_mpa", 0.35),
        ("temperature_c", -5.5),
        ("cable_temp_c", 65.2),
        ("residual_current_ma", 300.0),
        ("gas_lel_pct", 12.5),
        ("voltage_v", 230.1),
        ("current_a", 32.1),
    ]


@pytest.mark.parametrize(
    ("kind", "unit"),
    [(1, "event count, events"), (7, "time, s"), (10, "flow, L/s"), (12, "wind speed, m/s"), (200, "reserved")],
)
def test_an_analog_value_without_a_metric_is_refused_naming_its_unit(kind: int, unit: str) -> None:
    frame = frame_of(3, gb.analog_object(92, gb.join_address(1, 1), kind, 5, SENT))
    with pytest.raises(DecodeError) as caught:
        records(frame)
    assert caught.value.reason == "unsupported_frame"
    assert unit in caught.value.detail


def test_an_analog_value_out_of_physical_range_is_refused() -> None:
    frame = frame_of(3, gb.analog_object(99, gb.join_address(1, 1), 4, 60, SENT))  # 6.0 MPa
    with pytest.raises(DecodeError) as caught:
        records(frame)
    assert caught.value.reason == "out_of_range"
    assert "water_pressure_mpa = 6.0 MPa" in caught.value.detail


def test_type_4_system_operations() -> None:
    obj = bytes((1, 2, 0b0111_1111, 7)) + LABEL
    (op,) = gb.decode_data(frame_of(4, obj)).objects
    assert op == gb.Operation(gb.System(1, 2), 0b0111_1111, 7, SENT)
    out = records(frame_of(4, obj))
    assert [(type(r).__name__, getattr(r, "kind", None), getattr(r, "component_type", None)) for r in out] == [
        ("EventRecord", "reset", "panel"),
        ("EventRecord", "fire_alarm", "manual_call_point"),
        ("EventRecord", "reset", "panel"),
        ("EventRecord", "test", "panel"),
        ("StatusRecord", None, None),
    ]
    assert out[-1].detail == "system 2 (fire alarm system) operation: silence, self-check, confirm, operator 7"  # type: ignore[union-attr]


def test_types_5_to_8_versions_configurations_clocks() -> None:
    version = records(frame_of(5, bytes((1, 2, 3, 4))))
    assert [(r.detail, getattr(r, "firmware", None)) for r in version] == [
        ("system 2 (fire alarm system) software 3.4", None)
    ]
    text = "主机 2 回路".encode("gb18030")
    config = records(frame_of(6, bytes((1, 2, len(text))) + text))
    assert [r.detail for r in config] == ["system 2 (fire alarm system) configuration: 主机 2 回路"]
    component = bytes((1, 2, 42)) + gb.join_address(3, 17) + "5楼走廊".encode("gb18030").ljust(31, b"\x00")
    assert [r.detail for r in records(frame_of(7, component))] == [
        "system 2 (fire alarm system) point 3-17: smoke_detector (type 42) 5楼走廊"
    ]
    (clock,) = records(frame_of(8, bytes((1, 2)) + LABEL))
    assert isinstance(clock, StatusRecord)
    assert clock.clock_skew_s == -2.0  # the panel's clock reads SENT, we received it 2 s later
    assert clock.detail == f"system 2 (fire alarm system) clock {SENT.isoformat()}"


def test_types_21_and_24_to_28_of_the_uitd() -> None:
    state = records(frame_of(21, bytes((0b0010_0100,)) + LABEL))
    assert [(getattr(r, "kind", None), r.detail) for r in state] == [
        ("fault", "gb26875 UITD state; fault"),
        ("fault", "gb26875 UITD state; channel to the monitoring centre fault"),
    ]
    assert [getattr(r, "kind", None) for r in records(frame_of(21, bytes((1,)) + LABEL))] == ["normal"]
    ops = records(frame_of(24, bytes((0b0110_0101, 9)) + LABEL))
    assert [(type(r).__name__, getattr(r, "kind", None)) for r in ops] == [
        ("EventRecord", "reset"),
        ("EventRecord", "fire_alarm"),
        ("EventRecord", "test"),
        ("StatusRecord", None),
    ]
    assert ops[-1].detail == "UITD operation: duty check answered, operator 9"
    (version,) = records(frame_of(25, bytes((2, 7))))
    assert (getattr(version, "firmware", None), version.detail) == ("2.7", "UITD software 2.7")
    (config,) = records(frame_of(26, bytes((3,)) + b"4G\x00"))
    assert config.detail == "UITD configuration: 4G"
    (clock,) = records(frame_of(28, LABEL))
    assert getattr(clock, "clock_skew_s", None) == -2.0


def test_keep_alive_and_the_uitds_answers_are_status() -> None:
    keep_alive = gb.decode_frame(gb.encode_frame(40, 2, b"", sent_at=SENT))
    assert [(type(r).__name__, r.detail) for r in records(keep_alive)] == [("StatusRecord", "keep-alive")]
    for command, word in ((3, "confirm"), (6, "deny")):
        answer = gb.decode_frame(gb.encode_frame(17, command, b"", sent_at=SENT))
        assert [r.detail for r in records(answer)] == [f"{word} serial=17"]


def test_zones_come_from_the_point_list_and_unknown_points_are_flagged() -> None:
    panel = Panel.of({(2, 37): PointInfo("12F-east", None, "12楼东侧走廊"), (2, 38): PointInfo("12F-east")})
    known, unknown = events(frame_of(2, component_object(42, 2, 37, 2), component_object(42, 5, 1, 2)), panel)
    assert (known.zone, known.unknown_point) == ("12F-east", False)
    assert known.detail is not None and known.detail.endswith("12楼东侧走廊; fire alarm")  # from the point list
    assert (unknown.zone, unknown.unknown_point) == (None, True)
    assert unknown.detail is not None and "point not in the registry's point list" in unknown.detail


def test_a_point_mapped_to_a_device_gives_that_device_readings() -> None:
    panel = Panel.of({(1, 4): PointInfo("B1", "P-1-SP-01")})
    (reading,) = records(frame_of(3, gb.analog_object(99, gb.join_address(1, 4), 4, 3, SENT)), panel)
    assert (reading.device_id, reading.premises_id) == ("P-1-SP-01", P)


@pytest.mark.parametrize(
    ("order", "expected"),
    [("loop_point", (0x00D9, 0x0006)), ("point_loop", (0x0006, 0x00D9)), ("number", (None, 0x0600D9))],
)
def test_vendor_address_orders(order: str, expected: tuple[int | None, int]) -> None:
    address = bytes((0xD9, 0x00, 0x06, 0x00))  # the captured frame's address (reader_decoder_test.go)
    assert gb.split_address(address, order) == expected
    assert gb.join_address(*expected, order) == address
    (event,) = events(
        frame_of(2, bytes((1, 3, 0)) + address + (2).to_bytes(2, "little") + bytes(31) + LABEL), Panel({}, order)
    )
    assert (event.loop, event.address) == expected


# -- seq --------------------------------------------------------------------------------------------


def test_seqs_are_stable_unique_and_in_range_for_the_standards_whole_time_range() -> None:
    objects = [component_object(42, 1, n, 0b110) for n in range(1, 21)]
    first = [r.seq for r in records(frame_of(2, *objects, serial=300))]
    again = [r.seq for r in records(frame_of(2, *objects, serial=300))]
    later = [r.seq for r in records(frame_of(2, *objects, serial=301))]
    assert len(set(first)) == 40
    assert first == again  # a retransmitted frame gives the same seqs, and is stored once
    assert not set(first) & set(later)
    for label in (bytes((0, 0, 0, 1, 1, 0)), bytes((59, 59, 23, 31, 12, 99)), bytes((7, 14, 3, 19, 1, 38))):
        frame = gb.Frame(65_535, (1, 1), SENT, bytes(6), bytes(6), 2, b"", label)
        assert 0 <= seq_of(frame, 254, 127) <= 2**63 - 1
    end_of_2099 = gb.Frame(65_535, (1, 1), SENT, bytes(6), bytes(6), 2, b"", bytes((59, 59, 23, 31, 12, 99)))
    assert seq_of(end_of_2099, 254, 127) > seq_of(gb.Frame(0, (1, 1), SENT, bytes(6), bytes(6), 2, b"", LABEL), 0, 0)


def _broken(raw: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as caught:
        records(gb.decode_frame(raw))
    return caught.value


GOOD = gb.encode_frame(5, 2, bytes((2, 1)) + component_object(42, 1, 1, 0b10), sent_at=SENT)


def test_bad_checksum() -> None:
    error = _broken(GOOD[:-3] + bytes(((GOOD[-3] + 1) % 256,)) + GOOD[-2:])
    assert error.reason == "bad_checksum"
    assert "sum to" in error.detail


def test_a_flipped_data_byte_fails_the_checksum() -> None:
    damaged = bytearray(GOOD)
    damaged[40] ^= 0x10
    assert _broken(bytes(damaged)).reason == "bad_checksum"


@pytest.mark.parametrize("cut", [1, 3, 10, 29, len(GOOD) - 2])
def test_truncated_frames(cut: int) -> None:
    assert _broken(GOOD[:cut]).reason == "bad_frame"


def test_length_field_delimiters_time_labels_and_object_counts() -> None:
    wrong_length = GOOD[:24] + (len(GOOD) - 30 + 5).to_bytes(2, "little") + GOOD[26:]  # 5 more than it has
    assert "length field says" in _broken(wrong_length).detail
    assert "starts with @@" in _broken(b"##" + GOOD[2:]).detail
    bad_time = gb.encode_frame(
        5, 2, bytes((2, 1)) + component_object(42, 1, 1, 2)[:-6] + bytes((0, 0, 0, 31, 2, 26)), sent_at=SENT
    )
    assert "is not a date" in _broken(bad_time).detail
    short = gb.encode_frame(5, 2, bytes((2, 2)) + component_object(42, 1, 1, 2), sent_at=SENT)
    assert "type-2 object 1 needs" in _broken(short).detail
    long = gb.encode_frame(5, 2, bytes((2, 1)) + component_object(42, 1, 1, 2) + b"\x00", sent_at=SENT)
    assert "end at data byte 48, the data unit has 49" in _broken(long).detail
    assert "no objects" in _broken(gb.encode_frame(5, 2, bytes((2, 0)), sent_at=SENT)).detail
    assert "type byte and an object count" in _broken(gb.encode_frame(5, 2, bytes((2,)), sent_at=SENT)).detail


def test_centre_commands_reserved_types_and_vendor_commands_are_refused_not_dropped() -> None:
    assert "sent by the centre" in _broken(gb.encode_frame(5, 1, bytes((91, 1, 0)), sent_at=SENT)).detail
    assert "sent by the centre" in _broken(gb.encode_frame(5, 4, b"", sent_at=SENT)).detail
    assert "reserved or vendor-defined" in _broken(gb.encode_frame(5, 200, b"", sent_at=SENT)).detail
    for kind in (0, 9, 22, 27, 61, 91, 255):
        error = _broken(gb.encode_frame(5, 2, bytes((kind, 1, 0)), sent_at=SENT))
        assert error.reason == "unsupported_frame"
        assert f"information type {kind} is not one the standard sends upstream" in error.detail


def test_the_reply_needs_a_header() -> None:
    assert gb.reply(b"garbage", accept=False, now=SENT) is None
    denial = gb.reply(GOOD[:20], accept=False, now=SENT)  # a truncated frame still names its serial
    assert denial is not None
    assert (gb.decode_frame(denial).serial, gb.decode_frame(denial).command) == (5, gb.DENY)


@settings(max_examples=2000)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.binary(max_size=120).map(lambda b: b"@@" + b + b"##"),
        st.integers(0, len(GOOD) - 1).flatmap(
            lambda i: st.integers(0, 255).map(lambda v: GOOD[:i] + bytes((v,)) + GOOD[i + 1 :])
        ),
        # Well-formed frames around arbitrary data units: the objects' decoders, not the checksum, decide.
        st.tuples(
            st.integers(0, 255),
            st.integers(0, 8),
            st.sampled_from((*gb.UPLINK_TYPES, 0, 9, 99)),
            st.binary(max_size=160),
        ).map(lambda t: gb.encode_frame(1, (2, 5, 3, 6, 1, t[0])[t[1] % 6], bytes((t[2], t[1])) + t[3], sent_at=SENT)),
    )
)
def test_any_bytes_give_records_or_a_decode_error_never_nothing(raw: bytes) -> None:
    try:
        out = records(gb.decode_frame(raw))
    except DecodeError as error:
        assert error.reason in DECODE_REASONS
    else:
        assert out, "a frame that decodes gives at least one record"
        assert len({(r.device_id, r.seq) for r in out}) == len(out)
        assert all(0 <= r.seq <= 2**63 - 1 for r in out)
