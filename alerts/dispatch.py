"""The dispatcher: sends the outbox's pending deliveries, retries with backoff, keeps dead letters.

It claims due rows most urgent first (an incident's class rank, then due time) with ``FOR UPDATE SKIP
LOCKED`` and leases them (their next attempt moves a minute ahead), so several dispatchers share the
outbox; a crashed one's rows come back at once, as its advisory lock ends with its connection
(:class:`alerts.store.outbox.Alive`). Sends run concurrently and each is recorded as it ends, so
a slow receiver holds up only its own message.
Every attempt is a row of ``delivery_attempts``. A delivery ends ``delivered``, or ``dead`` after a
refusal that retrying cannot fix (a 4xx other than 408/429, an SMTP 5xx) or after ``max_attempts``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.channels import Channel, Delivery, Result
from alerts.store import outbox
from core.db import TRANSIENT, Pool
from core.policy import WebhookPolicy

log = logging.getLogger(__name__)


def backoff_s(attempt: int, policy: WebhookPolicy, rng: random.Random) -> float:
    """Wait before retry number ``attempt`` (1 = after the first failure): full jitter, capped.

    Uniform in [0, min(cap, base * 2^(attempt-1))] so that receivers recovering from an outage are
    not hit by every sender at the same instants.
    """
    ceiling = min(policy.backoff_cap_s, policy.backoff_base_s * 2 ** (attempt - 1))
    return rng.uniform(0, ceiling)


def next_step(result: Result, attempt: int, policy: WebhookPolicy, rng: random.Random) -> tuple[str, float | None]:
    """(new state, seconds until the next attempt) after attempt number ``attempt`` ended in ``result``."""
    if result.verdict == "delivered":
        return "delivered", None
    if result.verdict == "dead" or attempt >= policy.max_attempts:
        return "dead", None
    if result.retry_after_s is not None:
        return "pending", min(result.retry_after_s, policy.max_retry_after_s)
    return "pending", backoff_s(attempt, policy, rng)


class Dispatcher:
    def __init__(
        self,
        pool: Pool,
        channels: Mapping[str, Channel],
        policy: WebhookPolicy,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        batch: int = 100,
    ) -> None:
        self.pool = pool
        self.channels = channels
        self.policy = policy
        self.clock = clock
        self.rng = rng or random.Random()
        self.batch = batch
        self.wake = asyncio.Event()
        self.delivered = 0
        self.dead = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self.alive = outbox.Alive(pool)

    def notify(self) -> None:
        """New rows are due: wake :meth:`run`, from any thread (it may run on a loop of its own)."""
        loop = self._loop
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if loop is None or loop is here:
            self.wake.set()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self.wake.set)

    async def run(self, stop: asyncio.Event, idle_s: float = 0.5) -> None:
        """Until ``stop``: up to ``batch`` deliveries in flight, each recorded as it ends.

        Rows are claimed most urgent first (priority, then due time) whenever a send ends, :attr:`wake`
        is set (new rows) or ``idle_s`` passes (retries come due): a fire's page never waits for a
        slow receiver's timeout on an earlier, lesser message. On stop, the sends in flight finish.
        """
        self._loop = asyncio.get_running_loop()
        sending: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set():
                room = self.batch - len(sending)
                claimed: list[Delivery] = []
                if room > 0:
                    try:
                        claimed = await asyncio.to_thread(self._claim, room)
                    except TRANSIENT as error:
                        log.warning("dispatcher: %s; trying again shortly", error)
                for delivery in claimed:
                    task = asyncio.create_task(self._deliver(delivery))
                    sending.add(task)
                    task.add_done_callback(sending.discard)
                if claimed and len(claimed) == room:
                    continue  # more may be due
                self.wake.clear()
                waiters = [asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(stop.wait())]
                await asyncio.wait([*waiters, *sending], timeout=idle_s, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()
        finally:
            await asyncio.gather(*sending, return_exceptions=True)
            await asyncio.to_thread(self.alive.release)

    def _claim(self, room: int) -> list[Delivery]:
        self.alive.hold()  # before claiming: a claim is taken over as soon as its claimer's lock is gone
        return outbox.claim(self.pool, self.clock(), room, self.alive.number)

    async def _deliver(self, delivery: Delivery) -> None:
        outcome = await self._send(delivery)
        try:
            await asyncio.to_thread(self._record, [(delivery, outcome)])
        except TRANSIENT as error:
            # The lease runs out and the row is sent again: receivers dedupe by its idempotency key.
            log.warning("dispatcher: attempt on delivery %d not recorded (%s); it will be retried", delivery.id, error)

    async def _send(self, delivery: Delivery) -> tuple[Result, float]:
        started = time.perf_counter()
        channel = self.channels.get(delivery.channel)
        if channel is None:
            result = Result("dead", error=f"no {delivery.channel} channel is configured")
        else:
            result = await channel.send(delivery)
        return result, (time.perf_counter() - started) * 1000

    def _record(self, outcomes: list[tuple[Delivery, tuple[Result, float]]]) -> None:
        now = self.clock()
        attempts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        for delivery, (result, ms) in outcomes:
            attempt = delivery.attempts + 1
            state, wait = next_step(result, attempt, self.policy, self.rng)
            outcome = {"pending": "retry"}.get(state, state)
            attempts.append((delivery.id, attempt, now, outcome, result.status_code, result.error, ms))
            next_at = now + timedelta(seconds=wait) if wait is not None else now
            updates.append((state, attempt, next_at, now if state == "delivered" else None, result.error, delivery.id))
            if state == "delivered":
                self.delivered += 1
            elif state == "dead":
                self.dead += 1
                log.warning(
                    "delivery %s to %s is dead after %d attempt(s): %s",
                    delivery.idempotency_key, delivery.address, attempt, result.error,
                )  # fmt: skip
        outbox.record(self.pool, attempts, updates)
