"""``firewarden ingest``: the long-running ingest process, from settings to a clean exit.

Health and metrics on ``metrics_port`` (:mod:`firewarden.processes.runtime`): ready once every
subscription is acknowledged and while connected to the broker.
"""

from __future__ import annotations

import asyncio
import logging

from core.addresses import MqttUrl
from core.bus import open_bus
from core.policy import IngestPolicy, load_policy
from core.services import database_url, mqtt_url
from core.settings import Settings
from firewarden.processes.runtime import Health, freeze_startup_heap, require_migrated, stop_on_signals
from ingest import Ingest, IngestMetrics, IngestOptions, RegistryIndex, load_registry_index

log = logging.getLogger(__name__)


def run_ingest(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT; embedded PostgreSQL and broker when the settings name none."""
    policy = load_policy(settings.policy_file).ingest
    with database_url(settings) as db_url, mqtt_url(settings) as broker:
        require_migrated(db_url)
        index = load_registry_index(db_url)
        if len(index) == 0:
            log.warning(
                "the registry has no devices: every message will be filed as unknown_device "
                "(import one with `firewarden registry import FILE`)"
            )
        asyncio.run(_serve(settings, broker, db_url, index, policy))


async def _serve(settings: Settings, broker: MqttUrl, db_url: str, index: RegistryIndex, policy: IngestPolicy) -> None:
    options = IngestOptions.from_settings(settings)
    metrics = IngestMetrics()
    health = Health("ingest", metrics.registry)
    stop = asyncio.Event()
    stop_on_signals(stop, "storing and acknowledging what was received")
    async with health.serving(settings.metrics_port, stop), open_bus(settings, client_id=options.client_id) as bus:
        ingest = Ingest(
            mqtt_url=broker,
            database_url=db_url,
            bus=bus,
            options=options,
            index=index,
            metrics=metrics,
            policy=policy,
        )
        health.ready = lambda: ingest.ready
        health.detail = lambda: {
            "in_flight": ingest.in_flight, "standby": ingest.standby, "sessions_lost": ingest.sessions.detail()
        }  # fmt: skip
        freeze_startup_heap()
        await ingest.run(stop)
