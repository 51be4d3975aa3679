"""GB/T 26875.3 end to end over real Mosquitto and PostgreSQL: simulated frame-speaking UITDs raise fire
alarms, ingest decodes and zones them from the registry's point lists, the local scoring runner
verifies them, and every frame gets the centre's confirm on its UITD's downlink topic (a refused one
its denial)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from core import gb26875 as gb
from core.addresses import MqttUrl
from core.bus import LocalBus
from core.db import connect
from core.policy import Policy
from core.wire import DOWNLINK_ROOT, downlink_topic
from scoring.models import Models
from scoring.runner import LocalRunner
from scoring.scorer import Scorer
from scoring.site import Sites
from scoring.store import DecisionStore
from simulators.engine import Outgoing, Simulation
from simulators.panel import Point
from tests.ingest.harness import FLEET, import_fleet, make_ingest, publish, until

SAME_ZONE, OTHER_ZONES = "P-000000-UITD", "P-000001-UITD"


class Downlink:
    """Everything the centre publishes under ``fw/down/v1/#``, read by a client of its own."""

    def __init__(self, url: MqttUrl) -> None:
        self.frames: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="downlink-reader", protocol=mqtt.MQTTv5)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_connect = lambda client, *_: client.subscribe(f"{DOWNLINK_ROOT}/#", qos=1)
        self.client.connect(url.host, url.port)
        self.client.loop_start()
        assert self._subscribed.wait(10), "the downlink reader never subscribed"

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.frames.append((message.topic, bytes(message.payload)))

    def answers(self) -> Counter[tuple[str, int, int]]:
        """(topic, serial, command) of every answer received so far."""
        with self._lock:
            return Counter(
                (topic, gb.decode_frame(raw).serial, gb.decode_frame(raw).command) for topic, raw in self.frames
            )

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _detectors(sim: Simulation, device_id: str) -> dict[str, list[Point]]:
    by_zone: dict[str, list[Point]] = {}
    for point in sim.devices[device_id].panel:
        if point.type == "smoke_detector":
            by_zone.setdefault(point.zone, []).append(point)
    return by_zone


def _alarms(url: str, premises: str) -> list[tuple[str, str]]:
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT zone, classification FROM alarms WHERE premises_id = %s ORDER BY time", (premises,)
        ).fetchall()
    return [(str(z), str(c)) for z, c in rows]


def test_frames_are_zoned_verified_and_confirmed(mosquitto: MqttUrl, migrated_url: str, models: Models) -> None:
    url = migrated_url
    import_fleet(url)
    now = time.time()
    sim = Simulation(FLEET, seed=3, start=now - 180, duration=180, gb26875=1.0)
    same = _detectors(sim, SAME_ZONE)
    zone, (first, second, *_) = next((z, points) for z, points in same.items() if len(points) >= 2)
    sim.event(now - 100, sim.devices[SAME_ZONE], "fire_alarm", first)
    sim.event(now - 90, sim.devices[SAME_ZONE], "fire_alarm", second)
    apart = _detectors(sim, OTHER_ZONES)
    zone_a, zone_b = sorted(apart)[:2]
    sim.event(now - 100, sim.devices[OTHER_ZONES], "fire_alarm", apart[zone_a][0])
    sim.event(now - 90, sim.devices[OTHER_ZONES], "fire_alarm", apart[zone_b][0])
    messages = list(sim.messages())
    frames = [m for m in messages if m.topic.endswith("/gb26875")]
    assert {m.device_id for m in frames} >= {SAME_ZONE, OTHER_ZONES}
    damaged = bytearray(frames[0].payload)
    damaged[-3] ^= 0xFF  # the checksum: refused, and denied
    bad = Outgoing(len(messages), messages[-1].at, frames[0].topic, bytes(damaged), None, None)

    downlink = Downlink(mosquitto)
    bus = LocalBus()
    store = DecisionStore(url)
    runner = LocalRunner(Scorer(Policy(), Sites.of(FLEET), models), bus, store, wall_clock=False)
    ingest = make_ingest(mosquitto, url, bus)

    async def scenario() -> None:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(runner.run(stop)), asyncio.create_task(ingest.run(stop))]
        try:
            await until(lambda: ingest.ready, "ingest to subscribe")
            await asyncio.to_thread(publish, mosquitto, [*messages, bad], prefix="uitds")
            await until(
                lambda: sum(downlink.answers().values()) >= len(frames) + 1,
                "an answer to every frame",
                detail=lambda: f"{sum(downlink.answers().values())} of {len(frames) + 1}",
            )
            await until(lambda: "confirmed" in {c for _, c in _alarms(url, "P-000000")}, "the same-zone fire")
            await until(lambda: len({z for z, _ in _alarms(url, "P-000001")}) == 2, "the two zones' decisions")
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            store.close()
            downlink.close()

    asyncio.run(scenario())

    answers = downlink.answers()
    expected = Counter(
        (downlink_topic(*m.topic.split("/")[2:4]), gb.decode_frame(m.payload).serial, gb.CONFIRM) for m in frames
    )
    expected[(downlink_topic(*bad.topic.split("/")[2:4]), gb.decode_frame(frames[0].payload).serial, gb.DENY)] += 1
    assert answers == expected  # one confirm per frame, the damaged one denied, nothing else
    for topic, raw in downlink.frames:
        frame = gb.decode_frame(raw)
        uitd = topic.split("/")[4]
        assert frame.destination == next(gb.decode_frame(m.payload).source for m in frames if m.device_id == uitd)

    assert "confirmed" in {c for z, c in _alarms(url, "P-000000") if z == zone}, _alarms(url, "P-000000")
    other = _alarms(url, "P-000001")
    assert other and all(c != "confirmed" for _, c in other), other
    assert {z for z, _ in other} == {zone_a, zone_b}
    with connect(url) as conn:
        zones = conn.execute(
            "SELECT DISTINCT zone FROM events WHERE device_id = %s AND kind = 'fire_alarm'", (SAME_ZONE,)
        ).fetchall()
        keep_alives = conn.execute(
            "SELECT count(*) FROM device_status WHERE device_id = %s AND detail = 'keep-alive'", (SAME_ZONE,)
        ).fetchone()
        pressure = conn.execute(
            "SELECT count(*) FROM readings WHERE device_id = %s AND metric = 'water_pressure_mpa'", (SAME_ZONE,)
        ).fetchone()
    assert zones == [(zone,)]
    assert keep_alives is not None and keep_alives[0] >= 2
    assert pressure is not None and pressure[0] >= 1
