"""The faust worker's view of its table: only the premises of the partitions it owns are its to score
and to move by the wall clock; the partition of a premises is Kafka's default partitioner's; and how
its consumer differs from faust's."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiokafka.partitioner import DefaultPartitioner  # type: ignore[import-untyped]

from core.settings import Settings
from firewarden.processes.scoring import TableStates, partition_of


def test_a_premises_partition_is_the_producers_default_partitioner() -> None:
    partitions = list(range(12))
    for premises in ("P-000001", "P-000002", "深圳-17", "x"):
        assert partition_of(premises, 12) == DefaultPartitioner()(premises.encode(), partitions, partitions)


def test_the_states_iterated_are_those_of_the_owned_partitions_only() -> None:
    table = {f"P-{n}".encode(): b"" for n in range(40)}
    states = TableStates(table, 4)
    assert list(states) == []  # nothing owned before the first partitions are restored
    states.owned = {0, 2}
    mine = {f"P-{n}" for n in range(40) if partition_of(f"P-{n}", 4) in {0, 2}}
    assert 0 < len(mine) < 40
    assert set(states) == mine and len(states) == len(mine)
    states.owned = set()  # revoked, nothing assigned yet
    assert list(states) == []


def test_a_message_no_stream_processed_is_not_acknowledged() -> None:
    """A faust stream skips (and faust would acknowledge) what it takes during a rebalance; the
    worker's consumer leaves it unacknowledged, so that it is processed after the rebalance."""
    from faust.types.tuples import ConsumerMessage

    from firewarden.processes.scoring import _ProcessedAcks

    skipped = ConsumerMessage("fw.events", 0, 7, 0.0, 0, None, b"P-1", b"{}", None)
    assert not skipped.tracked
    assert _ProcessedAcks.ack(object(), skipped) is False  # type: ignore[arg-type]
    assert not skipped.acked


def test_the_worker_fetches_with_a_short_wait(tmp_path: Path) -> None:
    """faust fixes a fetch's wait at 1.5 s, and the broker answers a connection's requests in turn: a
    worker taking partitions over asked their changelogs' ends behind an idle fetch (up to 1.5 s more
    before a fire of those premises was scored, bench/failover.py)."""
    from firewarden.processes.scoring import FETCH_MAX_WAIT_MS, build_app

    async def fetch_wait() -> int:
        settings = Settings(bus="kafka://127.0.0.1:1", database_url="postgresql://x@127.0.0.1:1/x", data_dir=tmp_path)
        app = build_app(settings)
        consumer = app.consumer._thread._create_worker_consumer(app.transport)  # type: ignore[attr-defined]
        try:
            return int(consumer._fetch_max_wait_ms)
        finally:
            await consumer.stop()

    assert asyncio.run(fetch_wait()) == FETCH_MAX_WAIT_MS == 100
