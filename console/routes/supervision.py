"""Supervision routes: inspection checklists (alerts/checklists.py: the set in use, an admin's new version,
a task's checklist), the published random draw and evidence files, all through :class:`alerts.Actions`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from alerts import EVIDENCE_MAX_BYTES, EvidenceError, Version, draw_as_csv, parse_checklists, seed_of
from console.security import Admin, Ctx, Me, Someone, send

router = APIRouter(tags=["checklists"])


def _version(version: Version) -> dict[str, Any]:
    return {
        "version": version.number,
        "created_at": version.created_at,
        "created_by": version.created_by,
        "checklists": version.checklists.model_dump(mode="json"),
    }


@router.get("/api/checklists")
def current(user: Me, ctx: Ctx) -> Response:
    """The checklists in use: version, who made it and when, and the set (format
    ``firewarden-checklists/1``: severities with their deadlines, sources, items)."""
    return send(_version(ctx.actions.checklists_in_use(ctx.clock())))


@router.put("/api/checklists")
def replace(user: Admin, ctx: Ctx, document: dict[str, Any] = Body(...)) -> Response:  # noqa: B008
    """A new version of the whole set, in use from now on (past visits keep theirs). 422 names every
    problem and where it is."""
    parsed = parse_checklists(document, "the checklists")
    return send(_version(ctx.actions.install_checklists(parsed, user.actor, ctx.clock())))


@router.get("/api/tasks/{task_id}/checklist")
def task_checklist(task_id: int, user: Me, ctx: Ctx) -> Response:
    """The items of the checklist in use for the task's premises category, each with its result if the
    visit is recorded (``result``, ``note``, ``hazard_id``, and the version it was recorded against)."""
    owner = ctx.reads.task_owner(task_id)
    if owner is None or not user.sees(owner[1]) or (user.role == "inspector" and owner[0] != user.inspector_id):
        raise HTTPException(404, f"no task {task_id}")
    found = ctx.actions.task_checklist(task_id, ctx.clock())
    return send(asdict(found))


class NewDraw(BaseModel):
    period: Annotated[str, Field(pattern=r"^[0-9A-Za-z_-]{1,32}$", description="e.g. 2026-12")]
    beacon: Annotated[str, Field(min_length=1, max_length=200, description="the value published before the draw")]


@router.post("/api/draws")
async def new_draw(body: NewDraw, user: Admin, ctx: Ctx) -> Response:
    """The period's random draw from a value published before it (its seed is derived from period and
    beacon, so anyone can check it); 409 when the period was drawn already."""
    drawn = await ctx.actions.run_draw(body.period, ctx.clock(), user.actor, beacon=body.beacon)
    return send({"period": body.period, "beacon": body.beacon, "seed": seed_of(body.period, body.beacon),
                 "drawn": [{"premises_id": p, "inspectors": list(i)} for p, i in drawn]})  # fmt: skip


@router.get("/api/draws/{period}/verify")
def verify_draw(period: str, user: Me, ctx: Ctx) -> Response:
    """Draw the period again from its recorded inputs: ``seed_matches`` (the seed is the one its period
    and beacon give), ``result_matches`` (the same premises and inspectors), ``intact`` (both)."""
    verdict = ctx.actions.verify_draw(period)
    return send(asdict(verdict) | {"intact": verdict.intact})


@router.get("/api/draws/{period}/publication", response_model=None)
def publish_draw(period: str, user: Me, ctx: Ctx, format: Literal["json", "csv"] = "json") -> Response:
    """What is published of the draw (一公开): premises, unit, inspectors by name, seed, beacon, outcome."""
    rows = ctx.actions.draw_publication(period)
    if not rows:
        raise HTTPException(404, f"no draw for period {period}")
    if format == "csv":
        return Response(draw_as_csv(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="draw-{period}.csv"'})  # fmt: skip
    return send(rows)


@router.post("/api/evidence", status_code=201)
async def upload_evidence(request: Request, user: Someone, ctx: Ctx) -> Response:
    """A photo or document as the request body (``Content-Type: image/jpeg``, ``image/png`` or
    ``application/pdf``, at most 10 MiB): ``sha256``, ``media_type``, ``size``. 413 when larger, 415
    when it is not one of those or not the type it was sent as. The same content is stored once."""
    declared_length = int(request.headers.get("content-length") or 0)
    if declared_length > EVIDENCE_MAX_BYTES:
        raise HTTPException(413, f"the file has {declared_length:,} bytes; evidence is at most {EVIDENCE_MAX_BYTES:,}")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > EVIDENCE_MAX_BYTES:
            raise HTTPException(413, f"the file is larger than {EVIDENCE_MAX_BYTES:,} bytes")
    try:
        stored = await ctx.actions.keep_evidence(bytes(data), request.headers.get("content-type"), user.actor,
                                                 ctx.clock())  # fmt: skip
    except EvidenceError as error:
        raise HTTPException(error.status, str(error)) from None
    return JSONResponse(asdict(stored), status_code=201)


@router.get("/api/evidence/{sha256}", response_model=None)
def get_evidence(sha256: str, user: Someone, ctx: Ctx) -> Response:
    """The stored file, with its media type. A unit gets only files it uploaded or its rectification
    reports name."""
    found = ctx.actions.evidence_file(sha256, everyone=user.role != "unit", actor=user.actor,
                                      premises=sorted(user.premises))  # fmt: skip
    if found is None:
        raise HTTPException(404, f"no evidence {sha256}")
    return Response(found.content, media_type=found.media_type,
                    headers={"Cache-Control": "private, max-age=86400"})  # fmt: skip
