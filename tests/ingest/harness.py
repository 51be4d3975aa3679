"""What the ingest integration tests share: a fleet in the database, a mixed stream with its expected
outcome, a publisher, and readers of what ingest stored.

The expected outcome comes from the simulators' ground truth and from refusals built here by hand,
never from ingest's own validator.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import msgspec

from core.addresses import MqttUrl
from core.bus import Bus
from core.db import connect
from core.gb26875 import encode_frame
from core.registry import RegistryFile
from core.registry.store import import_registry
from ingest.service import Ingest, IngestOptions
from ingest.store import load_registry_index
from simulators.engine import Outgoing, Simulation
from simulators.fleet import generate_fleet
from simulators.publisher import Publisher, PublishOptions
from simulators.scenarios import KINDS, Scenario, apply_scenario, background

FLEET = generate_fleet(12, seed=7)
TIMEOUT_S = 60.0
TRANSPORT_FAULTS = [k for k, v in KINDS.items() if v.category == "transport_fault"]


def import_fleet(url: str, fleet: RegistryFile = FLEET) -> None:
    with connect(url, autocommit=True) as conn:
        import_registry(conn, fleet, source="test fleet")


def _device(kind: str) -> tuple[str, str]:
    device = next(d for d in FLEET.devices if d.type == kind)
    return device.premises, device.id


def hand_made_refusals(now: datetime) -> list[tuple[str, str, bytes]]:
    """(reason, topic, payload) for every refusal the simulators' faults do not already cover."""
    ms = int(now.timestamp() * 1000)

    def body(**fields: object) -> bytes:
        return msgspec.json.encode({"seq": 1, "ts": ms, **fields})

    tank_p, tank = _device("tank_level")
    elec_p, elec = _device("electrical_monitor")
    uitd_p, uitd = _device("uitd")
    good_frame = encode_frame(9, 2, bytes((2, 1)) + bytes((1, 1, 42)) + bytes(44), sent_at=now)
    bad_checksum = bytearray(good_frame)
    bad_checksum[-3] ^= 0xFF
    return [
        ("channel_not_allowed", f"fw/v1/{tank_p}/{tank}/event", body(kind="fire_alarm")),
        ("metric_not_allowed", f"fw/v1/{tank_p}/{tank}/telemetry", body(metrics={"residual_current_ma": 5})),
        ("event_not_allowed", f"fw/v1/{elec_p}/{elec}/event", body(kind="supervisory")),
        ("ts_in_future", f"fw/v1/{tank_p}/{tank}/telemetry", body(ts=ms + 3_600_000, metrics={"tank_level_m": 3})),
        ("ts_too_old", f"fw/v1/{tank_p}/{tank}/telemetry", body(ts=ms - 8 * 86_400_000, metrics={"tank_level_m": 3})),
        ("bad_frame", f"fw/v1/{uitd_p}/{uitd}/gb26875", good_frame[:20]),
        ("bad_checksum", f"fw/v1/{uitd_p}/{uitd}/gb26875", bytes(bad_checksum)),
        ("unsupported_frame", f"fw/v1/{uitd_p}/{uitd}/gb26875", encode_frame(9, 1, bytes((91, 1, 0)), sent_at=now)),
        ("schema", f"fw/v1/{uitd_p}/{uitd}/event", body(kind="fault", detail="nul \x00 inside")),
    ]


@dataclass
class MixedStream:
    messages: list[Outgoing]
    valid: set[tuple[str, int]]  # (device_id, seq) of every message that must be stored, once
    refusals: Counter[str]  # dead letters expected, by reason
    duplicates: int  # deliveries of a (device_id, seq) already delivered


def mixed_stream(now: datetime, *, duration_s: float = 1800, seed: int = 3) -> MixedStream:
    """The simulated fleet for ``duration_s`` up to ``now``, with every transport fault, plus the
    hand-made refusals, interleaved."""
    sim = Simulation(FLEET, seed=seed, start=now.timestamp() - duration_s, duration=duration_s)
    apply_scenario(
        sim,
        Scenario.model_validate(
            {"random": dict.fromkeys([*TRANSPORT_FAULTS, "fire", "cooking_nuisance", "offline"], 1)}
        ),
    )
    background(sim)
    messages = list(sim.messages())
    refused_indices = {
        i: t.expected.removeprefix("dead_letter:")
        for t in sim.truths
        if t.expected.startswith("dead_letter:")
        for i in t.stream_indices
    }
    valid: set[tuple[str, int]] = set()
    duplicates = 0
    for m in messages:
        if m.index in refused_indices:
            continue
        assert m.device_id is not None and m.seq is not None
        key = (m.device_id, m.seq)
        duplicates += key in valid
        valid.add(key)
    refusals = Counter(refused_indices.values())
    extra = hand_made_refusals(now)
    refusals.update(reason for reason, _, _ in extra)
    step = max(1, len(messages) // (len(extra) + 1))
    for n, (_, topic, payload) in enumerate(extra, start=1):
        at = messages[n * step].at
        messages.insert(n * step, Outgoing(len(messages) + n, at, topic, payload))
    # Devices' own retransmissions, besides the simulators' duplicates fault: every 50th valid message again.
    again = [m for m in messages if (m.device_id, m.seq) in valid][::50]
    messages.extend(again)
    duplicates += len(again)
    return MixedStream(messages, valid, refusals, duplicates)


def publish(url: MqttUrl, messages: list[Outgoing], *, qos: int = 1, prefix: str = "test-pub") -> None:
    options = PublishOptions(url=url, qos=1 if qos else 0, speed=0, connections=2, client_prefix=prefix)
    with Publisher(options) as publisher:
        stats = publisher.publish(messages, sim_start=messages[0].at)
    assert stats.errors == 0 and stats.done == len(messages), stats


def stored_messages(url: str) -> list[tuple[str, int]]:
    """(device_id, seq) of every stored message, with repetition if one were stored twice."""
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT device_id, seq FROM (SELECT DISTINCT device_id, seq, time FROM readings) r "
            "UNION ALL SELECT device_id, seq FROM events UNION ALL SELECT device_id, seq FROM device_status"
        ).fetchall()
    return [(str(d), int(str(s))) for d, s in rows]


def dead_letter_reasons(url: str) -> Counter[str]:
    with connect(url) as conn:
        return Counter(str(r) for (r,) in conn.execute("SELECT reason FROM dead_letters").fetchall())


async def until(
    condition: Callable[[], bool], what: str, timeout: float = TIMEOUT_S, detail: Callable[[], str] = str
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what} {detail()}")
        await asyncio.sleep(0.05)


async def running(ingest: Ingest, body: Callable[[], Awaitable[None]], timeout: float = TIMEOUT_S) -> None:
    """Run ``body`` while ``ingest`` runs (connected first); stop ingest afterwards, whatever happened."""
    stop = asyncio.Event()
    task = asyncio.create_task(ingest.run(stop))
    await until(lambda: ingest.subscriber.connected, "ingest to connect", 10)
    try:
        await body()
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout)


def make_ingest(mqtt: MqttUrl, db_url: str, bus: Bus, **options: object) -> Ingest:
    return Ingest(
        mqtt_url=mqtt,
        database_url=db_url,
        bus=bus,
        options=IngestOptions(**({"client_id": "test-ingest"} | options)),  # type: ignore[arg-type]
        index=load_registry_index(db_url),
    )
