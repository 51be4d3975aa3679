"""``firewarden ingest``: the long-running ingest process, from settings to a clean exit."""

from __future__ import annotations

import asyncio
import logging
import signal

from core.bus import open_bus
from core.db import connect, schema_status
from core.errors import DatabaseError
from core.policy import IngestPolicy, load_policy
from core.services import database_url, mqtt_url
from core.settings import MqttUrl, Settings
from ingest.metrics import IngestMetrics
from ingest.service import Ingest, IngestOptions
from ingest.store import load_registry_index
from ingest.validation import RegistryIndex

log = logging.getLogger(__name__)


def run_ingest(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT; embedded PostgreSQL and broker when the settings name none."""
    policy = load_policy(settings.policy_file).ingest
    with database_url(settings) as db_url, mqtt_url(settings) as broker:
        with connect(db_url) as conn:
            status = schema_status(conn)
        if status.pending:
            raise DatabaseError(
                f"the database schema is at version {status.version} of {status.latest}: "
                "run `firewarden db migrate` first"
            )
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
    if settings.metrics_port:
        metrics.serve(settings.metrics_port)
        log.info("metrics at http://0.0.0.0:%d/metrics", settings.metrics_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def _on_signal() -> None:
        if stop.is_set():
            raise SystemExit("second signal: exiting without waiting for the database")
        log.info("stopping: storing and acknowledging what was received")
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, _on_signal)
    async with open_bus(settings, client_id=options.client_id) as bus:
        ingest = Ingest(
            mqtt_url=broker,
            database_url=db_url,
            bus=bus,
            options=options,
            index=index,
            metrics=metrics,
            policy=policy,
        )
        await ingest.run(stop)
