"""Choosing and starting the bus the settings name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from core.bus.base import Bus
from core.bus.kafka import KafkaBus
from core.bus.local import LocalBus
from core.settings import Settings


@asynccontextmanager
async def open_bus(settings: Settings, *, client_id: str = "firewarden") -> AsyncIterator[Bus]:
    """The started bus of ``settings.bus``, closed (flushed) when the context ends."""
    bus: Bus = (
        LocalBus()
        if settings.bus == "local"
        else KafkaBus(settings.bus.bootstrap_servers, client_id=client_id, idempotent=settings.kafka_idempotent)
    )
    await bus.start()
    try:
        yield bus
    finally:
        await bus.close()
