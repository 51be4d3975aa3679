"""The same records through the local runner and through a faust worker on a real Kafka-protocol
broker (tansu) give the same decisions, in the same order for each premises and decision topic.

The records go in on ``fw.records`` alone, in ingest's order, so that both runners see one sequence
(events on ``fw.events`` would be taken ahead of it by each runner at its own pace)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]

from core.bus import LocalBus
from core.db import connect
from core.policy import Policy
from core.registry import import_registry
from ingest.handoff import TOPICS, to_bus
from ingest.records import Record
from scoring.models import Models
from scoring.records import ALARMS_TOPIC, DECISIONS_TOPIC, Decision, decode_decision, topic_of
from scoring.runner import LocalRunner
from scoring.scorer import Scorer
from scoring.site import Sites
from scoring.store import DecisionStore
from simulators.engine import GroundTruth, Simulation
from simulators.fleet import generate_fleet
from simulators.scenarios import Scenario, apply_scenario, background, write_ground_truth
from training.evaluation import judge, read_ground_truth, stored_decisions
from training.models import START
from training.replay import simulated_records

FLEET = generate_fleet(8, seed=13)
PARTITIONS = 3
WORKER_TIMEOUT_S = 150.0


def _records() -> tuple[list[Record], list[GroundTruth]]:
    sim = Simulation(FLEET, seed=13, start=START, duration=3 * 3600)
    kinds = ["fire", "cooking_nuisance", "flapping_detector", "maintenance_test", "offline", "pipe_leak"]
    apply_scenario(sim, Scenario(random=dict.fromkeys(kinds, 1)))
    background(sim)
    return [r for _, records in simulated_records(FLEET, sim) for r in records], sim.truths


def _by_premises(decisions: list[Decision]) -> dict[tuple[str, str], list[Decision]]:
    """Per premises and topic: the order the runners promise (alarm decisions go on a topic of their own)."""
    grouped: dict[tuple[str, str], list[Decision]] = defaultdict(list)
    for d in decisions:
        grouped[(d.premises_id, topic_of(d))].append(d)
    return dict(grouped)


def _counts(decisions: list[Decision]) -> dict[str, int]:
    names = {"Signal": "signals", "AlarmDecision": "alarms", "RiskScore": "risk_scores"}
    counts = dict.fromkeys(names.values(), 0)
    for d in decisions:
        counts[names[type(d).__name__]] += 1
    return counts


def _stored(url: str) -> dict[str, int]:
    with connect(url) as conn:
        return {
            table: int(str(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]))  # type: ignore[index]
            for table in ("signals", "alarms", "risk_scores")
        }


def _local(records: list[Record], models: Models, url: str) -> list[Decision]:
    async def run() -> list[Decision]:
        bus = LocalBus()
        out = bus.subscribe(ALARMS_TOPIC, DECISIONS_TOPIC, maxsize=0)
        scorer = Scorer(Policy(), Sites.of(FLEET), models)
        store = DecisionStore(url)
        runner = LocalRunner(scorer, bus, store, wall_clock=False)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        await bus.publish(to_bus(records))
        stop.set()
        await task
        store.close()
        return [decode_decision(out.get_nowait().value) for _ in range(out.qsize())]

    return asyncio.run(run())


async def _create_topics(kafka: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in (*TOPICS, ALARMS_TOPIC, DECISIONS_TOPIC)])
    finally:
        await admin.close()


async def _produce(kafka: str, records: list[Record]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", linger_ms=5)
    await producer.start()
    try:
        for message in to_bus(records):
            await producer.send(message.topic, message.value, key=message.key)
        await producer.flush()
    finally:
        await producer.stop()


async def _consume(kafka: str, expected: int, worker: subprocess.Popen[bytes], log: Path) -> list[Decision]:
    consumer = AIOKafkaConsumer(
        ALARMS_TOPIC, DECISIONS_TOPIC, bootstrap_servers=kafka, auto_offset_reset="earliest", group_id="check-decisions"
    )
    await consumer.start()
    got: list[tuple[str, int, int, Decision]] = []
    deadline = time.monotonic() + WORKER_TIMEOUT_S
    try:
        while len(got) < expected and time.monotonic() < deadline:
            assert worker.poll() is None, f"the faust worker exited:\n{log.read_text(errors='replace')[-3000:]}"
            batches = await consumer.getmany(timeout_ms=1000)
            for tp, messages in batches.items():
                got.extend((tp.topic, tp.partition, m.offset, decode_decision(m.value)) for m in messages)
        await asyncio.sleep(2)  # anything beyond the expected count would be a difference too
        for tp, messages in (await consumer.getmany(timeout_ms=1000)).items():
            got.extend((tp.topic, tp.partition, m.offset, decode_decision(m.value)) for m in messages)
    finally:
        await consumer.stop()
    got.sort(key=lambda item: (item[0], item[1], item[2]))
    return [d for _, _, _, d in got]


def _start_worker(kafka: str, url: str, models_dir: Path, tmp_path: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIREWARDEN_")}
    env |= {
        "FIREWARDEN_BUS": f"kafka://{kafka}",
        "FIREWARDEN_DATABASE_URL": url,
        "FIREWARDEN_MODEL_DIR": str(models_dir),
        "FIREWARDEN_SCORING_GROUP": f"scoring-test-{os.getpid()}",
        "FIREWARDEN_SCORING_PARTITIONS": str(PARTITIONS),
        "FIREWARDEN_SCORING_WALL_CLOCK": "false",
        "FIREWARDEN_DATA_DIR": str(tmp_path / "data"),
        "FIREWARDEN_METRICS_PORT": "0",  # the default port may be another process's (a demo, a test beside)
        "FIREWARDEN_KAFKA_ONE_RECORD_PER_BATCH": "true",  # tansu reports a partition's end short
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "firewarden", "--log-level", "info", "score"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).parents[2],
        )


def test_local_and_faust_runners_decide_the_same(
    own_kafka: str, migrated_url: str, models_dir: Path, models: Models, tmp_path: Path
) -> None:
    kafka = own_kafka
    with connect(migrated_url, autocommit=True) as conn:
        import_registry(conn, FLEET, source="test fleet")
    records, truths = _records()
    local = _local(records, models, migrated_url)
    kinds = {type(d).__name__ for d in local}
    assert kinds == {"Signal", "AlarmDecision", "RiskScore"}, kinds
    assert any(getattr(d, "classification", None) == "confirmed" for d in local)
    stored = _stored(migrated_url)
    assert stored == _counts(local)
    store = DecisionStore(migrated_url)
    store.write(local)  # published twice (at-least-once): stored once
    store.close()
    assert _stored(migrated_url) == stored

    ground_truth = tmp_path / "ground_truth.jsonl"
    with ground_truth.open("wb") as out:
        write_ground_truth(truths, out)
    judged = judge(read_ground_truth(ground_truth), stored_decisions(migrated_url), [], 0, 0.0)
    assert (judged.fires, judged.fires_confirmed, judged.nuisance_escalated) == (1, 1, 0)
    assert judged.kinds["offline"].detected == 1

    asyncio.run(_create_topics(kafka))
    asyncio.run(_produce(kafka, records))
    log = tmp_path / "worker.log"
    worker = _start_worker(kafka, migrated_url, models_dir, tmp_path, log)
    try:
        remote = asyncio.run(_consume(kafka, len(local), worker, log))
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    assert len(remote) == len(local), f"faust decided {len(remote)} times, local {len(local)}"
    assert _by_premises(remote) == _by_premises(local)
