"""A migrated database with a small registry, and a desk over it driven by a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from psycopg_pool import ConnectionPool

from alerts.outbox import Directory
from alerts.store.desk import Desk
from alerts.store.roster import load_roster
from core.db import connect, open_pool
from core.policy import Policy
from core.registry import Device, Inspector, Jurisdiction, Premises, RegistryFile, Shift, Unit
from core.registry.store import import_registry

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def small_registry(hook: str = "http://127.0.0.1:9/hooks") -> RegistryFile:
    """A city > station > grid; P and Q in the grid. The grid inspector is on duty for the first hour only."""

    def premises(ident: str) -> Premises:
        return Premises(
            id=ident,
            name=f"Tower {ident}",
            category="high_rise_residential",
            address=f"{ident} Road",
            jurisdiction="J-GRID",
            unit=Unit(name=f"Unit {ident}", contact="manager", email=f"unit-{ident.lower()}@example.cn"),
        )

    return RegistryFile(
        jurisdictions=[
            Jurisdiction(id="J-CITY", name="city", kind="city"),
            Jurisdiction(id="J-STATION", name="station", kind="fire_station", parent="J-CITY"),
            Jurisdiction(id="J-GRID", name="grid", kind="grid", parent="J-STATION"),
        ],
        inspectors=[
            Inspector(id="I-GRID", name="grid", jurisdiction="J-GRID", webhook_url=f"{hook}/I-GRID"),
            Inspector(id="I-GRID2", name="grid two", jurisdiction="J-GRID"),
            Inspector(id="I-STATION", name="station", jurisdiction="J-STATION", webhook_url=f"{hook}/I-STATION"),
            Inspector(id="I-STATION2", name="station two", jurisdiction="J-STATION"),
            Inspector(id="I-CITY", name="city", jurisdiction="J-CITY"),
        ],
        duty_roster=[
            Shift(inspector="I-GRID", jurisdiction="J-GRID", starts_at=at(-60), ends_at=at(3600)),
            Shift(inspector="I-STATION", jurisdiction="J-STATION", starts_at=at(-86_400), ends_at=at(30 * 86_400)),
        ],
        premises=[premises("P"), premises("Q")],
        devices=[
            Device(id="UITD", premises="P", type="uitd", location="control room", zone="1F"),
            Device(id="SP", premises="P", type="sprinkler_pressure", location="roof", zone="30F"),
        ],
    )


def load(url: str, registry: RegistryFile) -> None:
    with connect(url) as conn:
        import_registry(conn, registry, source="test")
        conn.commit()


@pytest.fixture
def pool(migrated_url: str) -> Iterator[ConnectionPool]:
    load(migrated_url, small_registry())
    with open_pool(migrated_url, max_size=4) as opened:
        yield opened


def open_inspection(pool: ConnectionPool) -> int:
    """An open inspection task of premises P for I-GRID, due a day after T0; its id."""
    with pool.connection() as conn:
        row = conn.execute(
            "INSERT INTO tasks (dedup_key, premises_id, inspector_id, kind, reason, due_at, created_at, state) "
            "VALUES ('inspection:P', 'P', 'I-GRID', 'inspection', 'r', %s, %s, 'open') RETURNING id",
            (at(86_400), at(0)),
        ).fetchone()
    assert row is not None
    return int(row[0])


def make_desk(pool: ConnectionPool, policy: Policy | None = None) -> Desk:
    with pool.connection() as conn:
        roster = load_roster(conn)
    return Desk(pool, roster, policy or Policy(), Directory(email=True))


@pytest.fixture
def desk(pool: ConnectionPool) -> Desk:
    return make_desk(pool)
