"""The policy's sections for ingest and scoring: what a device may send, threshold rules, devices' silence,
alarm verification (heat classes per zone use), risk tiers and anomaly windows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from core.domain import DEVICE_TYPE_NAMES, METRICS, ZoneUse
from core.policy._section import Positive, Seconds, SignalKind, _Section


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


class IngestPolicy(_Section):
    """What ingest accepts of a device's clock, and how fast one device may send."""

    max_future_s: Seconds = 300.0
    """A message stamped further ahead of its receipt than this is refused (``ts_in_future``)."""
    max_past_s: Seconds = 7 * 86_400.0
    """A message stamped further behind its receipt is refused (``ts_too_old``): a device that buffered
    through an outage still delivers its week. Also how far back a repeated (device_id, seq) is looked up."""
    rate_per_s: Positive = 20.0
    """Messages one device may send per second, sustained; beyond it (and the burst) they are dropped,
    counted and filed as one ``rate_limited`` dead letter per device and summary period. Time is the
    device's own clock or ours, whichever ran faster, so a backlog of old messages is not limited."""
    burst: Annotated[int, Field(ge=1)] = 600
    """Messages one device may send at once above the sustained rate (a panel reporting all its points)."""
    rate_summary_s: Positive = 60.0
    """How often a device that is being limited gets its summary dead letter."""
    oversize_prefix_bytes: Annotated[int, Field(ge=0, le=65_536)] = 4096
    """Of a payload over the wire's size limit, the dead letter keeps this many bytes (with size and SHA-256)."""


class DevicesPolicy(_Section):
    offline_after_intervals: Positive = 3.0
    """A device is offline after this many of its expected reporting intervals without a message."""
    stall_s: Positive = 60.0
    """A premises' clock of receipt that jumps this far at once (no record, and the wall clock held back
    because nothing arrived from anywhere) means the stream stalled (ingest, the broker, the bus or
    scoring was away): the gap is not held against its devices' silence."""


class HeatUse(_Section):
    """How a temperature rise is read in zones of one use (:data:`core.domain.ZoneUse`).

    A field left out is the ordinary zone's (``verification.heat_fixed_c`` and so on). The classes are
    GB 4716-2005 / EN 54-5's: a zone whose temperature rises in ordinary use gets a class with a higher
    static response temperature and no rate-of-rise element (suffix S), as GB 50116-2013 §5.2.6 says
    of places whose temperature changes a lot (不宜选择具有差温特性的探测器)."""

    fixed_c: float | None = None
    """A reading at or above this is heat (the class's lowest static response temperature)."""
    rate_of_rise: bool | None = None
    """Whether a rise counts at all (``false``: static only, class suffix S)."""
    rise_c_per_min: Positive | None = None
    min_rise_c: Positive | None = None
    source: str = ""
    """Where the numbers come from, for whoever reviews the policy."""


def _default_uses() -> dict[ZoneUse, HeatUse]:
    return {
        "kitchen": HeatUse(
            fixed_c=69.0,
            rate_of_rise=False,
            source="GB 50116-2013 §5.2.5-5.2.6 (kitchens: heat detectors, none with a rate-of-rise element); "
            "GB 4716-2005 / EN 54-5 class BS (typical 40 °C, maximum 65 °C, static response 69-85 °C)",
        ),
        "boiler_room": HeatUse(
            fixed_c=84.0,
            rate_of_rise=False,
            source="GB 50116-2013 §5.2.5-5.2.6 (boiler rooms: heat detectors, none with a rate-of-rise element); "
            "GB 4716-2005 / EN 54-5 class CS (typical 55 °C, maximum 80 °C, static response 84-100 °C)",
        ),
    }


@dataclass(frozen=True, slots=True)
class HeatClass:
    """How heat is read in one zone, every field resolved (:meth:`VerificationPolicy.heat_class`)."""

    fixed_c: float
    rate_of_rise: bool
    rise_c_per_min: float
    min_rise_c: float


class VerificationPolicy(_Section):
    window_s: Positive = 180.0
    """How long a single-detector alarm waits for corroboration (NFPA 72 positive alarm sequence: 180 s)."""
    heat_fixed_c: float = 57.0
    """In an ordinary zone, a temperature reading at or above this is heat: UL 521's ordinary 57 °C
    (135 °F), within GB 4716 / EN 54-5 class A1's static response of 54-65 °C."""
    heat_rise_c_per_min: Positive = 8.3
    """In an ordinary zone, a rise at least this fast is heat: the rate-of-rise of NFPA 72 / UL 521
    (15 °F/min), measured over ``heat_rise_window_s``."""
    heat_rise_window_s: Annotated[float, Field(ge=60)] = 60.0
    """The rate of rise is fitted over the readings of this long (at least 60 s), or over the last two
    readings when they are further apart (a robust line through the medians of the first and last thirds)."""
    heat_min_rise_c: Positive = 10.0
    """A rise of at least this between readings, however far apart, is heat: the smallest rise at which
    GB 4716 / EN 54-5 let a class A1R detector respond at 10, 20 or 30 K/min (1 min, 30 s, 20 s)."""
    heat_noise_sd: Positive = 5.0
    """A rise counts only when it exceeds this many standard deviations of the device's own noise
    (learned from its recent reading-to-reading steps) plus one step of its resolution."""
    heat_noise_prior_c: Positive = 0.5
    """A device's noise (standard deviation, °C) until it has shown 16 steps of its own (an estimate from
    fewer is too rough: nine steps of a 1 °C sensor once read as 2 °C)."""
    heat_wait_readings: Annotated[int, Field(ge=1, le=10)] = 2
    """An alarm in a zone whose heat sensor reports slower than ``window_s`` waits for this many of that
    sensor's readings (its first after the alarm may come before the heat has built up) ..."""
    heat_wait_max_s: Positive = 5400.0
    """... but no longer than this after the alarm."""
    uses: dict[ZoneUse, HeatUse] = Field(default_factory=_default_uses)
    """Zone use → how heat is read there; a use not named reads heat as an ordinary zone does."""
    false_alarm_history: Annotated[int, Field(ge=1)] = 3
    """This many unconfirmed alarms within ``history_days`` make a premises' single alarms nuisance-likely."""
    history_days: Positive = 30.0
    episode_idle_s: Positive = 3600.0
    """A confirmed episode with no further alarm in its zone for this long ends (independent alarms never reset)."""
    heat_device_types: tuple[str, ...] = ("temperature_sensor", "smoke_alarm")
    """Devices whose ``temperature_c`` is the room's: an e-bike charger's is its own, not the room's."""
    test_window_max_s: Positive = 4 * 3600.0
    """A test window a panel opened and never reset closes by itself after this long."""

    @model_validator(mode="before")
    @classmethod
    def _use_fields_default(cls, data: Any) -> Any:
        """A use the file gives keeps the default of every field it leaves out; a use it omits keeps its default."""
        if isinstance(data, dict) and isinstance(data.get("uses"), dict):
            defaults = {name: use.model_dump(exclude_defaults=True) for name, use in _default_uses().items()}
            given = {
                name: {**defaults.get(name, {}), **use} if isinstance(use, dict) else use
                for name, use in data["uses"].items()
            }
            data = {**data, "uses": {**defaults, **given}}
        return data

    def heat_class(self, use: str) -> HeatClass:
        """How heat is read in a zone of ``use`` (any string; an unknown one reads as ordinary)."""
        given = self.uses.get(use)  # type: ignore[call-overload]
        ordinary = HeatClass(self.heat_fixed_c, True, self.heat_rise_c_per_min, self.heat_min_rise_c)
        if given is None:
            return ordinary
        return HeatClass(
            ordinary.fixed_c if given.fixed_c is None else given.fixed_c,
            ordinary.rate_of_rise if given.rate_of_rise is None else given.rate_of_rise,
            ordinary.rise_c_per_min if given.rise_c_per_min is None else given.rise_c_per_min,
            ordinary.min_rise_c if given.min_rise_c is None else given.min_rise_c,
        )


class RetrainPolicy(_Section):
    """The closed loop: how often the risk model is retrained on recorded outcomes, on how much, and when
    the challenger replaces the model in use (``firewarden model retrain``, docs/scoring.md)."""

    every_days: Annotated[float, Field(ge=0)] = 7.0
    """How often a retrain is due (0: never by schedule, only ``--force``)."""
    horizon_days: Positive = 90.0
    """A premises-period's outcome: an incident within this long after its first score."""
    max_periods: Annotated[int, Field(ge=100)] = 200_000
    """The most recent premises-periods trained and judged on."""
    held_out_share: Annotated[float, Field(gt=0, lt=1)] = 0.25
    """The newest share of the periods, by time, that both models are judged on (never trained on)."""
    min_outcomes: Annotated[int, Field(ge=5)] = 20
    """Periods with and without an incident each needed in the training part and in the held-out part."""
    margin_auc: Annotated[float, Field(ge=0, le=0.5)] = 0.01
    """The challenger replaces the model in use only with a held-out AUC higher by at least this much."""


class RiskPolicy(_Section):
    red: Annotated[float, Field(gt=0, le=100)] = 60.0
    orange: Annotated[float, Field(gt=0, le=100)] = 35.0
    yellow: Annotated[float, Field(gt=0, le=100)] = 15.0
    hysteresis: Annotated[float, Field(ge=0, le=50)] = 5.0
    """A premises leaves a tier downward only once its score is this far below the tier's floor."""
    report_change: Annotated[float, Field(ge=0, le=100)] = 2.0
    """A new score is published when it moved at least this much, or when the tier changed."""
    top_factors: Annotated[int, Field(ge=1, le=20)] = 3
    fire_history_days: Positive = 365.0
    """Confirmed fires count in the risk inputs for this long (the shipped model was fitted on 365)."""
    hazard_history_days: Positive = 90.0
    """Hazards count in the risk inputs for this long (the shipped model was fitted on 90)."""
    false_alarm_history_days: Positive = 30.0
    """False alarms count in the risk inputs for this long (kept at least ``verification.history_days``)."""
    self_checks_recorded: bool = True
    """The units record their self-checks in Firewarden (the portal). False, for a centre whose units keep
    them elsewhere: the risk model reads no self-check as overdue (``self_check_overdue_share`` 0), rather
    than every unit as never checking."""
    retrain: RetrainPolicy = RetrainPolicy()

    @model_validator(mode="after")
    def _ordered(self) -> RiskPolicy:
        if not self.red > self.orange > self.yellow:
            raise ValueError(
                f"tier floors must fall red > orange > yellow, got {self.red}, {self.orange}, {self.yellow}"
            )
        return self


class GaugeSpec(_Section):
    """A water-system gauge metric judged against its own device's physics (:mod:`scoring.gauges`)."""

    metric: str
    drift_per_h: Positive
    """The smallest drift to catch, in the metric's unit per hour (its allowance is 20 % of it)."""
    fast_loss_per_h: Positive
    """Before two refills are learned, a fall faster than this is taken for a real loss (a leak, a
    pump that does not start), the threshold rules' to raise, not a drift."""
    impairment: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    """The signal raised when the system stops restoring itself (no refill, the reading below the
    learned cut-in)."""

    @model_validator(mode="after")
    def _known_metric(self) -> GaugeSpec:
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}; valid metrics are {', '.join(METRICS)}")
        return self


def _default_gauges() -> tuple[GaugeSpec, ...]:
    # GB 50084 / GB 50974: the jockey pump holds a wet system's pressure within its band (a few
    # 0.01 MPa); 0.005 MPa/h is the smallest drift the evaluation asks for. A real loss the pump cannot
    # hold (a leak, a pump that does not start) falls faster than 0.02 MPa/h in the simulators' faults.
    return (
        GaugeSpec(
            metric="water_pressure_mpa",
            drift_per_h=0.005,
            fast_loss_per_h=0.02,
            impairment="pressure_not_restored",
        ),
        GaugeSpec(metric="tank_level_m", drift_per_h=0.01, fast_loss_per_h=0.05, impairment="tank_not_refilling"),
    )


class AnomalyPolicy(_Section):
    window_readings: Annotated[int, Field(ge=4, le=1000)] = 10
    """A feature window spans this many of the device's expected report intervals (tumbling, in time)."""
    min_readings: Annotated[int, Field(ge=3, le=1000)] = 4
    """Readings a window needs to be judged (a device reporting far slower than expected has fewer)."""
    consecutive: Annotated[int, Field(ge=1, le=100)] = 2
    """Windows in a row that must agree before an anomaly is raised or cleared."""
    drift_hold_s: Annotated[float, Field(ge=0)] = 10_800.0
    """How long windows in a row must say ``sensor_drift`` before it is raised (at least ``consecutive``)."""
    gauges: tuple[GaugeSpec, ...] = Field(default_factory=_default_gauges)
    """Metrics judged per device by :mod:`scoring.gauges` instead of the pooled envelope."""
    stuck_false_per_day: Annotated[float, Field(gt=0, le=1)] = 1e-4
    """A gauge's false ``sensor_stuck`` budget per device and day (spread over its readings)."""
    drift_z: Annotated[float, Field(ge=2, le=20)] = 5.0
    """Standard errors a gauge's residual rate must stand beyond its allowance to count as drift."""
    gauge_learn_s: Annotated[float, Field(ge=3600)] = 86_400.0
    """Seconds of a gauge's readings between refills learned before it is judged for drift."""

    def gauge(self, metric: str) -> GaugeSpec | None:
        return next((g for g in self.gauges if g.metric == metric), None)
