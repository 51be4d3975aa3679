"""Ingest's two lanes: events jump the queue of telemetry, from the broker to the bus.

A fire alarm must never wait behind a backlog of readings. Ingest keeps two MQTT sessions:

- the **bulk** session (client id ``<client id>``) subscribes to everything of its premises
  (``fw/v1/#``, or ``fw/v1/<premises>/#`` per premises when partitioned), as before;
- the **priority** session (client id ``<client id>-priority``) subscribes only to the channels that
  carry events: ``fw/v1/+/+/event`` and ``fw/v1/+/+/gb26875`` (per premises when partitioned).

The broker keeps one queue per session, so an event is queued behind other events only, never
behind a telemetry backlog. Events are written by a writer of their own (its own batch, due as soon
as it holds a message, its own database connection) and handed on to ``fw.events``; everything else
is batched as before (``ingest_batch_ms``) and goes to ``fw.records``.

An event message reaches both sessions. Every delivery of an event channel, from either session,
goes to the priority lane, where the first copy is stored and the second is a duplicate (the lane
stores in order, so the second copy is acknowledged only once the first is stored). Subscribing the
bulk session to everything keeps two things: malformed topics still become dead letters, and an
event queued for the bulk session before the priority session existed (the first start of a
version with lanes) is still stored.

Order: within a lane, a premises' messages keep the order ingest received them in (one topic, keyed
by premises). Across lanes there is none: an event may overtake readings of its premises that came
before it by up to a batch. Scoring needs per-premises order only among the events (alarm
verification), and treats readings by their own time.
"""

from __future__ import annotations

from typing import Final

from ingest.subscriber import ALL_TOPICS

PRIORITY_CHANNELS: Final = frozenset({"event", "gb26875"})
"""The MQTT channels (the topic's last level) of the priority lane."""
_SUFFIXES: Final = tuple(f"/{channel}" for channel in sorted(PRIORITY_CHANNELS))
PRIORITY_SUFFIX: Final = "-priority"
"""Appended to the ingest client id for the priority session."""


def is_priority(topic: str) -> bool:
    """Whether a delivery belongs to the priority lane: ``fw/v1/<premises>/<device>/<event channel>``."""
    return topic.endswith(_SUFFIXES) and topic.count("/") == 4 and topic.startswith("fw/v1/")


def priority_filters(filters: list[str]) -> list[str]:
    """The priority session's subscriptions for the bulk session's ``filters``."""
    out: list[str] = []
    for f in filters:
        base = "fw/v1/+" if f == ALL_TOPICS else f.removesuffix("/#")
        out.extend(f"{base}/+/{channel}" for channel in sorted(PRIORITY_CHANNELS))
    return out
