"""``firewarden gateway gb26875`` as a process: the TCP server of :mod:`gateway.server`, the registry's
UITD addresses (read again every ``scoring_registry_refresh_s``), health and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import ssl

from core.addresses import MqttUrl
from core.errors import ServiceError, SettingsError
from core.health import Health
from core.settings import Settings
from firewarden.processes.runtime import keep_reading, require_migrated, stop_on_signals
from gateway import Bridge, Gateway, Metrics, Uitd, load_addresses

log = logging.getLogger(__name__)


def run_gateway(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT, then close every UITD connection (they reconnect elsewhere)."""
    if settings.mqtt_url is None or settings.database_url is None:
        raise SettingsError(
            "`firewarden gateway gb26875` bridges UITDs to the broker ingest reads, and knows them from the "
            "registry: set FIREWARDEN_MQTT_URL and FIREWARDEN_DATABASE_URL"
        )
    require_migrated(settings.database_url)
    asyncio.run(_serve(settings, settings.mqtt_url, settings.database_url))


async def _serve(settings: Settings, broker: MqttUrl, database_url: str) -> None:
    stop = asyncio.Event()
    stop_on_signals(stop, "closing the UITD connections")
    health = Health("gateway")
    addresses: dict[str, Uitd] = await asyncio.to_thread(load_addresses, database_url)
    gateway = Gateway(addresses, settings.gateway_idle_s, Metrics(health.registry))
    bridge = Bridge(broker, settings.gateway_client_id, gateway.downlink)
    gateway.bridge = bridge
    try:
        tls = _tls_context(settings)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(gateway.protocol, settings.gateway_host, settings.gateway_port, ssl=tls)
    except OSError as error:
        raise ServiceError(
            f"cannot listen for UITDs on {settings.gateway_host}:{settings.gateway_port}: {error.strerror}; "
            "set FIREWARDEN_GATEWAY_PORT to a free port"
        ) from None
    health.ready = bridge.connected.is_set
    health.detail = lambda: {"uitds_connected": gateway.connected, "uitds_known": len(addresses)}
    bridge.start()
    async with server, health.serving(settings.metrics_port, stop):
        log.info("gateway: GB/T 26875.3 over %s on %s:%d, %d UITDs known", "TLS" if tls else "TCP",
                 settings.gateway_host, settings.gateway_port, len(addresses))  # fmt: skip
        read = functools.partial(load_addresses, database_url)
        refresh = asyncio.create_task(
            keep_reading(addresses, read, settings.scoring_registry_refresh_s, stop, "the registry's UITD addresses")
        )
        sweep = asyncio.create_task(gateway.sweep_forever())
        gc.freeze()  # what the process holds from its start lives as long as it: no collection need look at it again
        await stop.wait()
        server.close()
        gateway.close_all()
        for task in (refresh, sweep):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    bridge.stop()
    log.info("gateway stopped")


def _tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The server's TLS, when a certificate is set. Raises ServiceError naming a file that will not load."""
    if settings.gateway_tls_cert_file is None or settings.gateway_tls_key_file is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(settings.gateway_tls_cert_file, settings.gateway_tls_key_file)
    except (OSError, ssl.SSLError) as error:
        raise ServiceError(
            f"the gateway's TLS certificate {settings.gateway_tls_cert_file} and key "
            f"{settings.gateway_tls_key_file} do not load: {error}"
        ) from None
    return context
