"""The embedded MQTT broker: how it is chosen, and that each choice really carries messages."""

from __future__ import annotations

import shutil
import socket
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from core.addresses import MqttUrl
from core.errors import ServiceError
from core.services import BrokerProgram, choose_broker, embedded_broker
from core.services.mqtt import AMQTT, DEBIAN_MOSQUITTO
from tests.ports import free_port


def test_mosquitto_on_path_wins() -> None:
    assert choose_broker(lambda name: "/opt/bin/mosquitto" if name == "mosquitto" else None) == BrokerProgram(
        "mosquitto", ("/opt/bin/mosquitto",)
    )


def test_amqtt_when_no_mosquitto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("core.services.mqtt.DEBIAN_MOSQUITTO", Path("/nonexistent/mosquitto"))
    assert choose_broker(lambda name: None) == AMQTT


def _round_trip(url: MqttUrl, protocol: mqtt.MQTTProtocolVersion) -> bytes:
    received: list[bytes] = []
    got = threading.Event()
    subscribed = threading.Event()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="fw-test-sub", protocol=protocol)
    sub.on_subscribe = lambda *args: subscribed.set()

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        received.append(message.payload)
        got.set()

    sub.on_message = on_message
    sub.connect(url.host, url.port)
    sub.subscribe("fw/v1/#", qos=1)
    sub.loop_start()
    try:
        assert subscribed.wait(10), "no SUBACK"
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="fw-test-pub", protocol=protocol)
        pub.connect(url.host, url.port)
        pub.loop_start()
        pub.publish("fw/v1/P-1/D-1/status", b'{"seq":1,"ts":1,"state":"online"}', qos=1).wait_for_publish(10)
        pub.loop_stop()
        pub.disconnect()
        assert got.wait(10), "message not delivered"
    finally:
        sub.loop_stop()
        sub.disconnect()
    return received[0]


@pytest.mark.skipif(
    not (shutil.which("mosquitto") or DEBIAN_MOSQUITTO.is_file()),
    reason="mosquitto is not installed (make test installs it)",
)
def test_embedded_mosquitto_carries_mqtt5(tmp_path: Path) -> None:
    program = choose_broker()
    assert program.kind == "mosquitto"
    with embedded_broker(tmp_path, port=free_port(), program=program) as url:
        assert _round_trip(url, mqtt.MQTTProtocolVersion.MQTTv5) == b'{"seq":1,"ts":1,"state":"online"}'


def test_embedded_amqtt_carries_mqtt311(tmp_path: Path) -> None:
    with embedded_broker(tmp_path, port=free_port(), program=AMQTT) as url:
        assert _round_trip(url, mqtt.MQTTProtocolVersion.MQTTv311) == b'{"seq":1,"ts":1,"state":"online"}'


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with (
            pytest.raises(ServiceError, match=f"port 127.0.0.1:{port} is taken"),
            embedded_broker(tmp_path, port=port, program=AMQTT),
        ):
            pass
