"""The standard's numbers: information types, system and component types, analog kinds, the meaning
of status and operation bits, and how vendors split a component's address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

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
