"""Alert latency: MQTT publish of a fire's confirming message → the inspector's webhook receiving the fire.

Usage: ``.venv/bin/python bench/alert_latency.py [--premises 300] [--fires 40] [--rate 5000] [--model-dir D]``

Target (performance issue): loaded p99 <= 300 ms and <= 1.5x the unloaded p99.

Starts the embedded PostgreSQL and Mosquitto, imports a generated city whose inspectors' webhooks
point at a local inbox (simulators/inbox.py), and runs ``firewarden up`` (ingest, the local scoring
runner, alerts, API: one process, as shipped). Then, twice in the same run:

1. **baseline**: fires with no other traffic;
2. **loaded**: the same under a background of ordinary telemetry at ``--rate`` messages/s from a
   separate publisher process (so it does not share this process's interpreter): every telemetry
   device of the city in turn, values within 2 % of normal. 5,000 msg/s over 300 premises is one
   message per device every 0.4 s, far faster than real sensors report; the anomaly model judges
   windows of time, not of readings, so such a device is judged like one reporting every minute
   (before 2026-11-30 the background was also a storm of thousands of drift signals).

A fire is two smoke detectors of one zone of a premises' panel, 2 s apart; latency runs from the
second one's publish (acknowledged by the broker, QoS 1) to the first webhook that carries that
premises' fire. Prints p50/p95/p99/max of both runs, p50/p95/p99 of each stage (ingest's receipt of
the confirming event, the page queued by alerts, the dispatcher's attempt recorded after the
webhook answered) and the background rate actually reached.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import multiprocessing
import random
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import paho.mqtt.client as mqtt

from bench.running import free_port, running_up
from core.db import connect, migrate
from core.registry import RegistryFile
from core.registry.store import import_registry
from core.services import embedded_broker, embedded_postgres
from simulators.fleet import generate_fleet, with_webhooks
from simulators.inbox import Inbox, Received

SECRET = "bench-secret-0123456789abcdef"
NORMAL = {
    "sprinkler_pressure": {"water_pressure_mpa": 0.32, "battery_pct": 90.0},
    "hydrant_pressure": {"water_pressure_mpa": 0.35, "battery_pct": 90.0},
    "tank_level": {"tank_level_m": 3.0, "battery_pct": 90.0},
    "electrical_monitor": {"residual_current_ma": 80.0, "cable_temp_c": 35.0, "current_a": 20.0, "voltage_v": 228.0},
    "temperature_sensor": {"temperature_c": 22.0, "battery_pct": 90.0},
    "gas_detector": {"gas_lel_pct": 0.0, "co_ppm": 2.0, "battery_pct": 90.0},
}


def background(host: str, port: int, devices: list[tuple[str, str, str]], rate: float, stop: object) -> None:
    """A publisher process: ordinary telemetry round-robin over ``devices`` at ``rate`` msg/s, timestamped now."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-background", protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(host, port)
    client.loop_start()
    seq = {d: int(time.time() * 1000) for _, d, _ in devices}
    rng = random.Random(7)
    sent = 0
    started = time.monotonic()
    counter = stop  # a multiprocessing.Value: [0] stop flag, [1] messages sent
    while not counter[0]:  # type: ignore[index]
        due = started + sent / rate
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(min(wait, 0.01))
            continue
        premises, device, kind = devices[sent % len(devices)]
        seq[device] += 1
        # Ordinary readings wander a little; perfectly constant ones are a stuck sensor, which scoring flags.
        metrics = {
            name: round(value * rng.uniform(0.98, 1.02) + rng.uniform(0, 0.01), 3)
            for name, value in NORMAL[kind].items()
        }
        payload = {"seq": seq[device], "ts": int(time.time() * 1000), "metrics": metrics}
        client.publish(f"fw/v1/{premises}/{device}/telemetry", json.dumps(payload), qos=1)
        sent += 1
        if sent % 1000 == 0:
            counter[1] = sent  # type: ignore[index]
    counter[1] = sent  # type: ignore[index]
    client.loop_stop()
    client.disconnect()


class Fires:
    """Publishes fires and waits for their webhooks."""

    def __init__(self, host: str, port: int, inbox: Inbox, panels: list[tuple[str, str]]) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-fires", protocol=mqtt.MQTTv5)
        self.client.connect(host, port)
        self.client.loop_start()
        self.panels = panels
        self.next_panel = 0
        self.seq = int(time.time() * 1000)
        self.confirmed_at: dict[str, float] = {}
        self.arrived: dict[str, float] = {}
        self.lock = threading.Lock()
        inbox.on_delivery = self._on_delivery

    def _on_delivery(self, received: Received) -> None:
        incident = received.body.get("incident", {})
        if incident.get("class") != "fire":
            return
        premises = received.body["premises"]["id"]
        with self.lock:
            self.arrived.setdefault(premises, received.at)

    def _event(self, premises: str, device: str, address: int) -> None:
        self.seq += 1
        payload = {
            "seq": self.seq,
            "ts": int(time.time() * 1000),
            "kind": "fire_alarm",
            "component": {"type": "smoke_detector", "loop": 1, "address": address, "zone": "BENCH"},
        }
        self.client.publish(f"fw/v1/{premises}/{device}/event", json.dumps(payload), qos=1).wait_for_publish(5)

    def run(self, count: int, every_s: float) -> list[float]:
        started = len(self.confirmed_at)
        for _ in range(count):
            premises, device = self.panels[self.next_panel]
            self.next_panel += 1
            self._event(premises, device, 1)
            time.sleep(2.0)
            self._event(premises, device, 2)
            self.confirmed_at[premises] = time.time()
            time.sleep(max(0.0, every_s - 2.0))
        deadline = time.monotonic() + 30
        mine = list(self.confirmed_at)[started:]
        while time.monotonic() < deadline and not all(p in self.arrived for p in mine):
            time.sleep(0.1)
        missing = [p for p in mine if p not in self.arrived]
        if missing:
            print(f"  {len(missing)} fire(s) never reached a webhook: {missing[:5]}")
        return [self.arrived[p] - self.confirmed_at[p] for p in mine if p in self.arrived]


_STAGES = """
WITH confirming AS (
    SELECT premises_id, max(received_at) AS received_at FROM events
    WHERE premises_id = ANY(%s) AND zone = 'BENCH' GROUP BY premises_id
), fire_pages AS (
    SELECT c.premises_id, c.received_at, d.id, d.created_at FROM confirming c
    JOIN incidents i ON i.premises_id = c.premises_id AND i.class = 'fire'
    JOIN deliveries d ON d.incident_id = i.id AND d.channel = 'webhook' AND d.created_at >= c.received_at
)
SELECT f.premises_id, extract(epoch FROM min(f.received_at)), extract(epoch FROM min(f.created_at)),
       extract(epoch FROM min(a.at))
FROM fire_pages f JOIN delivery_attempts a ON a.delivery_id = f.id GROUP BY f.premises_id
"""


_OFFLINE = """
SELECT d.type, s.state, count(*), min(extract(epoch FROM s.time - last.at)), max(extract(epoch FROM s.time - last.at))
FROM signals s JOIN devices d ON d.id = s.device_id
JOIN LATERAL (
    SELECT max(m.time) AS at FROM (
        SELECT time FROM events WHERE device_id = s.device_id AND time < s.time
        UNION ALL SELECT time FROM readings WHERE device_id = s.device_id AND time < s.time
    ) m
) last ON true
WHERE s.rule = 'device_offline'
GROUP BY 1, 2 ORDER BY 1, 2
"""


def stages(db_url: str, fires: Fires, premises: list[str]) -> None:
    """Where the time went, per stage: the broker's acknowledgement of the confirming event to
    ingest's receipt (negative when ingest read it before the publisher saw the PUBACK), receipt to the
    page queued by alerts (ingest, bus, scoring, alerts), queued to its first attempt recorded (the
    dispatcher's claim, the webhook's answer, the record)."""
    with connect(db_url) as conn:
        rows = conn.execute(_STAGES, (premises,)).fetchall()
    parts: dict[str, list[float]] = {"acked→ingest": [], "ingest→paged": [], "paged→attempt": []}
    for p, got, paged, attempt in rows:
        if got is None or paged is None or attempt is None:
            continue
        parts["acked→ingest"].append(float(got) - fires.confirmed_at[p])
        parts["ingest→paged"].append(float(paged) - float(got))
        parts["paged→attempt"].append(float(attempt) - float(paged))
    for name, values in parts.items():
        if not values:
            continue
        ordered = sorted(values)
        q = [ordered[min(len(ordered) - 1, round(f * (len(ordered) - 1)))] * 1000 for f in (0.5, 0.95, 0.99)]
        print(f"           stage {name:>14}: p50 {q[0]:,.0f} ms, p95 {q[1]:,.0f} ms, p99 {q[2]:,.0f} ms")


def received(metrics_port: int) -> float:
    """Ingest's ``firewarden_ingest_received_total`` from its Prometheus endpoint."""
    text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    return sum(
        float(line.split()[-1]) for line in text.splitlines() if line.startswith("firewarden_ingest_received_total")
    )


def describe(name: str, latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000

    figures = {"p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99), "max": ordered[-1] * 1000}
    line = ", ".join(f"{k} {v:,.0f} ms" for k, v in figures.items())
    print(f"{name:>9}: {len(latencies)} fires: {line} (mean {statistics.mean(latencies) * 1000:,.0f} ms)")
    return figures


def city(premises: int, hook_base: str) -> RegistryFile:
    today = datetime.now(UTC).date()
    fleet = generate_fleet(premises, seed=21, roster_start=today - timedelta(days=1), roster_days=3)
    return with_webhooks(fleet, hook_base)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--premises", type=int, default=300)
    parser.add_argument("--fires", type=int, default=40, help="fires per run (each at a premises of its own)")
    parser.add_argument("--every", type=float, default=2.5, help="seconds between fires")
    parser.add_argument("--rate", type=float, default=5000.0, help="background messages per second")
    parser.add_argument("--model-dir", type=Path, help="scoring models to use (default: the shipped ones)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fw-bench-alerts-") as tmp, Inbox(SECRET.encode()) as inbox:
        root = Path(tmp)
        with embedded_postgres(root / "pg") as pg, embedded_broker(root, port=free_port()) as broker:
            db_url = pg.owner
            fleet = city(args.premises, inbox.url)
            with connect(db_url, autocommit=True) as conn:
                migrate(conn, "off")
                import_registry(conn, fleet, source="bench")
            panels = [(d.premises, d.id) for d in fleet.devices if d.type == "uitd"]
            if len(panels) < 2 * args.fires:
                raise SystemExit(f"{len(panels)} premises have a panel; --fires {args.fires} needs twice that")
            telemetry = [(d.premises, d.id, d.type) for d in fleet.devices if d.type in NORMAL]
            metrics_port = free_port()
            print(f"{args.premises} premises, {len(telemetry)} telemetry devices; starting `firewarden up`...")
            with running_up(pg, broker, root, model_dir=args.model_dir, secret=SECRET, metrics_port=metrics_port):
                time.sleep(2)  # ingest subscribes just after the API answers
                fires = Fires(broker.host, broker.port, inbox, panels)
                baseline = describe("baseline", fires.run(args.fires, args.every))
                stages(db_url, fires, list(fires.confirmed_at))

                counter = multiprocessing.Array("q", [0, 0])
                load = multiprocessing.Process(
                    target=background, args=(broker.host, broker.port, telemetry, args.rate, counter)
                )
                load.start()
                time.sleep(5)  # let the load settle
                began, sent_before, received_before = time.monotonic(), counter[1], received(metrics_port)
                loaded = describe("loaded", fires.run(args.fires, args.every))
                stages(db_url, fires, list(fires.confirmed_at)[args.fires :])
                elapsed = time.monotonic() - began
                reached = (counter[1] - sent_before) / elapsed
                ingested = (received(metrics_port) - received_before) / elapsed
                counter[0] = 1
                load.join(30)
                print(f"background: {reached:,.0f} msg/s reached (asked {args.rate:,.0f}); {counter[1]:,} sent in all")
                print(f"ingest received {ingested:,.0f} msg/s meanwhile (fires included)")
                with connect(db_url, autocommit=True) as conn:
                    signals = conn.execute("SELECT rule, count(*) FROM signals GROUP BY 1 ORDER BY 2 DESC").fetchall()
                print("signals raised or cleared in the run:", ", ".join(f"{r} {n}" for r, n in signals) or "none")
                # Were they silent? Each raise against the device's last message before it, by the
                # device's own clock (a raise with messages just before it is the backlog-offline defect).
                with connect(db_url, autocommit=True) as conn:
                    offline = conn.execute(_OFFLINE).fetchall()
                for kind, state, n, low, high in offline:
                    # a device never heard from counts from its premises' first record (scoring/scorer.py)
                    silent = (
                        f"silent {float(low):.0f}-{float(high):.0f} s before" if low is not None else "never heard from"
                    )
                    print(f"device_offline {state}: {n} {kind}(s), {silent}")
                ratio = loaded["p99"] / baseline["p99"]
                print(f"ratio loaded/baseline p99: {ratio:.2f}")
                verdict = "meets" if loaded["p99"] <= 300 and ratio <= 1.5 else "misses"
                print(f"target loaded p99 <= 300 ms and <= 1.5x unloaded p99: {verdict} ({loaded['p99']:,.0f} ms)")


if __name__ == "__main__":
    main()
