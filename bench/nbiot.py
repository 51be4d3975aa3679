"""NB-IoT platforms' pushes: OneNET and CTWing posting to one `firewarden gateway nbiot`.

Method: embedded PostgreSQL and Mosquitto; a registry of ``--devices`` premises with one NB-IoT smoke
alarm each, half named on OneNET and half on CTWing (``platform_id``); `firewarden ingest` and
`firewarden gateway nbiot` as processes. This process plays both platforms: for ``--seconds`` it
posts ``--rate`` pushes per second (a property / data report of ``smoke_obscuration_pct_m``, every
tenth an event report of a fault, OneNET's signed, CTWing's to its URL secret) to random devices,
at most ``--concurrency`` at once, as a platform's push workers do, each answered 200 only once
the broker holds its messages.

Reported: pushes answered 200 and otherwise; answer latency p50 / p95 / p99 / max (post → 200, which
includes the broker's acknowledgement); CPU milliseconds per push of the gateway, and of ingest in
the same run (the MQTT path's cost per message: what a push costs with or without the gateway in
front); the gateway's resident memory; the share of a core the gateway and this process (the
platforms) took; and, once ingest has caught up, how many of the answered
pushes are stored (``lost`` and ``stored_twice`` must be 0).

    .venv/bin/python bench/nbiot.py --devices 2000 --rate 200 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.gateway import QUANTILES, percentile, process, rss_kib
from bench.procstat import cpu_s
from bench.running import free_port, process_env
from core.db import connect, migrate
from core.registry import Device, Jurisdiction, Premises, RegistryFile, Unit
from core.registry.store import import_registry
from core.services import embedded_broker, embedded_postgres
from simulators.ctwing import data_report
from simulators.ctwing import event_report as ctwing_event
from simulators.onenet import event_message, property_message, push_body

ONENET_TOKEN = "bench-onenet-push-token"
CTWING_TOKEN = "bench-ctwing-url-secret-0123"
ONENET_PRODUCT, CTWING_PRODUCT = "BenchOneNet01", "15000001"


def device_id(i: int) -> str:
    return f"P-{i:06d}-SMOKE"


def registry(n: int) -> RegistryFile:
    unit = Unit(name="bench unit", contact="bench")
    premises = [Premises(id=f"P-{i:06d}", name=f"premises {i}", category="high_rise_residential", address="bench",
                         jurisdiction="J-1", unit=unit) for i in range(n)]  # fmt: skip
    devices = [Device(id=device_id(i), premises=f"P-{i:06d}", type="smoke_alarm", location="flat",
                      platform_id=f"onenet:{ONENET_PRODUCT}/{device_id(i)}" if i % 2 == 0
                      else f"ctwing:{CTWING_PRODUCT}/{device_id(i)}") for i in range(n)]  # fmt: skip
    return RegistryFile(jurisdictions=[Jurisdiction(id="J-1", name="bench", kind="district")], premises=premises,
                        devices=devices)  # fmt: skip


def push(i: int, n: int, at_ms: int) -> tuple[str, bytes]:
    """The ``n``-th push, about device ``i``: (path, body)."""
    device = device_id(i)
    values = {"smoke_obscuration_pct_m": round(random.uniform(0.0, 2.0), 2)}
    fault = n % 10 == 0
    if i % 2 == 0:
        if fault:
            message = event_message(ONENET_PRODUCT, device, "fault", at_ms)
        else:
            message = property_message(ONENET_PRODUCT, device, values, at_ms)
        return "/ingest/onenet", push_body(ONENET_TOKEN, message, at_ms)
    if fault:
        message = ctwing_event(CTWING_PRODUCT, device, "fault", at_ms)
    else:
        message = data_report(CTWING_PRODUCT, device, values, at_ms)
    return f"/ingest/ctwing/{CTWING_TOKEN}", json.dumps(message).encode()


def stored(database_url: str) -> tuple[int, int]:
    """Messages stored from the pushes: rows, and distinct (device, seq) among them."""
    with connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT (device_id, seq)) FROM ("
            "SELECT device_id, seq FROM readings WHERE device_id LIKE 'P-%%-SMOKE' "
            "UNION ALL SELECT device_id, seq FROM events WHERE device_id LIKE 'P-%%-SMOKE') m"
        ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


async def drive(base: str, gateway_pid: int, ingest_pid: int, args: argparse.Namespace) -> dict[str, object]:
    latencies: list[float] = []
    refused: dict[int, int] = {}
    cpu0 = (cpu_s(gateway_pid), cpu_s(ingest_pid), time.process_time())
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    slots = asyncio.Semaphore(args.concurrency)
    # Each push its own millisecond, so no two share a message id (a platform's retry keeps its own).
    clock = [int(time.time() * 1000)]

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def one(n: int) -> None:
            clock[0] += 1
            path, body = push(random.randrange(args.devices), n, clock[0])
            async with slots:
                started = time.perf_counter()
                answer = await client.post(path, content=body, headers={"Content-Type": "application/json"})
                took = time.perf_counter() - started
            if answer.status_code == 200:
                latencies.append(took)
            else:
                refused[answer.status_code] = refused.get(answer.status_code, 0) + 1

        pending: set[asyncio.Task[None]] = set()
        gap, n = 1.0 / args.rate, 0
        started = next_at = time.perf_counter()
        while next_at - started < args.seconds:
            n += 1
            task = asyncio.create_task(one(n))
            pending.add(task)
            task.add_done_callback(pending.discard)
            next_at += gap
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        await asyncio.gather(*pending)
        elapsed = time.perf_counter() - started
    gateway_cpu, ingest_cpu = cpu_s(gateway_pid) - cpu0[0], cpu_s(ingest_pid) - cpu0[1]
    client_cpu = time.process_time() - cpu0[2]
    return {
        "pushes": n,
        "pushes_per_s": round(n / elapsed, 1),
        "answered_200": len(latencies),
        "refused": refused,
        "gateway_cpu_ms_per_push": round(1000 * gateway_cpu / max(1, n), 3),
        "ingest_cpu_ms_per_push": round(1000 * ingest_cpu / max(1, n), 3),
        "gateway_rss_mib": round(rss_kib(gateway_pid) / 1024, 1),
        "gateway_cpu_share": round(gateway_cpu / elapsed, 2),
        "bench_client_cpu_share": round(client_cpu / elapsed, 2),
        "answer_ms": {q: round(1000 * percentile(latencies, p), 1) for q, p in QUANTILES},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=2_000)
    parser.add_argument("--rate", type=float, default=200.0, help="pushes per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=64, help="pushes in flight at most")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    random.seed(1)
    with tempfile.TemporaryDirectory(prefix="fw-bench-nbiot-") as tmp:
        root = Path(tmp)
        with embedded_postgres(root / "pg") as pg, embedded_broker(root, port=free_port()) as broker:
            with connect(pg.owner, autocommit=True) as conn:
                migrate(conn, "off")
                import_registry(conn, registry(args.devices), source="bench")
            env = process_env(pg, broker, root)
            http, ingest_health, gateway_health = free_port(), free_port(), free_port()
            ingest_env = env | {"FIREWARDEN_METRICS_PORT": str(ingest_health)}
            gateway_env = env | {"FIREWARDEN_METRICS_PORT": str(gateway_health), "FIREWARDEN_NBIOT_PORT": str(http),
                                 "FIREWARDEN_NBIOT_HOST": "127.0.0.1", "FIREWARDEN_ONENET_TOKEN": ONENET_TOKEN,
                                 "FIREWARDEN_CTWING_TOKEN": CTWING_TOKEN}  # fmt: skip
            with (
                process(["ingest"], ingest_env, root / "ingest.log", f"http://127.0.0.1:{ingest_health}/readyz") as ing,
                process(
                    ["gateway", "nbiot"], gateway_env, root / "nbiot.log", f"http://127.0.0.1:{gateway_health}/readyz"
                ) as gw,  # fmt: skip
            ):
                result = asyncio.run(drive(f"http://127.0.0.1:{http}", gw.pid, ing.pid, args))
                answered = int(result["answered_200"])  # type: ignore[call-overload]
                deadline = time.monotonic() + 120
                while (count := stored(pg.app))[1] < answered and time.monotonic() < deadline:
                    time.sleep(0.5)
                rows, distinct = count
                result["stored"] = distinct
                result["stored_twice"] = rows - distinct
                result["lost"] = max(0, answered - distinct)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
