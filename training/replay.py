"""Recorded or simulated runs as scoring input: messages through ingest's validator, in send order.

Used to train models, evaluate decisions against ground truth, replay a recorded stream under another
policy and benchmark, all without a broker.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from core.registry import RegistryFile
from ingest import RecentMessages, Record, RegistryIndex, ValidationPolicy, Validator
from simulators import Outgoing, Simulation


def accepted_records(registry: RegistryFile, messages: Iterable[Outgoing]) -> Iterator[tuple[Outgoing, list[Record]]]:
    """Each accepted message with its records, received when sent; refusals and repeats left out, as ingest does."""
    validator = Validator(RegistryIndex.of(registry), ValidationPolicy(max_past=timedelta(days=3650)))
    recent = RecentMessages()
    for message in messages:
        checked = validator.check(message.topic, message.payload, datetime.fromtimestamp(message.at, UTC))
        if not isinstance(checked, list) or not checked:
            continue
        if recent.check(checked[0].device_id, checked[0].seq, hash(message.payload)) == "new":
            yield message, checked


def simulated_records(registry: RegistryFile, sim: Simulation) -> Iterator[tuple[Outgoing, list[Record]]]:
    """A simulation's accepted messages with their records (:func:`accepted_records`)."""
    return accepted_records(registry, sim.messages())
