"""A token bucket per device, so one broken or hostile device cannot flood storage and scoring.

Each device may send ``rate_per_s`` messages per second with a burst of ``burst`` (the policy's
``[ingest]`` section). Tokens refill by the time that passed on the device's clock or on ours,
whichever ran faster: a device delivering the backlog it buffered through an outage (old timestamps,
arriving fast) spends tokens its own clock earned, and is not limited; a device repeating itself at
10,000 messages a second is.

A message over the limit is dropped, counted, and acknowledged like any other; per device and
summary period, one ``rate_limited`` dead letter says how many were dropped, when, which seqs, and
keeps the first dropped payload as a sample. Fire alarms are never dropped: they spend a
token when there is one and pass regardless.

Pure logic: the caller passes the times, so tests need no clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from core.policy import IngestPolicy
from ingest.records import DeadLetter


@dataclass(slots=True)
class _Bucket:
    tokens: float
    wall: float
    device_time: float
    dropped: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    first_at: datetime | None = None
    last_at: datetime | None = None
    topic: str = ""
    sample: bytes = b""


class RateLimiter:
    def __init__(self, policy: IngestPolicy) -> None:
        self.rate = policy.rate_per_s
        self.burst = float(policy.burst)
        self.summary_s = policy.rate_summary_s
        self._buckets: dict[str, _Bucket] = {}
        self._dropping: dict[str, float] = {}  # device id -> wall time its current summary period opened

    def admit(
        self,
        device_id: str,
        seq: int,
        device_time: datetime,
        received_at: datetime,
        *,
        topic: str,
        payload: bytes,
        exempt: Callable[[], bool] = lambda: False,
    ) -> bool:
        """Whether this message may pass; a dropped one is counted towards the device's summary.
        ``exempt`` (a fire alarm) is asked only when the device is out of tokens."""
        wall, own = received_at.timestamp(), device_time.timestamp()
        bucket = self._buckets.get(device_id)
        if bucket is None:
            bucket = self._buckets[device_id] = _Bucket(self.burst, wall, own)
        elapsed = wall - bucket.wall
        if own - bucket.device_time > elapsed:
            elapsed = own - bucket.device_time
        if elapsed > 0:
            bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
            if wall > bucket.wall:
                bucket.wall = wall
            if own > bucket.device_time:
                bucket.device_time = own
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return True
        if exempt():
            return True
        if bucket.dropped == 0:
            bucket.first_seq, bucket.first_at = seq, received_at
            bucket.topic, bucket.sample = topic, payload
            self._dropping.setdefault(device_id, wall)
        bucket.dropped += 1
        bucket.last_seq, bucket.last_at = seq, received_at
        return False

    def summaries(self, now: datetime, *, final: bool = False) -> list[DeadLetter]:
        """One dead letter per device whose summary period has ended (every one when ``final``)."""
        out: list[DeadLetter] = []
        wall = now.timestamp()
        for device_id, opened in list(self._dropping.items()):
            if not final and wall - opened < self.summary_s:
                continue
            bucket = self._buckets[device_id]
            assert bucket.first_at is not None and bucket.last_at is not None
            out.append(
                DeadLetter(
                    received_at=bucket.first_at,
                    topic=bucket.topic,
                    payload=bucket.sample,
                    reason="rate_limited",
                    detail=(
                        f"{bucket.dropped} message(s) of device {device_id} dropped between "
                        f"{bucket.first_at.isoformat()} and {bucket.last_at.isoformat()} (seq {bucket.first_seq} "
                        f"to {bucket.last_seq}): over {self.rate:g} per second with a burst of {self.burst:g}; "
                        "the payload is the first one dropped"
                    ),
                )
            )
            bucket.dropped = 0
            del self._dropping[device_id]
        return out

    @property
    def dropping(self) -> int:
        """Devices with dropped messages not yet summed up."""
        return len(self._dropping)
