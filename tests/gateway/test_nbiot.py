"""NB-IoT devices through their carrier's platform: `firewarden gateway nbiot` (a process of its own) takes
OneNET's HTTP push (CTWing's below), as the platform stand-in (simulators/onenet.py) sends it, on real
Mosquitto and PostgreSQL with ingest and the scoring runner. A signed push is stored and scored as the MQTT path
would; the same push again is answered 200 and stored once; forged, stale, malformed pushes and pushes
about unknown devices or names are refused with their 4xx and kept as dead letters."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from core import ctwing
from core.addresses import MqttUrl
from core.bus import LocalBus
from core.db import connect
from core.onenet import Target, signature
from core.onenet import translate as onenet_translate
from core.policy import Policy
from core.wire import topic_for
from scoring.models import Models
from scoring.runner import LocalRunner
from scoring.scorer import Scorer
from scoring.site import Sites
from scoring.store import DecisionStore
from simulators.ctwing import CtwingPlatform, data_report, event_report, online_report
from simulators.onenet import OneNetPlatform, event_message, life_cycle_message, property_message, push_body
from tests.fix_postgres import PgServer
from tests.gateway.compare import another_database, decisions, settled
from tests.ingest.harness import FLEET, import_fleet, make_ingest, stored_messages, until
from tests.ports import free_port
from tests.running import Process

TOKEN = "onenet-push-token-0123"
PRODUCT = "C6z4Zk012B"
SMOKE, TELECOM_SMOKE = [d for d in FLEET.devices if d.type == "smoke_alarm"][:2]
CTWING_TOKEN = "ctwing-url-secret-0123456789"
CTWING_PRODUCT = "15009999"
CTWING_DEVICE = "44d0b9e48d404094bbbcf889e4e64ece"
NAMES = {SMOKE.id: f"onenet:{PRODUCT}/{SMOKE.id}", TELECOM_SMOKE.id: f"ctwing:{CTWING_PRODUCT}/{CTWING_DEVICE}"}
NAMED = FLEET.model_copy(
    update={"devices": [d.model_copy(update={"platform_id": NAMES[d.id]}) if d.id in NAMES else d
                        for d in FLEET.devices]}
)  # fmt: skip


class NbiotProcess(Process):
    def __init__(self, mosquitto: MqttUrl, database_url: str, tmp_path: Path, **settings: str) -> None:
        self.port = free_port()
        env = (
            {k: v for k, v in os.environ.items() if not k.startswith("FIREWARDEN_")}
            | {
                "FIREWARDEN_MQTT_URL": mosquitto.render(mask=False),
                "FIREWARDEN_DATABASE_URL": database_url,
                "FIREWARDEN_DATA_DIR": str(tmp_path / "nbiot"),
                "FIREWARDEN_NBIOT_HOST": "127.0.0.1",
                "FIREWARDEN_NBIOT_PORT": str(self.port),
                "FIREWARDEN_ONENET_TOKEN": TOKEN,
                "FIREWARDEN_CTWING_TOKEN": CTWING_TOKEN,
            }
            | {f"FIREWARDEN_{name.upper()}": value for name, value in settings.items()}
        )
        super().__init__("nbiot", ["gateway", "nbiot"], env, tmp_path / "nbiot.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ingest/onenet"

    @property
    def ctwing_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ingest/ctwing/{CTWING_TOKEN}"

    def start(self) -> None:
        self.start_ready()


@pytest.fixture
def nbiot(mosquitto: MqttUrl, migrated_url: str, tmp_path: Path) -> Iterator[NbiotProcess]:
    import_fleet(migrated_url, NAMED)
    process = NbiotProcess(mosquitto, migrated_url, tmp_path)
    process.start()
    try:
        yield process
    finally:
        code = process.stop()
    assert code == 0, process.log.read_text()


def _dead_letters(url: str) -> list[tuple[str, str]]:
    with connect(url) as conn:
        rows = conn.execute("SELECT reason, topic FROM dead_letters ORDER BY id").fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


@pytest.mark.slow
def test_a_signed_push_is_stored_and_scored_once_and_bad_ones_are_refused_and_kept(
    mosquitto: MqttUrl, migrated_url: str, models: Models, nbiot: NbiotProcess
) -> None:
    url = migrated_url
    now_ms = int(time.time() * 1000)
    platform = OneNetPlatform(nbiot.url, TOKEN)
    bus = LocalBus()
    store = DecisionStore(url)
    runner = LocalRunner(Scorer(Policy(), Sites.of(NAMED), models), bus, store, wall_clock=False)
    ingest = make_ingest(mosquitto, url, bus)
    fire = event_message(PRODUCT, SMOKE.id, "fire_alarm", now_ms - 2000, {"obscuration": 12.5})

    async def scenario() -> None:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(runner.run(stop)), asyncio.create_task(ingest.run(stop))]
        try:
            await until(lambda: ingest.ready, "ingest to subscribe")
            reading = property_message(PRODUCT, SMOKE.id, {"smoke_obscuration_pct_m": 0.4, "rssi_dbm": -71},
                                       now_ms - 5000)  # fmt: skip
            assert await asyncio.to_thread(platform.push, reading) == 200
            assert (
                await asyncio.to_thread(platform.push, life_cycle_message(PRODUCT, SMOKE.id, True, now_ms - 4000))
                == 200
            )
            assert await asyncio.to_thread(platform.push, fire) == 200
            await until(lambda: len(stored_messages(url)) >= 4, "the pushes stored")
            await until(lambda: _alarms(url) != [], "the fire alarm scored")
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            store.close()

    asyncio.run(scenario())
    stored = sorted(stored_messages(url))
    assert len(stored) == len(set(stored)) == 4, stored  # a reading, a status (rssi), a lifeCycle, an event
    with connect(url) as conn:
        event = conn.execute("SELECT kind, detail FROM events WHERE device_id = %s", (SMOKE.id,)).fetchone()
        status = conn.execute("SELECT rssi_dbm FROM device_status WHERE device_id = %s AND rssi_dbm IS NOT NULL",
                              (SMOKE.id,)).fetchone()  # fmt: skip
    assert event == ("fire_alarm", '{"obscuration": 12.5}') and status == (-71.0,)
    assert [premises for premises, _ in _alarms(url)] == [SMOKE.premises]

    # the same push again (the platform's retry after a lost answer): 200, nothing stored again
    body = push_body(TOKEN, fire, ident="push-1")
    assert httpx.post(nbiot.url, content=body, timeout=10).status_code == 200
    again = httpx.post(nbiot.url, content=body, timeout=10)
    assert again.status_code == 200 and again.json()["again"] is True
    time.sleep(1.0)
    assert len(stored_messages(url)) == 4

    # refused, each with its status, and kept as a dead letter
    forged = json.loads(push_body("another-token", fire))
    stale = push_body(TOKEN, fire, at_ms=now_ms - 3600_000)
    stranger = push_body(TOKEN, event_message(PRODUCT, "nobody", "fire_alarm", now_ms))
    unknown_name = push_body(TOKEN, property_message(PRODUCT, SMOKE.id, {"co2_ppm": 400}, now_ms))
    answers = [
        httpx.post(nbiot.url, content=json.dumps(forged), timeout=10).status_code,
        httpx.post(nbiot.url, content=stale, timeout=10).status_code,
        httpx.post(nbiot.url, content=stranger, timeout=10).status_code,
        httpx.post(nbiot.url, content=unknown_name, timeout=10).status_code,
        httpx.post(nbiot.url, content=b"{not json", timeout=10).status_code,
    ]
    assert answers == [401, 409, 404, 422, 400]
    assert [reason for reason, _ in _dead_letters(url)] == [
        "forged",
        "stale",
        "unknown_device",
        "unknown_property",
        "malformed",
    ]
    assert {topic for _, topic in _dead_letters(url)} == {"http:/ingest/onenet"}
    assert len(stored_messages(url)) == 4

    # the platform's URL check: msg back for the token's signature, 401 otherwise
    good = httpx.get(nbiot.url, params={"msg": "hello", "nonce": "abc", "signature": signature(TOKEN, "abc", "hello")})
    bad = httpx.get(nbiot.url, params={"msg": "hello", "nonce": "abc", "signature": "x"})
    assert (good.status_code, good.text, bad.status_code) == (200, "hello", 401)

    # a tester's stand-in for the platform: one push from the command line, exit 0 once taken
    device = f"onenet:{PRODUCT}/{SMOKE.id}"
    command = [sys.executable, "-m", "firewarden", "simulate", "onenet", "--url", nbiot.url, "--token", TOKEN,
               "--device", device, "--event", "test", "--value", "temperature_c=21.5"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.count("HTTP 200") == 2, done.stdout + done.stderr
    forged = subprocess.run([*command[:8], "wrong-token", *command[9:]], capture_output=True, text=True, timeout=60)
    assert forged.returncode == 1 and "HTTP 401" in forged.stdout, forged.stdout + forged.stderr


def _alarms(url: str) -> list[tuple[str, str]]:
    with connect(url) as conn:
        rows = conn.execute("SELECT premises_id, classification FROM alarms ORDER BY time").fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


@pytest.mark.slow
def test_a_ctwing_push_with_the_urls_token_is_stored_and_scored_once_and_bad_ones_are_refused_and_kept(
    mosquitto: MqttUrl, migrated_url: str, models: Models, nbiot: NbiotProcess
) -> None:
    url = migrated_url
    now_ms = int(time.time() * 1000)
    platform = CtwingPlatform(nbiot.ctwing_url)
    bus = LocalBus()
    store = DecisionStore(url)
    runner = LocalRunner(Scorer(Policy(), Sites.of(NAMED), models), bus, store, wall_clock=False)
    ingest = make_ingest(mosquitto, url, bus)
    fire = event_report(CTWING_PRODUCT, CTWING_DEVICE, "fire_alarm", now_ms - 2000)

    async def scenario() -> None:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(runner.run(stop)), asyncio.create_task(ingest.run(stop))]
        try:
            await until(lambda: ingest.ready, "ingest to subscribe")
            reading = data_report(CTWING_PRODUCT, CTWING_DEVICE, {"smoke_obscuration_pct_m": 0.3, "rssi_dbm": -88},
                                  now_ms - 5000)  # fmt: skip
            online = online_report(CTWING_PRODUCT, CTWING_DEVICE, True, now_ms - 4000)
            for message in (reading, online, fire):
                assert await asyncio.to_thread(platform.push, message) == 200
            await until(lambda: len(stored_messages(url)) >= 4, "the pushes stored")
            await until(lambda: _alarms(url) != [], "the fire alarm scored")
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            store.close()

    asyncio.run(scenario())
    stored = sorted(stored_messages(url))
    assert len(stored) == len(set(stored)) == 4, stored  # a reading, a status (rssi), online, an event
    with connect(url) as conn:
        event = conn.execute("SELECT kind FROM events WHERE device_id = %s", (TELECOM_SMOKE.id,)).fetchone()
        status = conn.execute("SELECT rssi_dbm FROM device_status WHERE device_id = %s AND rssi_dbm IS NOT NULL",
                              (TELECOM_SMOKE.id,)).fetchone()  # fmt: skip
    assert event == ("fire_alarm",) and status == (-88.0,)
    assert [premises for premises, _ in _alarms(url)] == [TELECOM_SMOKE.premises]

    # the same push again (CTWing sends again after a lost answer): 200, stored once by its seq
    assert CtwingPlatform(nbiot.ctwing_url).push(fire) == 200
    time.sleep(1.0)
    assert len(stored_messages(url)) == 4

    # refused, each with its status, and kept as a dead letter
    def body(message: dict[str, object]) -> bytes:
        return json.dumps(message).encode()

    wrong_url = nbiot.ctwing_url.replace(CTWING_TOKEN, "not-the-token-at-all")
    unknown_name = data_report(CTWING_PRODUCT, CTWING_DEVICE, {"co2_ppm": 400}, now_ms)
    transparent = {**data_report(CTWING_PRODUCT, CTWING_DEVICE, {}, now_ms), "payload": {"APPdata": "UFUAPBAA"}}
    answers = [
        httpx.post(wrong_url, content=body(fire), timeout=10).status_code,
        httpx.post(nbiot.ctwing_url, content=body({**fire, "timestamp": now_ms - 3600_000}), timeout=10).status_code,
        httpx.post(nbiot.ctwing_url, content=body({**fire, "deviceId": "nobody"}), timeout=10).status_code,
        httpx.post(nbiot.ctwing_url, content=body(unknown_name), timeout=10).status_code,
        httpx.post(nbiot.ctwing_url, content=body(transparent), timeout=10).status_code,
        httpx.post(nbiot.ctwing_url, content=body({**fire, "messageType": "commandResponse"}), timeout=10).status_code,
        httpx.post(nbiot.ctwing_url, content=b"{not json", timeout=10).status_code,
    ]
    assert answers == [401, 409, 404, 422, 422, 422, 400]
    assert [reason for reason, _ in _dead_letters(url)] == [
        "forged",
        "stale",
        "unknown_device",
        "unknown_property",
        "transparent",
        "unknown_message",
        "malformed",
    ]
    assert {topic for _, topic in _dead_letters(url)} == {"http:/ingest/ctwing"}
    assert len(stored_messages(url)) == 4

    # a tester's stand-in for the platform: one push from the command line, exit 0 once taken
    device = f"ctwing:{CTWING_PRODUCT}/{CTWING_DEVICE}"
    command = [sys.executable, "-m", "firewarden", "simulate", "ctwing", "--url", nbiot.ctwing_url,
               "--device", device, "--event", "test", "--value", "temperature_c=21.5"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.count("HTTP 200") == 2, done.stdout + done.stderr
    forged = subprocess.run([*command[:6], wrong_url, *command[7:]], capture_output=True, text=True, timeout=60)
    assert forged.returncode == 1 and "HTTP 401" in forged.stdout, forged.stdout + forged.stderr


@pytest.mark.slow
def test_pushes_make_the_decisions_their_messages_make_over_mqtt(
    mosquitto: MqttUrl, migrated_url: str, models: Models, tmp_path: Path, pg_server: PgServer
) -> None:
    """Two smoke alarms of one zone, one on OneNET and one on CTWing: readings, a status, then both
    alarm. Pushed through the gateway into one database, and the same wire messages (the gateway's
    translation of each push) published over MQTT by the devices into another: the same alarms,
    revision by revision (the fire confirmed by its second detector), and the same signals."""
    onenet_smoke, ctwing_smoke = [d for d in FLEET.devices if d.type == "smoke_alarm" and d.zone == "1F"][:2]
    names = {onenet_smoke.id: f"onenet:{PRODUCT}/{onenet_smoke.id}",
             ctwing_smoke.id: f"ctwing:{CTWING_PRODUCT}/{CTWING_DEVICE}"}  # fmt: skip
    fleet = FLEET.model_copy(
        update={"devices": [d.model_copy(update={"platform_id": names[d.id]}) if d.id in names else d
                            for d in FLEET.devices]}
    )  # fmt: skip
    now = int(time.time() * 1000)
    pushes: list[tuple[str, dict[str, object]]] = [
        ("onenet", property_message(PRODUCT, onenet_smoke.id, {"smoke_obscuration_pct_m": 0.3}, now - 60_000)),
        ("ctwing", data_report(CTWING_PRODUCT, CTWING_DEVICE, {"smoke_obscuration_pct_m": 0.2}, now - 58_000)),
        ("ctwing", online_report(CTWING_PRODUCT, CTWING_DEVICE, True, now - 57_000)),
        ("onenet", property_message(PRODUCT, onenet_smoke.id, {"smoke_obscuration_pct_m": 9.5}, now - 31_000)),
        ("onenet", event_message(PRODUCT, onenet_smoke.id, "fire_alarm", now - 30_000)),
        ("ctwing", data_report(CTWING_PRODUCT, CTWING_DEVICE, {"smoke_obscuration_pct_m": 8.1}, now - 21_000)),
        ("ctwing", event_report(CTWING_PRODUCT, CTWING_DEVICE, "fire_alarm", now - 20_000)),
    ]
    targets = {
        "onenet": Target(onenet_smoke.id, onenet_smoke.premises, onenet_smoke.type),
        "ctwing": Target(ctwing_smoke.id, ctwing_smoke.premises, ctwing_smoke.type),
    }

    def scored(url: str, send: Callable[[], None]) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
        bus = LocalBus()
        store = DecisionStore(url)
        runner = LocalRunner(Scorer(Policy(), Sites.of(fleet), models), bus, store, wall_clock=False)
        ingest = make_ingest(mosquitto, url, bus, client_id=f"test-ingest-{len(url)}-{time.monotonic_ns()}")

        async def scenario() -> None:
            stop = asyncio.Event()
            tasks = [asyncio.create_task(runner.run(stop)), asyncio.create_task(ingest.run(stop))]
            try:
                await until(lambda: ingest.ready, "ingest to subscribe")
                await asyncio.to_thread(send)
                await until(lambda: len(stored_messages(url)) >= len(pushes), "the messages stored")
                await settled(ingest, url)
            finally:
                stop.set()
                await asyncio.gather(*tasks)
                store.close()

        asyncio.run(scenario())
        return decisions(url)

    def through_the_gateway(process: NbiotProcess) -> Callable[[], None]:
        def send() -> None:
            onenet, ctwing_platform = OneNetPlatform(process.url, TOKEN), CtwingPlatform(process.ctwing_url)
            for platform, message in pushes:
                answer = onenet.push(message) if platform == "onenet" else ctwing_platform.push(message)
                assert answer == 200, (platform, message)

        return send

    def over_mqtt() -> None:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-nbiot-devices", protocol=mqtt.MQTTv5)
        client.connect(mosquitto.host, mosquitto.port)
        client.loop_start()
        try:
            for platform, message in pushes:
                target = targets[platform]
                wire = (onenet_translate if platform == "onenet" else ctwing.translate)(message, target)
                for channel, payload in wire:
                    topic = topic_for(target.premises_id, target.device_id, channel)
                    client.publish(topic, json.dumps(payload), qos=1).wait_for_publish(10)
        finally:
            client.disconnect()
            client.loop_stop()

    import_fleet(migrated_url, fleet)
    process = NbiotProcess(mosquitto, migrated_url, tmp_path)
    process.start()
    try:
        pushed = scored(migrated_url, through_the_gateway(process))
    finally:
        assert process.stop() == 0, process.log.read_text()
    with another_database(pg_server, fleet) as mqtt_url:
        published = scored(mqtt_url, over_mqtt)
    alarms, signals = published
    assert [a[5] for a in alarms][-1:] == ["confirmed"], alarms  # the second detector confirmed it
    assert pushed[0] == alarms, "\n".join(map(str, ["the alarms differ:", *alarms, "--- pushed", *pushed[0]]))
    assert pushed[1] == signals, "\n".join(map(str, ["the signals differ:", *signals, "--- pushed", *pushed[1]]))


@pytest.mark.slow
def test_a_safe_mode_instance_s_pushes_are_decrypted_and_a_clear_one_is_refused(
    mosquitto: MqttUrl, migrated_url: str, tmp_path: Path
) -> None:
    key = "Fw5afeM0deKey016"
    import_fleet(migrated_url, NAMED)
    process = NbiotProcess(mosquitto, migrated_url, tmp_path, onenet_aes_key=key)
    process.start()
    ingest = make_ingest(mosquitto, migrated_url, LocalBus())
    now_ms = int(time.time() * 1000)
    reading = property_message(PRODUCT, SMOKE.id, {"smoke_obscuration_pct_m": 0.7}, now_ms - 3000)
    answers: dict[str, int] = {}

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(ingest.run(stop))
        try:
            await until(lambda: ingest.ready, "ingest to subscribe")
            answers["safe"] = await asyncio.to_thread(OneNetPlatform(process.url, TOKEN, key).push, reading)
            clear = push_body(TOKEN, event_message(PRODUCT, SMOKE.id, "fire_alarm", now_ms - 2000))
            answers["clear"] = (await asyncio.to_thread(httpx.post, process.url, content=clear, timeout=10)).status_code
            await until(lambda: len(stored_messages(migrated_url)) >= 1, "the safe-mode push stored")
        finally:
            stop.set()
            await task

    try:
        asyncio.run(scenario())
        ready = httpx.get(process.ready_url, timeout=5).json()
    finally:
        assert process.stop() == 0, process.log.read_text()
    assert answers == {"safe": 200, "clear": 400}
    with connect(migrated_url) as conn:
        value = conn.execute("SELECT value FROM readings WHERE device_id = %s", (SMOKE.id,)).fetchone()
    assert value == (0.7,)
    assert len(stored_messages(migrated_url)) == 1  # the clear push: not stored
    assert _dead_letters(migrated_url) == [("undecryptable", "http:/ingest/onenet")]
    assert ready.get("onenet_safe_mode") is True, ready
