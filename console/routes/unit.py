"""The unit portal (role ``unit``): a responsible unit's premises, its self-checks with the inspection
checklist, the hazards it reports itself, its rectification reports with evidence, its notices with
read receipts, its credit and commitments, and its cases' documents (the cases routes). A unit sees
its own premises only: anything else is 404, as if it did not exist."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field

from alerts import Check
from console.security import Ctx, Unit, send
from console.store.accounts import Principal

router = APIRouter(tags=["unit portal"])
_Sha = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


def _own(user: Principal, premises_id: str) -> None:
    if premises_id not in user.premises:
        raise HTTPException(404, f"no premises {premises_id}")


@router.get("/api/unit")
def overview(user: Unit, ctx: Ctx) -> Response:
    """Everything for the unit's page: ``premises`` (tier, ``credit_status`` and ``credit_history``,
    ``self_check`` with ``every_days``, ``last_at``, ``due_at``, ``due``; ``commitments``), open
    ``hazards`` with deadlines and the latest ``rectification`` state, ``notices`` with ``read_at``, and
    ``cases`` with their documents in effect."""
    return send(ctx.supervision.unit_overview(user.premises, user.id, ctx.clock()))


@router.get("/api/unit/premises/{premises_id}/checklist")
def checklist(premises_id: str, user: Unit, ctx: Ctx) -> Response:
    """The checklist items of the premises' category, for the self-check (the inspectors' checklist)."""
    _own(user, premises_id)
    version = ctx.actions.checklists_in_use(ctx.clock())
    category = ctx.supervision.premises_category(premises_id)
    if category is None:
        raise HTTPException(404, f"no premises {premises_id}")
    items = [i.model_dump(mode="json") for i in version.checklists.for_category(category)]
    return send({"premises_id": premises_id, "category": category, "version": version.number, "items": items})


class SelfCheck(BaseModel):
    checks: Annotated[list[Check], Field(min_length=1, max_length=500)]


@router.post("/api/unit/premises/{premises_id}/self-checks", status_code=201)
async def self_check(premises_id: str, body: SelfCheck, user: Unit, ctx: Ctx) -> Response:
    """Record a self-check (自查): each failed item opens a hazard marked self-reported (no penalty for it)."""
    _own(user, premises_id)
    done = await ctx.supervision.record_self_check(premises_id, body.checks, user.actor, ctx.clock())
    return send({"task_id": done.task_id, "checks": done.checks}, status_code=201)


class SelfReport(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=1000, description="what the unit found")]
    evidence: Annotated[list[_Sha], Field(max_length=20)] = []


@router.post("/api/unit/premises/{premises_id}/hazards", status_code=201)
async def report_hazard(premises_id: str, body: SelfReport, user: Unit, ctx: Ctx) -> Response:
    """主动申报: a hazard the unit found itself; open, self-reported, with the policy's finding deadline."""
    _own(user, premises_id)
    hazard_id = await ctx.supervision.self_report(premises_id, body.text, body.evidence, user.actor, ctx.clock())
    return send({"hazard_id": hazard_id, "self_reported": True}, status_code=201)


class Rectified(BaseModel):
    note: Annotated[str, Field(min_length=1, max_length=2000, description="what was done")]
    evidence: Annotated[list[_Sha], Field(min_length=1, max_length=20, description="stored evidence hashes")]


@router.post("/api/unit/hazards/{hazard_id}/rectification", status_code=201)
def rectified(hazard_id: int, body: Rectified, user: Unit, ctx: Ctx) -> Response:
    """The unit reports a hazard fixed, with photos or documents, for the inspector to verify."""
    report_id = ctx.supervision.submit_rectification(hazard_id, user.premises, body.note, body.evidence, user.actor,
                                                     ctx.clock())  # fmt: skip
    return send({"id": report_id, "hazard_id": hazard_id, "state": "submitted"}, status_code=201)


@router.post("/api/unit/notices/{notice_id}/read")
def read(notice_id: int, user: Unit, ctx: Ctx) -> Response:
    """The read receipt of a warning notice (the first reading is kept)."""
    at = ctx.supervision.read_notice(notice_id, user.premises, user.id, user.actor, ctx.clock())
    return send({"notice_id": notice_id, "read_at": at})


class Commitment(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=4000)]


@router.post("/api/unit/premises/{premises_id}/commitments", status_code=201)
def commit(premises_id: str, body: Commitment, user: Unit, ctx: Ctx) -> Response:
    """承诺: the unit's commitment, signed by its account."""
    _own(user, premises_id)
    commitment_id = ctx.supervision.sign_commitment(premises_id, body.text, user.actor, ctx.clock())
    return send({"id": commitment_id, "premises_id": premises_id}, status_code=201)
