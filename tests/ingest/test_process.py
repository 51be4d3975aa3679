"""``firewarden ingest`` as a process: killed with SIGKILL mid-stream, stopped with SIGTERM, two of them
dividing the premises while the broker restarts under them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pytest

from core.addresses import MqttUrl
from core.services import choose_broker, embedded_broker
from simulators.engine import Outgoing, Simulation
from simulators.publisher import Publisher, PublishOptions, PublishStats
from tests.ingest.harness import FLEET, import_fleet, publish, stored_messages
from tests.ports import free_port


def _start(database_url: str, mqtt: MqttUrl, log: Path, **settings: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIREWARDEN_")}
    env |= {
        "FIREWARDEN_DATABASE_URL": database_url,
        "FIREWARDEN_MQTT_URL": mqtt.render(mask=False),
        "FIREWARDEN_INGEST_CLIENT_ID": "ingest-under-test",
        "FIREWARDEN_INGEST_BATCH_MS": "300",
        "FIREWARDEN_METRICS_PORT": "0",
    }
    env |= {f"FIREWARDEN_{name.upper()}": value for name, value in settings.items()}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "firewarden", "ingest"], env=env, stdout=out, stderr=out)


def _wait(condition: object, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.slow
def test_kill_9_mid_stream_loses_nothing_and_stores_nothing_twice(
    mosquitto: MqttUrl, flavoured_url: str, tmp_path: Path
) -> None:
    migrated_url = flavoured_url
    import_fleet(migrated_url)
    now = datetime.now(UTC).timestamp()
    messages = list(Simulation(FLEET, seed=9, start=now - 6 * 3600, duration=6 * 3600).messages())
    expected = {(m.device_id, m.seq) for m in messages}
    assert len(expected) == len(messages) > 10_000
    log = tmp_path / "ingest.log"

    first = _start(migrated_url, mosquitto, log)
    _wait(lambda: "ingesting" in log.read_text(), "ingest to subscribe", 30)
    publisher = threading.Thread(target=publish, args=(mosquitto, messages), kwargs={"prefix": "kill-pub"})
    publisher.start()
    _wait(lambda: len(stored_messages(migrated_url)) > len(messages) // 5, "a fifth of the stream stored")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    stored_at_kill = len(stored_messages(migrated_url))
    assert stored_at_kill < len(messages), "the stream was over before the kill"

    second = _start(migrated_url, mosquitto, log)
    try:
        publisher.join(timeout=120)
        _wait(lambda: len(stored_messages(migrated_url)) >= len(expected), "every message stored", 120)
        time.sleep(0.5)  # room for a wrongly stored extra copy to show
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0, log.read_text()[-3000:]
    stored = stored_messages(migrated_url)
    assert len(stored) == len(set(stored)), "a message was stored twice"
    assert set(stored) == expected, f"{len(expected - set(stored))} message(s) lost"
    assert "stopped:" in log.read_text()


@pytest.mark.slow
def test_three_broker_restarts_under_two_ingest_processes_lose_nothing(flavoured_url: str, tmp_path: Path) -> None:
    """Every (device, seq) the broker acknowledged is stored exactly once, for MQTT 3.1.1 devices too.

    A 3.1.1 device hears no reason code, so it cannot retry a message the broker dropped for want of a
    subscriber: the broker must hold a subscribing session for every topic at all times, across its
    own restarts. Two ingest processes divide the premises (plain persistent subscriptions); Mosquitto
    (persistence on) is stopped and started three times while devices publish at QoS 1, and each time
    the devices are back before ingest is (it is held with SIGSTOP, as a busy ingest would be).
    """
    migrated_url = flavoured_url
    import_fleet(migrated_url)
    now = datetime.now(UTC).timestamp()
    messages = list(Simulation(FLEET, seed=11, start=now - 6 * 3600, duration=6 * 3600).messages())
    old = [m for m in messages if zlib.crc32((m.device_id or "").encode()) % 4 == 0]  # MQTT 3.1.1 devices
    new = [m for m in messages if zlib.crc32((m.device_id or "").encode()) % 4 != 0]
    assert old and new and len(messages) > 10_000
    port = free_port()
    program = choose_broker()
    broker = embedded_broker(tmp_path / "broker", port=port, program=program)
    url = broker.__enter__()
    logs = [tmp_path / f"ingest-{n}.log" for n in range(2)]
    ingests = [
        _start(migrated_url, url, log, ingest_partitions="2", ingest_partition=str(n), ingest_client_id=f"ingest-{n}")
        for n, log in enumerate(logs)
    ]
    stats: dict[str, PublishStats] = {}

    def send(name: str, batch: list[Outgoing], protocol: Literal["5", "3.1.1"]) -> None:
        options = PublishOptions(url=url, qos=1, protocol=protocol, speed=0, rate=1500, connections=2,
                                 client_prefix=f"pub-{name}")  # fmt: skip
        with Publisher(options) as publisher:
            stats[name] = publisher.publish(batch, sim_start=batch[0].at)

    try:
        for log in logs:
            _wait(lambda log=log: "ingesting as" in log.read_text(), "both ingest processes to subscribe", 30)
        publishers = [
            threading.Thread(target=send, args=("mqtt5", new, "5")),
            threading.Thread(target=send, args=("mqtt311", old, "3.1.1")),
        ]
        for thread in publishers:
            thread.start()
        for _ in range(3):
            time.sleep(1.5)
            for ingest in ingests:
                ingest.send_signal(signal.SIGSTOP)
            broker.__exit__(None, None, None)  # the broker goes away, saving its sessions
            time.sleep(0.5)
            broker = embedded_broker(tmp_path / "broker", port=port, program=program)
            broker.__enter__()
            time.sleep(1.5)  # devices reconnect and publish while ingest is not back yet
            for ingest in ingests:
                ingest.send_signal(signal.SIGCONT)
        for thread in publishers:
            thread.join(timeout=120)
        for name, sent in (("mqtt5", new), ("mqtt311", old)):
            s = stats[name]
            assert (s.sent, s.acknowledged, s.errors) == (len(sent), len(sent), 0), (name, s)
        expected = {(m.device_id, m.seq) for m in messages}
        _wait(lambda: set(stored_messages(migrated_url)) >= expected, "every acknowledged message stored", 90)
        time.sleep(0.5)  # room for a wrongly stored extra copy to show
    finally:
        for ingest in ingests:
            ingest.send_signal(signal.SIGCONT)
            ingest.send_signal(signal.SIGTERM)
        codes = [ingest.wait(timeout=30) for ingest in ingests]
        broker.__exit__(None, None, None)
    assert codes == [0, 0], [log.read_text()[-3000:] for log in logs]
    stored = stored_messages(migrated_url)
    assert len(stored) == len(set(stored)), "a message was stored twice"
    assert set(stored) == expected
    assert all("stopped:" in log.read_text() for log in logs)
