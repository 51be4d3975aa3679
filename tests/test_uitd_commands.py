"""The centre's commands to a UITD over real Mosquitto and PostgreSQL: a duty check and a clock sync are
recorded, audited and published on the UITD's downlink; a UITD (a plain MQTT client here) confirms
them and answers the duty check through ingest; `commands` joins the answers."""

from __future__ import annotations

import asyncio
import queue
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from core import gb26875 as gb
from core import uitd
from core.addresses import MqttUrl
from core.bus import LocalBus
from core.db import connect
from core.wire import downlink_topic, topic_for
from tests.ingest.harness import FLEET, import_fleet, make_ingest, until
from tests.ports import free_port

DEVICE = "P-000000-UITD"
PREMISES = "P-000000"
CENTRE = bytes.fromhex("385B01000000")


class FakeUitd:
    """Reads its downlink and publishes frames on its uplink, as a UITD's MQTT gateway would."""

    def __init__(self, url: MqttUrl) -> None:
        self.received: queue.Queue[bytes] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=DEVICE, protocol=mqtt.MQTTv5)
        subscribed = queue.Queue[bool]()
        self.client.on_message = lambda c, u, m: self.received.put(bytes(m.payload))
        self.client.on_subscribe = lambda *_: subscribed.put(True)
        self.client.on_connect = lambda c, *_: c.subscribe(downlink_topic(PREMISES, DEVICE), qos=1)
        self.client.connect(url.host, url.port)
        self.client.loop_start()
        subscribed.get(timeout=10)

    def send(self, serial: int, command: int, data: bytes, at: datetime) -> None:
        frame = gb.encode_frame(serial, command, data, sent_at=at, source=bytes.fromhex("790300000000"))
        self.client.publish(topic_for(PREMISES, DEVICE, "gb26875"), frame, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_duty_check_and_clock_sync_round_trip(mosquitto: MqttUrl, migrated_url: str) -> None:
    url = migrated_url
    import_fleet(url)
    fake = FakeUitd(mosquitto)
    ingest = make_ingest(mosquitto, url, LocalBus())

    async def scenario() -> tuple[uitd.Command, uitd.Command]:
        stop = asyncio.Event()
        task = asyncio.create_task(ingest.run(stop))
        try:
            await until(lambda: ingest.ready, "ingest to subscribe")
            now = datetime.now(UTC).replace(microsecond=0)
            check = await asyncio.to_thread(
                uitd.send_command, url, mosquitto, DEVICE, "duty_check", actor="test", now=now, centre=CENTRE
            )
            sync = await asyncio.to_thread(
                uitd.send_command, url, mosquitto, DEVICE, "sync_clock", actor="test", now=now, centre=CENTRE
            )
            first, second = (gb.decode_frame(fake.received.get(timeout=10)) for _ in range(2))
            assert (first.command, first.serial, first.source, first.data) == (
                gb.CONTROL,
                0,
                CENTRE,
                bytes((91, 1, 10)),
            )
            assert (second.command, second.serial, second.data[:2]) == (gb.CONTROL, 1, bytes((90, 1)))
            assert gb.read_time(second.data[2:8], gb.CHINA, "sync") == now
            # The UITD confirms both, then the person on duty answers; ingest confirms each frame back.
            fake.send(first.serial, gb.CONFIRM, b"", now + timedelta(seconds=1))
            fake.send(second.serial, gb.DENY, b"", now + timedelta(seconds=1))
            answer = gb.data_unit(gb.UITD_OPERATION, [gb.uitd_operation_object(1 << 5, 3, now + timedelta(seconds=20))])
            fake.send(7, gb.SEND_DATA, answer, now + timedelta(seconds=20))
            await until(lambda: ingest.metrics.value("firewarden_ingest_stored_total") >= 3, "the UITD's three frames")
            confirms = [gb.decode_frame(fake.received.get(timeout=10)) for _ in range(3)]
            assert sorted((c.command, c.serial) for c in confirms) == [
                (gb.CONFIRM, 0),
                (gb.CONFIRM, 1),
                (gb.CONFIRM, 7),
            ]
        finally:
            stop.set()
            await task
            fake.close()
        return check, sync

    check, sync = asyncio.run(scenario())
    listed = {c.serial: c for c in uitd.commands(url, DEVICE)}
    assert listed[check.serial].kind == "duty_check"
    assert listed[check.serial].confirmed_at is not None and listed[check.serial].denied_at is None
    assert listed[check.serial].answered_at is not None
    assert listed[sync.serial].denied_at is not None and listed[sync.serial].confirmed_at is None
    with connect(url) as conn:
        audited = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'uitd.command'").fetchone()
    assert audited is not None and audited[0] == 2


def test_a_command_to_an_unknown_device_or_a_sensor_is_refused(mosquitto: MqttUrl, migrated_url: str) -> None:
    import_fleet(migrated_url)
    sensor = next(d.id for d in FLEET.devices if d.type != "uitd")
    now = datetime.now(UTC)
    with pytest.raises(uitd.CommandError, match="unknown device"):
        uitd.send_command(migrated_url, mosquitto, "NOPE", "duty_check", actor="t", now=now)
    with pytest.raises(uitd.CommandError, match="commands go to a uitd"):
        uitd.send_command(migrated_url, mosquitto, sensor, "sync_clock", actor="t", now=now)
    dead = MqttUrl.parse(f"mqtt://127.0.0.1:{free_port()}")
    with pytest.raises(uitd.CommandError, match="cannot reach the MQTT broker"):
        uitd.send_command(migrated_url, dead, DEVICE, "duty_check", actor="t", now=now)
    with connect(migrated_url) as conn:
        recorded = conn.execute("SELECT count(*) FROM uitd_commands").fetchone()
    assert recorded is not None and recorded[0] == 0  # nothing recorded that was not sent
