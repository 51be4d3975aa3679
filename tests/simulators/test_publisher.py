"""The publisher against a real Mosquitto: delivery without gaps, protocols, per-device identity, pacing."""

from __future__ import annotations

import getpass
import socket
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from core.addresses import MqttUrl
from core.registry import RegistryFile
from core.wire import DecodeError, decode
from simulators.engine import Outgoing, Simulation, seq_base
from simulators.errors import PublishError
from simulators.publisher import Publisher, PublishOptions, PublishStats
from tests.ports import free_port
from tests.simulators.conftest import START


class Counter:
    """A QoS 1 subscriber that records every (device, seq) it receives."""

    def __init__(self, url: MqttUrl, protocol: int = mqtt.MQTTv5) -> None:
        self.seqs: dict[str, list[int]] = defaultdict(list)
        self.count = 0
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="fw-test-counter", protocol=protocol)
        self.client.on_subscribe = lambda *args: self._ready.set()
        self.client.on_message = self._on_message
        self.client.connect(url.host, url.port)
        self.client.subscribe("fw/v1/#", qos=1)
        self.client.loop_start()
        assert self._ready.wait(10)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            wire = decode(message.topic, message.payload)
        except DecodeError:  # a transport-fault scenario's message: counted, it has no seq to check
            wire = None
        with self._lock:
            self.count += 1
            if wire is not None and wire.seq is not None:
                self.seqs[wire.device_id].append(wire.seq)

    def wait_for(self, n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.count < n and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def small_run(fleet: RegistryFile, minutes: float, premises: int = 10) -> Simulation:
    subset = RegistryFile(
        premises=fleet.premises[:premises],
        devices=[d for d in fleet.devices if d.premises in {p.id for p in fleet.premises[:premises]}],
    )
    return Simulation(subset, seed=1, start=START, duration=minutes * 60)


def assert_no_gaps(counter: Counter) -> None:
    # A run's devices count from its start in milliseconds (simulators.engine.seq_base).
    first = seq_base(START) + 1
    for device, seqs in counter.seqs.items():
        assert sorted(seqs) == list(range(first, max(seqs) + 1)), f"gap or duplicate for {device}"


@pytest.mark.parametrize(("qos", "protocol"), [(1, "5"), (0, "5"), (1, "3.1.1")])
def test_every_message_arrives_without_a_gap(fleet: RegistryFile, mosquitto: MqttUrl, qos: int, protocol: str) -> None:
    messages = list(small_run(fleet, 30).messages())
    counter = Counter(mosquitto)
    try:
        options = PublishOptions(url=mosquitto, qos=qos, protocol=protocol, speed=0, connections=3)  # type: ignore[arg-type]
        with Publisher(options) as publisher:
            stats = publisher.publish(iter(messages), sim_start=START)
        counter.wait_for(len(messages))
    finally:
        counter.close()
    assert (stats.sent, stats.done, stats.errors) == (len(messages), len(messages), 0)
    assert counter.count == len(messages) > 1000
    assert_no_gaps(counter)


def test_pacing_follows_simulated_time_times_speed(fleet: RegistryFile, mosquitto: MqttUrl) -> None:
    sim = small_run(fleet, 10, premises=3)
    now = [1000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    options = PublishOptions(url=mosquitto, qos=0, speed=60, connections=1)
    with Publisher(options, clock=lambda: now[0], sleep=sleep) as publisher:
        stats = publisher.publish(sim.messages(), sim_start=START)
    # The last message leaves when its simulated time, scaled down 60 times, has passed.
    assert sum(slept) == pytest.approx((stats.sim_time - START) / 60, abs=0.01)
    assert 9.0 < sum(slept) <= 10.0


def test_rate_limit_spaces_messages(fleet: RegistryFile, mosquitto: MqttUrl) -> None:
    messages = list(small_run(fleet, 5, premises=2).messages())[:200]
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    options = PublishOptions(url=mosquitto, qos=0, speed=0, rate=100, connections=1)
    with Publisher(options, clock=lambda: now[0], sleep=sleep) as publisher:
        publisher.publish(iter(messages), sim_start=START)
    assert now[0] == pytest.approx(len(messages) / 100, rel=0.02)


def _acl_broker(tmp_path: Path) -> tuple[subprocess.Popen[bytes], MqttUrl]:
    """Mosquitto that lets a client write only under its own client id as device id."""
    from core.services import choose_broker

    port = free_port()
    (tmp_path / "acl").write_text("pattern write fw/v1/+/%c/#\npattern read fw/v1/#\n")
    (tmp_path / "m.conf").write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nacl_file {tmp_path / 'acl'}\nuser {getpass.getuser()}\n"
    )
    proc = subprocess.Popen(
        [*choose_broker().command, "-c", str(tmp_path / "m.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = MqttUrl("127.0.0.1", port, tls=False)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("mosquitto with ACL did not start")


def test_per_device_connections_use_the_device_id(fleet: RegistryFile, tmp_path: Path) -> None:
    proc, url = _acl_broker(tmp_path)
    try:
        messages = list(small_run(fleet, 10, premises=2).messages())
        counter = Counter(url)
        try:
            with Publisher(PublishOptions(url=url, qos=1, speed=0, per_device=True)) as publisher:
                ok = publisher.publish(iter(messages), sim_start=START)
            counter.wait_for(len(messages))
            assert (ok.errors, counter.count) == (0, len(messages))
            # The same stream over shared connections breaks the ACL: the broker refuses every message.
            options = PublishOptions(url=url, qos=1, speed=0, connections=2, retry_for_s=0)  # refused: give up at once
            with Publisher(options) as publisher:
                refused = publisher.publish(iter(messages), sim_start=START)
            assert refused.errors == len(messages) and refused.acknowledged == 0
            assert counter.count == len(messages)
        finally:
            counter.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_unreachable_broker_is_a_publish_error() -> None:
    options = PublishOptions(url=MqttUrl("127.0.0.1", free_port(), tls=False), speed=0)
    with pytest.raises(PublishError, match="cannot reach the MQTT broker"), Publisher(options):
        pass


def test_broker_restart_mid_stream_loses_nothing_at_qos1(fleet: RegistryFile, tmp_path: Path) -> None:
    from core.services import choose_broker, embedded_broker

    port = free_port()
    messages = list(small_run(fleet, 240).messages())[:6000]
    broker = embedded_broker(tmp_path, port=port, program=choose_broker())
    url = broker.__enter__()
    # A persistent QoS 1 subscriber: the broker keeps its messages across the restart (persistence on).
    counter = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="fw-test-durable", protocol=mqtt.MQTTv311, clean_session=False
    )
    received: list[tuple[str, int]] = []
    counter.on_message = lambda c, u, m: received.append(
        (decode(m.topic, m.payload).device_id, decode(m.topic, m.payload).seq or 0)
    )
    counter.connect(url.host, url.port)
    counter.subscribe("fw/v1/#", qos=1)
    counter.loop_start()
    time.sleep(0.3)
    result: dict[str, object] = {}

    def publish() -> None:
        with Publisher(PublishOptions(url=url, qos=1, speed=0, rate=1500, connections=2)) as publisher:
            result["stats"] = publisher.publish(iter(messages), sim_start=START)

    worker = threading.Thread(target=publish)
    worker.start()
    try:
        time.sleep(0.8)
        broker.__exit__(None, None, None)  # the broker goes away mid-stream
        time.sleep(1.5)
        broker = embedded_broker(tmp_path, port=port, program=choose_broker())
        broker.__enter__()
        worker.join(timeout=60)
        deadline = time.monotonic() + 30
        while len({r for r in received}) < len(messages) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        counter.loop_stop()
        counter.disconnect()
        broker.__exit__(None, None, None)
    stats = result["stats"]
    assert stats.reconnects >= 1  # type: ignore[attr-defined]
    assert stats.done == stats.sent == len(messages)  # type: ignore[attr-defined]
    assert {r for r in received} == {(m.device_id, m.seq) for m in messages}  # duplicates allowed, gaps not


def test_no_matching_subscribers_is_not_delivered_and_is_published_again(mosquitto: MqttUrl) -> None:
    # MQTT 5 PUBACK 0x10: the broker had nobody subscribed and dropped the message. It is not delivered.
    messages = [Outgoing(n, START, "fw/v1/P-0001/D-0001/status", b'{"n": %d}' % n, "D-0001", n) for n in range(20)]
    result: dict[str, PublishStats] = {}

    def publish() -> None:
        with Publisher(PublishOptions(url=mosquitto, qos=1, speed=0, connections=1, retry_for_s=30)) as publisher:
            result["stats"] = publisher.publish(iter(messages), sim_start=START)

    worker = threading.Thread(target=publish)
    worker.start()
    time.sleep(1.0)  # every message has been answered 0x10 at least once by now
    counter = Counter(mosquitto)
    try:
        worker.join(timeout=30)
        counter.wait_for(len(messages))
        assert counter.count >= len(messages)
    finally:
        counter.close()
    stats = result["stats"]
    assert (stats.acknowledged, stats.errors) == (len(messages), 0)
    assert stats.retries >= len(messages)
