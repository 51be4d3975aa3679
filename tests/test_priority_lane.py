"""The priority lane end to end: a fire alarm queued behind a telemetry backlog is decided long before
the backlog is drained (real Mosquitto, real PostgreSQL, ingest and the local scoring runner)."""

from __future__ import annotations

import asyncio
import json
import time

from core.addresses import MqttUrl
from core.bus import LocalBus
from core.db import connect
from core.policy import Policy
from scoring.models import Models
from scoring.runner import LocalRunner
from scoring.scorer import Scorer
from scoring.site import Sites
from scoring.store import DecisionStore
from simulators.engine import Outgoing
from tests.ingest.harness import FLEET, import_fleet, make_ingest, publish, until

BACKLOG = 50_000
NORMAL = {
    "sprinkler_pressure": {"water_pressure_mpa": 0.32},
    "hydrant_pressure": {"water_pressure_mpa": 0.35},
    "tank_level": {"tank_level_m": 3.0},
    "electrical_monitor": {"residual_current_ma": 80.0, "current_a": 20.0},
    "temperature_sensor": {"temperature_c": 22.0},
    "gas_detector": {"co_ppm": 2.0},
}


def _backlog(now_ms: int) -> list[Outgoing]:
    """``BACKLOG`` ordinary readings, round robin over the fleet's sensors, 0.1 s apart per device (within
    the rate limit), ending now."""
    sensors = [d for d in FLEET.devices if d.type in NORMAL]
    per_device = BACKLOG // len(sensors) + 1
    out: list[Outgoing] = []
    for n in range(BACKLOG):
        device = sensors[n % len(sensors)]
        k = n // len(sensors)
        seq = now_ms - per_device * 100 + k * 100
        metrics = {m: v * (1 + 0.01 * ((n * 7919) % 5 - 2)) for m, v in NORMAL[device.type].items()}
        payload = json.dumps({"seq": seq, "ts": seq, "metrics": metrics}).encode()
        out.append(Outgoing(n, 0.0, f"fw/v1/{device.premises}/{device.id}/telemetry", payload, device.id, seq))
    return out


def _fire(now_ms: int) -> tuple[str, list[Outgoing]]:
    """Two smoke detectors of one zone of a panel, 1 s apart: a confirmed fire."""
    panel = next(d for d in FLEET.devices if d.type == "uitd")
    out = []
    for n, address in enumerate((1, 2)):
        seq = now_ms + n * 1000
        body = {
            "seq": seq,
            "ts": seq,
            "kind": "fire_alarm",
            "component": {"type": "smoke_detector", "loop": 1, "address": address, "zone": "LANE"},
        }
        topic = f"fw/v1/{panel.premises}/{panel.id}/event"
        out.append(Outgoing(BACKLOG + n, 0.0, topic, json.dumps(body).encode(), panel.id, seq))
    return panel.premises, out


def _confirmed(url: str, premises: str) -> bool:
    with connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM alarms WHERE premises_id = %s AND zone = 'LANE' AND classification = 'confirmed'",
            (premises,),
        ).fetchone()
    return bool(row and row[0])


def test_a_fire_alarm_is_decided_before_half_a_50000_message_backlog_is_drained(
    mosquitto: MqttUrl, migrated_url: str, models: Models
) -> None:
    url = migrated_url
    import_fleet(url)
    now_ms = int(time.time() * 1000)
    backlog = _backlog(now_ms - 5_000)
    premises, fire = _fire(now_ms)

    async def scenario() -> tuple[int, int]:
        # The sessions exist (as after any earlier run); then ingest is away while everything is queued.
        first = make_ingest(mosquitto, url, LocalBus())
        stop = asyncio.Event()
        task = asyncio.create_task(first.run(stop))
        await until(lambda: first.ready, "ingest to subscribe")
        stop.set()
        await task
        await asyncio.to_thread(publish, mosquitto, backlog, prefix="backlog")
        await asyncio.to_thread(publish, mosquitto, fire, prefix="fire")

        bus = LocalBus()
        store = DecisionStore(url)
        runner = LocalRunner(Scorer(Policy(), Sites.of(FLEET), models), bus, store, wall_clock=False)
        ingest = make_ingest(mosquitto, url, bus)
        stop = asyncio.Event()
        tasks = [asyncio.create_task(runner.run(stop)), asyncio.create_task(ingest.run(stop))]
        try:
            deadline = time.monotonic() + 60
            while not await asyncio.to_thread(_confirmed, url, premises):
                assert time.monotonic() < deadline, "the fire was never confirmed"
                await asyncio.sleep(0.02)
            # Read after the decision was seen: at most what was stored when it was stored.
            drained_at_decision = int(ingest.metrics.value("firewarden_ingest_stored_total"))
            await until(
                lambda: ingest.metrics.value("firewarden_ingest_stored_total") >= BACKLOG + len(fire),
                "the backlog to drain",
                120,
            )
            stored = int(ingest.metrics.value("firewarden_ingest_stored_total"))
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            store.close()
        return drained_at_decision, stored

    drained_at_decision, stored = asyncio.run(scenario())
    assert stored == BACKLOG + len(fire)
    assert drained_at_decision < BACKLOG // 2, f"{drained_at_decision} of {BACKLOG} stored before the fire's decision"
    with connect(url) as conn:
        readings = conn.execute("SELECT count(DISTINCT (device_id, seq)) FROM readings").fetchone()
    assert readings is not None and readings[0] == BACKLOG
