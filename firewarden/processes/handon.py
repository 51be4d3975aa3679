"""How the faust scoring worker hands a batch's decisions and states on to the bus, in the order that
makes a kill -9 lose nothing (:class:`HandOn`), with the state table whose writes can be waited for
(:class:`ChangelogTable`), and the watch that makes a hand-on stuck on the bus news (:class:`StallWatch`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import faust

from scoring import AlarmDecision, Decision, Engine, PremisesState, dump_state, encode_decision

log = logging.getLogger(__name__)


class Sender(Protocol):
    """What :class:`HandOn` needs of a faust topic: ``send`` queues and returns the broker's acknowledgement."""

    async def send(self, *, key: bytes, value: bytes) -> Awaitable[object]: ...


class StateTable(Protocol):
    """What :class:`HandOn` needs of the state table: writes, and the broker's acknowledgement of them."""

    def __setitem__(self, key: bytes, value: bytes) -> None: ...

    async def delivered(self) -> None: ...


class ChangelogTable(faust.Table[bytes, bytes]):
    """faust's table, except that its writes can be waited for until the broker has them in the changelog.

    A write only queues its changelog message in faust's producer buffer. faust commits a partition's
    offsets after flushing that buffer, but its flush gives up after 0.1 s without a message sent, so
    an offset could be committed while the state that applied it was still queued; a kill -9 then
    lost the state, and the restored one skipped the records it had applied (a fire missing from a
    premises' history, and its risk never rescored). :class:`HandOn` waits for :meth:`delivered`
    before its events are acknowledged, so no offset is committed ahead of its state."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unsent: list[asyncio.Future[Any]] = []

    def send_changelog(self, *args: Any, **kwargs: Any) -> Any:
        sent = super().send_changelog(*args, **kwargs)
        self._unsent.append(sent)
        return sent

    async def delivered(self) -> None:
        """Wait until every write so far is acknowledged by the broker (acks=all)."""
        pending, self._unsent = self._unsent, []
        if pending:
            await asyncio.gather(*pending)


class HandOn:
    """Decisions to their topics, then the changed states to the table.

    The order is what makes a kill -9 lose nothing: a state in the changelog records the offsets it
    has applied, and a worker that restores it skips those records on replay. So a state may only
    reach the changelog after every decision it led to is acknowledged by the broker (acks=all):
    ``send`` alone only queues a decision in the producer, which may flush the changelog first.

    The two lanes (records and events) drive one engine and share the states of a premises, so a
    state one lane writes may hold what the other lane decided and has not yet sent. Each hand-on is
    registered as in flight before its first ``await``, and the states are written only when no
    other hand-on is: the write then covers only acknowledged decisions. The lanes still decide
    concurrently; only the table writes wait.

    A hand-on returns once the states it wrote are acknowledged too (:meth:`ChangelogTable.delivered`):
    its agent acknowledges the batch's records only then, so their offsets are never committed ahead
    of the states that applied them."""

    def __init__(
        self,
        alarms: Sender,
        decisions: Sender,
        table: StateTable,
        engine: Callable[[], Engine],
        dump: Callable[[PremisesState], bytes] = dump_state,
    ) -> None:
        self.alarms = alarms
        self.decisions = decisions
        self.table = table
        self.engine = engine
        self.dump = dump
        self._in_flight: set[asyncio.Future[None]] = set()
        self._waiting: dict[int, tuple[float, str]] = {}
        """Each hand-on under way: when it began (monotonic) and what it waits for now."""

    async def __call__(self, decisions: list[Decision]) -> None:
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._in_flight.add(mine)
        began = time.monotonic()
        self._waiting[id(mine)] = (began, f"the bus to acknowledge {len(decisions)} decision(s)")
        try:
            try:
                sent = []
                for decision in sorted(decisions, key=lambda d: not isinstance(d, AlarmDecision)):  # alarms first
                    topic = self.alarms if isinstance(decision, AlarmDecision) else self.decisions
                    sent.append(await topic.send(key=decision.premises_id.encode(), value=encode_decision(decision)))
                await asyncio.gather(*sent)
            finally:
                mine.set_result(None)
                self._in_flight.discard(mine)
            self._waiting[id(mine)] = (began, "the other lane's decisions")
            while others := [f for f in self._in_flight if not f.done()]:
                await asyncio.gather(*others)
            # no await from the check above to the writes: no lane can decide in between
            written = 0
            for premises_id, state in self.engine().flush():
                self.table[premises_id.encode()] = self.dump(state)
                written += 1
            self._waiting[id(mine)] = (began, f"the bus to acknowledge {written} state(s)")
            await self.table.delivered()
        finally:
            del self._waiting[id(mine)]

    def oldest(self, now: float) -> tuple[float, str] | None:
        """How long the oldest hand-on under way has waited, and for what (None: none is under way)."""
        if not self._waiting:
            return None
        began, what = min(self._waiting.values())
        return now - began, what


class StallWatch:
    """A hand-on that waits long for the bus is news, not silence.

    Every ``every_s`` that the oldest hand-on under way has waited at least that long, an error names
    what it waits for, with where the agents stand (``stacks``). Past ``dead_s`` the worker stops saying
    it is alive (its liveness probe fails, and an orchestrator restarts it): nothing it applied is lost
    by that, as no offset moved past a batch not handed on."""

    def __init__(self, hand_on: HandOn, every_s: float = 15.0, dead_s: float = 60.0) -> None:
        self.hand_on = hand_on
        self.every_s = every_s
        self.dead_s = dead_s
        self._told_at: float | None = None

    def alive(self, now: float, stacks: Callable[[], str]) -> bool:
        """Check at ``now`` (monotonic): False once the oldest hand-on has waited ``dead_s``."""
        oldest = self.hand_on.oldest(now)
        if oldest is None or oldest[0] < self.every_s:
            if self._told_at is not None and oldest is None:
                log.info("scoring: handing on again; nothing waits for the bus")
                self._told_at = None
            return True
        waited, what = oldest
        if self._told_at is None or now - self._told_at >= self.every_s:
            self._told_at = now
            log.error(
                "scoring: a batch has waited %.0f s for %s; this worker's offsets stay where they are until it is "
                "handed on%s. Agents:\n%s",
                waited, what, "; /healthz answers 503" if waited >= self.dead_s else "", stacks(),
            )  # fmt: skip
        return waited < self.dead_s
