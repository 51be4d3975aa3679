"""Bounded memory of recently seen messages, so QoS 1 redeliveries and retransmissions are stored once.

A message is identified by (device_id, seq). The memory keeps a digest of each message's payload
bytes: the same pair with the same bytes (a QoS 1 redelivery, a retransmission) is a duplicate, dropped
here. The same pair with other bytes is passed on as ``again``: the store compares what the two say
(a device may re-serialise the same message) and files a re-send with other content as a
``seq_conflict`` dead letter, so the memory and the database never judge a repeat differently.

The memory only saves work: it forgets the oldest entries past its capacity, and after a restart it
is empty; the store decides what the memory forgot (:mod:`ingest.store`).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal

Seen = Literal["new", "duplicate", "again"]


class RecentMessages:
    """The last ``capacity`` (device_id, seq) pairs seen with their digests, oldest forgotten first."""

    def __init__(self, capacity: int = 1_000_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, int], int] = OrderedDict()

    def check(self, device_id: str, seq: int, digest: int) -> Seen:
        """``new`` the first time a pair is offered (and remembers it); then ``duplicate`` for the same
        digest and ``again`` for another, while it is remembered."""
        key = (device_id, seq)
        known = self._seen.get(key)
        if known is not None:
            self._seen.move_to_end(key)
            return "duplicate" if known == digest else "again"
        self._seen[key] = digest
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return "new"

    def __len__(self) -> int:
        return len(self._seen)
