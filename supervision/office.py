"""The supervision stage's commands and queries, named and typed: what the console (and the demo) ask of it.

Each command is one database transaction (audited) run in a worker thread; a command that changes
what alerts keeps (a hazard closed, a task made, feedback for scoring) works on alerts' desk with a
fresh roster and hands what it produced on through :class:`alerts.Actions`. Queries are plain
blocking reads (the console runs them in its thread pool). Rows come back ready for JSON.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from alerts import Actions, Check, Desk, Outcome
from core.db import transaction
from core.domain import CreditStatus
from supervision import case_store, credit_store, portal_store, publication_store
from supervision.case_store import Case
from supervision.cases import StepKind
from supervision.discretion import Circumstance, DiscretionTable
from supervision.publication_store import Kind

Row = dict[str, object]
"""A row ready for JSON: column name to value."""
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Credit:
    premises_id: str
    status: str
    history: list[Row]


@dataclass(frozen=True, slots=True)
class SelfCheck:
    task_id: int
    checks: list[Row]
    """Each item's ``item_id``, ``result`` and the ``hazard_id`` a failed one opened."""


class Supervision:
    """Enforcement cases, the major-hazard listing, credit, and the responsible unit's portal."""

    def __init__(self, actions: Actions, table: DiscretionTable) -> None:
        self.actions = actions
        self.table = table
        self.pool = actions.pool
        self.policy = actions.policy

    # ---- cases (执法) -----------------------------------------------------------------------------------

    async def open_case(
        self, *, premises_id: str | None, hazard_id: int | None, offence: str, circumstance: Circumstance,
        requirements: str, deadline_days: float | None, actor: str, now: datetime,
    ) -> int:  # fmt: skip
        """A case with its rectification order, in effect and numbered at once. Returns its id."""
        return await asyncio.to_thread(
            lambda: case_store.open_case(
                self.pool, self.policy, self.table, premises_id=premises_id, hazard_id=hazard_id, offence=offence,
                circumstance=circumstance, requirements=requirements, deadline_days=deadline_days, actor=actor,
                now=now,
            )
        )  # fmt: skip

    async def add_step(
        self, case_id: int, kind: StepKind, actor: str, now: datetime, *, passed: bool | None = None, note: str = "",
        fine_yuan: float | None = None, measure: int | None = None,
    ) -> int:  # fmt: skip
        """The case's next step (pending when it needs an admin's approval). Returns the step's id."""
        desk = await self.actions.fresh_desk()
        step_id, outcome = await asyncio.to_thread(
            lambda: case_store.add_step(
                desk, self.table, case_id, kind, actor, now, passed=passed, note=note, fine_yuan=fine_yuan,
                measure=measure,
            )
        )  # fmt: skip
        await self.actions.hand_on(outcome)
        return step_id

    async def decide_step(self, step_id: int, approve: bool, actor: str, user_id: str, note: str, now: datetime) -> int:
        """法制审核: an admin other than the proposer approves or refuses a pending step. Returns its case's id."""
        await self._command(case_store.decide_step, step_id, approve, actor, user_id, note, now)
        with transaction(self.pool) as cur:
            return case_store.case_of_step(cur, step_id)

    def case(self, case_id: int) -> Case | None:
        """A case with all its steps; None when there is none."""
        with transaction(self.pool) as cur:
            return case_store.get_case(cur, case_id)

    def cases(self, scope: frozenset[str] | None, state: str | None = None) -> list[Case]:
        """Cases in ``scope`` (None: all), newest first; ``state`` open, closed or pending (awaiting approval)."""
        with transaction(self.pool) as cur:
            return list(case_store.list_cases(cur, scope, state))

    async def list_major_hazard(self, hazard_id: int, actor: str, note: str, now: datetime) -> None:
        """挂牌督办: list a hazard as a major fire hazard until it closes."""
        await asyncio.to_thread(case_store.list_major_hazard, self.pool, self.policy, hazard_id, actor, note, now)

    # ---- rectification reports ----------------------------------------------------------------------------

    def rectification_hazard(self, report_id: int) -> int | None:
        """The hazard a unit's rectification report is about; None when there is no such report."""
        with transaction(self.pool) as cur:
            return portal_store.hazard_of_rectification(cur, report_id)

    async def decide_rectification(self, report_id: int, verified: bool, actor: str, note: str, now: datetime) -> None:
        """Verify a unit's report (the hazard closes) or reject it with the reason the unit will read."""
        await self._command(portal_store.decide_rectification, report_id, verified, actor, note, now)

    # ---- credit (信用监管) -------------------------------------------------------------------------------

    def credit(self, premises_id: str) -> Credit | None:
        """The premises' credit status and every change, newest first; None for an unknown premises."""
        with transaction(self.pool) as cur:
            status = credit_store.status(cur, premises_id)
            if status is None:
                return None
            return Credit(premises_id, status, list(credit_store.history(cur, premises_id)))

    def set_credit(self, premises_id: str, status: CreditStatus, actor: str, note: str, now: datetime) -> bool:
        """An admin sets the status by hand (reason ``manual``); False when it already was."""
        with transaction(self.pool) as cur:
            return credit_store.set_credit(
                cur, premises_id, status, "manual", actor, now, detail={"note": note}, policy=self.policy
            )

    def review_credit(self, actor: str, now: datetime) -> list[tuple[str, str]]:
        """信用修复 now: listed units with a clean record go back to normal; (premises, from status) each."""
        with transaction(self.pool) as cur:
            return credit_store.review(cur, self.policy, now, actor)

    # ---- what is published ---------------------------------------------------------------------------------

    def publication(
        self, kind: Kind, since: datetime, until: datetime | None, scope: frozenset[str] | None
    ) -> list[Row]:
        """Enforcement information of one kind decided in [since, until), in ``scope``."""
        with transaction(self.pool) as cur:
            return list(publication_store.rows(cur, kind, since, until, scope))

    # ---- the unit's portal ----------------------------------------------------------------------------------

    def unit_overview(self, premises: frozenset[str], user_id: str, now: datetime) -> Row:
        """Everything for a unit's page: its premises, open hazards, notices and cases."""
        with transaction(self.pool) as cur:
            return portal_store.overview(cur, premises, user_id, self.policy, now)

    def premises_category(self, premises_id: str) -> str | None:
        with transaction(self.pool) as cur:
            return portal_store.category(cur, premises_id)

    async def record_self_check(
        self, premises_id: str, checks: Sequence[Check], actor: str, now: datetime
    ) -> SelfCheck:
        """自查: each failed item opens a hazard marked self-reported."""
        task_id = await self.actions.record_self_check(premises_id, checks, actor, now)
        with transaction(self.pool) as cur:
            return SelfCheck(task_id, list(portal_store.task_checks(cur, task_id)))

    async def self_report(self, premises_id: str, text: str, evidence: Sequence[str], actor: str, now: datetime) -> int:
        """主动申报: a hazard the unit found itself. Returns the hazard's id."""
        desk = await self.actions.fresh_desk()
        hazard_id, outcome = await asyncio.to_thread(
            portal_store.self_report, desk, premises_id, text, evidence, actor, now
        )
        await self.actions.hand_on(outcome)
        return hazard_id

    def submit_rectification(
        self, hazard_id: int, premises: frozenset[str], note: str, evidence: Sequence[str], actor: str, now: datetime
    ) -> int:
        """The unit reports a hazard fixed, with its evidence, for the inspector to verify. Returns its id."""
        with transaction(self.pool) as cur:
            return portal_store.submit_rectification(cur, hazard_id, premises, note, evidence, actor, now)

    def read_notice(
        self, notice_id: int, premises: frozenset[str], user_id: str, actor: str, now: datetime
    ) -> datetime:
        """The read receipt of a warning notice (the first reading is kept)."""
        with transaction(self.pool) as cur:
            return portal_store.read_notice(cur, notice_id, premises, user_id, actor, now)

    def sign_commitment(self, premises_id: str, text: str, actor: str, now: datetime) -> int:
        """承诺: the unit's commitment, signed by its account. Returns its id."""
        with transaction(self.pool) as cur:
            return portal_store.sign_commitment(cur, premises_id, text, actor, now)

    # ---- plumbing --------------------------------------------------------------------------------------------

    async def _command(self, action: Callable[..., Outcome], *args: object) -> None:
        desk: Desk = await self.actions.fresh_desk()
        await self.actions.hand_on(await asyncio.to_thread(action, desk, *args))
