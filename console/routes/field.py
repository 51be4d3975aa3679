"""Inspectors' side: task lists (JSON, CSV, iCalendar), visit results, hazards and closing them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, Field

from alerts import Check, end_of_day, tasks_as_csv, tasks_as_ical
from console.security import Ctx, Me, send, visible
from console.store.accounts import Principal

router = APIRouter(tags=["inspections"])

DEFAULT_TZ = "Asia/Shanghai"


class VisitResult(BaseModel):
    findings: list[Annotated[str, Field(min_length=1, max_length=1000)]] = Field(
        default_factory=list, description="each finding opens a hazard; empty: a clean visit"
    )
    checks: list[Check] = Field(
        default_factory=list,
        description="checklist results (item, pass|fail|na, note): a failed item opens a hazard due by its severity",
    )


class Closing(BaseModel):
    note: Annotated[str, Field(max_length=4000)] = ""


def _inspector_for(user: Principal, asked: str | None) -> str:
    if user.role == "inspector":
        if asked is not None and asked != user.inspector_id:
            raise HTTPException(404, f"no task list for {asked} in your view")
        if user.inspector_id is None:
            raise HTTPException(404, "this user is not linked to a registry inspector: no task list")
        return user.inspector_id
    if asked is None:
        raise HTTPException(422, "name the inspector: ?inspector=ID")
    return asked


@router.get("/api/inspectors")
def inspectors(user: Me, ctx: Ctx) -> Response:
    """The registry's inspectors (id, name, jurisdiction and its name, open tasks), for operators and
    admins to choose whose task list to see; an inspector gets 403 (their own list needs no choice)."""
    if user.role not in ("operator", "admin"):
        raise HTTPException(403, "the inspectors' list is for operators and admins")
    return send(ctx.reads.inspectors())


@router.get("/api/tasks", response_model=None)
async def tasks(
    user: Me,
    ctx: Ctx,
    inspector: str | None = None,
    day: date | None = None,
    days: Annotated[int, Query(ge=1, le=92)] = 1,
    tz: str = DEFAULT_TZ,
    format: Literal["json", "csv", "ics"] = "json",
    lang: Literal["zh", "en"] = "zh",
) -> Response:
    """An inspector's open tasks due by the end of ``day`` (today in ``tz``; ``days`` > 1 looks further
    ahead), overdue ones included, red first, each with its reason (``label``; ``reason`` is its English
    text; CSV and iCalendar render it in ``lang``). An inspector gets their own list; operators and
    admins name the inspector."""
    who = _inspector_for(user, inspector)
    try:
        zone = ZoneInfo(tz)
    except (KeyError, ValueError):
        raise HTTPException(422, f"unknown time zone {tz!r}") from None
    today = day or datetime.now(zone).date()
    items = await ctx.actions.task_list(who, end_of_day(today + timedelta(days=days - 1), zone))
    if format == "csv":
        return Response(tasks_as_csv(items, lang), media_type="text/csv; charset=utf-8")
    if format == "ics":
        return Response(tasks_as_ical(items, who, lang), media_type="text/calendar; charset=utf-8")
    return send([i.as_json() for i in items])


@router.post("/api/tasks/{task_id}/result")
async def task_result(task_id: int, body: VisitResult, user: Me, ctx: Ctx) -> Response:
    """Record a visit: findings open hazards; a hazard task with no findings confirms the fix. An
    inspector records their own tasks; an admin any."""
    owner = ctx.reads.task_owner(task_id)
    allowed = owner is not None and (
        user.role == "admin" or (user.role == "inspector" and owner[0] == user.inspector_id)
    )
    if not allowed:
        if owner is not None and user.role == "operator":
            raise HTTPException(403, "an operator may not record a visit; it needs the role inspector or admin")
        raise HTTPException(404, f"no task {task_id}")
    await ctx.actions.record_result(task_id, user.actor, body.findings, ctx.clock(), body.checks)
    failed = sum(1 for c in body.checks if c.result == "fail")
    return send({"id": task_id, "state": "done", "findings": len(body.findings), "checks": len(body.checks),
                 "failed": failed})  # fmt: skip


@router.get("/api/hazards")
def hazards(
    user: Me,
    ctx: Ctx,
    state: Literal["open", "recovered", "closed", "unclosed"] = "unclosed",
    premises: str | None = None,
    mine: bool = False,
) -> Response:
    """Hazards in your scope, earliest deadline first; ``mine`` keeps those assigned to you."""
    inspector = user.inspector_id if mine else None
    return send(ctx.reads.hazards(user.scope, state=state, premises_id=premises, inspector_id=inspector))


@router.post("/api/hazards/{hazard_id}/close")
async def close_hazard(hazard_id: int, body: Closing, user: Me, ctx: Ctx) -> Response:
    """Confirm a fix and close (refused with 409 while the hazard's signal is still active)."""
    visible(user, ctx.reads.hazard_jurisdiction(hazard_id), f"hazard {hazard_id}")
    await ctx.actions.close_hazard(hazard_id, user.actor, body.note, ctx.clock())
    return send({"id": hazard_id, "state": "closed"})
