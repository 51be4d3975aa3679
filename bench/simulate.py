"""Simulator throughput: messages per second one process generates and publishes to a local Mosquitto.

    .venv/bin/python bench/simulate.py [--premises 1000] [--messages 200000] [--connections 4]

It starts Mosquitto on a free port (it must be installed: `make mosquitto`), generates a fleet and
simulates it as fast as possible (speed 0), and reports:
- generation alone (engine + physics + JSON encoding, no network);
- simulate + publish at QoS 0 and at QoS 1 (publisher waits for every PUBACK before it reports);
- baseline, in the same run: bare paho publishing the same pre-built messages on one connection,
  with no simulation at all, and the ratio of the simulator to it.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from core.services import choose_broker, embedded_broker
from simulators.engine import Outgoing, Simulation
from simulators.fleet import generate_fleet
from simulators.publisher import Publisher, PublishOptions

START = 1767571200.0
TARGET_QOS0 = 20_000


def stream(fleet_size: int, limit: int) -> itertools.islice[Outgoing]:
    sim = Simulation(generate_fleet(fleet_size, seed=1), seed=1, start=START, duration=30 * 86400)
    return itertools.islice(sim.messages(), limit)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bare_paho(url_host: str, port: int, messages: list[Outgoing], qos: int) -> float:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-bare-{qos}", protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)  # unbounded: the baseline measures the client, not backpressure
    client.connect(url_host, port)
    client.loop_start()
    started = time.perf_counter()
    info = None
    for m in messages:
        info = client.publish(m.topic, m.payload, qos=qos)
    if info is not None:
        info.wait_for_publish(120)
    elapsed = time.perf_counter() - started
    client.loop_stop()
    client.disconnect()
    return len(messages) / elapsed


@contextmanager
def sink(host: str, port: int) -> Iterator[None]:
    """A subscriber that takes every message and drops it (mosquitto_sub, the C client): without one,
    the broker answers QoS 1 with "no matching subscribers", which the publisher rightly retries."""
    if shutil.which("mosquitto_sub") is None:
        raise SystemExit("this benchmark needs mosquitto_sub: run `make mosquitto-clients`")
    command = ["mosquitto_sub", "-h", host, "-p", str(port), "-t", "fw/#", "-q", "1", "-V", "mqttv5"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # subscribed before the first message
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--premises", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()

    program = choose_broker()
    if program.kind != "mosquitto":
        raise SystemExit("this benchmark needs Mosquitto: run `make mosquitto`")

    started = time.perf_counter()
    generated = sum(1 for _ in stream(args.premises, args.messages))
    generation = generated / (time.perf_counter() - started)
    print(f"fleet of {args.premises} premises; {generated:,} messages per measurement")
    rows = [("generate only (no network)", generation)]

    with (
        tempfile.TemporaryDirectory() as tmp,
        embedded_broker(Path(tmp), port=free_port(), program=program) as url,
        sink(url.host, url.port),
    ):
        for qos in (0, 1):
            options = PublishOptions(url=url, qos=qos, speed=0, connections=args.connections)  # type: ignore[arg-type]
            with Publisher(options) as publisher:
                t = time.perf_counter()
                stats = publisher.publish(stream(args.premises, args.messages), sim_start=START)
                rate = stats.sent / (time.perf_counter() - t)
            assert stats.errors == 0 and stats.done == stats.sent == generated
            rows.append((f"simulate + publish, QoS {qos}, {args.connections} connections", rate))
        prebuilt = list(stream(args.premises, args.messages))
        rows.append(("baseline: bare paho, QoS 0, 1 connection, pre-built", bare_paho(url.host, url.port, prebuilt, 0)))
        # paho's message ids wrap at 65,535: one client cannot hold more unacknowledged QoS 1 messages.
        rows.append(
            (
                "baseline: bare paho, QoS 1, 1 connection, pre-built, first 50,000",
                bare_paho(url.host, url.port, prebuilt[:50_000], 1),
            )
        )

    width = max(len(label) for label, _ in rows)
    for label, rate in rows:
        print(f"{label:<{width}}  {rate:>10,.0f} msg/s")
    figures = dict(rows)
    qos0 = figures[f"simulate + publish, QoS 0, {args.connections} connections"]
    print(f"QoS 0 simulator / bare paho: {qos0 / figures['baseline: bare paho, QoS 0, 1 connection, pre-built']:.2f}")
    print(f"QoS 0 target {TARGET_QOS0:,} msg/s: {'met' if qos0 >= TARGET_QOS0 else 'NOT met'}")


if __name__ == "__main__":
    main()
