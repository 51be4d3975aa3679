"""The operators' queue: incidents, acknowledging and resolving them with the action plan's notes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, Field

from alerts import RESOLUTIONS
from console.security import Ctx, Me, Operator, send, visible
from core.policy import IncidentClass

router = APIRouter(tags=["incidents"])

Note = Annotated[str, Field(max_length=4000)]


class Resolution(BaseModel):
    code: str = Field(description="one of " + ", ".join(RESOLUTIONS))
    note: Note = ""
    steps: dict[str, Note] = Field(
        default_factory=dict, description="action-plan step id -> what was done; required for steps marked so"
    )


@router.get("/api/incidents")
def incidents(
    user: Me,
    ctx: Ctx,
    state: Literal["open", "acknowledged", "resolved", "unresolved"] = "unresolved",
    cls: Annotated[IncidentClass | None, Query(alias="class")] = None,
    premises: str | None = None,
    jurisdiction: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> Response:
    """The queue: confirmed fires first, then by class, oldest first. Inspectors see their jurisdiction."""
    return send(ctx.reads.incidents(user.scope, state=state, cls=cls, premises_id=premises,
                                   jurisdiction_id=jurisdiction, limit=limit))  # fmt: skip


@router.get("/api/incidents/{incident_id}")
def incident(incident_id: int, user: Me, ctx: Ctx) -> Response:
    """One incident with its audit trail and deliveries."""
    visible(user, ctx.reads.incident_jurisdiction(incident_id), f"incident {incident_id}")
    row = ctx.reads.incident(incident_id)
    if row is None:
        raise HTTPException(404, f"no incident {incident_id}")
    return send(row | {"audit": ctx.city.audit(subject=f"incident:{incident_id}", limit=500)})


@router.post("/api/incidents/{incident_id}/acknowledge")
async def acknowledge(incident_id: int, user: Operator, ctx: Ctx) -> Response:
    """Someone is on it: stops escalation and reminders."""
    visible(user, ctx.reads.incident_jurisdiction(incident_id), f"incident {incident_id}")
    done = await ctx.actions.acknowledge(incident_id, user.actor, ctx.clock())
    return send({"id": done.id, "state": done.state, "acknowledged_by": done.acknowledged_by})


@router.post("/api/incidents/{incident_id}/resolve")
async def resolve(incident_id: int, body: Resolution, user: Operator, ctx: Ctx) -> Response:
    """Close with a resolution code, a note, and a note for every action-plan step that requires one (422
    naming the missing steps otherwise)."""
    visible(user, ctx.reads.incident_jurisdiction(incident_id), f"incident {incident_id}")
    cls = ctx.reads.incident_class(incident_id)
    if cls is None:
        raise HTTPException(404, f"no incident {incident_id}")
    plan = ctx.policy.action_plans[cls]
    known = {step.id for step in plan}
    unknown = sorted(set(body.steps) - known)
    if unknown:
        raise HTTPException(422, f"unknown steps {unknown} for a {cls} incident; its steps are {sorted(known)}")
    missing = [s.id for s in plan if s.note_required and not body.steps.get(s.id, "").strip()]
    if missing:
        raise HTTPException(422, f"the {cls} action plan needs a note for: {', '.join(missing)}")
    steps = {k: v.strip() for k, v in body.steps.items() if v.strip()}
    await ctx.actions.resolve(incident_id, user.actor, body.code, body.note, ctx.clock(), steps)
    return send({"id": incident_id, "state": "resolved", "code": body.code})
