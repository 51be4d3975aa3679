"""The console's GB/T 26875.3 commands over real Mosquitto: an operator sends a UITD a duty check and a
clock sync from the API, which records, audits and publishes them on the UITD's downlink; inspectors
may not; a device that is not a UITD, one out of sight and a console without a broker are refused."""

from __future__ import annotations

import queue
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from core import gb26875 as gb
from core.addresses import MqttUrl
from core.policy import Policy
from core.wire import downlink_topic
from tests.console.conftest import Served, add_users, as_json, city_registry, load, login


@pytest.fixture
def served_with_broker(migrated_url: str, mosquitto: MqttUrl) -> Iterator[Served]:
    load(migrated_url, city_registry())
    add_users(migrated_url)
    console = Served(migrated_url, Policy(), broker=mosquitto).start()
    try:
        yield console
    finally:
        console.stop()


def _downlink(url: MqttUrl, topic: str) -> tuple[mqtt.Client, queue.Queue[bytes]]:
    received: queue.Queue[bytes] = queue.Queue()
    subscribed: queue.Queue[bool] = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="uitd-downlink", protocol=mqtt.MQTTv5)
    client.on_message = lambda c, u, m: received.put(bytes(m.payload))
    client.on_subscribe = lambda *_: subscribed.put(True)
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.connect(url.host, url.port)
    client.loop_start()
    subscribed.get(timeout=10)
    return client, received


def test_an_operator_sends_a_uitd_a_duty_check_and_a_clock_sync(served_with_broker: Served, mosquitto: MqttUrl) -> None:
    client, received = _downlink(mosquitto, downlink_topic("P", "UITD"))
    try:
        operator = login(served_with_broker, "op")
        check = as_json(operator.post("/api/devices/UITD/gb26875/duty-check", json={"answer_minutes": 5}))
        sync = as_json(operator.post("/api/devices/UITD/gb26875/sync-clock"))
        first, second = gb.decode_frame(received.get(timeout=10)), gb.decode_frame(received.get(timeout=10))
    finally:
        client.loop_stop()
        client.disconnect()
    assert (check["kind"], check["serial"], check["sent_by"]) == ("duty_check", 0, "operator:op")
    assert (first.command, first.serial, first.data) == (gb.CONTROL, 0, bytes((gb.DUTY_CHECK, 1, 5)))
    assert (sync["kind"], second.serial, second.data[:2]) == ("sync_clock", 1, bytes((gb.SYNC_CLOCK, 1)))
    listed = as_json(operator.get("/api/devices/UITD/gb26875/commands"))
    assert [(c["kind"], c["confirmed_at"]) for c in listed] == [("sync_clock", None), ("duty_check", None)]
    audit = as_json(login(served_with_broker, "adm").get("/api/audit?action=uitd.command"))
    assert len(audit) == 2


def test_who_may_send_what_to_whom(served_with_broker: Served) -> None:
    inspector = login(served_with_broker, "insp")
    as_json(inspector.post("/api/devices/UITD/gb26875/duty-check"), 403)
    operator = login(served_with_broker, "op")
    as_json(operator.post("/api/devices/RC/gb26875/duty-check"), 409)  # an electrical monitor
    as_json(operator.post("/api/devices/NOPE/gb26875/duty-check"), 404)
    as_json(operator.post("/api/devices/UITD/gb26875/reboot"), 422)
    as_json(operator.post("/api/devices/UITD/gb26875/duty-check", json={"answer_minutes": 0}), 422)
    other = login(served_with_broker, "other")  # an inspector of another jurisdiction: as if it did not exist
    as_json(other.get("/api/devices/UITD/gb26875/commands"), 404)
    assert as_json(operator.get("/api/devices/UITD/gb26875/commands")) == []


def test_a_console_without_a_broker_says_so(served: Served) -> None:
    answer = login(served, "op").post("/api/devices/UITD/gb26875/duty-check")
    assert answer.status_code == 503
    assert "FIREWARDEN_MQTT_URL" in answer.json()["detail"]
