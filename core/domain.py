"""The closed vocabularies of the domain, defined once.

Premises categories, device types, metric names with their units and physical ranges, panel event
kinds and component types. Registry validation, the wire codec and (later) scoring all read these
tables, so a new device type or metric is added here and nowhere else.

Physical ranges are what a sensor can report at all, not alarm thresholds: a value outside them is
a broken message (dead letter), a value inside them may still be alarming (scoring's policy file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, get_args

ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""Every id that can appear in an MQTT topic (premises, device) and, for uniformity, every other id."""

Category = Literal[
    "high_rise_residential",
    "high_rise_public",
    "commercial_complex",
    "multi_use",
    "warehouse_logistics",
    "elderly_care",
    "social_welfare",
    "small_hotel",
    "rental_housing",
    "school_training",
    "hospital",
    "labour_intensive_factory",
    "market",
    "heritage_building",
    "energy_storage_station",
    "petrochemical",
]
CATEGORIES: Final[tuple[str, ...]] = get_args(Category)

CreditStatus = Literal["trustworthy", "normal", "watchlist", "untrustworthy"]
"""Credit supervision (信用监管): ``trustworthy`` 守信, ``normal``, ``watchlist`` a unit listed as 一般失信
(untrustworthy), ``untrustworthy`` one listed as 严重失信 (seriously untrustworthy), watched most closely."""
CREDIT_STATUSES: Final[tuple[str, ...]] = get_args(CreditStatus)

JurisdictionKind = Literal["city", "district", "fire_station", "grid"]
JURISDICTION_KINDS: Final[tuple[str, ...]] = get_args(JurisdictionKind)

EventKind = Literal[
    "fire_alarm",
    "fault",
    "fault_cleared",
    "supervisory",
    "supervisory_cleared",
    "feedback",
    "disabled",
    "enabled",
    "reset",
    "test",
]
EVENT_KINDS: Final[tuple[str, ...]] = get_args(EventKind)

ComponentType = Literal[
    "smoke_detector",
    "heat_detector",
    "flame_detector",
    "gas_detector",
    "manual_call_point",
    "sprinkler_flow_switch",
    "pressure_switch",
    "fire_pump",
    "smoke_exhaust_fan",
    "fire_door",
    "fire_shutter",
    "sounder",
    "input_output_module",
    "power_supply",
    "panel",
]
COMPONENT_TYPES: Final[tuple[str, ...]] = get_args(ComponentType)

ZoneUse = Literal["ordinary", "kitchen", "boiler_room", "car_park", "ebike_charging"]
"""What a zone of a premises is used for, as far as alarm verification cares: a kitchen's or a boiler
room's temperature rises in ordinary use, so a rise there means less (the policy's
``verification.uses``). A zone the registry does not describe is ``ordinary``."""
ZONE_USES: Final[tuple[str, ...]] = get_args(ZoneUse)


@dataclass(frozen=True, slots=True)
class Metric:
    """A telemetry quantity; its name carries its unit, its range is what a sensor can physically report."""

    name: str
    unit: str
    low: float
    high: float

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ValueError(f"metric {self.name}: low {self.low} must be below high {self.high}")

    def in_range(self, value: float) -> bool:
        """Whether ``value`` is a reading this kind of sensor can produce (NaN and infinities are not)."""
        return self.low <= value <= self.high


METRICS: Final[dict[str, Metric]] = {
    m.name: m
    for m in (
        Metric("residual_current_ma", "mA", 0.0, 10_000.0),
        Metric("cable_temp_c", "°C", -40.0, 300.0),
        Metric("current_a", "A", 0.0, 5_000.0),
        Metric("voltage_v", "V", 0.0, 1_000.0),
        Metric("water_pressure_mpa", "MPa", -0.1, 5.0),
        Metric("tank_level_m", "m", 0.0, 100.0),
        Metric("temperature_c", "°C", -50.0, 1_200.0),
        Metric("smoke_obscuration_pct_m", "%/m", 0.0, 100.0),
        Metric("co_ppm", "ppm", 0.0, 10_000.0),
        Metric("gas_lel_pct", "%LEL", 0.0, 100.0),
        Metric("charging_current_a", "A", 0.0, 200.0),
        Metric("battery_pct", "%", 0.0, 100.0),
    )
}

Channel = Literal["telemetry", "event", "status", "gb26875"]
CHANNELS: Final[tuple[str, ...]] = get_args(Channel)


@dataclass(frozen=True, slots=True)
class DeviceType:
    """What a kind of device may send, and how often it reports when nobody configured otherwise."""

    name: str
    description: str
    channels: frozenset[str]
    metrics: frozenset[str]
    event_kinds: frozenset[str]
    default_interval_s: int

    def __post_init__(self) -> None:
        unknown = (
            (self.channels - set(CHANNELS)) | (self.metrics - METRICS.keys()) | (self.event_kinds - set(EVENT_KINDS))
        )
        if unknown:
            raise ValueError(f"device type {self.name}: unknown channels/metrics/events {sorted(unknown)}")


_PANEL_EVENTS = frozenset(EVENT_KINDS)
_ALARM_EVENTS = frozenset({"fire_alarm", "fault", "fault_cleared", "test", "reset"})

DEVICE_TYPES: Final[dict[str, DeviceType]] = {
    t.name: t
    for t in (
        DeviceType(
            "uitd",
            "user information transmission device (用户信息传输装置) relaying a fire alarm control panel",
            frozenset({"event", "status", "gb26875"}),
            # Analog values of the panel's points, from GB/T 26875.3 frames (type 3), when the registry's
            # point list maps the point to no device of its own.
            frozenset(
                {
                    "water_pressure_mpa",
                    "tank_level_m",
                    "temperature_c",
                    "cable_temp_c",
                    "gas_lel_pct",
                    "voltage_v",
                    "current_a",
                    "residual_current_ma",
                }
            ),
            _PANEL_EVENTS,
            60,
        ),
        DeviceType(
            "electrical_monitor",
            "electrical fire monitor (电气火灾监控) on one distribution-board circuit",
            frozenset({"telemetry", "event", "status"}),
            frozenset({"residual_current_ma", "cable_temp_c", "current_a", "voltage_v"}),
            _ALARM_EVENTS,
            60,
        ),
        DeviceType(
            "sprinkler_pressure",
            "water pressure at the sprinkler system's most unfavourable point",
            frozenset({"telemetry", "status"}),
            frozenset({"water_pressure_mpa", "battery_pct"}),
            frozenset(),
            300,
        ),
        DeviceType(
            "hydrant_pressure",
            "water pressure at a fire hydrant outlet",
            frozenset({"telemetry", "status"}),
            frozenset({"water_pressure_mpa", "battery_pct"}),
            frozenset(),
            300,
        ),
        DeviceType(
            "tank_level",
            "fire water tank or pool level",
            frozenset({"telemetry", "status"}),
            frozenset({"tank_level_m", "battery_pct"}),
            frozenset(),
            600,
        ),
        DeviceType(
            "smoke_alarm",
            "independent (stand-alone, networked) smoke alarm",
            frozenset({"telemetry", "event", "status"}),
            frozenset({"smoke_obscuration_pct_m", "temperature_c", "battery_pct"}),
            _ALARM_EVENTS,
            3_600,
        ),
        DeviceType(
            "gas_detector",
            "combustible gas / CO detector in a kitchen or market",
            frozenset({"telemetry", "event", "status"}),
            frozenset({"gas_lel_pct", "co_ppm", "battery_pct"}),
            _ALARM_EVENTS,
            300,
        ),
        DeviceType(
            "ebike_charger",
            "monitored e-bike charging point or socket",
            frozenset({"telemetry", "event", "status"}),
            frozenset({"charging_current_a", "voltage_v", "temperature_c"}),
            _ALARM_EVENTS,
            60,
        ),
        DeviceType(
            "temperature_sensor",
            "stand-alone temperature (heat) sensor",
            frozenset({"telemetry", "status"}),
            frozenset({"temperature_c", "battery_pct"}),
            frozenset(),
            300,
        ),
    )
}
DEVICE_TYPE_NAMES: Final[tuple[str, ...]] = tuple(DEVICE_TYPES)
