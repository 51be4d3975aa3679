"""The alerts service on the local bus, against real PostgreSQL: a fire jumps a backlog of signals."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from alerts.outbox import Directory
from alerts.service import OTHERS_SLICE, Alerts
from core.bus import BusMessage, LocalBus
from core.policy import Policy
from scoring.records import DECISIONS_TOPIC, AlarmDecision, Decision, Signal, encode_decision, topic_of
from tests.alerts.conftest import at


def message(decision: Decision) -> BusMessage:
    return BusMessage(DECISIONS_TOPIC, decision.premises_id.encode(), encode_decision(decision))


def _recording(pool: ConnectionPool, bus: LocalBus) -> tuple[Alerts, list[list[Decision]]]:
    """An alerts service whose desk notes every batch it is handed, in order."""
    policy = Policy.model_validate({"alerts": {"tick_s": 60}})
    alerts = Alerts(pool, policy, Directory(email=False), {}, bus, clock=lambda: at(1001))
    batches: list[list[Decision]] = []
    real_handle = alerts.desk.handle

    def recording(decisions: list[Decision], now: Any) -> Any:
        batches.append(list(decisions))
        return real_handle(decisions, now)

    alerts.desk.handle = recording  # type: ignore[method-assign]
    return alerts, batches


def test_a_fire_behind_a_backlog_of_signals_is_handled_after_one_slice_at_most(pool: ConnectionPool) -> None:
    backlog = [
        Signal(at(n), "P", "SP", "sensor_stuck", "trouble", "raised" if n % 2 == 0 else "cleared")
        for n in range(3 * OTHERS_SLICE)
    ]
    fire = AlarmDecision(at(1000), "P", "UITD:1", 1, "3F", "confirmed", "two detectors", "UITD:1", at(999))

    async def scenario() -> list[list[Decision]]:
        bus = LocalBus()
        alerts, batches = _recording(pool, bus)
        await bus.publish([message(d) for d in [*backlog, fire]])
        stop = asyncio.Event()
        running = asyncio.create_task(alerts.run(stop))
        while alerts.handled < len(backlog) + 1:
            await asyncio.sleep(0.05)
        stop.set()
        await running
        return batches

    batches = asyncio.run(scenario())
    assert batches[0] == [fire]  # read with the backlog, handled before any of it
    assert [d for batch in batches[1:] for d in batch] == backlog  # the rest in order, in slices
    assert max(len(batch) for batch in batches[1:]) <= OTHERS_SLICE


def test_a_fire_on_fw_alarms_arriving_mid_backlog_waits_one_slice_at_most(pool: ConnectionPool) -> None:
    """As scoring publishes: signals on fw.decisions, the fire on fw.alarms, after alerts began working
    through the backlog; the fire is handled in the next batch."""
    backlog = [Signal(at(n), "P", f"SP{n}", "sensor_drift", "trouble", "raised") for n in range(10 * OTHERS_SLICE)]
    fire = AlarmDecision(at(1000), "P", "UITD:1", 1, "3F", "confirmed", "two detectors", "UITD:1", at(999))

    async def scenario() -> tuple[list[list[Decision]], int]:
        bus = LocalBus()
        alerts, batches = _recording(pool, bus)
        await bus.publish([BusMessage(topic_of(d), b"P", encode_decision(d)) for d in backlog])
        stop = asyncio.Event()
        running = asyncio.create_task(alerts.run(stop))
        while len(batches) < 2:
            await asyncio.sleep(0.001)
        published_after = len(batches)
        await bus.publish([BusMessage(topic_of(fire), b"P", encode_decision(fire))])
        while alerts.handled < len(backlog) + 1:
            await asyncio.sleep(0.05)
        stop.set()
        await running
        return batches, published_after

    batches, published_after = asyncio.run(scenario())
    at_batch = next(n for n, batch in enumerate(batches) if fire in batch)
    assert batches[at_batch] == [fire]
    assert at_batch <= published_after + 1, f"published after batch {published_after}, handled in batch {at_batch}"
    assert len(batches) > at_batch + 5  # the backlog was far from done
    with pool.connection() as conn:
        incidents = conn.execute("SELECT class, count(*) FROM incidents GROUP BY 1 ORDER BY 1").fetchall()
    # 500 drifting devices of one premises: one trouble incident (inhibited by the fire), not 500 pages
    assert incidents == [("fire", 1), ("trouble", 1)]


def test_chores_run_among_the_timers_with_the_services_clock_and_the_credit_review_repairs(
    pool: ConnectionPool,
) -> None:
    from supervision.credit_store import review_chore, set_credit

    with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:  # listed long ago, nothing since
        set_credit(cur, "P", "watchlist", "penalty", "inspector:li", at(0) - timedelta(days=100))
    seen: list[Any] = []
    policy = Policy.model_validate({"alerts": {"tick_s": 0.02}})
    chores = [(0.05, seen.append), (0.05, review_chore(pool, policy))]
    alerts = Alerts(pool, policy, Directory(email=False), {}, LocalBus(), clock=lambda: at(0), chores=chores)

    async def briefly() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(alerts.run(stop))
        while len(seen) < 2:
            await asyncio.sleep(0.02)
        stop.set()
        await running

    asyncio.run(asyncio.wait_for(briefly(), 20))
    assert seen[:2] == [at(0), at(0)]
    with pool.connection() as conn:
        assert conn.execute("SELECT credit_status FROM premises WHERE id = 'P'").fetchone() == ("normal",)
        reasons = conn.execute("SELECT reason FROM credit_changes WHERE premises_id = 'P' ORDER BY id").fetchall()
    assert reasons == [("penalty",), ("repair",)]
