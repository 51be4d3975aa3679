"""Broker credentials from the registry, tried on a real Mosquitto: each device may publish only under
its own topics, ingest may read them all, a wrong password is refused, and running the command again
keeps every password."""

from __future__ import annotations

import base64
import csv
import getpass
import queue
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from core.addresses import MqttUrl
from core.registry import dump
from core.registry.credentials import derive_password, mosquitto_hash
from simulators.engine import Outgoing
from simulators.fleet import generate_fleet
from simulators.publisher import Publisher, PublishOptions
from tests.ports import free_port
from tests.test_cli import firewarden


def test_the_password_hash_is_mosquittos_own_format() -> None:
    made = subprocess.run(["mosquitto_passwd", "-b", "-c", "/dev/stdout", "u", "pw"], capture_output=True, text=True)
    theirs = made.stdout.strip().split(":", 1)[1]
    salt = base64.b64decode(theirs.split("$")[3])
    assert mosquitto_hash("pw", salt) == theirs


def test_passwords_are_derived_from_the_key_and_the_name() -> None:
    key = bytes(32)
    assert derive_password(key, "device", "D-1") == derive_password(key, "device", "D-1")
    assert derive_password(key, "device", "D-1") != derive_password(key, "device", "D-2")
    assert derive_password(key, "device", "D-1") != derive_password(bytes([1]) + bytes(31), "device", "D-1")
    assert len(derive_password(key, "service", "ingest")) == 24


@pytest.fixture
def made(tmp_path: Path) -> tuple[Path, dict[str, dict[str, str]], Path]:
    fleet = generate_fleet(3, seed=5)
    registry_file = tmp_path / "city.yaml"
    registry_file.write_text(dump(fleet, "yaml"), encoding="utf-8")
    out = tmp_path / "broker"
    result = firewarden(
        "registry", "credentials", "--from", str(registry_file), "--out-dir", str(out),
        "--key-file", str(tmp_path / "keys" / "broker.key"), "--service", "simulator:write",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    devices = len(fleet.devices)
    assert f"{devices} device(s), 4 service user(s)" in result.stdout  # ingest, gateway, nbiot, simulator
    with (out / "credentials.csv").open(newline="") as f:
        rows = {r["user"]: r for r in csv.DictReader(f)}
    assert len(rows) == devices + 4
    return out, rows, registry_file


def test_the_files_are_private_and_a_second_run_keeps_every_password(
    made: tuple[Path, dict[str, dict[str, str]], Path], tmp_path: Path
) -> None:
    out, rows, registry_file = made
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert stat.S_IMODE((out / "credentials.csv").stat().st_mode) == 0o600
    for name in ("passwd", "acl"):  # hashes and rules, read by the broker's own user
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name
    assert stat.S_IMODE((tmp_path / "keys" / "broker.key").stat().st_mode) == 0o600
    again = firewarden(
        "registry", "credentials", "--from", str(registry_file), "--out-dir", str(tmp_path / "again"),
        "--key-file", str(tmp_path / "keys" / "broker.key"), "--service", "simulator:write",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    with (tmp_path / "again" / "credentials.csv").open(newline="") as f:
        assert {r["user"]: r["password"] for r in csv.DictReader(f)} == {u: r["password"] for u, r in rows.items()}


def test_bad_service_specs_and_keys_are_refused(tmp_path: Path) -> None:
    registry_file = tmp_path / "city.yaml"
    registry_file.write_text(dump(generate_fleet(1, seed=5), "yaml"), encoding="utf-8")
    bad = firewarden("registry", "credentials", "--from", str(registry_file), "--out-dir", str(tmp_path / "o"),
                     "--key-file", str(tmp_path / "k"), "--service", "bridge:publish")  # fmt: skip
    assert bad.returncode == 2
    assert "expected NAME:read|write|readwrite[:TOPIC]" in bad.stderr
    (tmp_path / "bad.key").write_text("not hex\n")
    wrong = firewarden("registry", "credentials", "--from", str(registry_file), "--out-dir", str(tmp_path / "o"),
                       "--key-file", str(tmp_path / "bad.key"))  # fmt: skip
    assert wrong.returncode != 0
    assert "not a credentials key" in wrong.stderr


@pytest.fixture
def secured_broker(made: tuple[Path, dict[str, dict[str, str]], Path], tmp_path: Path) -> Iterator[int]:
    out, _, _ = made
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(  # as the invoking user: the files are theirs alone (0600)
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {out / 'passwd'}\n"
        f"acl_file {out / 'acl'}\npersistence false\nlog_dest stderr\nuser {getpass.getuser()}\n"
    )
    proc = subprocess.Popen(["mosquitto", "-c", str(config)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class Client:
    """A paho MQTT 5 client on its own thread; connect answers the CONNACK's reason."""

    def __init__(self, port: int, user: str, password: str) -> None:
        self.messages: queue.Queue[str] = queue.Queue()
        self.acks: queue.Queue[ReasonCode] = queue.Queue()
        self.connacks: queue.Queue[ReasonCode] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{user}", protocol=mqtt.MQTTv5)
        self.client.username_pw_set(user, password)
        self.client.on_connect = lambda c, u, f, rc, p: self.connacks.put(rc)
        self.client.on_publish = lambda c, u, mid, rc, p: self.acks.put(rc)
        self.client.on_message = lambda c, u, m: self.messages.put(m.topic)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def connected(self) -> ReasonCode:
        return self.connacks.get(timeout=10)

    def publish(self, topic: str) -> ReasonCode:
        self.client.publish(topic, b'{"seq": 1, "ts": 0}', qos=1)
        return self.acks.get(timeout=10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_each_device_publishes_only_under_its_own_topics_and_ingest_reads_them(
    made: tuple[Path, dict[str, dict[str, str]], Path], secured_broker: int
) -> None:
    _, rows, _ = made
    devices = [r for r in rows.values() if r["kind"] == "device"]
    mine, other = devices[0], next(d for d in devices if d["premises"] != devices[0]["premises"])
    ingest = Client(secured_broker, "ingest", rows["ingest"]["password"])
    assert ingest.connected().value == 0
    ingest.client.subscribe("fw/v1/#", qos=1)
    time.sleep(0.3)
    device = Client(secured_broker, mine["user"], mine["password"])
    try:
        assert device.connected().value == 0
        own = f"fw/v1/{mine['premises']}/{mine['user']}/telemetry"
        assert device.publish(own).value == 0
        assert ingest.messages.get(timeout=5) == own
        for elsewhere in (
            f"fw/v1/{other['premises']}/{other['user']}/telemetry",  # another device's topic
            f"fw/v1/{other['premises']}/{mine['user']}/telemetry",  # its id under another premises
        ):
            assert device.publish(elsewhere).getName() == "Not authorized"
        assert ingest.publish(own).getName() == "Not authorized"
        time.sleep(0.3)
        assert ingest.messages.empty(), "a refused message reached ingest"
    finally:
        device.close()
        ingest.close()
    wrong = Client(secured_broker, mine["user"], "not-the-password")
    try:
        assert wrong.connected().value != 0
    finally:
        wrong.close()


def test_the_simulator_logs_in_with_the_user_of_its_broker_url(
    made: tuple[Path, dict[str, dict[str, str]], Path], secured_broker: int
) -> None:
    _, rows, _ = made
    ingest = Client(secured_broker, "ingest", rows["ingest"]["password"])
    assert ingest.connected().value == 0
    ingest.client.subscribe("fw/v1/#", qos=1)
    time.sleep(0.3)
    url = MqttUrl("127.0.0.1", secured_broker, tls=False, username="simulator", password=rows["simulator"]["password"])
    message = Outgoing(0, 0.0, "fw/v1/P-1/D-1/telemetry", b"{}", "D-1", 1)
    try:
        with Publisher(PublishOptions(url=url, qos=1, speed=0, connections=1)) as publisher:
            stats = publisher.publish([message], sim_start=0.0)
        assert (stats.acknowledged, stats.errors) == (1, 0)
        assert ingest.messages.get(timeout=5) == "fw/v1/P-1/D-1/telemetry"
    finally:
        ingest.close()


def test_a_uitd_reads_only_its_own_downlink_which_only_ingest_writes(
    made: tuple[Path, dict[str, dict[str, str]], Path], secured_broker: int
) -> None:
    _, rows, _ = made
    uitds = [r for r in rows.values() if r["kind"] == "device" and r["user"].endswith("-UITD")]
    assert len(uitds) >= 2, "the fleet needs two UITDs"
    mine, other = uitds[0], uitds[1]
    own = f"fw/down/v1/{mine['premises']}/{mine['user']}/gb26875"
    ingest = Client(secured_broker, "ingest", rows["ingest"]["password"])
    uitd = Client(secured_broker, mine["user"], mine["password"])
    neighbour = Client(secured_broker, other["user"], other["password"])
    try:
        for client in (ingest, uitd, neighbour):
            assert client.connected().value == 0
        uitd.client.subscribe(own, qos=1)
        neighbour.client.subscribe(own, qos=1)  # the broker refuses to deliver what its ACL does not allow
        time.sleep(0.3)
        assert ingest.publish(own).value == 0
        assert uitd.messages.get(timeout=5) == own
        assert uitd.publish(own).getName() == "Not authorized"  # a device cannot speak for the centre
        time.sleep(0.3)
        assert neighbour.messages.empty(), "another UITD read a downlink not its own"
        assert uitd.messages.empty(), "a device's write to its downlink got through"
    finally:
        for client in (ingest, uitd, neighbour):
            client.close()


def test_the_gateways_publish_for_any_device_and_only_the_gb26875_one_reads_the_downlink(
    made: tuple[Path, dict[str, dict[str, str]], Path], secured_broker: int
) -> None:
    _, rows, _ = made
    uitd = next(r for r in rows.values() if r["kind"] == "device" and r["user"].endswith("-UITD"))
    frames = f"fw/v1/{uitd['premises']}/{uitd['user']}/gb26875"
    downlink = f"fw/down/v1/{uitd['premises']}/{uitd['user']}/gb26875"
    ingest = Client(secured_broker, "ingest", rows["ingest"]["password"])
    gateway = Client(secured_broker, "gateway", rows["gateway"]["password"])
    nbiot = Client(secured_broker, "nbiot", rows["nbiot"]["password"])
    clients = (ingest, gateway, nbiot)
    try:
        for client in clients:
            assert client.connected().value == 0
        ingest.client.subscribe("fw/v1/#", qos=1)
        gateway.client.subscribe("fw/down/v1/#", qos=1)
        nbiot.client.subscribe("fw/down/v1/#", qos=1)  # refused by the ACL: nothing is delivered
        time.sleep(0.3)
        assert gateway.publish(frames).value == 0
        assert nbiot.publish(f"fw/v1/{uitd['premises']}/{uitd['user']}/status").value == 0
        assert sorted(ingest.messages.get(timeout=5) for _ in range(2)) == sorted([frames, frames[:-7] + "status"])
        assert ingest.publish(downlink).value == 0
        assert gateway.messages.get(timeout=5) == downlink
        for writer in (gateway, nbiot):  # neither speaks for the centre
            assert writer.publish(downlink).getName() == "Not authorized"
        time.sleep(0.3)
        assert nbiot.messages.empty(), "the NB-IoT gateway read a downlink"
        assert gateway.messages.empty(), "a gateway's write to a downlink got through"
    finally:
        for client in clients:
            client.close()
