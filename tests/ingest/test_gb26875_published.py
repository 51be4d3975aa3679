"""GB/T 26875.3 frames published by independent implementations, decoded; each cited where it is defined:
- ActorLancer/GB-T-26875.3.2011-rs, ``GB26875文档.md`` ("几种类型的数据包格式示例" and "示例" 1-11:
  a UITD's frames and the centre's confirm, deny and commands, as circulated with the standard);
- shootingfans/codec_gb26875_3_2011 (Go), ``codec/codec_test.go`` (data units of every upload type)
  and ``codec/reader_decoder_test.go`` (a whole captured frame, "Ａ区１层呷哺走廊").
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core import gb26875 as gb
from core.wire import DecodeError
from ingest.frames import Panel
from tests.ingest.gb26875_frames import SENT, events, records

# -- frames published by independent implementations ------------------------------------------------

# GB26875文档.md, "示例" of ActorLancer/GB-T-26875.3.2011-rs. The UITD's address 79 03 00 00 00 00, the
# centre's 38 5B 01 00 00 00; every frame at 2012-09-26 09:58 (China time).
PUBLISHED_FIRE = (
    "40 40 01 00 01 01 20 3A 09 1A 09 0C 79 03 00 00 00 00 38 5B 01 00 00 00 30 00 02 02 01 01 01 28 0A 00 02 00 "
    "02 00" + " 20" * 30 + " 00 02 3A 09 1A 09 0C 46 23 23"
)
PUBLISHED_CONFIRM = "40 40 01 00 01 01 23 3A 09 1A 09 0C 38 5B 01 00 00 00 79 03 00 00 00 00 00 00 03 AB 23 23"
PUBLISHED_DENY = "40 40 01 00 01 01 23 3A 09 1A 09 0C 38 5B 01 00 00 00 79 03 00 00 00 00 00 00 06 AE 23 23"
CENTRE = bytes.fromhex("385B01000000")
UITD = bytes.fromhex("790300000000")


def _hex(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def test_published_fire_alarm_frame_and_the_centres_answers() -> None:
    """示例 1: "2号10区 感烟探测器 火警 12年9月26日9时58分02秒", its confirm and its deny."""
    raw = _hex(PUBLISHED_FIRE)
    frame = gb.decode_frame(raw)
    assert (frame.serial, frame.source, frame.destination, frame.command) == (1, UITD, CENTRE, 2)
    (event,) = events(frame)
    assert (event.kind, event.component_type, event.loop, event.address) == ("fire_alarm", "smoke_detector", 10, 2)
    assert event.time == datetime(2012, 9, 26, 9, 58, 2, tzinfo=gb.CHINA)
    answered_at = datetime(2012, 9, 26, 9, 58, 35, tzinfo=gb.CHINA)
    assert gb.reply(raw, accept=True, now=answered_at, centre=CENTRE) == _hex(PUBLISHED_CONFIRM)
    assert gb.reply(raw, accept=False, now=answered_at, centre=CENTRE) == _hex(PUBLISHED_DENY)


@pytest.mark.parametrize(
    ("name", "frame", "expected"),
    [
        (  # 示例 2: main power fault of the UITD
            "uitd main power fault",
            "40 40 01 00 01 01 20 3A 09 1A 09 0C 79 03 00 00 00 00 38 "
            "5B 01 00 00 00 09 00 02 15 01 08 02 3A 09 1A 09 0C 42 23 23",
            [("fault", "gb26875 UITD state; main power fault")],
        ),
        (  # 示例 3: duty check answered
            "duty check answered",
            "40 40 01 00 01 01 20 3A 09 1A 09 0C 79 03 00 00 00 00 38 5B "
            "01 00 00 00 0A 00 02 18 01 20 01 02 3A 09 1A 09 0C 5F 23 23",
            [(None, "UITD operation: duty check answered, operator 1")],
        ),
        (  # 示例 4: software version V1.1
            "uitd version",
            "40 40 01 00 01 01 20 3A 09 1A 09 0C 79 03 00 00 00 00 38 5B 01 00 00 00 04 00 02 19 01 01 01 C7 23 23",
            [(None, "UITD software 1.1")],
        ),
        (  # 示例 5: the UITD's clock
            "uitd clock",
            "40 40 01 00 01 01 20 3A 09 1A 09 0C 79 03 00 00 00 00 38 "
            "5B 01 00 00 00 08 00 02 1C 01 02 3A 09 1A 09 0C 40 23 23",
            [(None, "UITD clock 2012-09-26T01:58:02+00:00")],
        ),
        (  # 示例 6: the UITD's response (command 5) to "read UITD state"
            "response",
            "40 40 01 00 01 01 20 3A 09 1A 09 0C 79 03 00 00 00 00 38 "
            "5B 01 00 00 00 09 00 05 15 01 08 02 3A 09 1A 09 0C 45 23 23",
            [("fault", "gb26875 UITD state; main power fault")],
        ),
        (  # 示例 9-11: the UITD confirms a command of the centre
            "uitd confirms",
            "40 40 01 00 01 01 23 3A 09 1A 09 0C 79 03 00 00 00 00 38 5B 01 00 00 00 00 00 03 AB 23 23",
            [(None, "confirm serial=1")],
        ),
    ],
)
def test_published_uitd_frames(name: str, frame: str, expected: list[tuple[str | None, str]]) -> None:
    out = records(gb.decode_frame(_hex(frame)))
    assert [(getattr(r, "kind", None), r.detail) for r in out] == expected, name


def test_published_commands_of_the_centre() -> None:
    """示例 10 and 11 (sync clock, duty check with a 10-minute answer window) as the centre sends them."""
    at = datetime(2012, 9, 26, 9, 58, 32, tzinfo=gb.CHINA)
    duty = gb.command_frame("duty_check", 1, now=at, centre=CENTRE, uitd=UITD, answer_minutes=10)
    assert duty == _hex(
        "40 40 01 00 01 01 20 3A 09 1A 09 0C 38 5B 01 00 00 00 79 03 00 00 00 00 03 00 01 5B 01 0A 0F 23 23"
    )
    sync = gb.command_frame("sync_clock", 1, now=at, centre=CENTRE, uitd=UITD)
    published = _hex(
        "40 40 01 00 01 01 20 3A 09 1A 09 0C 38 5B 01 00 00 00 79 "
        "03 00 00 00 00 08 00 01 5A 01 02 3A 09 1A 09 0C 7D 23 23"
    )
    # The published frame sets the clock to 09:58:02 while sent at 09:58:32; ours sends the time it is sent.
    assert sync[:27] == published[:27]
    assert sync[27:29] == bytes((90, 1))
    assert gb.read_time(sync[29:35], gb.CHINA, "sync") == at


# codec_test.go of shootingfans/codec_gb26875_3_2011: data units, timestamps as Unix seconds (China time).
GO_UNITS = [
    (
        "01 01 01 02 04 02 04 00 09 02 07 15",
        [gb.SystemState(gb.System(1, 2), 0x0204, datetime.fromtimestamp(1625187604, UTC))],
    ),
    (
        "03 01 01 02 28 01 02 03 04 03 20 03 04 00 09 02 07 15",
        [
            gb.AnalogValue(
                gb.System(1, 2), 0x28, bytes((1, 2, 3, 4)), 3, 0x0320, datetime.fromtimestamp(1625187604, UTC)
            )
        ],
    ),
    (
        "04 01 01 02 84 fa 04 00 09 02 07 15",
        [gb.Operation(gb.System(1, 2), 0x84, 0xFA, datetime.fromtimestamp(1625187604, UTC))],
    ),
    (
        "05 02 01 02 03 04 0d 03 01 01",
        [gb.SoftwareVersion(gb.System(1, 2), 3, 4), gb.SoftwareVersion(gb.System(13, 3), 1, 1)],
    ),
    ("08 01 01 02 04 00 09 02 07 15", [gb.Clock(gb.System(1, 2), datetime.fromtimestamp(1625187604, UTC))]),
    ("15 01 08 04 00 09 02 07 15", [gb.UitdState(8, datetime.fromtimestamp(1625187604, UTC))]),
    ("18 01 31 fa 04 00 09 02 07 15", [gb.Operation(None, 0x31, 0xFA, datetime.fromtimestamp(1625187604, UTC))]),
    ("19 01 03 04", [gb.SoftwareVersion(None, 3, 4)]),
    ("1c 01 05 00 09 02 07 15", [gb.Clock(None, datetime.fromtimestamp(1625187605, UTC))]),
]
GO_DESCRIPTION = "37 c2 a5 30 32 ca d2 bb e1 d2 e9 ca d2 d1 cc b8 d0" + " 00" * 14  # "7楼02室会议室烟感"


@pytest.mark.parametrize(("unit", "objects"), GO_UNITS)
def test_go_codec_data_units(unit: str, objects: list[gb.InfoObject]) -> None:
    frame = gb.decode_frame(gb.encode_frame(1, 2, _hex(unit), sent_at=SENT))
    assert list(gb.decode_data(frame).objects) == objects


def test_go_codec_descriptions_and_configurations() -> None:
    state = "02 01 01 02 79 01 02 03 04 04 02 " + GO_DESCRIPTION + " 04 00 09 02 07 15"
    (obj,) = gb.decode_data(gb.decode_frame(gb.encode_frame(1, 2, _hex(state), sent_at=SENT))).objects
    assert isinstance(obj, gb.ComponentState)
    assert (obj.component, obj.address, obj.bits, obj.description) == (
        0x79,
        bytes((1, 2, 3, 4)),
        0x0204,
        "7楼02室会议室烟感",
    )
    config = "06 01 01 02 1e " + GO_DESCRIPTION[: 30 * 3 - 1]
    (cfg,) = gb.decode_data(gb.decode_frame(gb.encode_frame(1, 2, _hex(config), sent_at=SENT))).objects
    assert cfg == gb.Configuration(gb.System(1, 2), "7楼02室会议室烟感")


def test_go_codec_captured_frame() -> None:
    """reader_decoder_test.go: a whole frame, written with checksum 0x63 once and 0x68 three times."""
    head = "40 40 00 00 01 01 18 0d 11 16 0a 14 00 00 00 00 00 00 06 05 04 03 02 01 30 00 02 "
    unit = (
        "02 01 01 03 00 d9 00 06 00 02 00 a3 c1 c7 f8 a3 b1 b2 e3 df c8 b2 b8 d7 df c0 c8"
        + " 00" * 15
        + " 30 12 13 01 08 14 "
    )
    frame = gb.decode_frame(_hex(head + unit + "68 23 23"))
    assert frame.destination == bytes.fromhex("060504030201")
    (event,) = events(frame, Panel({}, "number"))
    assert (event.kind, event.address, event.time) == ("fire_alarm", 0x0600D9, datetime.fromtimestamp(1596280728, UTC))
    assert event.detail is not None and "Ａ区１层呷哺走廊" in event.detail
    with pytest.raises(DecodeError) as caught:
        gb.decode_frame(_hex(head + unit + "63 23 23"))
    assert caught.value.reason == "bad_checksum"


# -- damage -----------------------------------------------------------------------------------------
