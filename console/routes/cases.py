"""Enforcement routes (supervision/): the discretion table, cases and their steps, approvals by a
second person (法制审核), the documents, the major-hazard listing, credit, units' rectification
reports as inspectors verify them, and the enforcement information published."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field

from console.security import Admin, Ctx, Me, Someone, Supervisor, send, visible
from core.domain import CreditStatus
from supervision import Case, CaseStep, Circumstance, PublicationKind, document_html, document_pdf, publication_as_csv

router = APIRouter(tags=["enforcement"])
_Note = Annotated[str, Field(max_length=2000)]


@router.get("/api/discretion")
def discretion(user: Me, ctx: Ctx) -> Response:
    """The discretion table in use (裁量基准): offences with their basis and fine range per circumstance."""
    return send(ctx.discretion.model_dump(mode="json"))


class NewCase(BaseModel):
    hazard_id: int | None = Field(None, description="the hazard (or failed checklist item's hazard) it is about")
    premises_id: str | None = Field(None, description="the premises, when there is no hazard")
    offence: str = Field(description="an offence id of the discretion table")
    circumstance: Circumstance = "general"
    requirements: _Note = Field("", description="what the order requires, as printed on it")
    deadline_days: Annotated[float, Field(gt=0, le=365)] | None = Field(
        None, description="the order's deadline; default: policy enforcement.order_deadline_days"
    )


def _case(ctx: Ctx, user: Any, case_id: int) -> Case:
    case = ctx.supervision.case(case_id)
    if case is None or not (user.sees(str(case["jurisdiction_id"])) or case["premises_id"] in user.premises):
        raise HTTPException(404, f"no case {case_id}")
    return case


@router.post("/api/cases", status_code=201)
async def open_case(body: NewCase, user: Supervisor, ctx: Ctx) -> Response:
    """Open a case with its rectification order (责令改正通知书), in effect and numbered at once."""
    if body.hazard_id is not None:
        visible(user, ctx.reads.hazard_jurisdiction(body.hazard_id), f"hazard {body.hazard_id}")
    elif body.premises_id is not None:
        visible(user, ctx.reads.premises_jurisdiction(body.premises_id), f"premises {body.premises_id}")
    else:
        raise HTTPException(422, "a case needs hazard_id or premises_id")
    case_id = await ctx.supervision.open_case(
        premises_id=body.premises_id, hazard_id=body.hazard_id, offence=body.offence, circumstance=body.circumstance,
        requirements=body.requirements, deadline_days=body.deadline_days, actor=user.actor, now=ctx.clock(),
    )  # fmt: skip
    return send(_case(ctx, user, case_id), status_code=201)


@router.get("/api/cases")
def cases(user: Me, ctx: Ctx, state: Literal["open", "closed", "pending"] | None = None) -> Response:
    """Cases in your scope, newest first; ``state=pending``: those with a step awaiting approval."""
    return send(ctx.supervision.cases(user.scope, state))


@router.get("/api/cases/{case_id}")
def case(case_id: int, user: Me, ctx: Ctx) -> Response:
    """A case with all its steps (kind, state, number, fine, detail, who proposed and decided)."""
    return send(_case(ctx, user, case_id))


class NewStep(BaseModel):
    kind: Literal["recheck", "seal_up", "stop", "penalty", "lift", "close"]
    passed: bool | None = Field(None, description="recheck: was the hazard corrected")
    note: _Note = ""
    fine_yuan: Annotated[float, Field(ge=0)] | None = Field(None, description="penalty: within the table's range")
    measure: int | None = Field(None, description="lift: the seal-up or stop step it lifts")


@router.post("/api/cases/{case_id}/steps", status_code=201)
async def add_step(case_id: int, body: NewStep, user: Supervisor, ctx: Ctx) -> Response:
    """The case's next step. Seal-up, stop, and a fine from the policy's amount up are ``pending`` until
    an admin who did not propose them approves; a penalty the table exempts becomes ``exemption``."""
    _case(ctx, user, case_id)  # 404 outside your scope
    step_id = await ctx.supervision.add_step(
        case_id, body.kind, user.actor, ctx.clock(), passed=body.passed, note=body.note, fine_yuan=body.fine_yuan,
        measure=body.measure,
    )  # fmt: skip
    found = _case(ctx, user, case_id)
    step = next(s for s in _steps(found) if s["id"] == step_id)
    return send({"case": found, "step": step}, status_code=201)


class Decision(BaseModel):
    note: _Note = ""


@router.post("/api/case-steps/{step_id}/{verdict}")
async def decide(
    step_id: int, verdict: Literal["approve", "refuse"], body: Decision, user: Admin, ctx: Ctx
) -> Response:
    """法制审核: an admin other than its proposer approves a pending step (it takes effect and gets its
    number) or refuses it."""
    case_id = await ctx.supervision.decide_step(step_id, verdict == "approve", user.actor, user.id, body.note,
                                                ctx.clock())  # fmt: skip
    return send(_case(ctx, user, case_id))


@router.get("/api/cases/{case_id}/steps/{step_id}/document", response_model=None)
def document(case_id: int, step_id: int, user: Someone, ctx: Ctx, format: Literal["html", "pdf"] = "html") -> Response:
    """The step's document (责令改正通知书, 临时查封决定书, 行政处罚决定书, ...) generated from the case.
    A unit gets the documents of its own cases once they are in effect."""
    found = _case(ctx, user, case_id)
    step = next((s for s in _steps(found) if s["id"] == step_id), None)
    if step is None or (user.role == "unit" and step["state"] != "effective"):
        raise HTTPException(404, f"no step {step_id} in case {case_id}")
    if format == "pdf":
        data = document_pdf(found, step_id, ctx.discretion, ctx.policy)
        disposition = f'inline; filename="case-{case_id}-step-{step_id}.pdf"'
        return Response(data, media_type="application/pdf", headers={"Content-Disposition": disposition})
    text = document_html(found, step_id, ctx.discretion, ctx.policy)
    return Response(text, media_type="text/html; charset=utf-8")


class Listing(BaseModel):
    note: _Note = ""


@router.post("/api/hazards/{hazard_id}/listing", status_code=201)
async def list_hazard(hazard_id: int, body: Listing, user: Supervisor, ctx: Ctx) -> Response:
    """挂牌督办: list the hazard as a major fire hazard for supervision until it closes (销案)."""
    visible(user, ctx.reads.hazard_jurisdiction(hazard_id), f"hazard {hazard_id}")
    await ctx.supervision.list_major_hazard(hazard_id, user.actor, body.note, ctx.clock())
    return send({"hazard_id": hazard_id, "listed": True}, status_code=201)


@router.get("/api/major-hazards")
def major_hazards(user: Me, ctx: Ctx, include_closed: bool = False) -> Response:
    """Major hazards listed for supervision: open ones (and closed, delisted ones on request)."""
    return send(ctx.reads.major_hazards(user.scope, include_closed))


@router.get("/api/premises/{premises_id}/credit")
def credit(premises_id: str, user: Me, ctx: Ctx) -> Response:
    """The premises' credit status and every change with its reason, newest first."""
    visible(user, ctx.reads.premises_jurisdiction(premises_id), f"premises {premises_id}")
    found = ctx.supervision.credit(premises_id)
    if found is None:
        raise HTTPException(404, f"no premises {premises_id}")
    return send({"premises_id": premises_id, "status": found.status, "history": found.history})


class CreditChange(BaseModel):
    status: CreditStatus
    note: Annotated[str, Field(min_length=1, max_length=2000)]


@router.post("/api/premises/{premises_id}/credit")
def set_credit(premises_id: str, body: CreditChange, user: Admin, ctx: Ctx) -> Response:
    """An admin sets the status by hand (reason ``manual``, with the note), for example after a court ruling."""
    changed = ctx.supervision.set_credit(premises_id, body.status, user.actor, body.note, ctx.clock())
    return send({"premises_id": premises_id, "status": body.status, "changed": changed})


@router.post("/api/credit/review")
def review(user: Admin, ctx: Ctx) -> Response:
    """信用修复 now, as the alerts process does every hour: listed units with a clean record go back to normal."""
    repaired = ctx.supervision.review_credit(user.actor, ctx.clock())
    return send({"repaired": [{"premises_id": p, "from": s} for p, s in repaired]})


@router.get("/api/rectifications")
def rectifications(user: Me, ctx: Ctx, state: Literal["submitted", "verified", "rejected"] = "submitted") -> Response:
    """Units' reports that a hazard is fixed, with their evidence, in your scope."""
    return send(ctx.reads.rectifications(user.scope, state))


@router.post("/api/rectifications/{report_id}/{verdict}")
async def decide_report(report_id: int, verdict: Literal["verify", "reject"], body: Decision, user: Supervisor,
                        ctx: Ctx) -> Response:  # fmt: skip
    """Verify a unit's report (the hazard closes) or reject it with the reason the unit will read."""
    hazard_id = ctx.supervision.rectification_hazard(report_id)
    where = ctx.reads.hazard_jurisdiction(hazard_id) if hazard_id is not None else None
    visible(user, where, f"rectification report {report_id}")
    if verdict == "reject" and not body.note.strip():
        raise HTTPException(422, "a rejection says why (note), for the unit to read")
    await ctx.supervision.decide_rectification(report_id, verdict == "verify", user.actor, body.note, ctx.clock())
    return send({"id": report_id, "state": "verified" if verdict == "verify" else "rejected"})


@router.get("/api/publication/enforcement", response_model=None)
def publish(
    user: Me, ctx: Ctx, kind: PublicationKind, since: datetime | None = None, until: datetime | None = None,
    format: Literal["json", "csv"] = "json",
) -> Response:  # fmt: skip
    """Enforcement information of one of the four kinds (inspection, penalty, coercive, licence), decided in
    [since, until) (default: from 365 days ago on; a time without zone is UTC), in your scope;
    ``licence`` is always empty (Firewarden issues none)."""
    since = since or ctx.clock() - timedelta(days=365)
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    until = until if until is None or until.tzinfo else until.replace(tzinfo=UTC)
    found = ctx.supervision.publication(kind, since, until, user.scope)
    if format == "csv":
        return Response(publication_as_csv(kind, found), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="enforcement-{kind}.csv"'})  # fmt: skip
    return send(found)


def _steps(case: Case) -> list[CaseStep]:
    return case.get("steps", [])
