"""GB/T 26875.3 over TCP: many UITDs connected to one `firewarden gateway gb26875`.

Method: embedded PostgreSQL and Mosquitto; a registry of ``--uitds`` premises with one UITD each (its
``gb26875_address`` = its number); `firewarden ingest` and `firewarden gateway gb26875` as processes
(the gateway alone is measured; ingest is the MQTT path every frame takes after it). This process
plays the UITDs on one asyncio loop, each a protocol object (frozen out of this process's collector
once connected, so its pauses do not count as the centre's latency): each connects, sends a
keep-alive and waits for its confirm (connect phase), then for ``--seconds`` sends a keep-alive
every ``--keepalive`` s (random phase) and, across all UITDs, ``--rate`` more frames per second;
each UITD has at most one frame unconfirmed, as a UITD does. Every frame is an empty send-data
frame (a keep-alive): the transport is what is measured, not the decoding of information objects.

Reported: the gateway's resident memory per connection (after the connect phase less before it);
CPU seconds per frame of the gateway, and of ingest in the same run (the MQTT path's cost per
message: what a frame costs with or without the gateway in front); confirm latency (write → the
centre's confirm read back) p50 / p95 / p99 / max in the load phase; frames unconfirmed; the frames
per second reached; and the share of a core this process (the UITDs) took, as it competes with what
it measures on the same machine.

    .venv/bin/python bench/gateway.py --uitds 10000 --rate 500 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.procstat import cpu_s
from bench.running import free_port, process_env
from core import gb26875 as gb
from core.db import connect, migrate
from core.registry import Device, Jurisdiction, Premises, RegistryFile, Unit
from core.registry.store import import_registry
from core.services import embedded_broker, embedded_postgres


def registry(n: int) -> RegistryFile:
    unit = Unit(name="bench unit", contact="bench")
    premises = [Premises(id=f"P-{i:06d}", name=f"premises {i}", category="high_rise_public", address="bench",
                         jurisdiction="J-1", unit=unit) for i in range(n)]  # fmt: skip
    devices = [Device(id=f"P-{i:06d}-UITD", premises=f"P-{i:06d}", type="uitd", location="control room",
                      gb26875_address=address(i).hex()) for i in range(n)]  # fmt: skip
    return RegistryFile(jurisdictions=[Jurisdiction(id="J-1", name="bench", kind="district")], premises=premises,
                        devices=devices)  # fmt: skip


def address(i: int) -> bytes:
    return (i + 1).to_bytes(6, "little")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Uitd(asyncio.Protocol):
    """One simulated UITD: its connection, its serial, and its one frame awaiting a confirm (a protocol
    object, not a stream and a task, so 10,000 of them cost this process little besides the gateway)."""

    def __init__(self, i: int) -> None:
        self.i = i
        self.serial = 0
        self.transport: asyncio.Transport | None = None
        self.cutter = gb.FrameCutter()
        self.lock = asyncio.Lock()
        self.confirmed: asyncio.Future[float | None] | None = None
        """Resolved with the time the confirm was read (None: the connection was lost)."""

    async def connect(self, port: int) -> None:
        await asyncio.get_running_loop().create_connection(lambda: self, "127.0.0.1", port)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        for raw in self.cutter.feed(data):
            answer = gb.decode_frame(raw)
            waiting = self.confirmed
            if answer.command == gb.CONFIRM and answer.serial == self.serial and waiting and not waiting.done():
                waiting.set_result(time.perf_counter())

    def connection_lost(self, exc: Exception | None) -> None:
        if self.confirmed is not None and not self.confirmed.done():
            self.confirmed.set_result(None)

    async def send(self, timeout_s: float) -> float | None:
        """One frame, until its confirm: the seconds it took, or None when none came in time."""
        async with self.lock:
            assert self.transport is not None
            self.serial = (self.serial + 1) % 65_536
            frame = gb.encode_frame(self.serial, gb.SEND_DATA, b"", sent_at=datetime.now(UTC), source=address(self.i))
            self.confirmed = asyncio.get_running_loop().create_future()
            started = time.perf_counter()
            self.transport.write(frame)
            try:
                read_at = await asyncio.wait_for(self.confirmed, timeout_s)
            except TimeoutError:
                return None
            return None if read_at is None else read_at - started


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path, ready_url: str) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "firewarden", *args], env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{args} exited:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(ready_url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{args} never got ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=60)


QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def drive(
    uitds: list[Uitd], port: int, gateway_pid: int, ingest_pid: int, args: argparse.Namespace
) -> dict[str, object]:
    before_kib = rss_kib(gateway_pid)
    semaphore = asyncio.Semaphore(500)

    async def join(u: Uitd) -> float | None:
        async with semaphore:
            await u.connect(port)
            return await u.send(30.0)

    joined = await asyncio.gather(*(join(u) for u in uitds))
    gc.freeze()  # the UITDs live until the end: this process's collector must not pause what it measures
    connected_kib = rss_kib(gateway_pid)
    latencies: list[float] = []
    missing = 0
    cpu0 = (cpu_s(gateway_pid), cpu_s(ingest_pid), time.process_time())
    stop_at = time.perf_counter() + args.seconds
    rng = random.Random(1)

    def record(took: float | None) -> None:
        nonlocal missing
        if took is None:
            missing += 1
        else:
            latencies.append(took)

    async def keepalives(u: Uitd) -> None:
        await asyncio.sleep(rng.uniform(0, args.keepalive))
        while time.perf_counter() < stop_at:
            record(await u.send(5.0))
            await asyncio.sleep(min(args.keepalive, max(0.0, stop_at - time.perf_counter())))

    async def extra() -> None:
        pending: set[asyncio.Task[float | None]] = set()

        def done(task: asyncio.Task[float | None]) -> None:  # let the task go (a set of them all would grow)
            pending.discard(task)
            record(task.result())

        gap = 1.0 / args.rate
        next_at = time.perf_counter()
        while time.perf_counter() < stop_at:
            next_at += gap
            task = asyncio.create_task(rng.choice(uitds).send(5.0))
            pending.add(task)
            task.add_done_callback(done)
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        await asyncio.gather(*pending)

    started = time.perf_counter()
    await asyncio.gather(extra(), *(keepalives(u) for u in uitds))
    elapsed = time.perf_counter() - started
    gateway_cpu, ingest_cpu = cpu_s(gateway_pid) - cpu0[0], cpu_s(ingest_pid) - cpu0[1]
    client_cpu = time.process_time() - cpu0[2]
    frames = len(latencies) + missing
    return {
        "uitds": len(uitds),
        "connected": sum(1 for j in joined if j is not None),
        "kib_per_connection": round((connected_kib - before_kib) / len(uitds), 1),
        "frames": frames,
        "frames_per_s": round(frames / elapsed, 1),
        "unconfirmed": missing,
        "gateway_cpu_ms_per_frame": round(1000 * gateway_cpu / max(1, frames), 3),
        "ingest_cpu_ms_per_frame": round(1000 * ingest_cpu / max(1, frames), 3),
        "bench_client_cpu_share": round(client_cpu / elapsed, 2),
        "confirm_ms": {q: round(1000 * percentile(latencies, p), 1) for q, p in QUANTILES},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uitds", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=500.0, help="frames per second besides the keep-alives")
    parser.add_argument("--seconds", type=float, default=60.0, help="the load phase")
    parser.add_argument("--keepalive", type=float, default=25.0, help="seconds between a UITD's keep-alives")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fw-bench-gateway-") as tmp:
        root = Path(tmp)
        with embedded_postgres(root / "pg") as pg, embedded_broker(root, port=free_port()) as broker:
            with connect(pg.owner, autocommit=True) as conn:
                migrate(conn, "off")
                import_registry(conn, registry(args.uitds), source="bench")
            env = process_env(pg, broker, root)
            port, ingest_health, gateway_health = free_port(), free_port(), free_port()
            ingest_env = env | {"FIREWARDEN_METRICS_PORT": str(ingest_health)}
            gateway_env = env | {"FIREWARDEN_METRICS_PORT": str(gateway_health), "FIREWARDEN_GATEWAY_PORT": str(port),
                                 "FIREWARDEN_GATEWAY_HOST": "127.0.0.1"}  # fmt: skip
            with (
                process(["ingest"], ingest_env, root / "ingest.log", f"http://127.0.0.1:{ingest_health}/readyz") as ing,
                process(
                    ["gateway", "gb26875"],
                    gateway_env,
                    root / "gateway.log",
                    f"http://127.0.0.1:{gateway_health}/readyz",
                ) as gw,  # fmt: skip
            ):
                uitds = [Uitd(i) for i in range(args.uitds)]
                result = asyncio.run(drive(uitds, port, gw.pid, ing.pid, args))
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
