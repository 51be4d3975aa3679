"""The centre's commands to GB/T 26875.3 UITDs: a duty check (查岗, type 91) and a clock sync (type 90).

A command is recorded (``uitd_commands``, and ``uitd.command`` in the audit log) and published on the
UITD's downlink topic (docs/protocol.md) in one step: a command the broker did not take is not
recorded. The UITD's confirm or deny comes back as a frame, which ingest stores as the UITD's status
(``confirm serial=N`` / ``deny serial=N``); a duty check is answered when the person on duty presses
the UITD's answer key (an operation frame, "duty check answered"). :func:`commands` joins them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from core import gb26875
from core.addresses import MqttUrl
from core.db import audit, connect, database_errors
from core.errors import CommandError
from core.wire import downlink_topic

CommandKind = Literal["duty_check", "sync_clock"]
PUBLISH_TIMEOUT_S = 10.0
ANSWER_SLACK = timedelta(minutes=5)
"""How far before a command a UITD's answer may be stamped (its clock may run behind ours)."""


@dataclass(frozen=True, slots=True)
class Command:
    id: int
    device_id: str
    kind: str
    serial: int
    sent_at: datetime
    sent_by: str
    confirmed_at: datetime | None = None
    denied_at: datetime | None = None
    answered_at: datetime | None = None
    """Duty checks: when the person on duty answered (the UITD's clock)."""


def send_command(
    database_url: str,
    broker: MqttUrl,
    device_id: str,
    kind: CommandKind,
    *,
    actor: str,
    now: datetime,
    centre: bytes = bytes(6),
    answer_minutes: int = 10,
) -> Command:
    """Record and publish one command. Raises CommandError or DatabaseError (nothing recorded)."""
    with database_errors("recording the command"), connect(database_url) as conn, conn.transaction():
        found = conn.execute(
            "SELECT premises_id, type, gb26875_address FROM devices WHERE id = %s", (device_id,)
        ).fetchone()
        if found is None:
            raise CommandError(f"unknown device {device_id!r}")
        premises_id, device_type = str(found[0]), str(found[1])
        address = bytes.fromhex(str(found[2])) if found[2] is not None else bytes(6)
        if device_type != "uitd":
            raise CommandError(f"device {device_id!r} is a {device_type}: commands go to a uitd")
        last = conn.execute(
            "SELECT serial FROM uitd_commands WHERE device_id = %s ORDER BY id DESC LIMIT 1 FOR UPDATE",
            (device_id,),
        ).fetchone()
        serial = (int(str(last[0])) + 1) % 65_536 if last else 0
        row = conn.execute(
            "INSERT INTO uitd_commands (device_id, kind, serial, sent_at, sent_by) VALUES (%s, %s, %s, %s, %s)"
            " RETURNING id",
            (device_id, kind, serial, now, actor),
        ).fetchone()
        assert row is not None
        with conn.cursor() as cur:
            audit.record(cur, now, actor, "uitd.command", f"device:{device_id}", kind=kind, serial=serial)
        frame = gb26875.command_frame(kind, serial, now=now, centre=centre, uitd=address, answer_minutes=answer_minutes)
        publish(broker, downlink_topic(premises_id, device_id), frame)
    return Command(int(str(row[0])), device_id, kind, serial, now, actor)


def publish(broker: MqttUrl, topic: str, payload: bytes) -> None:
    """Publish one message with QoS 1 and wait for the broker's PUBACK. Raises CommandError."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    broker.secure(client)
    connected = threading.Event()
    refused: list[str] = []

    def on_connect(client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            refused.append(str(reason))
        connected.set()

    client.on_connect = on_connect
    try:
        client.connect(broker.host, broker.port)
    except OSError as error:
        raise CommandError(f"cannot reach the MQTT broker at {broker}: {error}") from None
    client.loop_start()
    try:
        if not connected.wait(PUBLISH_TIMEOUT_S) or refused:
            raise CommandError(f"the MQTT broker at {broker} did not accept the connection: {', '.join(refused)}")
        info = client.publish(topic, payload, qos=1)
        info.wait_for_publish(PUBLISH_TIMEOUT_S)
        if not info.is_published():
            raise CommandError(f"the MQTT broker at {broker} did not acknowledge the command")
    finally:
        client.disconnect()
        client.loop_stop()


def commands(database_url: str, device_id: str, limit: int = 50) -> list[Command]:
    """The device's latest commands, newest first, each with the UITD's answers. Raises DatabaseError."""
    with database_errors("reading the commands"), connect(database_url) as conn:
        rows = conn.execute(
            """
                SELECT c.id, c.device_id, c.kind, c.serial, c.sent_at, c.sent_by,
                       (SELECT min(s.time) FROM device_status s WHERE s.device_id = c.device_id
                          AND s.detail = 'confirm serial=' || c.serial AND s.time >= c.sent_at - %(slack)s),
                       (SELECT min(s.time) FROM device_status s WHERE s.device_id = c.device_id
                          AND s.detail = 'deny serial=' || c.serial AND s.time >= c.sent_at - %(slack)s),
                       CASE WHEN c.kind = 'duty_check' THEN
                         (SELECT min(s.time) FROM device_status s WHERE s.device_id = c.device_id
                            AND s.detail LIKE 'UITD operation: %%duty check answered%%'
                            AND s.time >= c.sent_at - %(slack)s)
                       END
                FROM uitd_commands c WHERE c.device_id = %(device)s ORDER BY c.id DESC LIMIT %(limit)s
                """,
            {"device": device_id, "slack": ANSWER_SLACK, "limit": limit},
        ).fetchall()
    return [
        Command(
            int(str(r[0])),
            str(r[1]),
            str(r[2]),
            int(str(r[3])),
            cast(datetime, r[4]),
            str(r[5]),
            cast(datetime | None, r[6]),
            cast(datetime | None, r[7]),
            cast(datetime | None, r[8]),
        )
        for r in rows
    ]
