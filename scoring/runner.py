"""The in-process runner: scoring on the ``local`` bus, in the process that runs ingest.

It keeps every premises' state in a dict, reads ``fw.records`` from the local bus, publishes the
decisions on ``fw.decisions`` and stores them. :class:`Engine` is the part the faust worker shares:
states by premises, the scorer's two entry points, nothing about where records come from.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from core.bus import Bus, BusMessage
from core.errors import DatabaseError
from ingest.handoff import RECORDS_TOPIC, from_bus
from ingest.records import Record
from scoring.records import DECISIONS_TOPIC, FEEDBACK_TOPIC, Decision, decode_feedback, encode_decision
from scoring.scorer import Scorer
from scoring.state import PremisesState
from scoring.store import DecisionStore

log = logging.getLogger(__name__)


class Engine:
    """States by premises id, and the scorer applied to them."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        self.states: dict[str, PremisesState] = {}
        self.stream = StreamWatch(scorer.policy.devices.stall_s)

    def state(self, premises_id: str) -> PremisesState:
        state = self.states.get(premises_id)
        if state is None:
            state = self.states[premises_id] = self.scorer.new_state(premises_id)
        return state

    @property
    def newest_receipt(self) -> float:
        return self.stream.newest

    def process(self, record: Record) -> list[Decision]:
        stall = self.stream.receive(record)
        if stall is not None:
            for state in self.states.values():
                self.scorer.forgive(state, *stall)
        return self.scorer.process(self.state(record.premises_id), record)

    def handle(self, message: BusMessage) -> list[Decision]:
        """A message of ``fw.records`` or ``fw.feedback``: the two topics scoring reads."""
        if message.topic == FEEDBACK_TOPIC:
            feedback = decode_feedback(message.value)
            return self.scorer.feedback(self.state(feedback.premises_id), feedback)
        return self.process(from_bus(message))

    def advance(self, wall: float, lateness_s: float) -> list[Decision]:
        """Let the wall clock (Unix seconds) move silent premises: their clocks to ``wall - lateness_s``,
        their clocks of receipt to the newest receipt of any record, never further. When nothing arrives
        at all (ingest, the broker or the bus stalled), scoring cannot tell a silent device from a silent
        stream, and judges no device offline until records flow again; the gap is then forgiven
        (:meth:`scoring.scorer.Scorer.advance`)."""
        return advance_all(self.scorer, self.states.values(), wall, lateness_s, self.newest_receipt)


class StreamWatch:
    """How far the stream of records has come (the newest time of receipt), and when it stalled.

    A stall is a gap in receipt, across every premises, longer than ``stall_s`` and than 5 times the
    usual gap (a small fleet's records are naturally far apart): ingest, the broker or the bus was away.
    """

    FACTOR = 5.0

    def __init__(self, stall_s: float) -> None:
        self.stall_s = stall_s
        self.newest = 0.0
        self.usual_gap: float | None = None

    def receive(self, record: Record) -> tuple[float, float] | None:
        """Note a record's receipt; (start, end) of the stall it ends, if it ends one."""
        received = (record.received_at or record.time).timestamp()
        if self.newest == 0.0:
            self.newest = received
            return None
        gap = received - self.newest
        if gap <= 0:
            return None
        stalled = gap > max(self.stall_s, self.FACTOR * (self.usual_gap or gap))
        self.usual_gap = gap if self.usual_gap is None else 0.95 * self.usual_gap + 0.05 * gap
        start, self.newest = self.newest, received
        return (start, received) if stalled else None


def advance_all(
    scorer: Scorer, states: Iterable[PremisesState], wall: float, lateness_s: float, newest_receipt: float
) -> list[Decision]:
    """One tick of the wall clock over ``states``, for both runners (see :meth:`Engine.advance`)."""
    received = min(wall, newest_receipt)
    out: list[Decision] = []
    for state in states:
        out.extend(scorer.advance(state, wall - lateness_s, received))
    return out


def to_messages(decisions: Iterable[Decision]) -> list[BusMessage]:
    return [BusMessage(DECISIONS_TOPIC, d.premises_id.encode(), encode_decision(d)) for d in decisions]


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
        batch: int = 2000,
    ) -> None:
        self.engine = Engine(scorer)
        self.bus = bus
        self.store = store
        self.wall_clock = wall_clock
        self.lateness_s = lateness_s
        self.clock = clock
        self.batch = batch
        self.records = bus.consumer([RECORDS_TOPIC, FEEDBACK_TOPIC], GROUP)
        self.processed = 0
        self.decided = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set and every record received so far is scored and stored."""
        next_tick = self.clock() + 1.0
        while True:
            messages = await self.records.get(self.batch, 0.2)
            if stop.is_set() and not messages:
                break
            decisions: list[Decision] = []
            for message in messages:
                decisions.extend(self.engine.handle(message))
            self.processed += len(messages)
            if self.wall_clock and self.clock() >= next_tick:
                next_tick = self.clock() + 1.0
                decisions.extend(self.engine.advance(self.clock(), self.lateness_s))
            if decisions:
                await self._hand_on(decisions)
            await self.records.commit()

    async def _hand_on(self, decisions: list[Decision]) -> None:
        await self.bus.publish(to_messages(decisions))
        self.decided += len(decisions)
        if self.store is None:
            return
        delay = 0.2
        while True:
            try:
                await asyncio.to_thread(self.store.write, decisions)
                return
            except DatabaseError as error:  # keep the batch and try again: no decision is dropped
                log.warning("storing decisions failed, retrying in %.1f s: %s", delay, error)
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)
