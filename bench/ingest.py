"""Ingest throughput: messages per second from MQTT (QoS 1) into PostgreSQL, against the broker's ceiling.

    .venv/bin/python bench/ingest.py [--premises 300] [--hours 4] [--processes 1] [--limit 200000]

Needs Mosquitto and its C clients (`make mosquitto mosquitto-clients`). In one run it:
1. starts the embedded PostgreSQL (the pip wheel, default settings) and Mosquitto on a free port,
   migrates, and imports a generated fleet;
2. simulates the fleet for the last ``--hours`` (ordinary life, incidents, nuisance alarms and every
   transport fault, so some messages are dead letters and some duplicates): the realistic mix;
3. registers persistent sessions for the ingest process(es) (each its partition's premises, as ingest
   subscribes) and for the ceiling client (``fw/v1/#``), then publishes the whole stream once at QoS 1
   with the simulators' publisher, so that the broker holds one queued copy for each side;
4. ceiling: times ``mosquitto_sub`` (C, QoS 1) draining its copy;
5. ingest: times ``firewarden ingest`` draining its copy into PostgreSQL, from its first message to
   the last acknowledgement (batches stored and on the local bus), read from its Prometheus endpoint;
   then checks the database holds every valid message, and reads each process's peak memory (VmHWM).

Both sides drain a backlog at full speed, so the figures are sustained rates that no publisher's
speed limits; the ratio is ingest / ceiling.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the `ingest` package; run as a script, its own folder would shadow it.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

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

from core.db import connect, migrate
from core.registry.store import import_registry
from core.services import embedded_broker, embedded_postgres
from core.settings import MqttUrl
from ingest.service import default_client_id
from ingest.subscriber import topic_filters
from simulators.engine import Simulation
from simulators.fleet import generate_fleet
from simulators.publisher import Publisher, PublishOptions
from simulators.scenarios import KINDS, Scenario, apply_scenario, background

TARGET = 20_000
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--premises", type=int, default=300)
    parser.add_argument("--hours", type=float, default=4.0)
    parser.add_argument("--limit", type=int, default=200_000, help="messages at most")
    parser.add_argument("--processes", type=int, default=1, help="ingest processes dividing the premises")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fw-bench-ingest-") as tmp:
        root = Path(tmp)
        with embedded_postgres(root / "pg") as pg, embedded_broker(root / "mqtt", port=free_port()) as broker:
            db_url = pg.app
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

            n = args.processes
            ids = [default_client_id(p, n) for p in range(n)]
            premises = [p.id for p in fleet.premises]
            for partition, client_id in enumerate(ids):
                register_session(broker, client_id, topic_filters(premises, n, partition))
            register_session(broker, "bench-ceiling", ["fw/v1/#"])

            options = PublishOptions(url=broker, qos=1, speed=0, connections=4, client_prefix="bench-pub")
            t0 = time.perf_counter()
            with Publisher(options) as publisher:
                stats = publisher.publish(messages, sim_start=messages[0].at)
            preload = time.perf_counter() - t0
            assert stats.done == len(messages) and stats.errors == 0, stats
            print(f"preload: published {stats.done:,} at QoS 1 in {preload:.1f} s ({stats.done / preload:,.0f} msg/s)")

            # Ceiling: the C client drains its group's copy.
            t0 = time.perf_counter()
            subprocess.run(
                ["mosquitto_sub", "-h", broker.host, "-p", str(broker.port), "-V", "5", "-q", "1", "-c",
                 "-i", "bench-ceiling", "-x", "3600", "-t", "fw/v1/#", "-C", str(len(messages))],
                check=True, stdout=subprocess.DEVNULL, timeout=600,
            )  # fmt: skip
            ceiling = len(messages) / (time.perf_counter() - t0)

            # Ingest drains the other copy into PostgreSQL.
            ports = [free_port() for _ in ids]
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
            first = done = None
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
                    if received >= len(messages) and in_flight == 0:
                        done = now_s
                        break
                    time.sleep(0.25)  # scraping costs ingest CPU: at most 4 times a second
                peaks = [peak_rss_mb(p.pid) for p in procs]
                final = [metrics(port) for port in ports]
            finally:
                for proc in procs:
                    proc.terminate()
                for proc in procs:
                    proc.wait(timeout=60)
            if first is None or done is None:
                raise SystemExit("ingest did not finish within 15 minutes")
            rate = len(messages) / (done - first)
            with connect(db_url) as conn:
                row = conn.execute(
                    "SELECT (SELECT count(*) FROM readings), (SELECT count(*) FROM events),"
                    " (SELECT count(*) FROM device_status), (SELECT count(*) FROM dead_letters)"
                ).fetchone()
            assert row is not None
            accepted = sum(s.get("firewarden_ingest_accepted_total", 0) for s in final)
            duplicates = sum(s.get("firewarden_ingest_duplicates_total", 0) for s in final)
            rejected = sum(s.get("firewarden_ingest_rejected_total", 0) for s in final)

    print(
        f"stored: {row[0]:,} readings, {row[1]:,} events, {row[2]:,} status rows, {row[3]:,} dead letters "
        f"({accepted:,.0f} accepted, {duplicates:,.0f} duplicates, {rejected:,.0f} rejected)"
    )
    print()
    print(f"{'':<38}{'msg/s':>10}")
    print(f"{'ceiling: mosquitto_sub, QoS 1':<38}{ceiling:>10,.0f}")
    print(f"{f'ingest: {args.processes} process(es), QoS 1 -> PG':<38}{rate:>10,.0f}")
    verdict = "met" if rate >= TARGET else "NOT met"
    print(f"ratio ingest / ceiling: {rate / ceiling:.2f}; target {TARGET:,} msg/s: {verdict}")
    print(f"peak memory (VmHWM) per ingest process: {', '.join(f'{p:.0f} MB' for p in peaks)}")


if __name__ == "__main__":
    main()
