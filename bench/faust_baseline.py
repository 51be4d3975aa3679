"""The baseline of bench/scoring.py: a bare faust agent that only consumes ``fw.records``.

Same app settings as scoring/app.py (raw serializers, batches taken the same way), no work per
record, so the ratio against it is the price of scoring itself. Configured by the environment the
benchmark sets: BENCH_KAFKA, BENCH_GROUP, BENCH_PARTITIONS.
"""

from __future__ import annotations

import os
from typing import Any

import faust

app = faust.App(
    os.environ["BENCH_GROUP"],
    broker=f"kafka://{os.environ['BENCH_KAFKA']}",
    store="memory://",
    topic_partitions=int(os.environ["BENCH_PARTITIONS"]),
    topic_replication_factor=1,
    web_enabled=False,
    key_serializer="raw",
    value_serializer="raw",
)
records = app.topic("fw.records", key_type=bytes, value_type=bytes)


@app.agent(records)
async def consume(stream: Any) -> None:
    async for batch in stream.take_events(5000, within=0.05):
        for event in batch:
            _ = event.value
