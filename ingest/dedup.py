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

from typing import Literal

Seen = Literal["new", "duplicate", "again"]


class RecentMessages:
    """(device_id, seq) pairs seen lately with their digests: always the last ``capacity // 2`` pairs
    seen or repeated, never more than ``capacity``, the oldest forgotten first (half at a time).

    Two generations of plain dictionaries, device id → {seq: digest}: when the young one holds half the
    capacity it becomes the old one and the old one is dropped; a repeat found in the old one moves
    back into the young. Nothing in them is an object the garbage collector tracks (strings, integers,
    dictionaries of those), so they cost a full collection nothing: an ``OrderedDict`` of a million
    tuple keys cost every full collection about 75 ms, a pause that held a fire behind it in a process
    that also runs scoring and alerts (docs/benchmarks.md, alert latency).
    """

    def __init__(self, capacity: int = 1_000_000) -> None:
        if capacity < 2:
            raise ValueError("capacity must be at least 2")
        self.capacity = capacity
        self._half = capacity // 2
        self._young: dict[str, dict[int, int]] = {}
        self._old: dict[str, dict[int, int]] = {}
        self._young_size = 0

    def check(self, device_id: str, seq: int, digest: int) -> Seen:
        """``new`` the first time a pair is offered (and remembers it); then ``duplicate`` for the same
        digest and ``again`` for another, while it is remembered."""
        young = self._young.get(device_id)
        known = young.get(seq) if young is not None else None
        if known is None:
            old = self._old.get(device_id)
            known = old.pop(seq, None) if old is not None else None
            if known is None:
                self._remember(device_id, seq, digest)
                return "new"
            self._remember(device_id, seq, known)  # a repeat stays remembered
        return "duplicate" if known == digest else "again"

    def _remember(self, device_id: str, seq: int, digest: int) -> None:
        seqs = self._young.get(device_id)
        if seqs is None:
            seqs = self._young[device_id] = {}
        seqs[seq] = digest
        self._young_size += 1
        if self._young_size >= self._half:
            self._old, self._young, self._young_size = self._young, {}, 0

    def __len__(self) -> int:
        return self._young_size + sum(len(seqs) for seqs in self._old.values())
