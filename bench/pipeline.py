"""The whole pipeline's CPU per message (ingest + PostgreSQL + Mosquitto), and how it grows with the
number of premises and with the message rate; writes a plot.

    .venv/bin/python bench/pipeline.py [--premises 100,1000,10000] [--rates 1000,2500,5000,8000]
                                        [--messages 100000] [--plot docs/img/pipeline-cpu.png]

Needs Mosquitto and its C clients (`make mosquitto mosquitto-clients`). One embedded PostgreSQL and
one Mosquitto for the whole run; each step migrates a fresh database.

- **By premises**: for each fleet size, a generated city is imported, ``--messages`` messages of
  ordinary life are simulated and queued for one ingest process (both its sessions, as in
  ``bench/ingest.py``), and ingest drains them into PostgreSQL; CPU seconds (user + system, from
  /proc) of ingest, of PostgreSQL (postmaster and backends) and of Mosquitto over the drain, divided
  by the messages stored.
- **By rate**: a 1,000-premises city; ingest runs live while a separate publisher process sends
  ordinary telemetry at QoS 1 at each ``--rates`` value for 20 s (after 3 s to settle); the same
  CPU seconds over those 20 s, divided by the messages stored meanwhile. Batches are smaller at low
  rates (ingest writes every 200 ms), so the fixed cost of a batch is shared by fewer messages.

The publisher's own CPU is not counted: devices pay it, not the centre.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import multiprocessing
import os
import subprocess
import tempfile
import time
from datetime import UTC, datetime

from bench.alert_latency import NORMAL, background
from bench.ingest import free_port, metrics, register_session
from bench.procstat import pids_with, postgres_pids, total_cpu_s
from core.addresses import MqttUrl
from core.db import connect, migrate
from core.registry.store import import_registry
from core.services import embedded_broker, embedded_postgres
from ingest.lanes import PRIORITY_SUFFIX, priority_filters
from ingest.service import default_client_id
from simulators.engine import Simulation
from simulators.fleet import generate_fleet
from simulators.publisher import Publisher, PublishOptions
from simulators.scenarios import background as panel_life

TABLES = "readings, events, device_status, dead_letters, device_sequences, premises CASCADE"


class Ingest:
    """One `firewarden ingest` process, its metrics port, and the CPU of it, PostgreSQL and Mosquitto."""

    def __init__(self, broker: MqttUrl, db_url: str, pgdata: Path, broker_pids: list[int]) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("FIREWARDEN_")}
        env |= {
            "FIREWARDEN_DATABASE_URL": db_url,
            "FIREWARDEN_MQTT_URL": broker.render(mask=False),
            "FIREWARDEN_METRICS_PORT": str(self.port),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "firewarden", "ingest"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.pgdata = pgdata
        self.broker_pids = broker_pids

    def sample(self) -> dict[str, float]:
        while True:
            try:
                m = metrics(self.port)
                break
            except OSError:
                time.sleep(0.05)
        return {
            "received": m.get("firewarden_ingest_received_total", 0.0),
            "stored": m.get("firewarden_ingest_stored_total", 0.0),
            "in_flight": m.get("firewarden_ingest_in_flight", 0.0),
            "ingest": total_cpu_s([self.proc.pid]),
            "postgres": total_cpu_s(postgres_pids(self.pgdata)),
            "broker": total_cpu_s(self.broker_pids),
            "at": time.perf_counter(),
        }

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


def per_message(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    stored = b["stored"] - a["stored"]
    out = {part: (b[part] - a[part]) * 1e6 / stored for part in ("ingest", "postgres", "broker")}
    out["total"] = sum(out.values())
    out["rate"] = stored / (b["at"] - a["at"])
    out["stored"] = stored
    return out


def by_premises(sizes: list[int], count: int, broker: MqttUrl, pg: object, pgdata: Path, bpids: list[int]) -> dict:
    results = {}
    for size in sizes:
        fleet = generate_fleet(size, seed=3)
        with connect(pg.owner, autocommit=True) as conn:  # type: ignore[attr-defined]
            conn.execute(f"TRUNCATE {TABLES}")
            import_registry(conn, fleet, source="bench pipeline")
        now = datetime.now(UTC).timestamp()
        # long enough for `count` messages of ordinary life, and at least an hour
        per_hour = sum(3600 / (d.expected_interval_s or 60) for d in fleet.devices)
        hours = max(1.0, count / per_hour * 1.2)
        sim = Simulation(fleet, seed=3, start=now - hours * 3600, duration=hours * 3600)
        panel_life(sim)
        messages = list(sim.messages())[:count]
        client_id = default_client_id(0, 1)
        register_session(broker, client_id, ["fw/v1/#"])
        register_session(broker, client_id + PRIORITY_SUFFIX, priority_filters(["fw/v1/#"]))
        with Publisher(PublishOptions(url=broker, qos=1, speed=0, connections=4, client_prefix="bench")) as pub:
            stats = pub.publish(messages, sim_start=messages[0].at)
        assert stats.done == len(messages) and stats.errors == 0, stats
        ingest = Ingest(broker, pg.app, pgdata, bpids)  # type: ignore[attr-defined]
        try:
            first = ingest.sample()
            while first["received"] == 0:
                time.sleep(0.1)
                first = ingest.sample()
            last = first
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline:
                time.sleep(0.25)
                last = ingest.sample()
                if last["received"] >= len(messages) and last["in_flight"] == 0:
                    break
        finally:
            ingest.stop()
        results[size] = per_message(first, last)
        print(f"{size:>6} premises: {fmt(results[size])}", flush=True)
    return results


def by_rate(rates: list[float], broker: MqttUrl, pg: object, pgdata: Path, bpids: list[int]) -> dict:
    fleet = generate_fleet(1000, seed=3)
    with connect(pg.owner, autocommit=True) as conn:  # type: ignore[attr-defined]
        conn.execute(f"TRUNCATE {TABLES}")
        import_registry(conn, fleet, source="bench pipeline")
    telemetry = [(d.premises, d.id, d.type) for d in fleet.devices if d.type in NORMAL]
    results = {}
    ingest = Ingest(broker, pg.app, pgdata, bpids)  # type: ignore[attr-defined]
    try:
        ingest.sample()
        time.sleep(2)  # subscribed
        for rate in rates:
            counter = multiprocessing.Array("q", [0, 0])
            load = multiprocessing.Process(target=background, args=(broker.host, broker.port, telemetry, rate, counter))
            load.start()
            time.sleep(3)
            a = ingest.sample()
            time.sleep(20)
            b = ingest.sample()
            counter[0] = 1
            load.join(30)
            time.sleep(2)  # drained before the next rate
            results[rate] = per_message(a, b)
            print(f"{rate:>8,.0f} msg/s asked: {fmt(results[rate])}", flush=True)
    finally:
        ingest.stop()
    return results


def fmt(r: dict[str, float]) -> str:
    return (
        f"{r['rate']:>8,.0f} msg/s stored; CPU µs per message: ingest {r['ingest']:.1f}, "
        f"PostgreSQL {r['postgres']:.1f}, Mosquitto {r['broker']:.1f}, total {r['total']:.1f}"
    )


def plot(path: Path, premises: dict, rates: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, data, label in ((axes[0], premises, "premises"), (axes[1], rates, "messages/s sent")):
        xs = sorted(data)
        bottom = [0.0] * len(xs)
        for part, colour in (("ingest", "#d62728"), ("postgres", "#1f77b4"), ("broker", "#7f7f7f")):
            ys = [data[x][part] for x in xs]
            ax.bar([str(int(x)) for x in xs], ys, bottom=bottom, color=colour, label=part)
            bottom = [b + y for b, y in zip(bottom, ys, strict=True)]
        ax.set_xlabel(label)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("CPU µs per stored message")
    axes[0].set_title("draining a backlog, by city size")
    axes[1].set_title("live, 1,000 premises, by rate")
    axes[0].legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    print(f"plot: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--premises", default="100,1000,10000")
    parser.add_argument("--rates", default="1000,2500,5000,8000")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--plot", type=Path, default=Path("bench/out/pipeline-cpu.png"))
    args = parser.parse_args()
    sizes = [int(p) for p in args.premises.split(",")]
    rates = [float(r) for r in args.rates.split(",")]
    with tempfile.TemporaryDirectory(prefix="fw-bench-pipeline-") as tmp:
        root = Path(tmp)
        with embedded_postgres(root / "pg") as pg, embedded_broker(root / "mqtt", port=free_port()) as broker:
            with connect(pg.owner, autocommit=True) as conn:
                migrate(conn, "off")
            pgdata = root / "pg" / "postgres"
            bpids = pids_with(str(root / "mqtt"))
            by_size = by_premises(sizes, args.messages, broker, pg, pgdata, bpids)
            by_speed = by_rate(rates, broker, pg, pgdata, bpids)
    plot(args.plot, by_size, by_speed)


if __name__ == "__main__":
    main()
