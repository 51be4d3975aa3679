"""What people do: acknowledge and resolve incidents, close hazards, record inspections.

The console and the CLI act through :class:`Actions`, in whatever process they run: each action is a
database transaction through a :class:`~alerts.store.desk.Desk` of its own (audit rows and deliveries in the
same transaction), and what people found out (a false alarm, a real fire, a closed hazard) is
published on ``fw.feedback`` for scoring. Deliveries wait in the outbox for the dispatchers of the
alerts processes, which poll it (and are woken at once when they run in the same process: ``on_queued``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from psycopg_pool import ConnectionPool

from alerts.checklists import Check
from alerts.incidents import Incident
from alerts.outbox import Directory
from alerts.store.desk import Desk
from alerts.store.inspections import TaskItem, record_result, task_list
from alerts.store.prevention import Outcome
from alerts.store.roster import load_roster
from core.bus import Bus, BusMessage
from core.periodic import Every
from core.policy import Policy
from scoring import FEEDBACK_TOPIC, encode_feedback

T = TypeVar("T")


async def hand_on(outcome: Outcome, bus: Bus, on_queued: Callable[[], None] | None) -> None:
    """Hand an outcome's feedback to scoring on the bus, and tell a dispatcher of new deliveries."""
    if outcome.feedback:
        await bus.publish(
            [BusMessage(FEEDBACK_TOPIC, f.premises_id.encode(), encode_feedback(f)) for f in outcome.feedback]
        )
    if outcome.queued and on_queued is not None:
        on_queued()


class Actions:
    def __init__(
        self,
        pool: ConnectionPool,
        policy: Policy,
        directory: Directory,
        bus: Bus,
        *,
        on_queued: Callable[[], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        with pool.connection() as conn:
            roster = load_roster(conn)
        self.pool = pool
        self.desk = Desk(pool, roster, policy, directory)
        self.bus = bus
        self.on_queued = on_queued
        self._roster_due = Every(policy.alerts.roster_reload_s, monotonic)

    async def acknowledge(self, incident_id: int, actor: str, now: datetime) -> Incident:
        return await self._act(self.desk.acknowledge, incident_id, actor, now)

    async def resolve(
        self, incident_id: int, actor: str, code: str, note: str, now: datetime, steps: dict[str, str]
    ) -> Any:
        return await self._act(self.desk.resolve, incident_id, actor, code, note, now, steps)

    async def close_hazard(self, hazard_id: int, actor: str, note: str, now: datetime) -> Any:
        return await self._act(self.desk.prevention.close_hazard, hazard_id, actor, note, now)

    async def record_result(
        self, task_id: int, actor: str, findings: list[str], now: datetime, checks: Sequence[Check] = ()
    ) -> Any:
        return await self._act(record_result, self.desk, task_id, actor, findings, now, checks)

    async def task_list(self, inspector_id: str, until: datetime) -> list[TaskItem]:
        await self._fresh()
        return await asyncio.to_thread(task_list, self.desk, inspector_id, until)

    async def act(self, action: Callable[..., T], *args: Any) -> T:
        """Run ``action(*args)`` (blocking, on the desk's pool) in a thread with a fresh roster; an
        :class:`Outcome` it returns is handed on (feedback to scoring, new deliveries to the dispatcher)."""
        return await self._act(action, *args)

    async def _act(self, action: Callable[..., T], *args: Any) -> T:
        await self._fresh()
        result = await asyncio.to_thread(action, *args)
        if isinstance(result, Outcome):
            await self.after(result)
        return result

    async def after(self, outcome: Outcome) -> None:
        await hand_on(outcome, self.bus, self.on_queued)

    async def _fresh(self) -> None:
        # A registry import elsewhere changes who answers for what: read it again now and then.
        if self._roster_due.due():
            self.desk.roster = await asyncio.to_thread(self._load_roster)

    def _load_roster(self) -> Any:
        with self.pool.connection() as conn:
            return load_roster(conn)
