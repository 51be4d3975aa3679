"""Bounded memory of recently seen messages, so QoS 1 redeliveries and retransmissions are stored once.

A message is identified by (device_id, seq); what it says is summed up in a digest of its records.
The same pair with the same digest is a duplicate; the same pair with another digest is a conflicting
re-send (a device reusing a seq for new content), which ingest files as a ``seq_conflict`` dead letter.

The memory only saves work: it forgets the oldest entries past its capacity, and after a restart it
is empty. The database makes the same decision for what the memory has forgotten
(:mod:`ingest.store`), so both give the same answer.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal

Seen = Literal["new", "duplicate", "conflict"]


class RecentMessages:
    """The last ``capacity`` (device_id, seq) pairs seen with their digests, oldest forgotten first."""

    def __init__(self, capacity: int = 1_000_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, int], int] = OrderedDict()

    def check(self, device_id: str, seq: int, digest: int) -> Seen:
        """``new`` the first time a pair is offered (and remembers it); then ``duplicate`` for the same
        digest and ``conflict`` for another, while it is remembered."""
        key = (device_id, seq)
        known = self._seen.get(key)
        if known is not None:
            self._seen.move_to_end(key)
            return "duplicate" if known == digest else "conflict"
        self._seen[key] = digest
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return "new"

    def __len__(self) -> int:
        return len(self._seen)
