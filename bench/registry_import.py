"""Registry import benchmark: a generated 10,000-premises / 200,000-device registry.

    .venv/bin/python bench/registry_import.py [--premises 10000] [--devices-per-premises 20]
                                              [--database-url URL] [--skip-baseline]

Without --database-url it runs against a throw-away embedded PostgreSQL in a temp dir. It prints:
file sizes; parse+validate time for JSON and YAML; the import into an empty database (binary COPY
into staging tables, then one upsert per table); the same import again (all rows unchanged); and,
as the baseline in the same run, the same rows upserted with psycopg's executemany (pipelined
INSERT ... ON CONFLICT) into another empty database, with the ratio between the two.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from core import registry
from core.db import connect, migrate
from core.domain import CATEGORIES, CREDIT_STATUSES, DEVICE_TYPE_NAMES
from core.registry.store import TABLE_SPECS  # the importer's own row mapping: the baseline writes the same rows
from core.services import embedded_postgres


def generate(premises: int, devices_per_premises: int, seed: int = 7) -> registry.RegistryFile:
    """A registry of the requested size; deterministic for a seed. Not the simulators' fleet: only volume."""
    rng = random.Random(seed)
    stations = max(1, premises // 200)
    jurisdictions = [registry.Jurisdiction(id="J-CITY", name="City", kind="city")]
    jurisdictions += [
        registry.Jurisdiction(id=f"J-S{s:03d}", name=f"Station {s}", kind="fire_station", parent="J-CITY")
        for s in range(stations)
    ]
    inspectors = [
        registry.Inspector(
            id=f"I-{i:05d}", name=f"Inspector {i}", jurisdiction=f"J-S{i % stations:03d}", email=f"i{i}@fire.example.cn"
        )
        for i in range(stations * 5)
    ]
    start = datetime(2026, 11, 23, tzinfo=UTC)
    roster = [
        registry.Shift(
            inspector=ins.id,
            jurisdiction=ins.jurisdiction,
            starts_at=start + timedelta(days=d),
            ends_at=start + timedelta(days=d, hours=12),
        )
        for ins in inspectors
        for d in range(7)
    ]
    premises_records = []
    devices = []
    for p in range(premises):
        pid = f"P-{p:06d}"
        floors = rng.randint(2, 60)
        premises_records.append(
            registry.Premises(
                id=pid,
                name=f"Premises {p}",
                category=rng.choice(CATEGORIES),
                address=f"{p} Example Road",
                jurisdiction=f"J-S{p % stations:03d}",
                latitude=22.5 + rng.random() / 10,
                longitude=114.0 + rng.random() / 10,
                height_m=floors * 3.1,
                floors=floors,
                occupancy=rng.randint(10, 5000),
                credit_status=rng.choice(CREDIT_STATUSES),
                unit=registry.Unit(name=f"Unit {p}", contact=f"Contact {p}", phone=f"+86 755 {p:08d}"),
            )
        )
        for d in range(devices_per_premises):
            kind = DEVICE_TYPE_NAMES[d % len(DEVICE_TYPE_NAMES)]
            setpoints = {"residual_current_ma": 300.0} if kind == "electrical_monitor" else {}
            devices.append(
                registry.Device(
                    id=f"{pid}-D{d:03d}",
                    premises=pid,
                    type=kind,
                    location=f"floor {d % floors}",
                    zone=f"{d % floors}F",
                    setpoints=setpoints,
                )
            )
    return registry.RegistryFile(
        jurisdictions=jurisdictions,
        inspectors=inspectors,
        duty_roster=roster,
        premises=premises_records,
        devices=devices,
    )


@contextmanager
def fresh_database(server_url: str | None, workdir: Path) -> Iterator[str]:
    """A new, migrated database on the given server, or on an embedded one in ``workdir``."""
    with _given(server_url) if server_url else _embedded_owner(workdir / "pg") as admin_url:
        name = f"fw_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = psycopg.conninfo.make_conninfo(admin_url, dbname=name)
        try:
            with connect(url, autocommit=True) as conn:
                migrate(conn, "off")
            yield url
        finally:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


@contextmanager
def _embedded_owner(pgdata: Path) -> Iterator[str]:
    with embedded_postgres(pgdata) as urls:
        yield urls.owner


@contextmanager
def timed(label: str, results: list[tuple[str, float]]) -> Iterator[None]:
    started = time.perf_counter()
    yield
    results.append((label, time.perf_counter() - started))


def baseline_upsert(url: str, reg: registry.RegistryFile) -> None:
    """Row-by-row upsert with executemany (pipelined by psycopg): what the importer would be without COPY."""
    with connect(url, autocommit=True) as conn, conn.transaction():
        for spec in TABLE_SPECS:
            others = [c for c in spec.columns if c not in spec.key]
            statement = sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}").format(
                sql.Identifier(spec.table),
                sql.SQL(", ").join(map(sql.Identifier, spec.columns)),
                sql.SQL(", ").join(sql.Placeholder() * len(spec.columns)),
                sql.SQL(", ").join(map(sql.Identifier, spec.key)),
                sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in others),
            )
            with conn.cursor() as cur:
                cur.executemany(statement, [spec.to_row(r) for r in getattr(reg, spec.section)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--premises", type=int, default=10_000)
    parser.add_argument("--devices-per-premises", type=int, default=20)
    parser.add_argument("--database-url", help="server to create throw-away databases on (default: embedded)")
    parser.add_argument("--skip-baseline", action="store_true", help="do not run the executemany baseline")
    args = parser.parse_args()

    results: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="fw-bench-") as tmp:
        workdir = Path(tmp)
        reg = generate(args.premises, args.devices_per_premises)
        print(
            f"registry: {len(reg.premises):,} premises, {len(reg.devices):,} devices, "
            f"{len(reg.inspectors):,} inspectors, {len(reg.duty_roster):,} shifts"
        )
        paths = {}
        for fmt in ("json", "yaml"):
            paths[fmt] = workdir / f"registry.{fmt}"
            paths[fmt].write_text(registry.dump(reg, fmt), encoding="utf-8")
            print(f"{fmt} file: {paths[fmt].stat().st_size / 1e6:.1f} MB")

        with timed("load JSON (parse + validate)", results):
            loaded = registry.load(paths["json"])
        with timed("load YAML (parse + validate)", results):
            registry.load(paths["yaml"])
        assert loaded == reg

        with fresh_database(args.database_url, workdir) as url:
            with connect(url, autocommit=True) as conn, timed("import into empty database (COPY + upsert)", results):
                counts = registry.import_registry(conn, loaded, source="bench")
            assert sum(c.inserted for c in counts) == sum(len(getattr(reg, s.section)) for s in TABLE_SPECS)
            with connect(url, autocommit=True) as conn, timed("import again, nothing changed", results):
                registry.import_registry(conn, loaded, source="bench")
        if not args.skip_baseline:
            with (
                fresh_database(args.database_url, workdir) as url,
                timed("baseline: executemany upsert into empty database", results),
            ):
                baseline_upsert(url, loaded)

    width = max(len(label) for label, _ in results)
    for label, seconds in results:
        print(f"{label:<{width}}  {seconds:7.2f} s")
    figures = dict(results)
    end_to_end = figures["load JSON (parse + validate)"] + figures["import into empty database (COPY + upsert)"]
    print(f"{'end to end, JSON file to committed rows':<{width}}  {end_to_end:7.2f} s")
    if not args.skip_baseline:
        ratio = (
            figures["baseline: executemany upsert into empty database"]
            / figures["import into empty database (COPY + upsert)"]
        )
        print(f"COPY import is {ratio:.1f}x faster than the executemany baseline")


if __name__ == "__main__":
    main()
