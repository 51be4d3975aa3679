"""Embedded services for one machine: PostgreSQL from a pip wheel and an MQTT broker.

A setting that names a real service always wins; only an unset ``database_url`` / ``mqtt_url``
starts the embedded one. How the broker is chosen is in :mod:`firewarden.services.mqtt`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from firewarden.services.mqtt import BrokerProgram, choose_broker, embedded_broker
from firewarden.services.postgres import embedded_postgres
from firewarden.settings import MqttUrl, Settings

__all__ = ["BrokerProgram", "choose_broker", "database_url", "embedded_broker", "embedded_postgres", "mqtt_url"]


@contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """The configured database URL, or the embedded server's for as long as the context lasts."""
    if settings.database_url is not None:
        yield settings.database_url
        return
    with embedded_postgres(settings.data_dir) as url:
        yield url


@contextmanager
def mqtt_url(settings: Settings) -> Iterator[MqttUrl]:
    """The configured broker, or an embedded one for as long as the context lasts."""
    if settings.mqtt_url is not None:
        yield settings.mqtt_url
        return
    with embedded_broker(settings.data_dir, port=settings.embedded_mqtt_port) as url:
        yield url
