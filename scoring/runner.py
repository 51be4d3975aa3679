"""The in-process runner: scoring on the ``local`` bus, in the process that runs ingest.

It drives an :class:`~scoring.engine.Engine` (states in memory) with what it consumes of
``fw.events``, ``fw.records`` and ``fw.feedback``, publishes the decisions on ``fw.alarms`` (alarm
decisions) and ``fw.decisions`` (the rest) and stores them. Events come first: every round takes what
``fw.events`` holds before a slice of the others, so a fire alarm waits at most for one slice of
telemetry, never for a backlog. The
faust worker drives the same engine (:mod:`scoring.app`); only where records come from and where
states are kept differ.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from core.backoff import Sleep, retry
from core.bus import Bus, BusMessage
from core.errors import DatabaseError
from core.periodic import Every
from ingest import EVENTS_TOPIC, RECORDS_TOPIC
from scoring.engine import Engine, decisions_of
from scoring.records import FEEDBACK_TOPIC, AlarmDecision, Decision, encode_decision, topic_of
from scoring.reload import ModelReload, SiteRefresh
from scoring.scorer import Scorer
from scoring.store import DecisionStore

log = logging.getLogger(__name__)


def to_messages(decisions: Iterable[Decision]) -> list[BusMessage]:
    """Alarm decisions on ``fw.alarms``, first; the others on ``fw.decisions``."""
    ordered = sorted(decisions, key=lambda d: not isinstance(d, AlarmDecision))  # stable: order kept per topic
    return [BusMessage(topic_of(d), d.premises_id.encode(), encode_decision(d)) for d in ordered]


GROUP = "firewarden-scoring"
"""The consumer group of scoring on ``fw.records`` and ``fw.feedback`` (the faust app's id on Kafka)."""


class LocalRunner:
    """Scores what ingest publishes on ``bus`` (and alerts' feedback); subscribes at construction, before ingest starts.

    ``lateness_s``: with ``wall_clock`` on, a premises' clock is moved to (now - lateness) once a
    second, so a silent premises still has its devices judged offline and its windows expired. Off,
    time moves only with records: replays and tests get the same decisions at any speed.
    """

    def __init__(
        self,
        scorer: Scorer,
        bus: Bus,
        store: DecisionStore | None,
        *,
        wall_clock: bool = True,
        lateness_s: float = 120.0,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
        batch: int = 500,
        reload: Callable[[Engine], ModelReload] | None = None,
        refresh: Callable[[Engine], SiteRefresh] | None = None,
    ) -> None:
        self.engine = Engine(scorer)
        self.reload = reload(self.engine) if reload is not None else None
        self.refresh = refresh(self.engine) if refresh is not None else None
        self.bus = bus
        self.store = store
        self.wall_clock = wall_clock
        self.lateness_s = lateness_s
        self.clock = clock
        self.sleep = sleep
        self.batch = batch
        self.events = bus.consumer([EVENTS_TOPIC], GROUP)
        self.records = bus.consumer([RECORDS_TOPIC, FEEDBACK_TOPIC], GROUP)
        self.processed = 0
        self.decided = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set and every record received so far is scored and stored."""
        tick = Every(1.0, self.clock)
        while True:
            # Idle, the wait is on the events: one wakes the runner at once, records within 0.1 s.
            events = await self.events.get(self.batch, 0.0)
            messages = [] if events else await self.records.get(self.batch, 0.0)
            if not events and not messages:
                events = await self.events.get(self.batch, 0.1)
            if stop.is_set() and not events and not messages:
                break
            decisions = decisions_of(self.engine, events or messages)
            self.processed += len(events) + len(messages)
            if self.wall_clock and tick.due():
                decisions.extend(self.engine.advance(self.clock(), self.lateness_s))
            if decisions:
                await self._hand_on(decisions)
            await (self.events if events else self.records).commit()
            if self.reload is not None:
                await self.reload.check()
            if self.refresh is not None:
                await self.refresh.check()

    async def _hand_on(self, decisions: list[Decision]) -> None:
        await self.bus.publish(to_messages(decisions))
        self.decided += len(decisions)
        if self.store is None:
            return
        store = self.store
        # the batch is kept and retried: no decision is dropped
        await retry(
            lambda: asyncio.to_thread(store.write, decisions),
            what="storing decisions",
            errors=(DatabaseError,),
            sleep=self.sleep,
            log=log,
        )
