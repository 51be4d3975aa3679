"""Console response times: the main pages and API calls over a city of 10,000 premises with 1,000 open alarms.

Usage: ``.venv/bin/python bench/console.py [--premises 10000] [--alarms 1000] [--repeat 20] [--model-dir D]``

Starts the embedded PostgreSQL and an MQTT broker, imports a generated city, fills the database
as months of running would (see :func:`seed`: a risk history per premises, 1,000 open alarms and
20,000 resolved incidents, hazards, tasks, offline devices, hourly readings for the whole city and
minute readings for the premises measured), runs ``firewarden up`` as shipped (scoring's wall
clock off: nothing else runs), then times from this process, over HTTP:

- every API call the pages make, ``--repeat`` times each, as an operator (whole city) and as an
  inspector (one district); ``/api/health`` is the baseline, the same HTTP round trip with one
  trivial query, and every figure is also given as a ratio to it;
- acknowledging (each time a different incident);
- the pages themselves in headless Chromium (when Debian's chromium is installed): from changing
  the route to the view drawn with its data (1,000 queue rows, the 10,000-point map...).

Prints p50, p95 and max per call, and whether p95 is under the 300 ms target.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from bench.running import free_port, running_up
from core.db import connect, migrate, open_pool
from core.registry.store import import_registry
from core.services import embedded_broker, embedded_postgres
from simulators.fleet import generate_fleet

PASSWORD = "bench-password-0123"
TARGET_MS = 300.0


def seed(db_url: str, alarms: int, sample: list[str]) -> None:
    """What months of running leave behind, written with set-based SQL (seconds, not hours)."""
    now = datetime.now(UTC)
    with connect(db_url, autocommit=True) as conn:
        # tiers: about 3 % red, 10 % orange, 30 % yellow, the rest blue
        conn.execute(
            "INSERT INTO premises_schedule (premises_id, tier, tier_since, score) "
            "SELECT id, CASE WHEN h < 3 THEN 'red' WHEN h < 13 THEN 'orange' WHEN h < 43 THEN 'yellow' "
            "ELSE 'blue' END, %s - interval '20 days', "
            "CASE WHEN h < 3 THEN 70 WHEN h < 13 THEN 45 WHEN h < 43 THEN 25 ELSE 8 END + h %% 5 "
            "FROM (SELECT id, abs(hashtext(id)) %% 100 AS h FROM premises) p",
            (now,),
        )
        # a risk score a day for 30 days
        conn.execute(
            "INSERT INTO risk_scores (premises_id, revision, time, score, tier, previous_tier, factors, model_version, "
            "inputs) SELECT s.premises_id, d, %s - (30 - d) * interval '1 day', greatest(0, s.score - 30 + d), s.tier, "
            'NULL, \'[{"name": "false_alarms_30d", "value": 2, "points": 8.5}]\', \'bench\', \'{}\' '
            "FROM premises_schedule s, generate_series(1, 30) d",
            (now,),
        )
        classes = "ARRAY['fire','alarm','alarm','hazard','supervisory','trouble','trouble','nuisance']"
        conn.execute(
            "INSERT INTO incidents (dedup_key, premises_id, jurisdiction_id, zone, class, title, state, opened_at, "
            "updated_at, events, refs) SELECT p.id || '/bench/' || n, p.id, p.jurisdiction_id, (n %% 30 + 1) || 'F', "
            f"({classes})[n %% 8 + 1], 'bench incident ' || n, "
            "CASE WHEN n %% 3 = 0 THEN 'acknowledged' ELSE 'open' END, "
            "%s - n * interval '7 seconds', %s, 1 + n %% 4, '{}' "
            "FROM generate_series(1, %s) n JOIN LATERAL (SELECT id, jurisdiction_id FROM premises "
            "  OFFSET (n * 7919) %% (SELECT count(*) FROM premises) LIMIT 1) p ON TRUE",
            (now, now, alarms),
        )
        conn.execute(
            "INSERT INTO incidents (dedup_key, premises_id, jurisdiction_id, zone, class, title, state, opened_at, "
            "updated_at, events, refs, acknowledged_at, resolved_at, resolution) "
            "SELECT p.id || '/old/' || n, p.id, p.jurisdiction_id, '1F', "
            f"({classes})[n %% 8 + 1], 'resolved ' || n, 'resolved', o, o, 1, '{{}}', "
            "o + (n %% 300) * interval '1 second', "
            "o + interval '20 minutes', CASE WHEN n %% 10 < 8 THEN 'false_alarm_cooking' ELSE 'condition_cleared' END "
            "FROM generate_series(1, 20000) n, LATERAL (SELECT %s - (n %% 43200) * interval '1 minute' AS o) t, "
            "LATERAL (SELECT id, jurisdiction_id FROM premises OFFSET (n * 104729) %% (SELECT count(*) FROM premises) "
            "  LIMIT 1) p",
            (now,),
        )
        conn.execute(
            "INSERT INTO hazards (premises_id, source, rule, title, state, opened_at, deadline, unit_name, "
            "signal_active, inspector_id) "
            "SELECT id, 'bench', 'low_sprinkler_pressure', 'water pressure below norm', 'open', "
            "%s - interval '3 days', %s + (abs(hashtext(id)) %% 10 - 3) * interval '1 day', unit_name, false, NULL "
            "FROM premises WHERE abs(hashtext(id)) %% 5 = 0",
            (now, now),
        )
        # hazards past their deadline were escalated when it passed, as a running system would have
        conn.execute("UPDATE hazards SET overdue_at = deadline WHERE deadline <= %s", (now,))
        conn.execute(
            "INSERT INTO tasks (dedup_key, premises_id, inspector_id, kind, reason, tier, due_at, created_at, state) "
            "SELECT 'inspection:' || p.id, p.id, i.id, 'inspection', s.tier || ': inspection', s.tier, "
            "%s + (abs(hashtext(p.id)) %% 14) * interval '1 day', %s, 'open' FROM premises p "
            "JOIN premises_schedule s ON s.premises_id = p.id "
            "JOIN LATERAL (SELECT id FROM inspectors WHERE jurisdiction_id = p.jurisdiction_id ORDER BY id LIMIT 1) i "
            "ON TRUE",
            (now, now),
        )
        conn.execute(
            "INSERT INTO signals (time, premises_id, device_id, rule, kind, state, subject, evidence) "
            "SELECT %s - interval '2 hours', premises_id, id, 'device_offline', 'trouble', 'raised', '', '{}' "
            "FROM devices WHERE abs(hashtext(id)) %% 50 = 0",
            (now,),
        )
        telemetry = (
            "SELECT d.id AS device, d.premises_id AS premises, m.metric FROM devices d JOIN (VALUES "
            "('sprinkler_pressure', 'water_pressure_mpa'), ('hydrant_pressure', 'water_pressure_mpa'), "
            "('electrical_monitor', 'residual_current_ma'), ('electrical_monitor', 'cable_temp_c'), "
            "('tank_level', 'tank_level_m'), ('temperature_sensor', 'temperature_c')) m(type, metric) "
            "ON m.type = d.type"
        )
        conn.execute(  # the whole city, hourly for a day
            "INSERT INTO readings (time, premises_id, device_id, metric, value, seq) "
            f"SELECT %s - h * interval '1 hour', t.premises, t.device, t.metric, 1 + h %% 7, h FROM ({telemetry}) t, "
            "generate_series(0, 23) h",
            (now,),
        )
        conn.execute(  # the premises measured, every minute for a day
            "INSERT INTO readings (time, premises_id, device_id, metric, value, seq) "
            "SELECT %s - m * interval '1 minute' + interval '1 second', t.premises, t.device, t.metric, "
            f"1 + sin(m / 60.0), 100000 + m FROM ({telemetry}) t, generate_series(0, 1439) m "
            "WHERE t.premises = ANY(%s)",
            (now, sample),
        )
        conn.execute("ANALYZE")


def users(db_url: str, inspector: str) -> None:
    from console.store.accounts import Accounts

    with open_pool(db_url, max_size=2) as pool:
        accounts = Accounts(pool)
        now = datetime.now(UTC)
        accounts.add_user("op", "Operator", "operator", now, password=PASSWORD)
        accounts.add_user("insp", "Inspector", "inspector", now, password=PASSWORD, inspector_id=inspector)


def timed(call: Callable[[], httpx.Response], repeat: int) -> list[float]:
    call()  # warm: the first call of a route builds caches, pools, plans
    out = []
    for _ in range(repeat):
        began = time.perf_counter()
        answer = call()
        out.append((time.perf_counter() - began) * 1000)
        if answer.status_code >= 400:
            raise SystemExit(f"{answer.request.url}: {answer.status_code} {answer.text[:300]}")
    return out


def line(name: str, ms: list[float], base: float, size: int | None = None) -> tuple[str, float]:
    ordered = sorted(ms)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    mark = "ok " if p95 < TARGET_MS else "SLOW"
    extra = f"  {size / 1024:,.0f} KiB" if size is not None else ""
    print(f"  {mark} {name:<46} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  max {max(ordered):7.1f} ms  "
          f"x{p50 / base:5.1f} health{extra}")  # fmt: skip
    return name, p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--premises", type=int, default=10_000)
    parser.add_argument("--alarms", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--model-dir", type=Path, help="scoring models to use (default: the shipped ones)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fw-bench-console-") as tmp:
        root = Path(tmp)
        with embedded_postgres(root / "pg") as pg, embedded_broker(root, port=free_port()) as broker:
            db_url = pg.owner  # seeding and ANALYZE: the owner; the system itself runs as the application
            began = time.monotonic()
            today = datetime.now(UTC).date()
            fleet = generate_fleet(args.premises, seed=5, roster_start=today - timedelta(days=1), roster_days=3)
            with connect(db_url, autocommit=True) as conn:
                migrate(conn, "off")
                import_registry(conn, fleet, source="bench")
            sample = [p.id for p in fleet.premises[:: max(1, len(fleet.premises) // 20)]][:20]
            seed(db_url, args.alarms, sample)
            inspector = fleet.inspectors[0]
            users(db_url, inspector.id)
            with connect(db_url) as conn:
                tables = ("premises", "devices", "readings", "risk_scores", "incidents", "hazards", "tasks")
                counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # type: ignore[index]
                open_alarms = conn.execute("SELECT count(*) FROM incidents WHERE state <> 'resolved'").fetchone()
            print(f"seeded in {time.monotonic() - began:.0f} s: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
            print(f"open incidents {open_alarms[0] if open_alarms else 0:,}; inspector {inspector.id} "
                  f"of {inspector.jurisdiction}")  # fmt: skip

            secret = "bench-secret-0123456789abcdef"
            with running_up(pg, broker, root, model_dir=args.model_dir, secret=secret, wall_clock=False) as url:
                measure(url, args.repeat, sample[0], inspector.id)


def measure(url: str, repeat: int, premises: str, inspector: str) -> None:
    results = []
    with httpx.Client(base_url=url, timeout=30) as op, httpx.Client(base_url=url, timeout=30) as insp:
        for client, user in ((op, "op"), (insp, "insp")):
            answer = client.post("/api/auth/login", json={"user": user, "password": PASSWORD})
            answer.raise_for_status()
        base = statistics.median(timed(lambda: op.get("/api/health"), repeat))
        print(f"\nAPI, {repeat} calls each after one warm-up (baseline /api/health p50 {base:.1f} ms):")
        calls = [
            ("queue: /api/incidents (all unresolved)", op, "/api/incidents?limit=5000"),
            ("fire banner: /api/incidents?class=fire", op, "/api/incidents?class=fire&limit=50"),
            ("premises: /api/premises/{id}", op, f"/api/premises/{premises}"),
            ("premises: /readings (24 h)", op, f"/api/premises/{premises}/readings?hours=24"),
            ("premises: /risk (30 days)", op, f"/api/premises/{premises}/risk?days=30"),
            ("premises: /api/incidents?premises=", op, f"/api/incidents?premises={premises}"),
            ("overview: /api/overview (every premises)", op, "/api/overview"),
            ("offline: /api/devices/offline", op, "/api/devices/offline"),
            ("kpis: /api/kpis (30 days)", op, "/api/kpis?days=30"),
            ("hazards: /api/hazards", op, "/api/hazards"),
            ("audit: /api/audit", op, "/api/audit"),
            ("search: /api/premises?search=", op, "/api/premises?search=Tower"),
            ("meta: /api/meta", op, "/api/meta"),
            ("inspector queue: /api/incidents", insp, "/api/incidents?limit=5000"),
            ("inspector overview: /api/overview", insp, "/api/overview"),
            ("inspector tasks: /api/tasks?days=7", insp, "/api/tasks?days=7"),
            ("inspector hazards: /api/hazards?mine", insp, "/api/hazards?mine=true"),
            ("page: GET / (static)", op, "/"),
            ("page: GET /static/app.js", op, "/static/app.js"),
        ]
        for name, client, path in calls:
            size = len(client.get(path).content)
            results.append(line(name, timed(lambda c=client, p=path: c.get(p), repeat), base, size))  # type: ignore[misc]
        unresolved = [i["id"] for i in op.get("/api/incidents?state=open&limit=5000").json()]
        ids = iter(unresolved)
        acks = timed(lambda: op.post(f"/api/incidents/{next(ids)}/acknowledge"), min(repeat, len(unresolved) - 1))
        results.append(line("acknowledge: POST /acknowledge", acks, base))
        cookie = op.cookies.get("fw_session")
    pages = browser_pages(url, cookie, premises, repeat, base) if shutil.which("chromium") else []
    results.extend(pages)
    slow = [name for name, p95 in results if p95 >= TARGET_MS]
    print(f"\ntarget p95 < {TARGET_MS:.0f} ms for every call and page: "
          + ("met" if not slow else f"missed by {len(slow)}: {', '.join(slow)}"))  # fmt: skip


def browser_pages(url: str, cookie: str | None, premises: str, repeat: int, base: float) -> list[tuple[str, float]]:
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]  # fmt: skip
    pages = [
        ("queue", "#/queue", "#queue tbody tr.incident"),
        ("premises", f"#/premises/{premises}", "#devices tbody tr"),
        ("overview", "#/overview", "#tiers .card"),
        ("kpis", "#/kpis", "#kpis .total"),
        ("hazards", "#/hazards", "tr[data-hazard]"),
    ]
    results = []
    print(
        f"\npages in headless Chromium, {repeat} loads each: in the page, route change -> first frame of the view "
        "with its data (performance.now()); as Playwright sees it, the same plus its round trips and polling"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=args)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.add_cookies([{"name": "fw_session", "value": cookie or "", "url": url}])
        page = context.new_page()
        page.goto(f"{url}/#/offline")
        page.wait_for_function("window.fwRendered && window.fwRendered.view === 'offline'")
        for name, route, ready in pages:
            wall, inside = [], []
            for n in range(repeat + 1):
                page.evaluate("location.hash = '#/offline'")  # elsewhere first: each load is a route change
                page.wait_for_function("window.fwRendered && window.fwRendered.view === 'offline'")
                seq = page.evaluate("window.fwRendered.seq")
                began = time.perf_counter()
                page.evaluate(f"location.hash = {route!r}")
                page.wait_for_function(f"window.fwRendered.seq > {seq}")
                page.wait_for_selector(ready)
                if n:  # the first is the warm-up
                    wall.append((time.perf_counter() - began) * 1000)
                    inside.append(page.evaluate("window.fwRendered.ms"))
            results.append(line(f"page {name} ({route}), in the page", inside, base))
            line(f"page {name}, as Playwright sees it", wall, base)
        browser.close()
    return results


if __name__ == "__main__":
    main()
