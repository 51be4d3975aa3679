"""What every Firewarden process shares: a stop on SIGTERM/SIGINT, and the checks before it starts.
Each serves :class:`core.health.Health` on ``metrics_port``."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Callable, MutableMapping
from typing import TypeVar

from core.db import connect, schema_status
from core.errors import DatabaseError, SettingsError
from core.health import Health
from core.settings import Settings

__all__ = ["Health", "freeze_startup_heap", "keep_reading", "require_kafka", "require_migrated", "stop_on_signals"]

log = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")


def stop_on_signals(stop: asyncio.Event, what: str, on_stop: Callable[[], None] | None = None) -> None:
    """SIGTERM or SIGINT sets ``stop`` (the orderly stop: ``what`` is logged); a second signal exits at once."""
    loop = asyncio.get_running_loop()

    def signalled() -> None:
        if stop.is_set():
            raise SystemExit("second signal: exiting without waiting")
        log.info("stopping: %s", what)
        stop.set()
        if on_stop is not None:
            on_stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, signalled)


def require_kafka(settings: Settings, command: str) -> None:
    """A stage in a process of its own talks to the others through Kafka: the local bus is one process's."""
    if settings.bus == "local":
        raise SettingsError(
            f"`firewarden {command}` talks to the other stages through Kafka: set FIREWARDEN_BUS=kafka://host:port "
            "(on one machine, `firewarden up` runs every stage in one process on its local bus)"
        )


def require_migrated(database_url: str) -> None:
    """Refuse to start on a schema that is not up to date (migrations are the owner's, before any process)."""
    with connect(database_url) as conn:
        status = schema_status(conn)
    if status.pending:
        raise DatabaseError(
            f"the database schema is at version {status.version} of {status.latest}: run `firewarden db migrate` first"
        )


def freeze_startup_heap() -> None:
    """Collect once, then keep what the process built to start (modules, classes, models, the registry
    index) out of every later full collection (``gc.freeze``): it lives as long as the process, and a
    full collection that walks it pauses every stage on this interpreter (docs/benchmarks.md, alert
    latency). Call when the process is about to run."""
    gc.collect()
    gc.freeze()


async def keep_reading(
    known: MutableMapping[K, V], read: Callable[[], dict[K, V]], every_s: float, stop: asyncio.Event, what: str
) -> None:
    """Replace ``known`` with what ``read`` (run in a thread) gives, every ``every_s`` (0: never) until
    ``stop``: records imported while a gateway runs are known from its next read. A read that fails with
    DatabaseError (a database away for a while) keeps what is known."""
    while every_s > 0 and not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
            return
        try:
            fresh = await asyncio.to_thread(read)
        except DatabaseError as error:
            log.warning("reading %s again failed (%s); keeping %d", what, error, len(known))
            continue
        known.clear()
        known.update(fresh)
