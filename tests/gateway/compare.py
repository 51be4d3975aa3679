"""What a run decided, to compare two paths of the same messages: each run in a database of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from core.db import connect, migrate
from core.registry import RegistryFile
from ingest import Ingest
from tests.fix_postgres import PgServer, _fresh_database, app_url
from tests.ingest.harness import import_fleet, until


def decisions(url: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Every alarm revision and every signal a run led to, in a stable order; without the signals of a
    UITD's TCP connection ending (``device_offline`` for `gb26875 connection ...`), which only the
    gateway's path has."""
    with connect(url) as conn:
        alarms = conn.execute(
            "SELECT alarm_id, revision, time, premises_id, zone, classification, reason, trigger, final "
            "FROM alarms ORDER BY alarm_id, revision"
        ).fetchall()
        signals = conn.execute(
            "SELECT time, premises_id, device_id, rule, state, subject FROM signals "
            "WHERE NOT (rule = 'device_offline' AND evidence->>'reason' LIKE 'gb26875 connection%%') "
            "ORDER BY time, premises_id, device_id, rule, subject, state"
        ).fetchall()
    return [tuple(a) for a in alarms], [tuple(s) for s in signals]


async def settled(ingest: Ingest, url: str) -> None:
    """Until ingest holds nothing and what it handed on last is scored (the decisions unchanged for 1 s)."""
    await until(lambda: ingest.in_flight == 0, "ingest to store what it holds")
    seen = None
    while seen != (seen := decisions(url)):
        await asyncio.sleep(1.0)


@contextmanager
def another_database(pg_server: PgServer, fleet: RegistryFile) -> Iterator[str]:
    """A second migrated database on the test server with ``fleet`` imported: its application URL."""
    with _fresh_database(pg_server) as owner_url:
        with connect(owner_url, autocommit=True) as conn:
            migrate(conn, "off")
        url = app_url(owner_url)
        import_fleet(url, fleet)
        yield url
