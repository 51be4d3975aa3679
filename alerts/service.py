"""The alerts process: decisions off the bus into the desk, timers, the dispatcher, feedback to scoring.

:class:`Alerts` owns one :class:`~alerts.desk.Desk` and one :class:`~alerts.dispatch.Dispatcher`.
It reads ``fw.decisions`` (a local-bus queue, or a Kafka consumer group), ticks the desk's timers
once a second, reloads the registry snapshot once a minute, and publishes what people found out
(resolutions, overdue and closed hazards) on ``fw.feedback`` for scoring. People's actions from the
API or the CLI go through :meth:`Alerts.act`, so their feedback reaches scoring the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool

from alerts.channels import Channel, EmailChannel, SmtpServer, WebhookChannel
from alerts.desk import Desk
from alerts.dispatch import Dispatcher
from alerts.incidents import urgent
from alerts.outbox import Directory
from alerts.prevention import Outcome
from alerts.roster import load_roster
from core.bus import Bus, BusMessage, LocalBus
from core.errors import DatabaseError
from core.policy import Policy
from core.settings import KafkaBus, Settings
from scoring.records import DECISIONS_TOPIC, FEEDBACK_TOPIC, Decision, decode_decision, encode_feedback

log = logging.getLogger(__name__)

PENDING_LIMIT = 50_000
"""Decisions read off the local bus and not yet handled, at most."""
OTHERS_SLICE = 50
"""Signals and risk scores handled per round (each ~2-5 ms); alarm decisions are looked for between rounds."""

T = TypeVar("T")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def webhook_secret(settings: Settings) -> bytes:
    """The HMAC key: the setting, else a random one kept (0600) in ``<data_dir>/webhook-secret``."""
    if settings.alerts_webhook_secret:
        return settings.alerts_webhook_secret.encode()
    path: Path = settings.data_dir / "webhook-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32), encoding="ascii")
        log.info("webhook bodies are signed with a new random key in %s (set FIREWARDEN_ALERTS_WEBHOOK_SECRET)", path)
    return path.read_text(encoding="ascii").strip().encode()


def channels_of(settings: Settings, policy: Policy) -> dict[str, Channel]:
    channels: dict[str, Channel] = {
        "webhook": WebhookChannel(webhook_secret(settings), policy.alerts.webhook.timeout_s)
    }
    if settings.smtp_url:
        server = SmtpServer.parse(settings.smtp_url)
        channels["email"] = EmailChannel(server, settings.alerts_mail_from, policy.alerts.webhook.timeout_s)
    return channels


def directory_of(settings: Settings) -> Directory:
    return Directory(
        email=settings.smtp_url is not None,
        centre_webhook_url=settings.alerts_centre_webhook_url,
        centre_email=settings.alerts_centre_email,
    )


class Alerts:
    def __init__(
        self,
        pool: ConnectionPool,
        policy: Policy,
        directory: Directory,
        channels: dict[str, Channel],
        bus: Bus,
        *,
        clock: Clock = utc_now,
        tick_s: float = 1.0,
        reload_s: float = 60.0,
        kafka: KafkaBus | None = None,
    ) -> None:
        """On the local bus, subscribes to ``fw.decisions`` here: construct before scoring publishes.
        With ``kafka``, decisions are read from there in the consumer group ``firewarden-alerts``."""
        with pool.connection() as conn:
            roster = load_roster(conn)
        self.pool = pool
        self.desk = Desk(pool, roster, policy, directory)
        self.dispatcher = Dispatcher(pool, channels, policy.alerts.webhook, clock=clock)
        self.channels = channels
        self.bus = bus
        self.clock = clock
        self.tick_s = tick_s
        self.reload_s = reload_s
        self.handled = 0
        self.kafka = kafka
        self._queue = bus.subscribe(DECISIONS_TOPIC, maxsize=50_000) if isinstance(bus, LocalBus) else None

    async def act(self, action: Callable[..., T], *args: Any) -> T:
        """Run a desk action (``desk.resolve``, ...) off the event loop; pass its feedback and wake delivery."""
        result = await asyncio.to_thread(action, *args)
        if isinstance(result, Outcome):
            await self._after(result)
        return result

    async def _after(self, outcome: Outcome) -> None:
        if outcome.feedback:
            await self.bus.publish(
                [BusMessage(FEEDBACK_TOPIC, f.premises_id.encode(), encode_feedback(f)) for f in outcome.feedback]
            )
        if outcome.queued:
            self.dispatcher.wake.set()

    async def handle(self, decisions: list[Decision]) -> None:
        """Apply decisions until they are stored: a database outage delays them, never drops them.

        A retry resumes after the last decision stored, so none is applied twice.
        """
        pending = list(decisions)
        delay = 0.2
        while True:
            try:
                outcome = await asyncio.to_thread(self.desk.handle, pending, self.clock())
                break
            except (DatabaseError, psycopg.OperationalError) as error:
                log.warning("alerts: handling decisions failed, retrying in %.1f s: %s", delay, error)
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)
        self.handled += len(decisions)
        await self._after(outcome)

    async def run(self, stop: asyncio.Event) -> None:
        """Decisions, timers and delivery until ``stop``; then what was received is handled, and returns."""
        tasks = [
            asyncio.create_task(self._consume(stop), name="alerts-decisions"),
            asyncio.create_task(self._timers(stop), name="alerts-timers"),
            asyncio.create_task(self.dispatcher.run(stop), name="alerts-dispatch"),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            for channel in self.channels.values():
                if isinstance(channel, WebhookChannel):
                    await channel.close()

    async def _timers(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        next_reload = loop.time() + self.reload_s
        while not stop.is_set():
            try:
                await self._after(await asyncio.to_thread(self.desk.tick, self.clock()))
                if loop.time() >= next_reload:
                    next_reload = loop.time() + self.reload_s
                    self.desk.roster = await asyncio.to_thread(self._load_roster)
            except (DatabaseError, psycopg.OperationalError) as error:
                log.warning("alerts timers: %s; trying again shortly", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.tick_s)

    def _load_roster(self) -> Any:
        with self.pool.connection() as conn:
            return load_roster(conn)

    async def _consume(self, stop: asyncio.Event) -> None:
        if self._queue is not None:
            await self._consume_local(self._queue, stop)
        elif self.kafka is not None:
            await self._consume_kafka(self.kafka, stop)
        else:
            raise RuntimeError("alerts need the local bus or a Kafka bus to read decisions from")

    async def _consume_local(self, queue: asyncio.Queue[BusMessage], stop: asyncio.Event) -> None:
        """Alarm decisions jump the line: taken first, before any slice of the others.

        Everything the queue holds is drained into two lanes (up to :data:`PENDING_LIMIT`, then the
        queue's own bound holds scoring back), so a fire waits at most for the slice being handled,
        not for a backlog of trouble signals ahead of it.
        """
        alarms: deque[Decision] = deque()
        others: deque[Decision] = deque()

        def take(message: BusMessage) -> None:
            decision = decode_decision(message.value)
            (alarms if urgent(decision) else others).append(decision)

        while not (stop.is_set() and queue.empty() and not alarms and not others):
            if not alarms and not others:
                try:
                    take(await asyncio.wait_for(queue.get(), 0.2))
                except TimeoutError:
                    continue
            while not queue.empty() and len(alarms) + len(others) < PENDING_LIMIT:
                take(queue.get_nowait())
            lane, size = (alarms, 1_000) if alarms else (others, OTHERS_SLICE)
            await self.handle([lane.popleft() for _ in range(min(size, len(lane)))])

    async def _consume_kafka(self, kafka: KafkaBus, stop: asyncio.Event) -> None:
        from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]  # only the kafka bus needs it

        consumer = AIOKafkaConsumer(
            DECISIONS_TOPIC,
            bootstrap_servers=list(kafka.bootstrap_servers),
            group_id="firewarden-alerts",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=200, max_records=500)
                decisions = [decode_decision(m.value) for messages in batches.values() for m in messages if m.value]
                if decisions:
                    await self.handle(decisions)
                    await consumer.commit()  # after the desk stored them: at least once
        finally:
            await consumer.stop()
