"""Turning deliveries into batches: validate, drop what was seen, and say when a batch is due.

Pure logic with an injected clock (monotonic seconds), so tests drive it without a broker or sleeps.
A batch holds the records to store, the dead letters, and the broker tokens to acknowledge once it is
stored; the tokens of duplicates ride along, because a duplicate may only be acknowledged once the
first copy is stored, and batches are stored in order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from ingest.dedup import RecentMessages
from ingest.records import DeadLetter, Record
from ingest.validation import Validator


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message as the broker handed it over. ``token`` acknowledges it; None when nothing must
    be acknowledged (QoS 0)."""

    topic: str
    payload: bytes
    received_at: datetime
    token: Hashable | None = None


@dataclass(slots=True)
class Batch:
    records: list[Record] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    tokens: list[Hashable] = field(default_factory=list)
    messages: int = 0
    opened_at: float = 0.0

    @property
    def rows(self) -> int:
        return len(self.records) + len(self.dead_letters)


@dataclass(frozen=True, slots=True)
class Admission:
    """What became of one delivery: ``reason`` is set for a rejected one (the dead letter's reason)."""

    verdict: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = None


ACCEPTED = Admission("accepted")
DUPLICATE = Admission("duplicate")


class Batcher:
    """Collects deliveries into the open batch until it holds ``max_rows`` rows or ``max_messages``
    messages, or its first message has waited ``max_wait_s``."""

    def __init__(
        self,
        validator: Validator,
        recent: RecentMessages,
        *,
        max_rows: int,
        max_messages: int,
        max_wait_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_rows < 1 or max_messages < 1 or max_wait_s <= 0:
            raise ValueError("max_rows and max_messages must be at least 1, max_wait_s positive")
        self.validator = validator
        self.recent = recent
        self.max_rows = max_rows
        self.max_messages = max_messages
        self.max_wait_s = max_wait_s
        self.clock = clock
        self._open = Batch()

    def add(self, delivery: Delivery) -> Admission:
        batch = self._open
        if batch.messages == 0:
            batch.opened_at = self.clock()
        batch.messages += 1
        if delivery.token is not None:
            batch.tokens.append(delivery.token)
        outcome = self.validator.check(delivery.topic, delivery.payload, delivery.received_at)
        if isinstance(outcome, DeadLetter):
            batch.dead_letters.append(outcome)
            return Admission("rejected", outcome.reason)
        # A message's records share its identity; a frame's events share the frame's (see gb26875).
        if outcome and not self.recent.first_time(outcome[0].device_id, outcome[0].seq):
            return DUPLICATE
        batch.records.extend(outcome)
        return ACCEPTED

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

    def take(self) -> Batch:
        """The open batch (possibly empty); a new one opens."""
        batch, self._open = self._open, Batch()
        return batch
