"""The scenario kinds: incidents, nuisance alarms, device faults and transport faults (those in
:mod:`simulators.scenarios.transport`), and the table of them all, :data:`KINDS`.

Each kind names what it can target and how it changes the run, and opens one ground-truth record
(malformed input: one per injected message) saying what a correct pipeline should conclude:

| expected | meaning |
|---|---|
| ``confirmed_fire`` | a real fire: alarms from more than one point, heat, water flow |
| ``hazard`` | a dangerous condition from telemetry (overheating, low water, over-current) |
| ``supervisory`` | an abnormal state of the fire system itself (valve closed) |
| ``trouble`` | a fault of the fire system (pump failure) |
| ``nuisance`` | an alarm that is not a fire (cooking, dust, flapping detector) |
| ``test`` | a maintenance test window with alarms inside it |
| ``device_fault`` | the device, not the building, is wrong (offline, stuck, drift, battery, clock) |
| ``stored_once`` / ``accepted`` | transport noise a correct ingest absorbs (duplicates, reordering) |
| ``dead_letter:<reason>`` | input a correct ingest refuses, with that reason |
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Final

from core.domain import DEVICE_TYPES
from simulators.engine import DeviceState, GroundTruth, Overlay, Simulation
from simulators.errors import ScenarioError
from simulators.panel import Point
from simulators.physics import Metrics, PressureGauge, PressureModel, stable_seed, storey
from simulators.scenarios.context import Apply, Context, Kind, has, ramp
from simulators.scenarios.transport import malformed, oversize, stream_fault, topic_mismatch, unknown_device

# --- incidents ----------------------------------------------------------------------------------------


def _fire(ctx: Context) -> None:
    if ctx.target.device.type == "uitd":
        _panel_fire(ctx)
    else:
        _smoke_alarm_fire(ctx)


def _fire_eligible(sim: Simulation, s: DeviceState) -> bool:
    if s.device.type == "uitd":
        return True
    uitd = any(o.device.type == "uitd" for o in sim.by_premises[s.premises.id])
    return s.device.type == "smoke_alarm" and not uitd


def _panel_fire(ctx: Context) -> None:
    rng, sim, uitd = ctx.rng, ctx.sim, ctx.target
    zones = sorted({p.zone for p in uitd.panel if p.type == "smoke_detector"})
    zone = rng.choice(zones)
    in_zone = [p for p in uitd.panel if p.zone == zone]
    smokes = [p for p in in_zone if p.type == "smoke_detector"]
    truth = ctx.truth("fire", "incident", "confirmed_fire", device_ids=[uitd.device.id], zone=zone)
    t = ctx.start
    sim.event(t, uitd, "fire_alarm", smokes[0], truth=truth)
    for point in smokes[1 : 1 + rng.randint(1, 3)]:
        t += rng.uniform(20, 90)
        sim.event(t, uitd, "fire_alarm", point, truth=truth)
    for point in [p for p in in_zone if p.type == "heat_detector"][:1]:
        sim.event(ctx.start + rng.uniform(90, 240), uitd, "fire_alarm", point, truth=truth)
    flow_at = ctx.start + rng.uniform(120, 360)
    for point in [p for p in in_zone if p.type == "sprinkler_flow_switch"]:
        sim.event(flow_at, uitd, "fire_alarm", point, detail="water flow", truth=truth)
        pumps = [p for p in uitd.panel if p.type == "fire_pump"]
        pump_at = flow_at + rng.uniform(10, 60)
        sim.event(pump_at, uitd, "feedback", pumps[0], detail="sprinkler pump started", truth=truth)
        for gauge in ctx.siblings("sprinkler_pressure"):
            truth.device_ids.append(gauge.device.id)
            gauge.overlays.append(Overlay(flow_at, ctx.end, _pressure_during_flow(pump_at), truth=truth))
            sim.burst(gauge, flow_at + 5, ctx.end, 60)
    for fan in [p for p in uitd.panel if p.type in ("smoke_exhaust_fan", "sounder") and p.zone in (zone, "B1", "1F")][
        :2
    ]:
        sim.event(
            ctx.start + rng.uniform(30, 120), uitd, "feedback", fan, detail="linked equipment started", truth=truth
        )
    _heat_up(ctx, [s for s in ctx.siblings("temperature_sensor", "smoke_alarm") if s.device.zone == zone], truth)


def _pressure_during_flow(pump_at: float) -> Callable[[float, Metrics], None]:
    def change(t: float, m: Metrics) -> None:
        if "water_pressure_mpa" in m:
            m["water_pressure_mpa"] = round(m["water_pressure_mpa"] - (0.12 if t < pump_at else 0.04), 3)

    return change


def _heat_up(ctx: Context, devices: list[DeviceState], truth: GroundTruth, delay: float = 60.0) -> None:
    for state in devices:
        truth.device_ids.append(state.device.id)
        begins = ctx.start + delay
        ctx.sim.burst(state, begins, ctx.end, 60)

        def change(t: float, m: Metrics, begins: float = begins) -> None:
            rise = max(0.0, t - begins)
            if "temperature_c" in m:
                m["temperature_c"] = round(m["temperature_c"] + min(400.0, 1.5 * rise), 1)
            if "smoke_obscuration_pct_m" in m:
                m["smoke_obscuration_pct_m"] = round(m["smoke_obscuration_pct_m"] + min(40.0, 0.2 * (t - ctx.start)), 2)

        state.overlays.append(Overlay(ctx.start, ctx.end, change, truth=truth))


def _smoke_alarm_fire(ctx: Context) -> None:
    first = ctx.target
    truth = ctx.truth("fire", "incident", "confirmed_fire", device_ids=[], zone=first.device.zone)
    alarms = ctx.siblings("smoke_alarm")
    floors = {s.device.zone for s in alarms}
    near = [s for s in alarms if s is not first and s.device.zone in floors][: ctx.rng.randint(1, 3)]
    _heat_up(ctx, [first, *near], truth, delay=0.0)
    ctx.sim.event(ctx.start + ctx.rng.uniform(5, 30), first, "fire_alarm", _own_point(first), truth=truth)
    for other in near:
        ctx.sim.event(ctx.start + ctx.rng.uniform(60, 300), other, "fire_alarm", _own_point(other), truth=truth)


def _own_point(state: DeviceState) -> Point:
    """An independent alarm reports itself as its own single point."""
    kind = "gas_detector" if state.device.type == "gas_detector" else "smoke_detector"
    return Point(kind, 0, 0, state.device.zone or "1F")


def _electrical_overheating(ctx: Context) -> None:
    setpoint = ctx.target.device.setpoints.get("residual_current_ma", 300.0)
    extra_ma = setpoint * ctx.rng.uniform(1.3, 2.5)
    extra_c = ctx.rng.uniform(45, 70)
    truth = ctx.truth(
        "electrical_overheating",
        "incident",
        "hazard",
        device_ids=[ctx.target.device.id],
        zone=ctx.target.device.zone,
        details={"setpoint_ma": setpoint},
    )

    def change(t: float, m: Metrics) -> None:
        k = ramp(ctx, t) ** 1.5  # slow at first, then faster: insulation damage feeds itself
        m["residual_current_ma"] = round(m["residual_current_ma"] + k * extra_ma)
        m["cable_temp_c"] = round(m["cable_temp_c"] + k * extra_c, 1)

    ctx.target.overlays.append(Overlay(ctx.start, ctx.end, change, truth=truth))


def _set_pressure(level: float) -> Callable[[float, Metrics], None]:
    def change(t: float, m: Metrics) -> None:
        m["water_pressure_mpa"] = level

    return change


def _valve_closed(ctx: Context) -> None:
    truth = ctx.truth(
        "sprinkler_valve_closed",
        "incident",
        "supervisory",
        device_ids=[ctx.target.device.id],
        zone=ctx.target.device.zone,
    )
    ctx.target.overlays.append(
        Overlay(ctx.start, ctx.end, _set_pressure(round(ctx.rng.uniform(0.0, 0.03), 3)), truth=truth)
    )
    for uitd in ctx.siblings("uitd"):
        valve = next(p for p in uitd.panel if p.type == "pressure_switch")
        truth.device_ids.append(uitd.device.id)
        ctx.sim.event(
            ctx.start + ctx.rng.uniform(1, 10), uitd, "supervisory", valve, detail="signal valve closed", truth=truth
        )
        ctx.sim.event(ctx.end, uitd, "supervisory_cleared", valve, detail="signal valve open", truth=truth)


def _pipe_leak(ctx: Context) -> None:
    """A leak the jockey pump cannot keep up with: its water system stops being restored and loses
    pressure faster, every gauge on it (each at its own static head) alike."""
    system = ctx.water_system()
    truth = ctx.truth(
        "pipe_leak", "incident", "hazard", device_ids=[g.device.id for g in system], zone=ctx.target.device.zone
    )
    _losing(ctx, system, ctx.params.get("mpa_per_hour", ctx.rng.uniform(0.08, 0.25)), truth)


def _pump_failure(ctx: Context) -> None:
    uitd = ctx.target
    gauges = ctx.siblings("sprinkler_pressure", "hydrant_pressure")
    truth = ctx.truth(
        "pump_failure", "incident", "trouble", device_ids=[uitd.device.id] + [g.device.id for g in gauges]
    )
    pump = next(p for p in uitd.panel if p.type == "fire_pump")
    ctx.sim.event(ctx.start, uitd, "fault", pump, detail="pump failed to start", truth=truth)
    falling: set[str] = set()
    for gauge in gauges:  # no water system is restored; each loses pressure at its own rate
        if gauge.device.id not in falling:
            system = ctx.water_system(gauge)
            falling |= {same.device.id for same in system}
            _losing(ctx, system, ctx.rng.uniform(0.03, 0.08), truth)


def _losing(ctx: Context, system: list[DeviceState], per_hour: float, truth: GroundTruth) -> None:
    """From the scenario's start to its end, nothing restores the water system the gauges measure (its
    pump does not start, or cannot keep up) and it loses ``per_hour`` MPa an hour more: the physics,
    so every gauge on it reads the same fall, with no refill. The gauges carry the ground truth."""
    model = system[0].model
    physics = model.system if isinstance(model, PressureGauge) else model
    if not isinstance(physics, PressureModel):
        raise ScenarioError(f"{system[0].device.id} measures no water pressure")
    saved: list[float] = []

    def begin(t: float) -> None:
        physics.sample(t)  # the system as it stood, before the loss
        saved[:] = [physics.band, physics.leak_per_h]
        physics.band, physics.leak_per_h = math.inf, physics.leak_per_h + per_hour

    def end(t: float) -> None:
        physics.sample(t)
        physics.band, physics.leak_per_h = saved

    ctx.sim.at(ctx.start, begin)
    ctx.sim.at(ctx.end, end)
    for gauge in system:
        gauge.overlays.append(Overlay(ctx.start, ctx.end, truth=truth))


def _tank_drain(ctx: Context) -> None:
    truth = ctx.truth("tank_drain", "incident", "hazard", device_ids=[ctx.target.device.id])
    rate = ctx.params.get("m_per_hour", ctx.rng.uniform(0.3, 1.0))

    def change(t: float, m: Metrics) -> None:
        m["tank_level_m"] = round(max(0.05, m["tank_level_m"] - rate * (t - ctx.start) / 3600), 2)

    ctx.target.overlays.append(Overlay(ctx.start, ctx.end, change, truth=truth))


def _ebike_overcurrent(ctx: Context) -> None:
    truth = ctx.truth(
        "ebike_overcurrent", "incident", "hazard", device_ids=[ctx.target.device.id], zone=ctx.target.device.zone
    )
    amps = ctx.rng.uniform(8, 15)

    def change(t: float, m: Metrics) -> None:
        m["charging_current_a"] = round(amps + ctx.rng.gauss(0, 0.2), 2)
        m["temperature_c"] = round(m["temperature_c"] + min(60.0, 0.05 * (t - ctx.start)), 1)

    ctx.target.overlays.append(Overlay(ctx.start, ctx.end, change, truth=truth))
    ctx.sim.burst(ctx.target, ctx.start + 1, ctx.end, 30)  # monitored sockets report within 30 s (GB 31252)
    ctx.sim.event(
        ctx.start + ctx.rng.uniform(5, 30), ctx.target, "fault", None, detail="charging over-current", truth=truth
    )


# --- nuisance -----------------------------------------------------------------------------------------


def _cooking(ctx: Context) -> None:
    state = ctx.target
    if state.device.type == "uitd":
        point = ctx.rng.choice([p for p in state.panel if p.type == "smoke_detector"])
        truth = ctx.truth("cooking_nuisance", "nuisance", "nuisance", device_ids=[state.device.id], zone=point.zone)
        ctx.sim.event(ctx.start, state, "fire_alarm", point, detail=None, truth=truth)
        ctx.sim.event(ctx.start + ctx.rng.uniform(120, 360), state, "reset", None, truth=truth)
        return
    truth = ctx.truth("cooking_nuisance", "nuisance", "nuisance", device_ids=[state.device.id], zone=state.device.zone)

    def change(t: float, m: Metrics) -> None:
        if "smoke_obscuration_pct_m" in m:
            m["smoke_obscuration_pct_m"] = round(m["smoke_obscuration_pct_m"] + 4.0, 2)

    state.overlays.append(Overlay(ctx.start, ctx.start + 300, change, truth=truth))
    ctx.sim.burst(state, ctx.start + 1, ctx.start + 300, 60)
    ctx.sim.event(ctx.start, state, "fire_alarm", _own_point(state), truth=truth)


def _maintenance_test(ctx: Context) -> None:
    uitd = ctx.target
    truth = ctx.truth("maintenance_test", "nuisance", "test", device_ids=[uitd.device.id])
    panel = next(p for p in uitd.panel if p.type == "panel")
    ctx.sim.event(ctx.start, uitd, "test", panel, detail="maintenance test begins", truth=truth)
    detectors = [p for p in uitd.panel if p.type in ("smoke_detector", "heat_detector", "manual_call_point")]
    for point in ctx.rng.sample(detectors, min(len(detectors), ctx.rng.randint(2, 5))):
        ctx.sim.event(ctx.start + ctx.rng.uniform(0.1, 0.9) * ctx.duration, uitd, "fire_alarm", point, truth=truth)
    ctx.sim.event(ctx.end, uitd, "reset", panel, detail="maintenance test ends", truth=truth)


def _flapping(ctx: Context) -> None:
    uitd = ctx.target
    point = ctx.rng.choice([p for p in uitd.panel if p.type == "smoke_detector"])
    truth = ctx.truth(
        "flapping_detector",
        "nuisance",
        "nuisance",
        device_ids=[uitd.device.id],
        zone=point.zone,
        details={"loop": point.loop, "address": point.address},
    )
    t = ctx.start
    while t < ctx.end:
        ctx.sim.event(t, uitd, "fire_alarm", point, truth=truth)
        t += ctx.rng.uniform(20, 90)
        ctx.sim.event(t, uitd, "reset", None, truth=truth)
        t += ctx.rng.uniform(60, 600)


# --- device faults --------------------------------------------------------------------------------------


def _device_fault(name: str, **overlay: object) -> Apply:
    def apply(ctx: Context) -> None:
        truth = ctx.truth(name, "device_fault", "device_fault", device_ids=[ctx.target.device.id])
        ctx.target.overlays.append(Overlay(ctx.start, ctx.end, truth=truth, **overlay))  # type: ignore[arg-type]

    return apply


def _stuck(ctx: Context) -> None:
    truth = ctx.truth("stuck_value", "device_fault", "device_fault", device_ids=[ctx.target.device.id])
    frozen: Metrics = {}

    def change(t: float, m: Metrics) -> None:
        if not frozen:
            frozen.update({k: v for k, v in m.items() if k != "battery_pct"})
        m.update(frozen)

    ctx.target.overlays.append(Overlay(ctx.start, ctx.end, change, truth=truth))


_MAIN_METRIC: Final = {
    "electrical_monitor": ("residual_current_ma", 60.0),
    "sprinkler_pressure": ("water_pressure_mpa", 0.05),
    "hydrant_pressure": ("water_pressure_mpa", 0.05),
    "tank_level": ("tank_level_m", 0.3),
    "smoke_alarm": ("smoke_obscuration_pct_m", 1.0),
    "gas_detector": ("gas_lel_pct", 3.0),
    "temperature_sensor": ("temperature_c", 6.0),
    "ebike_charger": ("temperature_c", 6.0),
}


def _drift(ctx: Context) -> None:
    metric, per_hour = _MAIN_METRIC[ctx.target.device.type]
    per_hour *= ctx.params.get("scale", 1.0) * ctx.rng.choice((-1.0, 1.0))
    truth = ctx.truth(
        "drift",
        "device_fault",
        "device_fault",
        device_ids=[ctx.target.device.id],
        details={"metric": metric, "per_hour": per_hour},
    )

    def change(t: float, m: Metrics) -> None:
        if metric in m:
            m[metric] = m[metric] + per_hour * (t - ctx.start) / 3600

    ctx.target.overlays.append(Overlay(ctx.start, ctx.end, change, truth=truth))


def _low_battery(ctx: Context) -> None:
    state = ctx.target
    truth = ctx.truth("low_battery", "device_fault", "device_fault", device_ids=[state.device.id])

    def drain(t: float) -> None:
        state.model.battery = ctx.rng.uniform(5, 15)
        state.model.battery_loss_per_day = 5.0

    ctx.sim.at(ctx.start, drain)
    state.overlays.append(Overlay(ctx.start, ctx.end, truth=truth))


def _clock_skew(ctx: Context) -> None:
    skew = ctx.params.get("seconds", ctx.rng.choice((-1.0, 1.0)) * ctx.rng.uniform(600, 2 * 86400))
    truth = ctx.truth(
        "clock_skew",
        "device_fault",
        "device_fault",
        device_ids=[ctx.target.device.id],
        details={"skew_s": round(skew, 3)},
    )
    ctx.target.overlays.append(Overlay(ctx.start, ctx.end, skew_s=skew, truth=truth))


# --- background: what panels do on an ordinary day ---------------------------------------------------------

# (opening event, closing event, expected, rate per panel per day, shortest and longest duration in hours)
_BACKGROUND: Final = (
    ("fault", "fault_cleared", "trouble", 0.05, 0.5, 30.0),
    ("disabled", "enabled", "disabled", 0.02, 1.0, 8.0),
    ("supervisory", "supervisory_cleared", "supervisory", 0.01, 0.2, 2.0),
)


def background(sim: Simulation) -> None:
    """Ordinary panel life: faults that clear, points disabled for work, brief supervisory states.

    Each occurrence is a Poisson arrival per panel, recorded in ground truth as category ``background``.
    """
    for state in sorted((s for s in sim.devices.values() if s.device.type == "uitd"), key=lambda s: s.device.id):
        rng = random.Random(stable_seed(sim.seed, "background", state.device.id))
        points = [p for p in state.panel if p.type != "panel"]
        for opening, closing, expected, per_day, shortest_h, longest_h in _BACKGROUND:
            t = sim.start + rng.expovariate(per_day / 86400)
            while t < sim.end:
                point = rng.choice(points)
                end = t + rng.uniform(shortest_h, longest_h) * 3600
                truth = sim.truth(
                    opening,
                    "background",
                    expected,
                    t,
                    end,
                    premises_id=state.premises.id,
                    device_ids=[state.device.id],
                    zone=point.zone,
                )
                sim.event(t, state, opening, point, truth=truth)
                sim.event(end, state, closing, point, truth=truth)
                t += rng.expovariate(per_day / 86400)


# Derived from the device types, so a new type is eligible wherever it fits without an edit here.
_ANY = has(*DEVICE_TYPES)
_TELEMETRY = has(*(name for name, kind in DEVICE_TYPES.items() if "telemetry" in kind.channels))
_BATTERY = has(*(name for name, kind in DEVICE_TYPES.items() if "battery_pct" in kind.metrics))


def _most_unfavourable(sim: Simulation, s: DeviceState) -> bool:
    """A sprinkler gauge at the top of its water system: a closed valve (a signal valve, a branch's
    control valve) cuts it off from the supply, while a gauge at the alarm valve below still reads it."""
    if s.device.type != "sprinkler_pressure":
        return False
    if s.device.water_system is None:
        return True
    floors = s.premises.floors or 1
    same = [
        o
        for o in sim.by_premises[s.premises.id]
        if o.device.type == s.device.type and o.device.water_system == s.device.water_system
    ]
    return all(storey(s.device.zone, floors) >= storey(o.device.zone, floors) for o in same)


def _has_gauges(sim: Simulation, s: DeviceState) -> bool:
    gauges = ("sprinkler_pressure", "hydrant_pressure")
    return s.device.type == "uitd" and any(o.device.type in gauges for o in sim.by_premises[s.premises.id])


KINDS: Final[dict[str, Kind]] = {
    k.name: k
    for k in (
        Kind("fire", "incident", 1800, _fire_eligible, _fire),
        Kind("electrical_overheating", "incident", 7200, has("electrical_monitor"), _electrical_overheating),
        Kind(
            "sprinkler_valve_closed",
            "incident",
            3 * 3600,
            _most_unfavourable,
            _valve_closed,
            needs="a sprinkler gauge at the top of its water system (not one at its alarm valve)",
        ),
        Kind("pipe_leak", "incident", 3 * 3600, has("sprinkler_pressure", "hydrant_pressure"), _pipe_leak),
        Kind("pump_failure", "incident", 4 * 3600, _has_gauges, _pump_failure),
        Kind("tank_drain", "incident", 4 * 3600, has("tank_level"), _tank_drain),
        Kind("ebike_overcurrent", "incident", 1800, has("ebike_charger"), _ebike_overcurrent),
        Kind("cooking_nuisance", "nuisance", 600, has("uitd", "smoke_alarm"), _cooking),
        Kind("maintenance_test", "nuisance", 1800, has("uitd"), _maintenance_test),
        Kind("flapping_detector", "nuisance", 2 * 3600, has("uitd"), _flapping),
        Kind("offline", "device_fault", 2 * 3600, _ANY, _device_fault("offline", silent=True)),
        Kind("stuck_value", "device_fault", 3 * 3600, _TELEMETRY, _stuck),
        Kind("drift", "device_fault", 6 * 3600, _TELEMETRY, _drift),
        Kind("low_battery", "device_fault", 6 * 3600, _BATTERY, _low_battery),
        Kind("clock_skew", "device_fault", 3600, _ANY, _clock_skew),
        Kind(
            "duplicates",
            "transport_fault",
            1800,
            _ANY,
            stream_fault("duplicates", "duplicate", "stored_once", (0.05, 5.0), 0.3),
        ),
        Kind(
            "out_of_order",
            "transport_fault",
            1800,
            _ANY,
            stream_fault("out_of_order", "delay", "accepted", (30.0, 300.0), 0.3),
        ),
        Kind("malformed", "transport_fault", 120, _TELEMETRY, malformed),
        Kind("unknown_device", "transport_fault", 600, _ANY, unknown_device),
        Kind("topic_mismatch", "transport_fault", 600, _TELEMETRY, topic_mismatch),
        Kind("oversize", "transport_fault", 1, _TELEMETRY, oversize),
    )
}


def check_kind(name: str, where: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        raise ScenarioError(f"{where}: field 'kind': unknown kind {name!r}; valid kinds are {', '.join(KINDS)}")
    return kind
