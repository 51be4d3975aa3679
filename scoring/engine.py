"""The one scoring glue both runners drive: states by premises, records and feedback dispatched to the
scorer, the wall clock's advance, stalls of the stream.

Where states live is the runner's: a dict in memory (the local runner), or a faust table (the faust
worker), behind the same mapping. The engine notes which states it changed (:meth:`Engine.flush`),
so a runner that writes states somewhere writes each once per batch.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping

from core.bus import BusMessage
from ingest import Record, from_bus
from scoring.records import FEEDBACK_TOPIC, Decision, decode_feedback
from scoring.scorer import Scorer
from scoring.state import PremisesState


class Engine:
    """States by premises id (``states``: a dict unless the runner keeps them elsewhere), and the
    scorer applied to them."""

    def __init__(self, scorer: Scorer, states: MutableMapping[str, PremisesState] | None = None) -> None:
        self.scorer = scorer
        self.states: MutableMapping[str, PremisesState] = {} if states is None else states
        self.stream = StreamWatch(scorer.policy.devices.stall_s)
        self._touched: set[str] = set()

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
            for premises_id, state in self.states.items():
                self.scorer.forgive(state, *stall)
                self._touched.add(premises_id)
        self._touched.add(record.premises_id)
        return self.scorer.process(self.state(record.premises_id), record)

    def handle(self, message: BusMessage) -> list[Decision]:
        """A message of ``fw.records`` or ``fw.feedback``: the two topics scoring reads.

        A message with an offset (from Kafka) at or before the last one its premises' state applied
        of that topic is skipped: a worker killed after writing a state and before committing its
        offsets gets those messages again, and applying them twice would count readings twice.
        """
        if message.offset is not None:
            state = self.state(message.key.decode())
            if message.offset <= state.offsets.get(message.topic, -1):
                return []
            state.offsets[message.topic] = message.offset
        if message.topic == FEEDBACK_TOPIC:
            feedback = decode_feedback(message.value)
            self._touched.add(feedback.premises_id)
            return self.scorer.feedback(self.state(feedback.premises_id), feedback)
        return self.process(from_bus(message))

    def advance(self, wall: float, lateness_s: float) -> list[Decision]:
        """Let the wall clock (Unix seconds) move silent premises: their clocks to ``wall - lateness_s``,
        their clocks of receipt to the newest receipt of any record, never further. When nothing arrives
        at all (ingest, the broker or the bus stalled), scoring cannot tell a silent device from a silent
        stream, and judges no device offline until records flow again; the gap is then forgiven
        (:meth:`scoring.scorer.Scorer.advance`). A state counts as changed when it decided something:
        the clock alone reaches a runner's store with the premises' next record."""
        received = min(wall, self.newest_receipt)
        out: list[Decision] = []
        for premises_id, state in self.states.items():
            decided = self.scorer.advance(state, wall - lateness_s, received)
            if decided:
                self._touched.add(premises_id)
                out.extend(decided)
        return out

    def flush(self) -> list[tuple[str, PremisesState]]:
        """The states changed since the last flush, to be written by a runner that keeps them elsewhere."""
        changed = [(p, self.states[p]) for p in sorted(self._touched) if p in self.states]
        self._touched.clear()
        return changed

    def forget(self) -> None:
        """Drop what is noted as changed (the states went to another worker)."""
        self._touched.clear()


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


def decisions_of(engine: Engine, messages: Iterable[BusMessage]) -> list[Decision]:
    """Every message handled in order; their decisions, in order."""
    out: list[Decision] = []
    for message in messages:
        out.extend(engine.handle(message))
    return out
