"""Ingest's Prometheus metrics, in a registry of their own (one per ingest instance).

| metric | type | meaning |
|---|---|---|
| ``firewarden_ingest_received_total`` | counter | messages handed over by the broker (an event once, see below) |
| ``firewarden_ingest_accepted_total`` | counter | messages past validation, rate limit and in-memory dedup |
| ``firewarden_ingest_stored_total`` | counter | messages stored (and handed to the bus) for the first time |
| ``firewarden_ingest_rejected_total{reason}`` | counter | messages filed as dead letters, by reason |
| ``firewarden_ingest_duplicates_total`` | counter | messages already seen (in memory or by the database) |
| ``firewarden_ingest_rate_limited_total`` | counter | messages dropped by the per-device rate limit |
| ``firewarden_ingest_lane_copies_total`` | counter | event-channel messages the bulk session received as well |
| ``firewarden_ingest_rows_stored_total{table}`` | counter | rows inserted, by table (``dead_letters`` included) |
| ``firewarden_ingest_subscriptions`` | gauge | MQTT topic filters this process subscribes to |
| ``firewarden_ingest_batch_seconds`` | histogram | time to store a batch and hand it to the bus |
| ``firewarden_ingest_batch_rows`` | histogram | rows per batch |
| ``firewarden_ingest_in_flight`` | gauge | messages received and not yet acknowledged (both sessions) |
| ``firewarden_ingest_paused`` | gauge | 1 while the bulk session's in-flight limit is reached (the broker holds back) |
| ``firewarden_ingest_store_failures_total`` | counter | failed batch writes (each is retried) |
| ``firewarden_ingest_bus_failures_total`` | counter | failed bus hand-offs (each is retried) |
| ``firewarden_ingest_gb26875_replies_total{command}`` | counter | answers to UITDs: ``confirm``, ``deny`` |

An event-channel message reaches both MQTT sessions (:mod:`ingest.lanes`) and counts once: the bulk
session's delivery counts in ``lane_copies``, and in the other counters only when it comes first and
is stored (the priority session's copy then counts nowhere). So ``received`` counts messages, and
``received`` = ``accepted`` + ``duplicates`` + ``rejected`` + ``rate_limited``.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

_PREFIX = "firewarden_ingest"


class MessageCounts(Collector):
    """The per-message counters, as plain integers: a prometheus ``Counter`` takes a lock per increment,
    a measurable share of ingest's CPU at thousands of messages a second. Read when scraped."""

    def __init__(self) -> None:
        self.received = 0
        self.accepted = 0
        self.duplicates = 0
        self.rate_limited = 0
        self.lane_copies = 0
        self.rejected: dict[str, int] = {}

    def reject(self, reason: str, count: int = 1) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + count

    def collect(self) -> Iterator[CounterMetricFamily]:
        for name, help_text, value in (
            ("received", "messages handed over by the broker", self.received),
            ("accepted", "messages that passed validation", self.accepted),
            ("duplicates", "messages dropped as already seen", self.duplicates),
            ("rate_limited", "messages dropped by the per-device rate limit", self.rate_limited),
            ("lane_copies", "event-channel messages received on the bulk session as well", self.lane_copies),
        ):
            yield CounterMetricFamily(f"{_PREFIX}_{name}", help_text, value=value)
        rejected = CounterMetricFamily(f"{_PREFIX}_rejected", "messages filed as dead letters", labels=["reason"])
        for reason, count in sorted(self.rejected.items()):
            rejected.add_metric([reason], count)
        yield rejected


class IngestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.counts = MessageCounts()
        r.register(self.counts)
        self.stored = Counter(f"{_PREFIX}_stored", "messages stored for the first time", registry=r)
        self.subscriptions = Gauge(f"{_PREFIX}_subscriptions", "MQTT topic filters subscribed to", registry=r)
        self.rows_stored = Counter(f"{_PREFIX}_rows_stored", "rows inserted", ["table"], registry=r)
        self.batch_seconds = Histogram(
            f"{_PREFIX}_batch_seconds",
            "time to store a batch and hand it to the bus",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.batch_rows = Histogram(
            f"{_PREFIX}_batch_rows",
            "rows per batch",
            buckets=(1, 10, 100, 500, 1000, 2500, 5000, 10000, 25000),
            registry=r,
        )
        self.in_flight = Gauge(f"{_PREFIX}_in_flight", "messages received and not yet acknowledged", registry=r)
        self.paused = Gauge(f"{_PREFIX}_paused", "1 while the in-flight limit is reached", registry=r)
        self.store_failures = Counter(f"{_PREFIX}_store_failures", "failed batch writes", registry=r)
        self.bus_failures = Counter(f"{_PREFIX}_bus_failures", "failed bus hand-offs", registry=r)
        self.sessions_lost = Counter(
            f"{_PREFIX}_sessions_lost",
            "reconnections where the broker had no session for ingest although one was expected",
            ["session"],
            registry=r,
        )
        self.session_loss_pending = Gauge(
            f"{_PREFIX}_session_loss_unacknowledged",
            "1 while a lost session is neither acknowledged nor older than ingest_session_loss_hold_s",
            registry=r,
        )
        self.replies = Counter(
            f"{_PREFIX}_gb26875_replies", "GB/T 26875.3 answers published to UITDs", ["command"], registry=r
        )

    def value(self, name: str, **labels: str) -> float:
        """A sample's current value (0 if never set), for tests and the final log line."""
        found = self.registry.get_sample_value(name, labels or None)
        return 0.0 if found is None else found
