"""``firewarden ingest`` as a process: killed with SIGKILL mid-stream, stopped with SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from firewarden.settings import MqttUrl
from simulators.engine import Simulation
from tests.ingest.harness import FLEET, import_fleet, publish, stored_messages


def _start(database_url: str, mqtt: MqttUrl, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIREWARDEN_")}
    env |= {
        "FIREWARDEN_DATABASE_URL": database_url,
        "FIREWARDEN_MQTT_URL": mqtt.render(mask=False),
        "FIREWARDEN_INGEST_CLIENT_ID": "ingest-under-test",
        "FIREWARDEN_INGEST_BATCH_MS": "300",
        "FIREWARDEN_METRICS_PORT": "0",
    }
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
    mosquitto: MqttUrl, migrated_url: str, tmp_path: Path
) -> None:
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
