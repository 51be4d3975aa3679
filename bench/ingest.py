"""Ingest throughput and CPU per message: MQTT (QoS 1) into PostgreSQL, against the C clients in the same run.

    .venv/bin/python bench/ingest.py [--premises 300] [--hours 4] [--processes 1,2] [--limit 200000]

Needs Mosquitto and its C clients (`make mosquitto mosquitto-clients`). In one run it:
1. starts the embedded PostgreSQL (the pip wheel, default settings) and Mosquitto on a free port,
   migrates, and imports a generated fleet;
2. simulates the fleet for the last ``--hours`` (ordinary life, incidents, nuisance alarms and every
   transport fault, so some messages are dead letters and some duplicates): the realistic mix;
3. live C path: ``mosquitto_pub -l -M 1000`` (QoS 1, up to 1,000 in flight instead of its default 20)
   → Mosquitto → ``mosquitto_sub`` (QoS 1), live, up to 100,000 messages of the stream's largest
   telemetry size, while the broker holds nothing queued;
4. registers persistent sessions for every ingest process of every ``--processes`` count (both of
   each process's sessions, bulk and priority, each with its partition's premises, as ingest
   subscribes) and for the broker drain (``fw/v1/#``), then publishes the whole stream once at QoS 1
   with the simulators' publisher, so that the broker holds a queued copy for each;
5. broker drain: times ``mosquitto_sub`` (C, QoS 1) draining its copy;
6. ingest, for each process count: ``firewarden ingest`` draining its copy into PostgreSQL, from its
   first message to the last acknowledgement, read from its Prometheus endpoint at most 4 times a
   second; the CPU seconds (user + system, from /proc) of the ingest processes, of PostgreSQL (the
   postmaster and its backends) and of Mosquitto over the same span, divided by the messages stored;
   the database is checked to hold every valid message, then emptied for the next count.

Ingest drains a backlog at full speed, so its figures are sustained rates no publisher limits; the
ratios are ingest / live C path and ingest / broker drain.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the `ingest` package; run as a script, its own folder would shadow it.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: `bench.procstat`

import argparse
import os
import re
import subprocess
import tempfile
import time
import urllib.request
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from bench.procstat import pids_with, postgres_pids, total_cpu_s
from core.addresses import MqttUrl
from core.db import connect, migrate
from core.registry.store import import_registry
from core.services import embedded_broker, embedded_postgres
from ingest.lanes import PRIORITY_SUFFIX, priority_filters
from ingest.service import default_client_id
from ingest.subscriber import topic_filters
from simulators.engine import Simulation
from simulators.fleet import generate_fleet
from simulators.publisher import Publisher, PublishOptions
from simulators.scenarios import KINDS, Scenario, apply_scenario, background

TARGET_RATIO = 0.9
TARGET_US = 35.0
TABLES = "readings, events, device_status, dead_letters, device_sequences"
SAMPLE = re.compile(rb"^(firewarden_ingest_\w+?)(?:\{[^}]*\})? ([0-9.e+-]+)$", re.MULTILINE)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def register_session(url: MqttUrl, client_id: str, filters: list[str]) -> None:
    """Connect once with a persistent session and subscribe, so the broker queues while it is away."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = 3600
    client.connect(url.host, url.port, clean_start=False, properties=properties)
    client.loop_start()
    info = client.subscribe([(f, SubscribeOptions(qos=1)) for f in filters])
    deadline = time.monotonic() + 10
    while client.is_connected() is False or info[0] != 0:
        if time.monotonic() > deadline:
            raise RuntimeError(f"could not register {client_id}")
        time.sleep(0.01)
    time.sleep(0.2)  # the SUBACK
    client.disconnect()
    client.loop_stop()


def metrics(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        body = response.read()
    totals: dict[str, float] = {}
    for name, value in SAMPLE.findall(body):
        key = name.decode()
        totals[key] = totals.get(key, 0.0) + float(value)
    return totals


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def live_c_path(broker: MqttUrl, payload: bytes, count: int, root: Path) -> float:
    """msg/s of ``count`` messages from mosquitto_pub through Mosquitto to mosquitto_sub, live, at QoS 1."""
    lines = root / "live.txt"
    lines.write_bytes((payload.replace(b"\n", b" ") + b"\n") * count)
    host, port = broker.host, str(broker.port)
    sub = subprocess.Popen(
        [
            "mosquitto_sub",
            "-h",
            host,
            "-p",
            port,
            "-V",
            "5",
            "-q",
            "1",
            "-t",
            "bench/live",
            "-C",
            str(count),
            "-W",
            "300",
        ],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.5)  # subscribed
    t0 = time.perf_counter()
    with lines.open("rb") as stdin:
        subprocess.run(
            ["mosquitto_pub", "-h", host, "-p", port, "-V", "5", "-q", "1", "-M", "1000", "-t", "bench/live", "-l"],
            stdin=stdin, check=True, timeout=600,
        )  # fmt: skip
    sub.wait(timeout=600)
    return count / (time.perf_counter() - t0)


def drain(
    n: int, broker: MqttUrl, db_url: str, expected: int, pgdata: Path, broker_pids: list[int]
) -> dict[str, float]:
    """``n`` ingest processes drain their sessions' backlog: rate, CPU per stored message, peak memory."""
    ports = [free_port() for _ in range(n)]
    env_base = {k: v for k, v in os.environ.items() if not k.startswith("FIREWARDEN_")}
    env_base |= {"FIREWARDEN_DATABASE_URL": db_url, "FIREWARDEN_MQTT_URL": broker.render(mask=False)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "firewarden", "ingest"],
            env=env_base
            | {
                "FIREWARDEN_INGEST_PARTITIONS": str(n),
                "FIREWARDEN_INGEST_PARTITION": str(partition),
                "FIREWARDEN_METRICS_PORT": str(port),
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for partition, port in enumerate(ports)
    ]
    ingest_pids = [p.pid for p in procs]
    first = done = None
    cpu0: tuple[float, float, float] = (0.0, 0.0, 0.0)
    try:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            try:
                sampled = [metrics(port) for port in ports]
            except OSError:
                time.sleep(0.05)
                continue
            now_s = time.perf_counter()
            received = sum(s.get("firewarden_ingest_received_total", 0) for s in sampled)
            in_flight = sum(s.get("firewarden_ingest_in_flight", 0) for s in sampled)
            if first is None and received > 0:
                first = now_s
                cpu0 = (total_cpu_s(ingest_pids), total_cpu_s(postgres_pids(pgdata)), total_cpu_s(broker_pids))
            if received >= expected and in_flight == 0:
                done = now_s
                break
            time.sleep(0.25)  # scraping costs ingest CPU: at most 4 times a second
        cpu1 = (total_cpu_s(ingest_pids), total_cpu_s(postgres_pids(pgdata)), total_cpu_s(broker_pids))
        peaks = [peak_rss_mb(p.pid) for p in procs]
        final = [metrics(port) for port in ports]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
    if first is None or done is None:
        raise SystemExit("ingest did not finish within 15 minutes")
    stored = sum(s.get("firewarden_ingest_stored_total", 0) for s in final)
    us = [(b - a) * 1e6 / stored for a, b in zip(cpu0, cpu1, strict=True)]
    return {
        "rate": expected / (done - first),
        "stored": stored,
        "accepted": sum(s.get("firewarden_ingest_accepted_total", 0) for s in final),
        "duplicates": sum(s.get("firewarden_ingest_duplicates_total", 0) for s in final),
        "rejected": sum(s.get("firewarden_ingest_rejected_total", 0) for s in final),
        "ingest_us": us[0],
        "postgres_us": us[1],
        "broker_us": us[2],
        "peak_mb": max(peaks),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--premises", type=int, default=300)
    parser.add_argument("--hours", type=float, default=4.0)
    parser.add_argument("--limit", type=int, default=200_000, help="messages at most")
    parser.add_argument("--processes", default="1,2", help="ingest process counts to run, comma-separated")
    args = parser.parse_args()
    counts = [int(c) for c in args.processes.split(",")]

    with tempfile.TemporaryDirectory(prefix="fw-bench-ingest-") as tmp:
        root = Path(tmp)
        with embedded_postgres(root / "pg") as pg, embedded_broker(root / "mqtt", port=free_port()) as broker:
            with connect(pg.owner, autocommit=True) as conn:
                migrate(conn, "off")
                fleet = generate_fleet(args.premises, seed=1)
                import_registry(conn, fleet, source="bench fleet")

            now = datetime.now(UTC).timestamp()
            t0 = time.perf_counter()
            sim = Simulation(fleet, seed=1, start=now - args.hours * 3600, duration=args.hours * 3600)
            scenario = {"random": dict.fromkeys(KINDS, 2)}
            apply_scenario(sim, Scenario.model_validate(scenario))
            background(sim)
            messages = list(sim.messages())[: args.limit]
            print(
                f"stream: {len(messages):,} messages from {args.premises} premises over {args.hours} h "
                f"(generated in {time.perf_counter() - t0:.1f} s)"
            )

            # The live C path first, while the broker holds nothing queued (with a million messages
            # queued for the ingest sessions, this same path runs at less than half the rate).
            typical = max((m.payload for m in messages if m.topic.endswith("/telemetry")), key=len)
            live = live_c_path(broker, typical, min(len(messages), 100_000), root)

            premises = [p.id for p in fleet.premises]
            for n in counts:
                for partition in range(n):
                    filters = topic_filters(premises, n, partition)
                    client_id = default_client_id(partition, n)
                    register_session(broker, client_id, filters)
                    register_session(broker, client_id + PRIORITY_SUFFIX, priority_filters(filters))
            register_session(broker, "bench-ceiling", ["fw/v1/#"])

            options = PublishOptions(url=broker, qos=1, speed=0, connections=4, client_prefix="bench-pub")
            t0 = time.perf_counter()
            with Publisher(options) as publisher:
                stats = publisher.publish(messages, sim_start=messages[0].at)
            preload = time.perf_counter() - t0
            assert stats.done == len(messages) and stats.errors == 0, stats
            print(f"preload: published {stats.done:,} at QoS 1 in {preload:.1f} s ({stats.done / preload:,.0f} msg/s)")

            t0 = time.perf_counter()
            subprocess.run(
                ["mosquitto_sub", "-h", broker.host, "-p", str(broker.port), "-V", "5", "-q", "1", "-c",
                 "-i", "bench-ceiling", "-x", "3600", "-t", "fw/v1/#", "-C", str(len(messages))],
                check=True, stdout=subprocess.DEVNULL, timeout=600,
            )  # fmt: skip
            broker_drain = len(messages) / (time.perf_counter() - t0)

            broker_pids = pids_with(str(root / "mqtt"))
            pgdata = root / "pg" / "postgres"
            results = {}
            for n in counts:
                results[n] = drain(n, broker, pg.app, len(messages), pgdata, broker_pids)
                with connect(pg.owner) as conn:
                    rows = conn.execute(
                        "SELECT (SELECT count(*) FROM readings), (SELECT count(*) FROM events),"
                        " (SELECT count(*) FROM device_status), (SELECT count(*) FROM dead_letters)"
                    ).fetchone()
                    assert rows is not None
                    results[n]["rows"] = rows  # type: ignore[assignment]
                    conn.execute(f"TRUNCATE {TABLES}")
                    conn.commit()

    first = results[counts[0]]
    rows = first["rows"]
    print(
        f"stored: {rows[0]:,} readings, {rows[1]:,} events, {rows[2]:,} status rows, {rows[3]:,} dead letters "  # type: ignore[index]
        f"({first['accepted']:,.0f} accepted, {first['duplicates']:,.0f} duplicates, {first['rejected']:,.0f} rejected)"
    )
    print()
    print(f"{'':<40}{'msg/s':>9}{'ingest µs':>11}{'PG µs':>8}{'broker µs':>11}{'peak MB':>9}")
    print(f"{'broker drain: mosquitto_sub, QoS 1':<40}{broker_drain:>9,.0f}")
    print(f"{'live C path: mosquitto_pub -> _sub, QoS 1':<40}{live:>9,.0f}")
    for n, r in results.items():
        label = f"ingest: {n} process(es), QoS 1 -> PG"
        print(
            f"{label:<40}{r['rate']:>9,.0f}{r['ingest_us']:>11.1f}{r['postgres_us']:>8.1f}{r['broker_us']:>11.1f}"
            f"{r['peak_mb']:>9.0f}"
        )
    print("(µs: CPU time per stored message, user + system, from /proc)")
    one = results[counts[0]]
    ratios = f"/ live C path: {one['rate'] / live:.2f}; / broker drain: {one['rate'] / broker_drain:.2f}"
    print(f"ratio ingest ({counts[0]} process) {ratios}")
    ok_ratio = one["rate"] / live >= TARGET_RATIO
    ok_cpu = one["ingest_us"] <= TARGET_US
    print(
        f"targets: >= {TARGET_RATIO} of the live C path: {'met' if ok_ratio else 'NOT met'}; "
        f"<= {TARGET_US:.0f} µs of ingest CPU per message: {'met' if ok_cpu else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
