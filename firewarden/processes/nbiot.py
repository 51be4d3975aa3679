"""``firewarden gateway nbiot`` as a process: the HTTP server of :mod:`gateway.nbiot` (uvicorn in our
event loop), the registry's platform names (read again every ``scoring_registry_refresh_s``), the
broker, health and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

import uvicorn

from core.addresses import MqttUrl
from core.errors import ServiceError, SettingsError
from core.health import Health
from core.onenet import Target
from core.settings import Settings
from firewarden.processes.console import ApiServer
from firewarden.processes.runtime import keep_reading, require_migrated, stop_on_signals
from gateway import Publisher, Pushes, create_app, load_targets

log = logging.getLogger(__name__)


def run_nbiot(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT."""
    if settings.mqtt_url is None or settings.database_url is None:
        raise SettingsError(
            "`firewarden gateway nbiot` hands pushes to the broker ingest reads, and knows devices from the "
            "registry: set FIREWARDEN_MQTT_URL and FIREWARDEN_DATABASE_URL"
        )
    require_migrated(settings.database_url)
    asyncio.run(_serve(settings, settings.mqtt_url, settings.database_url))


async def _serve(settings: Settings, broker: MqttUrl, database_url: str) -> None:
    stop = asyncio.Event()
    stop_on_signals(stop, "no longer taking pushes")
    health = Health("nbiot")
    targets: dict[str, Target] = await asyncio.to_thread(load_targets, database_url)
    publisher = Publisher(broker, settings.nbiot_client_id)
    pushes = Pushes(settings.onenet_token, settings.onenet_max_age_s, targets, publisher, database_url, health.registry,
                    ctwing_token=settings.ctwing_token, ctwing_max_age_s=settings.ctwing_max_age_s,
                    onenet_aes_key=settings.onenet_aes_key)  # fmt: skip
    config = uvicorn.Config(create_app(pushes), host=settings.nbiot_host, port=settings.nbiot_port,
                            log_level="warning", timeout_graceful_shutdown=5)  # fmt: skip
    server = ApiServer(config)
    health.ready = lambda: publisher.connected.is_set() and server.started
    health.detail = lambda: {
        "devices_known": len(targets),
        "onenet": settings.onenet_token is not None,
        "onenet_safe_mode": settings.onenet_aes_key is not None,
        "ctwing": settings.ctwing_token is not None,
    }
    publisher.start()
    if settings.onenet_token is None:
        log.warning("no FIREWARDEN_ONENET_TOKEN: /ingest/onenet answers 503 until one is set")
    if settings.ctwing_token is None:
        log.warning("no FIREWARDEN_CTWING_TOKEN: /ingest/ctwing answers 503 until one is set")
    async with health.serving(settings.metrics_port, stop):
        serving = asyncio.create_task(server.serve())
        await asyncio.sleep(0)
        while not server.started and not serving.done():
            await asyncio.sleep(0.05)
        if serving.done():
            publisher.stop()
            raise ServiceError(
                f"cannot listen for platform pushes on {settings.nbiot_host}:{settings.nbiot_port}; "
                "set FIREWARDEN_NBIOT_PORT to a free port"
            )
        log.info("gateway: NB-IoT platform pushes on http://%s:%d/ingest/onenet and /ingest/ctwing/…, %d devices known",
                 settings.nbiot_host, settings.nbiot_port, len(targets))  # fmt: skip
        read = functools.partial(load_targets, database_url)
        refresh = asyncio.create_task(
            keep_reading(targets, read, settings.scoring_registry_refresh_s, stop, "the registry's platform names")
        )
        await stop.wait()
        server.should_exit = True
        await serving
        refresh.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refresh
    publisher.stop()
    log.info("NB-IoT gateway stopped")
