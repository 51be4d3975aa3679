"""Embedded services for one machine: PostgreSQL from a pip wheel and an MQTT broker.

A setting that names a real service always wins; only an unset ``database_url`` / ``mqtt_url``
starts the embedded one. How the broker is chosen is in :mod:`core.services.mqtt`.

Two URLs reach the database: :func:`database_url`, the application's (a member of
``firewarden_app``, which cannot alter the audit log), and :func:`owner_database_url`, the owner's,
for migrations only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from core.addresses import MqttUrl
from core.services.mqtt import BrokerProgram, choose_broker, embedded_broker
from core.services.postgres import EmbeddedUrls, embedded_postgres
from core.settings import Settings

__all__ = [
    "BrokerProgram",
    "EmbeddedUrls",
    "choose_broker",
    "database_url",
    "embedded_broker",
    "embedded_postgres",
    "mqtt_url",
    "owner_database_url",
]


@contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """The application's database URL: the configured one, or the embedded server's for as long as the
    context lasts."""
    if settings.database_url is not None:
        yield settings.database_url
        return
    with embedded_postgres(settings.data_dir) as urls:
        yield urls.app


@contextmanager
def owner_database_url(settings: Settings) -> Iterator[str]:
    """The URL migrations run with: ``database_owner_url``, else ``database_url``, else the embedded
    server's owner for as long as the context lasts."""
    configured = settings.database_owner_url or settings.database_url
    if configured is not None:
        yield configured
        return
    with embedded_postgres(settings.data_dir) as urls:
        yield urls.owner


@contextmanager
def mqtt_url(settings: Settings) -> Iterator[MqttUrl]:
    """The configured broker, or an embedded one for as long as the context lasts."""
    if settings.mqtt_url is not None:
        yield settings.mqtt_url
        return
    with embedded_broker(settings.data_dir, port=settings.embedded_mqtt_port) as url:
        yield url
