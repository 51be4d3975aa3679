"""The alerts process: decisions off the bus into the desk, timers, the dispatcher, feedback to scoring.

:class:`Alerts` owns one :class:`~alerts.store.desk.Desk` and one :class:`~alerts.dispatch.Dispatcher`.
It reads every partition of ``fw.alarms`` on a task of its own (no consumer group: every alerts
process reads every alarm decision, the database's claim applies each once, and no rebalance ever
holds a fire) and
``fw.decisions`` as a member of the consumer group ``firewarden-alerts`` (any number of alerts
processes side by side: the database's constraints and ``SKIP LOCKED`` keep them apart), ticks the
desk's timers every ``alerts.tick_s`` of the policy (1 s), reloads the registry snapshot every
``alerts.roster_reload_s`` (60 s), and publishes what people found out (resolutions, overdue and closed
hazards) on ``fw.feedback`` for scoring. People's actions from the console or the CLI go through
:class:`alerts.actions.Actions`, which publishes their feedback the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from alerts.actions import hand_on
from alerts.channels import Channel, EmailChannel, SmtpServer, WebhookChannel
from alerts.dispatch import Dispatcher
from alerts.incidents import urgent
from alerts.outbox import Directory
from alerts.store import positions
from alerts.store.desk import Desk
from alerts.store.prevention import Outcome
from alerts.store.roster import load_roster
from core.backoff import Backoff, Sleep, retry
from core.bus import Bus, BusMessage, Consumer, Reader
from core.db import TRANSIENT, Pool
from core.errors import BusError
from core.periodic import Every
from core.policy import Policy
from core.settings import Settings
from scoring import ALARMS_TOPIC, DECISIONS_TOPIC, Decision, decode_decision

log = logging.getLogger(__name__)

GROUP = "firewarden-alerts"
"""The consumer group of every alerts process on ``fw.decisions`` (and, before readers, on ``fw.alarms``:
a reader without a position starts where the group had committed)."""
ALARMS_READER = f"alerts:{ALARMS_TOPIC}"
"""The name under which the alerts processes keep their shared position in ``fw.alarms``."""
FORGET_HANDLED_S = 3600.0
"""How often applied alarm decisions older than :data:`alerts.store.positions.HANDLED_KEPT` are forgotten."""
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
        pool: Pool,
        policy: Policy,
        directory: Directory,
        channels: dict[str, Channel],
        bus: Bus,
        *,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
        dispatch_thread: bool = False,
        chores: Sequence[tuple[float, Callable[[datetime], object]]] = (),
    ) -> None:
        """Joins the consumer group of ``fw.decisions`` here: on the local bus, construct before
        scoring publishes. ``dispatch_thread``: run the dispatcher on an event loop of its own in a
        thread, so that a page's claim, HTTP exchange and record never wait behind the turns of a loop
        that other stages keep busy (``firewarden up``: ingest and scoring share the process's loop).
        ``chores``: (period in seconds, work) done in a thread that often with the time, among the timers
        (the credit review of the supervision package, which this stage does not import)."""
        with pool.connection() as conn:
            roster = load_roster(conn)
        self.pool = pool
        self.desk = Desk(pool, roster, policy, directory)
        self.dispatcher = Dispatcher(pool, channels, policy.alerts.webhook, clock=clock)
        self.channels = channels
        self.bus = bus
        self.clock = clock
        self.sleep = sleep
        self.tick_s = policy.alerts.tick_s
        self.reload_s = policy.alerts.roster_reload_s
        self.handled = 0
        self.running = False
        self.dispatch_thread = dispatch_thread
        self.alarms = bus.reader(ALARMS_TOPIC, positions.load(pool, ALARMS_READER), resume_group=GROUP)
        self.decisions = bus.consumer([DECISIONS_TOPIC], GROUP, buffer=50_000)
        forget: Callable[[datetime], object] = partial(positions.forget_handled, pool)
        self.chores = [*chores, (FORGET_HANDLED_S, forget)]

    async def _after(self, outcome: Outcome) -> None:
        await hand_on(outcome, self.bus, self.dispatcher.notify)

    async def handle(self, decisions: list[Decision]) -> None:
        """Apply decisions until they are stored: a database outage delays them, never drops them.

        A retry resumes after the last decision stored, so none is applied twice.
        """
        pending = list(decisions)
        outcome = await retry(
            lambda: asyncio.to_thread(self.desk.handle, pending, self.clock()),
            what="alerts: handling decisions",
            errors=TRANSIENT,
            sleep=self.sleep,
            log=log,
        )
        self.handled += len(decisions)
        await self._after(outcome)

    async def run(self, stop: asyncio.Event) -> None:
        """Decisions, timers and delivery until ``stop``; then what was received is handled, and returns."""
        self.running = True
        dispatching = self._dispatch_alone(stop) if self.dispatch_thread else self._dispatch(stop)
        tasks = [
            asyncio.create_task(self._consume_alarms(stop), name="alerts-alarms"),
            asyncio.create_task(self._consume_decisions(stop), name="alerts-decisions"),
            asyncio.create_task(self._timers(stop), name="alerts-timers"),
            asyncio.create_task(dispatching, name="alerts-dispatch"),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            self.running = False
            for task in tasks:
                task.cancel()

    async def _dispatch(self, stop: asyncio.Event) -> None:
        """The dispatcher on this loop; the channels closed when it ends (on the loop that used them)."""
        try:
            await self.dispatcher.run(stop)
        finally:
            for channel in self.channels.values():
                if isinstance(channel, WebhookChannel):
                    await channel.close()

    async def _dispatch_alone(self, stop: asyncio.Event) -> None:
        """:meth:`_dispatch` on an event loop of its own in a thread, until ``stop``; its error, if any,
        is raised here. :meth:`Dispatcher.notify` wakes it from this loop's thread."""
        ready = threading.Event()
        inner: dict[str, Any] = {}

        async def alone() -> None:
            inner["loop"], inner["stop"] = asyncio.get_running_loop(), asyncio.Event()
            ready.set()
            await self._dispatch(inner["stop"])

        def body() -> None:
            try:
                asyncio.run(alone())
            except BaseException as error:  # noqa: BLE001 - handed to the owning loop below
                inner["error"] = error
            finally:
                ready.set()

        thread = threading.Thread(target=body, name="alerts-dispatch", daemon=True)
        thread.start()
        await asyncio.to_thread(ready.wait)
        try:
            while thread.is_alive() and not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)
        finally:
            loop = inner.get("loop")
            if loop is not None and not loop.is_closed():
                with contextlib.suppress(RuntimeError):  # closed meanwhile: nothing left to stop
                    loop.call_soon_threadsafe(inner["stop"].set)
            await asyncio.to_thread(thread.join)
        if "error" in inner:
            raise inner["error"]

    async def _timers(self, stop: asyncio.Event) -> None:
        reload = Every(self.reload_s, asyncio.get_running_loop().time)
        chores = [(Every(period, asyncio.get_running_loop().time), work) for period, work in self.chores]
        while not stop.is_set():
            try:
                await self._after(await asyncio.to_thread(self.desk.tick, self.clock()))
                if reload.due():
                    self.desk.roster = await asyncio.to_thread(self._load_roster)
                for due, work in chores:
                    if due.due():
                        await asyncio.to_thread(work, self.clock())
            except TRANSIENT as error:
                log.warning("alerts timers: %s; trying again shortly", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.tick_s)

    def _load_roster(self) -> Any:
        with self.pool.connection() as conn:
            return load_roster(conn)

    async def _consume_alarms(self, stop: asyncio.Event) -> None:
        """``fw.alarms``, on a task of its own: a fire never waits for the signals' slice being handled,
        nor for a rebalance of the ``fw.decisions`` group (a consumer's read waits out its group's
        rebalance, which an alerts process starting or stopping sets off). The shared position moves on
        once what was read is handled: a crash leaves the rest to the others, or to a successor."""
        read_to: dict[int, int] = {}  # partition → next offset, once the alarms read are handled
        trouble = Backoff(0.5, 5.0)
        while True:
            messages = await self._taken(self.alarms, 1_000, 0.1, trouble)
            if messages is None:
                continue
            if messages:
                _note_read(read_to, messages)
                await self.handle([decode_decision(m.value) for m in messages])
            if read_to:
                await self._advance(read_to)
            # A stop ends here on Kafka; on the local bus it first takes what was published to it.
            if stop.is_set() and (self.alarms.durable or not messages):
                break
        await self.alarms.close()

    async def _consume_decisions(self, stop: asyncio.Event) -> None:
        """``fw.decisions`` (signals, risk scores) as a member of the group: read into memory (up to
        :data:`PENDING_LIMIT`, then the bus holds scoring back), handled a slice at a time, alarm
        decisions of an older scoring first; committed once everything read is handled, so a crash hands
        the group all not yet handled."""
        pending: deque[Decision] = deque()
        uncommitted = False
        trouble = Backoff(0.5, 5.0)
        while True:
            room = PENDING_LIMIT - len(pending)
            messages = await self._taken(self.decisions, room, 0.0 if pending else 0.1, trouble) if room > 0 else []
            if messages is None:
                continue
            uncommitted = uncommitted or bool(messages)
            decisions = [decode_decision(m.value) for m in messages]
            if alarms := [d for d in decisions if urgent(d)]:  # an older scoring's: before the backlog
                await self.handle(alarms)
            pending.extend(d for d in decisions if not urgent(d))
            if pending:
                await self.handle([pending.popleft() for _ in range(min(OTHERS_SLICE, len(pending)))])
            if not pending:
                if uncommitted:
                    uncommitted = False
                    await self._commit(self.decisions)
                # A stop ends here on Kafka (it keeps the rest for the group); on the local bus it
                # first takes what was published to it, which exists nowhere else.
                if stop.is_set() and (self.decisions.durable or not messages):
                    break
        await self.decisions.close()

    async def _taken(
        self, source: Consumer | Reader, max_messages: int, timeout_s: float, trouble: Backoff
    ) -> list[BusMessage] | None:
        """What ``source`` hands out; None after a bus error, logged and waited out with backoff."""
        try:
            messages = await source.get(max_messages, timeout_s)
        except BusError as error:
            delay = trouble.next()
            log.warning("alerts: %s; trying again in %.1f s", error, delay)
            await self.sleep(delay)
            return None
        trouble.reset()
        return messages

    async def _advance(self, read_to: dict[int, int]) -> None:
        """Every alarm decision read so far is handled: the shared position in ``fw.alarms`` moves on (a
        failure leaves it where it was, and what is read again is skipped by the desk's claim)."""
        try:
            await asyncio.to_thread(positions.advance, self.pool, ALARMS_READER, read_to, self.clock())
        except TRANSIENT as error:
            log.warning("alerts: the position in %s was not saved (%s); it will be next time", ALARMS_TOPIC, error)
            return
        read_to.clear()

    async def _commit(self, consumer: Consumer) -> None:
        """Everything read of ``consumer`` so far is handled."""
        try:
            await consumer.commit()
        except BusError as error:
            log.warning("alerts: %s", error)


def _note_read(read_to: dict[int, int], messages: list[BusMessage]) -> None:
    """Note how far ``messages`` (of a reader on Kafka) go in each partition."""
    for message in messages:
        if message.partition is not None and message.offset is not None:
            read_to[message.partition] = max(read_to.get(message.partition, 0), message.offset + 1)
