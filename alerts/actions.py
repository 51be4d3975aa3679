"""What people do with alerts, as named and typed commands and queries: acknowledge and resolve
incidents, close hazards, record inspections, draw the random inspections, keep the checklists and
evidence files.

The console and the CLI act through :class:`Actions`, in whatever process they run: each command is a
database transaction through the :class:`~alerts.store.desk.Desk` of its own (audit rows and
deliveries in the same transaction), run in a worker thread; what people found out (a false alarm, a
real fire, a closed hazard) is published on ``fw.feedback`` for scoring. Deliveries wait in the outbox
for the dispatchers of the alerts processes, which poll it (and are woken at once when they run in the
same process: ``on_queued``). Another stage that changes what alerts keeps (supervision) takes a desk
with a fresh roster (:meth:`Actions.fresh_desk`) and hands what it produced on (:meth:`Actions.hand_on`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from alerts.checklists import Check, ChecklistSet, Version
from alerts.incidents import Incident
from alerts.outbox import Directory
from alerts.roster import Roster
from alerts.store import checklists as checklist_store
from alerts.store import draws, evidence, inspections
from alerts.store.desk import Desk
from alerts.store.draws import Verdict
from alerts.store.evidence import Stored
from alerts.store.inspections import TaskItem
from alerts.store.prevention import Outcome
from alerts.store.roster import load_roster
from core.bus import Bus, BusMessage
from core.db import Pool, transaction
from core.periodic import Every
from core.policy import Policy
from scoring import FEEDBACK_TOPIC, encode_feedback

T = TypeVar("T")


async def hand_on(outcome: Outcome, bus: Bus | None, on_queued: Callable[[], None] | None) -> None:
    """Hand an outcome's feedback to scoring on the bus, and tell a dispatcher of new deliveries."""
    if outcome.feedback and bus is not None:
        await bus.publish(
            [BusMessage(FEEDBACK_TOPIC, f.premises_id.encode(), encode_feedback(f)) for f in outcome.feedback]
        )
    if outcome.queued and on_queued is not None:
        on_queued()


class Actions:
    """People's commands and the queries that go with them, over one pool.

    ``bus`` is where feedback for scoring goes; None (a one-off command line) leaves it unpublished, as
    the scoring processes are not listening to that process anyway."""

    def __init__(
        self,
        pool: Pool,
        policy: Policy,
        directory: Directory,
        bus: Bus | None,
        *,
        on_queued: Callable[[], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        with pool.connection() as conn:
            roster = load_roster(conn)
        self.pool = pool
        self.policy = policy
        self.desk = Desk(pool, roster, policy, directory)
        self.bus = bus
        self.on_queued = on_queued
        self._roster_due = Every(policy.alerts.roster_reload_s, monotonic)

    # ---- incidents ----------------------------------------------------------------------------------

    async def acknowledge(self, incident_id: int, actor: str, now: datetime) -> Incident:
        """Stop an incident's escalation: someone is on it."""
        return await self._run(self.desk.acknowledge, incident_id, actor, now)

    async def resolve(
        self, incident_id: int, actor: str, code: str, note: str, now: datetime, steps: dict[str, str]
    ) -> None:
        """Close an incident with a resolution code, a note and the notes of its action plan's steps."""
        await self._command(self.desk.resolve, incident_id, actor, code, note, now, steps)

    # ---- hazards and inspections --------------------------------------------------------------------

    async def close_hazard(self, hazard_id: int, actor: str, note: str, now: datetime) -> None:
        """Confirm a hazard fixed; refused while its signal is still active."""
        await self._command(self.desk.prevention.close_hazard, hazard_id, actor, note, now)

    async def record_result(
        self, task_id: int, actor: str, findings: list[str], now: datetime, checks: Sequence[Check] = ()
    ) -> None:
        """Record a visit: each finding (or failed checklist item) opens a hazard with a deadline."""
        await self._command(inspections.record_result, self.desk, task_id, actor, findings, now, checks)

    async def task_list(self, inspector_id: str, until: datetime) -> list[TaskItem]:
        """An inspector's open tasks due by ``until``, red first, then by score and due date."""
        return await self._run(inspections.task_list, self.desk, inspector_id, until)

    async def record_self_check(self, premises_id: str, checks: Sequence[Check], actor: str, now: datetime) -> int:
        """A unit's self-check (自查): a done task with each item's result; a failed item opens a
        self-reported hazard with the item's deadline. Returns the task's id."""
        task_id, outcome = await self._run(inspections.record_self_check, self.desk, premises_id, checks, actor, now)
        await self.hand_on(outcome)
        return task_id

    def task_checklist(self, task_id: int, now: datetime) -> inspections.TaskChecklist:
        """The checklist in use for a task's premises category, with what the visit recorded."""
        return inspections.task_checklist(self.pool, task_id, now)

    # ---- the random draw ----------------------------------------------------------------------------

    async def run_draw(
        self, period: str, now: datetime, actor: str, *, beacon: str | None = None, seed: int | None = None
    ) -> list[tuple[str, tuple[str, ...]]]:
        """The period's random draw (premises and their two inspectors), from a published beacon or a seed."""
        return await self._run(draws.run_draw, self.desk, period, seed, now, actor, beacon)

    def verify_draw(self, period: str) -> Verdict:
        """The period's draw made again from its recorded inputs, and whether it matches."""
        with transaction(self.pool) as cur:
            return draws.verify(cur, period)

    def draw_publication(self, period: str) -> list[draws.Published]:
        """What is published of the period's draw (一公开); empty when there was none."""
        with transaction(self.pool) as cur:
            return draws.publication(cur, period)

    # ---- checklists and evidence --------------------------------------------------------------------

    def checklists_in_use(self, now: datetime) -> Version:
        """The checklist set in use (the shipped one, installed as version 1, on first use)."""
        with transaction(self.pool) as cur:
            return checklist_store.current(cur, now)

    def install_checklists(self, checklists: ChecklistSet, actor: str, now: datetime) -> Version:
        """A new version of the whole set, in use from now on (past visits keep theirs)."""
        with transaction(self.pool) as cur:
            checklist_store.install(cur, checklists, actor, now)
            return checklist_store.current(cur, now)

    async def keep_evidence(self, data: bytes, declared: str | None, actor: str, now: datetime) -> Stored:
        """Store a photo or document (checked against the type it was sent as), once per content."""
        return await asyncio.to_thread(self._keep_evidence, data, declared, actor, now)

    def evidence_file(
        self, sha256: str, *, everyone: bool, actor: str, premises: Sequence[str]
    ) -> evidence.File | None:
        """A stored file, for someone who may see it: ``everyone`` (the authority's people), or its
        uploader ``actor``, or a unit whose rectification report (of ``premises``) names it."""
        with transaction(self.pool) as cur:
            return evidence.file(cur, sha256, everyone=everyone, actor=actor, premises=premises)

    # ---- for other stages -----------------------------------------------------------------------------

    async def fresh_desk(self) -> Desk:
        """The desk, its roster read again when the policy's reload interval has passed."""
        await self._fresh()
        return self.desk

    async def hand_on(self, outcome: Outcome) -> None:
        """What a change produced: feedback to scoring, new deliveries to the dispatcher."""
        await hand_on(outcome, self.bus, self.on_queued)

    # ---- plumbing -------------------------------------------------------------------------------------

    def _keep_evidence(self, data: bytes, declared: str | None, actor: str, now: datetime) -> Stored:
        with transaction(self.pool) as cur:
            return evidence.store(cur, data, declared, actor, now)

    async def _command(self, action: Callable[..., Outcome], *args: object) -> None:
        await self.hand_on(await self._run(action, *args))

    async def _run(self, action: Callable[..., T], *args: object) -> T:
        await self._fresh()
        return await asyncio.to_thread(action, *args)

    async def _fresh(self) -> None:
        # A registry import elsewhere changes who answers for what: read it again now and then.
        if self._roster_due.due():
            self.desk.roster = await asyncio.to_thread(self._load_roster)

    def _load_roster(self) -> Roster:
        with self.pool.connection() as conn:
            return load_roster(conn)
