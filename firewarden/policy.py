"""The policy file: every number a fire authority may tune (thresholds, windows, tiers), with defaults.

Defaults come from docs/policy.md, which cites the standard behind each (DOMAIN.md's table). A policy
file is TOML; every section and field is optional, and a field it leaves out keeps its default.
Rules are replaced as a whole list when the file gives ``[[rules]]``, so the file shows every rule
in force. Unknown fields are refused with their place in the file, as a typo in a threshold must
never silently fall back to a default.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from firewarden.domain import DEVICE_TYPE_NAMES, METRICS
from firewarden.errors import SettingsError

SignalKind = Literal["trouble", "supervisory", "hazard_candidate"]
"""What a breach means: the fire system is faulty, abnormal, or the building may be in danger."""

Seconds = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThresholdRule(_Section):
    """A metric beyond a limit for at least ``min_duration_s`` raises a signal; it clears past the margin.

    The limit is ``limit``, or the device's registry setpoint named ``setpoint`` when it has one
    (``limit`` then being the fallback). ``clear_margin`` is the hysteresis: a ``below`` rule clears
    only at ``limit + clear_margin``, an ``above`` rule only at ``limit - clear_margin``.
    """

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    kind: SignalKind
    metric: str
    direction: Literal["below", "above"]
    limit: float
    setpoint: str | None = None
    clear_margin: Seconds = 0.0
    min_duration_s: Seconds = 0.0
    device_types: tuple[str, ...] = ()
    repeats: Annotated[int, Field(ge=1)] = 1
    repeat_window_s: Positive = 86_400.0

    @model_validator(mode="after")
    def _known_names(self) -> ThresholdRule:
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}; valid metrics are {', '.join(METRICS)}")
        unknown = [t for t in self.device_types if t not in DEVICE_TYPE_NAMES]
        if unknown:
            raise ValueError(f"unknown device types {unknown}; valid types are {', '.join(DEVICE_TYPE_NAMES)}")
        return self

    def applies_to(self, device_type: str) -> bool:
        return not self.device_types or device_type in self.device_types


def _default_rules() -> tuple[ThresholdRule, ...]:
    r = ThresholdRule
    return (
        r(name="low_sprinkler_pressure", kind="hazard_candidate", metric="water_pressure_mpa", direction="below",
          limit=0.05, setpoint="water_pressure_mpa", clear_margin=0.01, min_duration_s=600,
          device_types=("sprinkler_pressure",)),
        r(name="low_hydrant_pressure", kind="hazard_candidate", metric="water_pressure_mpa", direction="below",
          limit=0.05, setpoint="water_pressure_mpa", clear_margin=0.01, min_duration_s=600,
          device_types=("hydrant_pressure",)),
        r(name="hydrant_over_pressure", kind="trouble", metric="water_pressure_mpa", direction="above",
          limit=0.70, clear_margin=0.05, min_duration_s=600, device_types=("hydrant_pressure",)),
        r(name="low_tank_level", kind="hazard_candidate", metric="tank_level_m", direction="below",
          limit=1.0, setpoint="tank_level_m", clear_margin=0.1, min_duration_s=600),
        r(name="residual_current", kind="hazard_candidate", metric="residual_current_ma", direction="above",
          limit=300.0, setpoint="residual_current_ma", clear_margin=50.0, min_duration_s=0),
        r(name="residual_current_repeated", kind="hazard_candidate", metric="residual_current_ma",
          direction="above", limit=300.0, setpoint="residual_current_ma", clear_margin=50.0, repeats=3,
          repeat_window_s=86_400),
        r(name="cable_over_temperature", kind="hazard_candidate", metric="cable_temp_c", direction="above",
          limit=70.0, setpoint="cable_temp_c", clear_margin=5.0, min_duration_s=60),
        r(name="ebike_over_current", kind="hazard_candidate", metric="charging_current_a", direction="above",
          limit=6.0, setpoint="charging_current_a", clear_margin=1.0, min_duration_s=30),
        r(name="gas_leak", kind="hazard_candidate", metric="gas_lel_pct", direction="above", limit=20.0,
          clear_margin=5.0, min_duration_s=0),
        r(name="low_battery", kind="trouble", metric="battery_pct", direction="below", limit=20.0,
          clear_margin=5.0, min_duration_s=0),
    )  # fmt: skip


class DevicesPolicy(_Section):
    offline_after_intervals: Positive = 3.0
    """A device is offline after this many of its expected reporting intervals without a message."""


class VerificationPolicy(_Section):
    window_s: Positive = 180.0
    """How long a single-detector alarm waits for corroboration (NFPA 72 positive alarm sequence: 180 s)."""
    heat_fixed_c: float = 57.0
    """A temperature reading at or above this confirms a detector in the same zone (fixed-temperature heat)."""
    heat_rise_c_per_min: Positive = 8.3
    """A rise at least this fast confirms a detector in the same zone (rate-of-rise heat detection)."""
    false_alarm_history: Annotated[int, Field(ge=1)] = 3
    """This many unconfirmed alarms within ``history_days`` make a premises' single alarms nuisance-likely."""
    history_days: Positive = 30.0
    episode_idle_s: Positive = 3600.0
    """A confirmed episode with no further alarm in its zone for this long ends (independent alarms never reset)."""
    heat_device_types: tuple[str, ...] = ("temperature_sensor", "smoke_alarm")
    """Devices whose ``temperature_c`` is the room's: an e-bike charger's is its own, not the room's."""
    test_window_max_s: Positive = 4 * 3600.0
    """A test window a panel opened and never reset closes by itself after this long."""


class RiskPolicy(_Section):
    red: Annotated[float, Field(gt=0, le=100)] = 60.0
    orange: Annotated[float, Field(gt=0, le=100)] = 35.0
    yellow: Annotated[float, Field(gt=0, le=100)] = 15.0
    hysteresis: Annotated[float, Field(ge=0, le=50)] = 5.0
    """A premises leaves a tier downward only once its score is this far below the tier's floor."""
    report_change: Annotated[float, Field(ge=0, le=100)] = 2.0
    """A new score is published when it moved at least this much, or when the tier changed."""
    top_factors: Annotated[int, Field(ge=1, le=20)] = 3

    @model_validator(mode="after")
    def _ordered(self) -> RiskPolicy:
        if not self.red > self.orange > self.yellow:
            raise ValueError(
                f"tier floors must fall red > orange > yellow, got {self.red}, {self.orange}, {self.yellow}"
            )
        return self


class AnomalyPolicy(_Section):
    window_readings: Annotated[int, Field(ge=4, le=1000)] = 10
    """Readings per feature window of one device's metric (tumbling)."""
    consecutive: Annotated[int, Field(ge=1, le=100)] = 2
    """Windows in a row that must agree before an anomaly is raised or cleared."""


class Policy(_Section):
    """The whole policy; ``Policy()`` is the documented default."""

    devices: DevicesPolicy = DevicesPolicy()
    rules: tuple[ThresholdRule, ...] = Field(default_factory=_default_rules)
    verification: VerificationPolicy = VerificationPolicy()
    risk: RiskPolicy = RiskPolicy()
    anomaly: AnomalyPolicy = AnomalyPolicy()

    @model_validator(mode="after")
    def _unique_rule_names(self) -> Policy:
        names = [rule.name for rule in self.rules]
        doubles = sorted({n for n in names if names.count(n) > 1})
        if doubles:
            raise ValueError(f"rule names must be unique, repeated: {', '.join(doubles)}")
        return self


def load_policy(path: Path | None) -> Policy:
    """The policy in ``path`` over the defaults; the defaults alone when ``path`` is None.

    Raises :class:`SettingsError` naming the file, the field and the problem.
    """
    if path is None:
        return Policy()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"policy file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"policy file {path} cannot be read as TOML: {exc}") from None
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in error['loc']) or '(top level)'}: {error['msg'].removeprefix('Value error, ')}"
            for error in exc.errors()
        ]
        raise SettingsError(f"policy file {path}:\n  " + "\n  ".join(problems)) from None
