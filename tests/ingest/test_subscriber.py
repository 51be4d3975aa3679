"""The MQTT edge on its own: brokers ingest cannot work with are refused with a reason."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from firewarden.errors import ServiceError
from firewarden.services import embedded_broker
from firewarden.services.mqtt import AMQTT
from firewarden.settings import MqttUrl
from ingest.subscriber import MqttSubscriber
from tests.ports import free_port


def _start(url: MqttUrl) -> None:
    async def scenario() -> None:
        subscriber = MqttSubscriber(
            url,
            client_id="probe",
            group="ingest",
            receive_maximum=10,
            session_expiry_s=0,
            on_delivery=lambda delivery: None,
            connect_timeout_s=2,
        )
        try:
            await subscriber.start()
        finally:
            await subscriber.stop()

    asyncio.run(scenario())


def test_an_mqtt_3_only_broker_is_refused_with_the_reason(tmp_path: Path) -> None:
    with embedded_broker(tmp_path, port=free_port(), program=AMQTT) as url, pytest.raises(ServiceError, match="MQTT 5"):
        _start(url)


def test_no_broker_is_a_service_error() -> None:
    with pytest.raises(ServiceError, match="cannot reach"):
        _start(MqttUrl("127.0.0.1", free_port(), tls=False))
