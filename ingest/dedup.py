"""Bounded memory of recently seen messages, so QoS 1 redeliveries and retransmissions are stored once.

The memory only saves work: it forgets the oldest entries past its capacity, and after a restart it
is empty. The database's unique keys on (device_id, seq, ...) are the final guard.
"""

from __future__ import annotations

from collections import OrderedDict


class RecentMessages:
    """The last ``capacity`` (device_id, seq) pairs seen, oldest forgotten first."""

    def __init__(self, capacity: int = 1_000_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, int], None] = OrderedDict()

    def first_time(self, device_id: str, seq: int) -> bool:
        """True the first time a pair is offered (and remembers it); False while it is remembered."""
        key = (device_id, seq)
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._seen)
