"""Turning deliveries into batches: validate, drop what was seen, limit floods, and say when a batch is due.

Pure logic with an injected clock (monotonic seconds), so tests drive it without a broker or sleeps.
A batch holds the accepted messages to store, the dead letters, and the broker tokens to acknowledge
once it is stored; the tokens of duplicates and of dropped messages ride along, because a duplicate
may only be acknowledged once the first copy is stored, and batches are stored in order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import msgspec

from ingest.dedup import RecentMessages
from ingest.limits import RateLimiter
from ingest.records import DeadLetter, EventRecord, Record
from ingest.validation import Validator


class Delivery(msgspec.Struct, frozen=True):
    """One message as the broker handed it over. ``token`` acknowledges it; None when nothing must
    be acknowledged (QoS 0). (msgspec structs: built once per message, at a tenth of a frozen
    dataclass's cost.)"""

    topic: str
    payload: bytes
    received_at: datetime
    token: Hashable | None = None


class Accepted(msgspec.Struct, frozen=True):
    """A message that passed validation: its records (one identity, (device_id, seq), per record
    group), and its raw form, kept for the dead letter should the database find it conflicting."""

    topic: str
    payload: bytes
    received_at: datetime
    records: tuple[Record, ...]

    def conflict(self, detail: str) -> DeadLetter:
        return DeadLetter(self.received_at, self.topic, self.payload, "seq_conflict", detail)


class Reply(msgspec.Struct, frozen=True):
    """A GB/T 26875.3 frame to answer once its batch is stored: confirm it (``accept``) unless it is the
    accepted message ``index`` and the database files it as a conflict; else deny it."""

    topic: str
    frame: bytes
    accept: bool
    index: int | None = None


@dataclass(slots=True)
class Batch:
    accepted: list[Accepted] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    tokens: list[Hashable] = field(default_factory=list)
    messages: int = 0
    rows: int = 0
    opened_at: float = 0.0
    sessions: dict[str, int] = field(default_factory=dict)
    """Messages per delivering session (when batchers are told the session), for in-flight counts."""
    replies: list[Reply] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Admission:
    """What became of one delivery: ``reason`` is set for a rejected one (the dead letter's reason)."""

    verdict: Literal["accepted", "duplicate", "copy", "rejected", "rate_limited"]
    reason: str | None = None


ACCEPTED = Admission("accepted")
DUPLICATE = Admission("duplicate")
COPY = Admission("copy")
"""The other MQTT session's copy of a message already admitted (see :mod:`ingest.lanes`)."""
TWINS_REMEMBERED = 100_000
FRAME_SUFFIX = "/gb26875"
RATE_LIMITED = Admission("rate_limited")


class Batcher:
    """Collects deliveries into the open batch until it holds ``max_rows`` rows or ``max_messages``
    messages, or its first message has waited ``max_wait_s`` (0: a batch is due as soon as it holds a
    message; the priority lane's, whose messages only gather while the previous batch is written).

    Batchers may share the recent messages and the rate limiter; ``summaries``: whether this one
    takes the limiter's summaries (one of them must)."""

    def __init__(
        self,
        validator: Validator,
        recent: RecentMessages,
        limiter: RateLimiter,
        *,
        max_rows: int,
        max_messages: int,
        max_wait_s: float,
        summaries: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_rows < 1 or max_messages < 1 or max_wait_s < 0:
            raise ValueError("max_rows and max_messages must be at least 1, max_wait_s not negative")
        self.summaries = summaries
        self._first_from: dict[tuple[str, int], str] = {}
        """(device, seq) → the session whose copy came first, until the other's comes."""
        self.validator = validator
        self.recent = recent
        self.limiter = limiter
        self.max_rows = max_rows
        self.max_messages = max_messages
        self.max_wait_s = max_wait_s
        self.clock = clock
        self._open = Batch()

    def add(self, delivery: Delivery, *, session: str = "", keep_dead_letter: bool = True) -> Admission:
        """Admit one delivery into the open batch (its token always: it is acknowledged with the batch).

        ``session``: which MQTT session delivered it, when a message may come through two: a repeat
        of a message first admitted from the other session is its ``copy``, not a duplicate.
        ``keep_dead_letter`` False: a refused delivery files no dead letter (another copy of it does).
        A GB/T 26875.3 frame is answered once stored (:class:`Reply`): confirmed when accepted or a
        duplicate, denied when filed as a dead letter; a copy, a frame refused without a dead letter
        and one dropped by the rate limit are not answered (their other copy is, or the UITD sends again)."""
        admission = self._add(delivery, session, keep_dead_letter)
        if delivery.topic.endswith(FRAME_SUFFIX):
            verdict = admission.verdict
            if verdict == "accepted":
                self._open.replies.append(Reply(delivery.topic, delivery.payload, True, len(self._open.accepted) - 1))
            elif verdict == "duplicate":
                self._open.replies.append(Reply(delivery.topic, delivery.payload, True))
            elif verdict == "rejected" and keep_dead_letter:
                self._open.replies.append(Reply(delivery.topic, delivery.payload, False))
        return admission

    def _add(self, delivery: Delivery, session: str, keep_dead_letter: bool) -> Admission:
        batch = self._open
        if batch.messages == 0:
            batch.opened_at = self.clock()
        batch.messages += 1
        if session:
            batch.sessions[session] = batch.sessions.get(session, 0) + 1
        if delivery.token is not None:
            batch.tokens.append(delivery.token)
        outcome = self.validator.check(delivery.topic, delivery.payload, delivery.received_at)
        if isinstance(outcome, DeadLetter):
            return self._reject(outcome) if keep_dead_letter else Admission("rejected", outcome.reason)
        if outcome:
            # A message's records share its identity; a frame's events share the frame's (see gb26875).
            first = outcome[0]
            key = (first.device_id, first.seq)
            if self.recent.check(first.device_id, first.seq, hash(delivery.payload)) == "duplicate":
                if session and self._first_from.get(key, session) != session:
                    del self._first_from[key]
                    return COPY
                if session:  # a repeat comes through both sessions too: its twin is its copy, answered once
                    self._first_came(key, session)
                return DUPLICATE
            if session:
                self._first_came(key, session)
            # ("again": the same pair with other bytes; the store compares what both say.)
            if not self.limiter.admit(
                first.device_id,
                first.seq,
                first.time,
                delivery.received_at,
                topic=delivery.topic,
                payload=delivery.payload,
                exempt=lambda: any(isinstance(r, EventRecord) and r.kind == "fire_alarm" for r in outcome),
            ):
                return RATE_LIMITED
        batch.accepted.append(Accepted(delivery.topic, delivery.payload, delivery.received_at, tuple(outcome)))
        batch.rows += len(outcome)
        return ACCEPTED

    def _first_came(self, key: tuple[str, int], session: str) -> None:
        self._first_from[key] = session
        if len(self._first_from) > TWINS_REMEMBERED:
            del self._first_from[next(iter(self._first_from))]

    def _reject(self, dead_letter: DeadLetter) -> Admission:
        self._open.dead_letters.append(dead_letter)
        self._open.rows += 1
        return Admission("rejected", dead_letter.reason)

    @property
    def pending(self) -> int:
        """Messages in the open batch."""
        return self._open.messages

    def due(self) -> bool:
        batch = self._open
        if batch.messages == 0:
            return False
        return (
            batch.rows >= self.max_rows
            or batch.messages >= self.max_messages
            or self.clock() - batch.opened_at >= self.max_wait_s
        )

    def seconds_until_due(self) -> float | None:
        """How long until the open batch is due by age; None while it is empty."""
        if self._open.messages == 0:
            return None
        return max(0.0, self._open.opened_at + self.max_wait_s - self.clock())

    def take(self, now: datetime, *, final: bool = False) -> Batch:
        """The open batch (possibly empty), with the rate limiter's due summaries (all of them when
        ``final``) if this batcher takes them; a new batch opens."""
        batch, self._open = self._open, Batch()
        if not self.summaries:
            return batch
        summaries = self.limiter.summaries(now, final=final)
        batch.dead_letters.extend(summaries)
        batch.rows += len(summaries)
        return batch
