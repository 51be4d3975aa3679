"""The simulation stream and every scenario kind: the signals each promises, and its ground truth."""

from __future__ import annotations

import contextlib
import io
import itertools
import statistics
from collections import defaultdict
from dataclasses import dataclass

import msgspec
import pytest

from core.registry import RegistryFile
from core.wire import DecodeError, Event, Telemetry, WireMessage, decode
from simulators.engine import GroundTruth, Outgoing, Simulation, seq_base
from simulators.scenarios import KINDS, Scenario, ScenarioError, apply_scenario, background, write_ground_truth
from tests.simulators.conftest import START

HOURS = 3600.0


@dataclass
class Run:
    sim: Simulation
    messages: list[Outgoing]

    def decoded(self) -> list[tuple[Outgoing, WireMessage]]:
        out = []
        for m in self.messages:
            with contextlib.suppress(DecodeError):
                out.append((m, decode(m.topic, m.payload)))
        return out

    def truth(self, kind: str) -> GroundTruth:
        found = [t for t in self.sim.truths if t.kind == kind]
        assert len(found) == 1, f"expected one {kind} record, got {len(found)}"
        return found[0]

    def carried(self, truth: GroundTruth) -> list[tuple[Outgoing, WireMessage]]:
        wanted = set(truth.stream_indices)
        return [(m, w) for m, w in self.decoded() if m.index in wanted]

    def telemetry(self, device_id: str, metric: str, start: float, end: float) -> list[float]:
        return [
            w.payload.metrics[metric]
            for m, w in self.decoded()
            if w.device_id == device_id
            and isinstance(w.payload, Telemetry)
            and start <= m.at < end
            and metric in w.payload.metrics
        ]


def simulate(fleet: RegistryFile, scenario: dict[str, object], *, seed: int = 1, hours: float = 4.0) -> Run:
    sim = Simulation(fleet, seed=seed, start=START, duration=hours * HOURS)
    apply_scenario(sim, Scenario.model_validate(scenario))
    return Run(sim, list(sim.messages()))


def one(fleet: RegistryFile, kind: str, **event: object) -> Run:
    return simulate(fleet, {"events": [{"kind": kind, "at": "30m", **event}]})


def events(pairs: list[tuple[Outgoing, WireMessage]]) -> list[Event]:
    return [w.payload for _, w in pairs if isinstance(w.payload, Event)]


# --- the stream as a whole ------------------------------------------------------------------------------


def _bytes(run: Run) -> bytes:
    gt = io.BytesIO()
    write_ground_truth(run.sim.truths, gt)
    return b"".join(m.topic.encode() + b"\0" + m.payload + b"\n" for m in run.messages) + gt.getvalue()


def test_same_seed_identical_bytes_other_seed_different(fleet: RegistryFile) -> None:
    scenario = {"random": {name: 1 for name in KINDS}}
    first, again = simulate(fleet, scenario, hours=2), simulate(fleet, scenario, hours=2)
    other = simulate(fleet, scenario, seed=2, hours=2)
    assert _bytes(first) == _bytes(again)
    assert _bytes(first) != _bytes(other)


def test_a_quiet_run_is_valid_in_order_and_complete(fleet: RegistryFile) -> None:
    run = simulate(fleet, {}, hours=2)
    assert [m.index for m in run.messages] == list(range(len(run.messages)))
    assert all(a.at <= b.at for a, b in zip(run.messages, run.messages[1:], strict=False))
    decoded = run.decoded()
    assert len(decoded) == len(run.messages)  # nothing malformed without a transport-fault scenario
    seqs: dict[str, list[int]] = defaultdict(list)
    for _, w in decoded:
        assert w.seq is not None
        seqs[w.device_id].append(w.seq)
    assert set(seqs) == {d.id for d in fleet.devices}  # every device reported
    first = seq_base(START) + 1  # a run's devices count on from its start in milliseconds
    assert all(s == list(range(first, first + len(s))) for s in seqs.values())  # no gap, no reordering


def test_background_panel_life_is_recorded(fleet: RegistryFile) -> None:
    sim = Simulation(fleet, seed=3, start=START, duration=20 * 86400)
    background(sim)
    kinds = {t.kind for t in sim.truths}
    assert kinds == {"fault", "disabled", "supervisory"}
    assert all(t.category == "background" for t in sim.truths)


# --- incidents --------------------------------------------------------------------------------------------


def test_fire_on_a_panel_spreads_and_starts_the_pump(fleet: RegistryFile) -> None:
    uitd = next(d for d in fleet.devices if d.type == "uitd")
    run = one(fleet, "fire", device=uitd.id)
    truth = run.truth("fire")
    assert (truth.category, truth.expected, truth.zone) == ("incident", "confirmed_fire", truth.zone)
    fired = events(run.carried(truth))
    alarms = [e for e in fired if e.kind == "fire_alarm"]
    smoke = {
        (e.component.loop, e.component.address) for e in alarms if e.component and e.component.type == "smoke_detector"
    }
    assert len(smoke) >= 2, "a real fire reaches more than one detector"
    assert all(e.component is None or e.component.zone == truth.zone for e in alarms)
    assert (fired[0].kind, fired[0].component and fired[0].component.type) == ("fire_alarm", "smoke_detector")
    assert any(e.kind == "feedback" for e in fired)
    assert len(truth.messages) == len(set(truth.messages)) >= 3


def test_fire_with_sprinklers_shows_flow_pump_and_pressure_drop(fleet: RegistryFile) -> None:
    premises = {d.premises for d in fleet.devices if d.type == "sprinkler_pressure"} & {
        d.premises for d in fleet.devices if d.type == "uitd"
    }
    pid = sorted(premises)[0]
    uitd = f"{pid}-UITD"
    run = one(fleet, "fire", device=uitd, duration="1h")
    truth = run.truth("fire")
    fired = events(run.carried(truth))
    types = {e.component.type for e in fired if e.component}
    assert {"sprinkler_flow_switch", "fire_pump"} <= types
    gauge = next(d for d in truth.device_ids if "-SP" in d)
    before = run.telemetry(gauge, "water_pressure_mpa", START, START + 0.5 * HOURS)
    during = run.telemetry(gauge, "water_pressure_mpa", START + 0.7 * HOURS, START + 1.5 * HOURS)
    assert min(during) < min(before) - 0.02


def test_fire_without_a_panel_uses_independent_smoke_alarms(fleet: RegistryFile) -> None:
    alarm = next(
        d
        for d in fleet.devices
        if d.type == "smoke_alarm" and not any(o.type == "uitd" and o.premises == d.premises for o in fleet.devices)
    )
    run = one(fleet, "fire", device=alarm.id)
    truth = run.truth("fire")
    assert any(e.kind == "fire_alarm" for e in events(run.carried(truth)))
    smoke = run.telemetry(alarm.id, "smoke_obscuration_pct_m", START + 0.6 * HOURS, START + 4 * HOURS)
    assert max(smoke) > 5.0


def test_electrical_overheating_progresses_past_the_setpoint(fleet: RegistryFile) -> None:
    monitor = next(d for d in fleet.devices if d.type == "electrical_monitor")
    run = one(fleet, "electrical_overheating", device=monitor.id, duration="2h")
    truth = run.truth("electrical_overheating")
    assert truth.expected == "hazard"
    early = run.telemetry(monitor.id, "residual_current_ma", START + 0.5 * HOURS, START + 0.7 * HOURS)
    late = run.telemetry(monitor.id, "residual_current_ma", START + 2.3 * HOURS, START + 2.5 * HOURS)
    assert max(early) < monitor.setpoints["residual_current_ma"] < min(late)
    assert max(run.telemetry(monitor.id, "cable_temp_c", START + 2.3 * HOURS, START + 2.5 * HOURS)) > 70
    assert truth.messages  # the telemetry that carries it


def test_sprinkler_valve_closed_drops_pressure_and_raises_supervisory(fleet: RegistryFile) -> None:
    gauge = next(
        d
        for d in fleet.devices
        if d.type == "sprinkler_pressure" and any(o.type == "uitd" and o.premises == d.premises for o in fleet.devices)
    )
    run = one(fleet, "sprinkler_valve_closed", device=gauge.id, duration="1h")
    truth = run.truth("sprinkler_valve_closed")
    assert max(run.telemetry(gauge.id, "water_pressure_mpa", START + 0.55 * HOURS, START + 1.5 * HOURS)) < 0.05
    assert [e.kind for e in events(run.carried(truth))] == ["supervisory", "supervisory_cleared"]


def test_pipe_leak_and_pump_failure_lose_pressure(fleet: RegistryFile) -> None:
    gauge = next(d for d in fleet.devices if d.type == "hydrant_pressure")
    run = one(fleet, "pipe_leak", device=gauge.id, params={"mpa_per_hour": 0.3})
    assert min(run.telemetry(gauge.id, "water_pressure_mpa", START + 2.5 * HOURS, START + 4 * HOURS)) < 0.05
    uitd = next(
        d
        for d in fleet.devices
        if d.type == "uitd" and any(o.type == "sprinkler_pressure" and o.premises == d.premises for o in fleet.devices)
    )
    run = one(fleet, "pump_failure", device=uitd.id)
    truth = run.truth("pump_failure")
    fault = events(run.carried(truth))[0]
    assert (fault.kind, fault.component and fault.component.type, truth.expected) == ("fault", "fire_pump", "trouble")
    gauge_id = next(d for d in truth.device_ids if "-SP" in d)
    readings = run.telemetry(gauge_id, "water_pressure_mpa", START + 0.5 * HOURS, START + 4 * HOURS)
    assert readings[-1] < readings[0] - 0.05  # no jockey pump to restore it


def test_a_leak_lowers_every_gauge_on_its_water_system_alike(fleet: RegistryFile) -> None:
    valve = next(d for d in fleet.devices if "alarm valve" in d.location)
    top = next(d for d in fleet.devices if d.premises == valve.premises and d.id.endswith("-SP01"))
    run = one(fleet, "pipe_leak", device=valve.id, params={"mpa_per_hour": 0.1}, duration="3h")
    assert set(run.truth("pipe_leak").device_ids) == {valve.id, top.id}
    series = {
        g.id: (
            run.telemetry(g.id, "water_pressure_mpa", START, START + 0.5 * HOURS),
            run.telemetry(g.id, "water_pressure_mpa", START + 3 * HOURS, START + 3.5 * HOURS),
        )
        for g in (top, valve)
    }
    falls = {g: statistics.median(before) - statistics.median(after) for g, (before, after) in series.items()}
    assert all(fall > 0.15 for fall in falls.values())  # 0.1 MPa an hour for 2.5 h, less the sawtooth's band
    assert abs(falls[top.id] - falls[valve.id]) < 0.01  # one system: the difference between them does not move
    during = run.telemetry(top.id, "water_pressure_mpa", START + 0.6 * HOURS, START + 3.4 * HOURS)
    assert max(b - a for a, b in itertools.pairwise(during)) < 0.01  # the pump no longer restores it: no refill


def test_a_closed_valve_cuts_off_the_top_of_its_system_not_the_gauge_at_the_alarm_valve(fleet: RegistryFile) -> None:
    valve = next(d for d in fleet.devices if "alarm valve" in d.location)
    with pytest.raises(ScenarioError, match="it needs a sprinkler gauge at the top of its water system"):
        one(fleet, "sprinkler_valve_closed", device=valve.id)
    top = next(d for d in fleet.devices if d.premises == valve.premises and d.id.endswith("-SP01"))
    run = one(fleet, "sprinkler_valve_closed", premises=valve.premises, duration="1h")
    assert run.truth("sprinkler_valve_closed").device_ids[0] == top.id
    assert min(run.telemetry(valve.id, "water_pressure_mpa", START + 0.55 * HOURS, START + 1.5 * HOURS)) > 0.1


def test_tank_drain_and_ebike_overcurrent(fleet: RegistryFile) -> None:
    tank = next(d for d in fleet.devices if d.type == "tank_level")
    run = one(fleet, "tank_drain", device=tank.id, params={"m_per_hour": 1.0})
    levels = run.telemetry(tank.id, "tank_level_m", START + 0.5 * HOURS, START + 4 * HOURS)
    assert levels[-1] < levels[0] - 2.0
    charger = next(d for d in fleet.devices if d.type == "ebike_charger")
    run = one(fleet, "ebike_overcurrent", device=charger.id)
    truth = run.truth("ebike_overcurrent")
    assert min(run.telemetry(charger.id, "charging_current_a", START + 0.51 * HOURS, START + 0.95 * HOURS)) > 7.5
    fault = events(run.carried(truth))[0]
    assert fault.kind == "fault"
    assert fault.detail == "charging over-current"


# --- nuisance ---------------------------------------------------------------------------------------------


def test_cooking_is_one_detector_then_reset(fleet: RegistryFile) -> None:
    uitd = next(d for d in fleet.devices if d.type == "uitd")
    run = one(fleet, "cooking_nuisance", device=uitd.id)
    truth = run.truth("cooking_nuisance")
    assert truth.expected == "nuisance"
    assert [e.kind for e in events(run.carried(truth))] == ["fire_alarm", "reset"]


def test_maintenance_test_wraps_its_alarms(fleet: RegistryFile) -> None:
    uitd = next(d for d in fleet.devices if d.type == "uitd")
    run = one(fleet, "maintenance_test", device=uitd.id)
    kinds = [e.kind for e in events(run.carried(run.truth("maintenance_test")))]
    assert kinds[0] == "test"
    assert kinds[-1] == "reset"
    assert kinds.count("fire_alarm") >= 2


def test_flapping_detector_alarms_again_and_again_from_one_point(fleet: RegistryFile) -> None:
    uitd = next(d for d in fleet.devices if d.type == "uitd")
    run = one(fleet, "flapping_detector", device=uitd.id)
    alarms = [e for e in events(run.carried(run.truth("flapping_detector"))) if e.kind == "fire_alarm"]
    assert len(alarms) >= 3
    assert len({(e.component.loop, e.component.address) for e in alarms if e.component}) == 1


# --- device faults ----------------------------------------------------------------------------------------


def test_offline_is_silence(fleet: RegistryFile) -> None:
    device = next(d for d in fleet.devices if d.type == "electrical_monitor")
    run = one(fleet, "offline", device=device.id, duration="1h")
    truth = run.truth("offline")
    sent = [m.at for m in run.messages if m.device_id == device.id]
    assert not [t for t in sent if truth.start <= t < truth.end]
    assert [t for t in sent if t >= truth.end]  # and it comes back
    assert truth.messages == []


def test_stuck_value_repeats_and_drift_trends(fleet: RegistryFile) -> None:
    gauge = next(d for d in fleet.devices if d.type == "sprinkler_pressure")
    run = one(fleet, "stuck_value", device=gauge.id)
    stuck = run.telemetry(gauge.id, "water_pressure_mpa", START + 0.5 * HOURS, START + 3.5 * HOURS)
    assert len(stuck) > 10
    assert len(set(stuck)) == 1
    run = one(fleet, "drift", device=gauge.id, params={"scale": 2.0})
    truth = run.truth("drift")
    readings = run.telemetry(gauge.id, "water_pressure_mpa", START + 0.5 * HOURS, START + 4 * HOURS)
    trend = readings[-1] - readings[0]
    assert abs(trend) > 0.2
    assert (trend > 0) == (truth.details["per_hour"] > 0)


def test_low_battery_and_clock_skew(fleet: RegistryFile) -> None:
    alarm = next(d for d in fleet.devices if d.type == "smoke_alarm")
    run = one(fleet, "low_battery", device=alarm.id)
    assert max(run.telemetry(alarm.id, "battery_pct", START + 0.51 * HOURS, START + 4 * HOURS)) < 20
    monitor = next(d for d in fleet.devices if d.type == "electrical_monitor")
    run = one(fleet, "clock_skew", device=monitor.id, params={"seconds": 7200})
    truth = run.truth("clock_skew")
    for message, wire in run.carried(truth):
        assert wire.ts is not None
        assert wire.ts.timestamp() == pytest.approx(message.at + 7200, abs=0.002)
    assert truth.messages


# --- transport faults ---------------------------------------------------------------------------------------


def test_duplicates_repeat_a_device_and_seq(fleet: RegistryFile) -> None:
    run = simulate(fleet, {"events": [{"kind": "duplicates", "at": "10m", "params": {"share": 0.5}}]}, hours=1)
    truth = run.truth("duplicates")
    counts: dict[tuple[str | None, int | None], int] = defaultdict(int)
    for m in run.messages:
        counts[(m.device_id, m.seq)] += 1
    assert truth.messages
    assert all(counts[pair] == 2 for pair in truth.messages)


def test_out_of_order_delivers_later_seq_first(fleet: RegistryFile) -> None:
    run = simulate(fleet, {"events": [{"kind": "out_of_order", "at": "10m", "params": {"share": 0.5}}]}, hours=1)
    truth = run.truth("out_of_order")
    assert truth.messages
    last: dict[str, int] = {}
    overtaken = set()
    for m in run.messages:
        if m.device_id is not None and m.seq is not None:
            if m.seq < last.get(m.device_id, 0):
                overtaken.add((m.device_id, m.seq))
            last[m.device_id] = max(m.seq, last.get(m.device_id, 0))
    assert overtaken, "some later message must arrive before a delayed one"
    assert overtaken <= set(truth.messages), "only the messages the fault delayed arrive out of order"


def test_malformed_payloads_decode_to_the_reason_in_ground_truth(fleet: RegistryFile) -> None:
    run = simulate(fleet, {"events": [{"kind": "malformed", "at": "10m"}]}, hours=1)
    truths = [t for t in run.sim.truths if t.kind == "malformed"]
    assert len(truths) == 9
    by_index = {m.index: m for m in run.messages}
    reasons = set()
    for truth in truths:
        (index,) = truth.stream_indices
        message = by_index[index]
        with pytest.raises(DecodeError) as caught:
            decode(message.topic, message.payload)
        assert truth.expected == f"dead_letter:{caught.value.reason}"
        reasons.add(caught.value.reason)
    assert reasons == {
        "bad_json",
        "not_utf8",
        "schema",
        "unknown_metric",
        "out_of_range",
        "bad_timestamp",
        "unknown_channel",
        "bad_topic",
    }


def test_unknown_device_mismatch_and_oversize(fleet: RegistryFile) -> None:
    known = {d.id: d.premises for d in fleet.devices}
    run = simulate(
        fleet,
        {
            "events": [
                {"kind": "unknown_device", "at": "1m"},
                {"kind": "topic_mismatch", "at": "2m"},
                {"kind": "oversize", "at": "3m"},
            ]
        },
        hours=1,
    )
    by_index = {m.index: m for m in run.messages}
    for index in run.truth("unknown_device").stream_indices:
        wire = decode(by_index[index].topic, by_index[index].payload)  # well formed, but nobody knows it
        assert wire.device_id not in known
    mismatch = run.truth("topic_mismatch")
    for index in mismatch.stream_indices:
        wire = decode(by_index[index].topic, by_index[index].payload)
        assert known[wire.device_id] != wire.premises_id
    (index,) = run.truth("oversize").stream_indices
    with pytest.raises(DecodeError, match="oversize"):
        decode(by_index[index].topic, by_index[index].payload)


def test_ground_truth_is_jsonl_with_messages(fleet: RegistryFile) -> None:
    run = simulate(fleet, {"random": {"fire": 1, "offline": 1}}, hours=2)
    out = io.BytesIO()
    assert write_ground_truth(run.sim.truths, out) == 2
    records = [msgspec.json.decode(line) for line in out.getvalue().splitlines()]
    assert {r["kind"] for r in records} == {"fire", "offline"}
    fire = next(r for r in records if r["kind"] == "fire")
    assert fire["start"].endswith("Z")
    assert fire["messages"][0].keys() == {"device_id", "seq"}


# --- scenario files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ({"events": [{"kind": "earthquake", "at": "1m"}]}, "events[0]: field 'kind': unknown kind 'earthquake'"),
        ({"events": [{"kind": "fire", "at": "9h"}]}, "events[0]: field 'at': 32400 s is not inside"),
        ({"events": [{"kind": "fire", "at": "1m", "device": "NOPE"}]}, "events[0]: field 'device': no device 'NOPE'"),
        (
            {"events": [{"kind": "tank_drain", "at": "1m", "premises": "P-000000", "device": "P-000001-UITD"}]},
            "events[0]: field 'device'",
        ),
        ({"random": {"meteor": 1}}, "random.meteor: field 'kind': unknown kind 'meteor'"),
    ],
)
def test_bad_scenarios_name_event_and_field(fleet: RegistryFile, scenario: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        simulate(fleet, scenario, hours=1)


def test_every_kind_has_a_test_above() -> None:
    tested = {
        "fire",
        "electrical_overheating",
        "sprinkler_valve_closed",
        "pipe_leak",
        "pump_failure",
        "tank_drain",
        "ebike_overcurrent",
        "cooking_nuisance",
        "maintenance_test",
        "flapping_detector",
        "offline",
        "stuck_value",
        "drift",
        "low_battery",
        "clock_skew",
        "duplicates",
        "out_of_order",
        "malformed",
        "unknown_device",
        "topic_mismatch",
        "oversize",
    }
    assert tested == set(KINDS)
