"""Supervision routes: inspection checklists (alerts/checklists.py: the set in use, an admin's new version,
a task's checklist), the published random draw (alerts/store/draws.py) and evidence files (alerts/store/evidence.py)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from alerts import checklists
from alerts.errors import EvidenceError
from alerts.store import evidence
from alerts.store.draws import as_csv, publication, run_draw, seed_of, verify
from console.security import Admin, Ctx, Me, Someone, send

router = APIRouter(tags=["checklists"])


def _version(version: checklists.Version) -> dict[str, Any]:
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
    with ctx.actions.desk.cursor() as cur:
        return send(_version(checklists.current(cur, ctx.clock())))


@router.put("/api/checklists")
def replace(user: Admin, ctx: Ctx, document: dict[str, Any] = Body(...)) -> Response:  # noqa: B008
    """A new version of the whole set, in use from now on (past visits keep theirs). 422 names every
    problem and where it is."""
    parsed = checklists.parse(document, "the checklists")
    with ctx.actions.desk.cursor() as cur:
        number = checklists.install(cur, parsed, user.actor, ctx.clock())
        return send(_version(checklists.current(cur, ctx.clock())) | {"version": number})


@router.get("/api/tasks/{task_id}/checklist")
def task_checklist(task_id: int, user: Me, ctx: Ctx) -> Response:
    """The items of the checklist in use for the task's premises category, each with its result if the
    visit is recorded (``result``, ``note``, ``hazard_id``, and the version it was recorded against)."""
    owner = ctx.city.task_owner(task_id)
    if owner is None or not user.sees(owner[1]) or (user.role == "inspector" and owner[0] != user.inspector_id):
        raise HTTPException(404, f"no task {task_id}")
    with ctx.actions.desk.cursor() as cur:
        version = checklists.current(cur, ctx.clock())
        cur.execute(
            "SELECT t.id, t.kind, t.state, p.id AS premises_id, p.category FROM tasks t "
            "JOIN premises p ON p.id = t.premises_id WHERE t.id = %s",
            (task_id,),
        )
        task = cur.fetchone()
        assert task is not None
        cur.execute("SELECT * FROM task_checks WHERE task_id = %s ORDER BY item_id", (task_id,))
        recorded = {r["item_id"]: r for r in cur.fetchall()}
    items = [i.model_dump(mode="json") for i in version.checklists.for_category(task["category"])]
    return send({
        "task": task,
        "version": version.number,
        "severities": version.checklists.model_dump(mode="json")["severities"],
        "items": items if task["kind"] != "hazard" else [],
        "recorded": list(recorded.values()),
    })  # fmt: skip


class NewDraw(BaseModel):
    period: Annotated[str, Field(pattern=r"^[0-9A-Za-z_-]{1,32}$", description="e.g. 2026-12")]
    beacon: Annotated[str, Field(min_length=1, max_length=200, description="the value published before the draw")]


@router.post("/api/draws")
async def new_draw(body: NewDraw, user: Admin, ctx: Ctx) -> Response:
    """The period's random draw from a value published before it (its seed is derived from period and
    beacon, so anyone can check it); 409 when the period was drawn already."""
    drawn = await asyncio.to_thread(run_draw, ctx.actions.desk, body.period, None, ctx.clock(), user.actor,
                                    body.beacon)  # fmt: skip
    return send({"period": body.period, "beacon": body.beacon, "seed": seed_of(body.period, body.beacon),
                 "drawn": [{"premises_id": p, "inspectors": list(i)} for p, i in drawn]})  # fmt: skip


@router.get("/api/draws/{period}/verify")
def verify_draw(period: str, user: Me, ctx: Ctx) -> Response:
    """Draw the period again from its recorded inputs: ``seed_matches`` (the seed is the one its period
    and beacon give), ``result_matches`` (the same premises and inspectors), ``intact`` (both)."""
    with ctx.actions.desk.cursor() as cur:
        verdict = verify(cur, period)
    return send(asdict(verdict) | {"intact": verdict.intact})


@router.get("/api/draws/{period}/publication", response_model=None)
def publish_draw(period: str, user: Me, ctx: Ctx, format: Literal["json", "csv"] = "json") -> Response:
    """What is published of the draw (一公开): premises, unit, inspectors by name, seed, beacon, outcome."""
    with ctx.actions.desk.cursor() as cur:
        rows = publication(cur, period)
    if not rows:
        raise HTTPException(404, f"no draw for period {period}")
    if format == "csv":
        return Response(as_csv(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="draw-{period}.csv"'})  # fmt: skip
    return send(rows)


@router.post("/api/evidence", status_code=201)
async def upload_evidence(request: Request, user: Someone, ctx: Ctx) -> Response:
    """A photo or document as the request body (``Content-Type: image/jpeg``, ``image/png`` or
    ``application/pdf``, at most 10 MiB): ``sha256``, ``media_type``, ``size``. 413 when larger, 415
    when it is not one of those or not the type it was sent as. The same content is stored once."""
    declared_length = int(request.headers.get("content-length") or 0)
    if declared_length > evidence.MAX_BYTES:
        raise HTTPException(413, f"the file has {declared_length:,} bytes; evidence is at most {evidence.MAX_BYTES:,}")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > evidence.MAX_BYTES:
            raise HTTPException(413, f"the file is larger than {evidence.MAX_BYTES:,} bytes")

    def keep() -> evidence.Stored:
        with ctx.actions.desk.cursor() as cur:
            return evidence.store(cur, bytes(data), request.headers.get("content-type"), user.actor, ctx.clock())

    try:
        stored = await asyncio.to_thread(keep)
    except EvidenceError as error:
        raise HTTPException(error.status, str(error)) from None
    return JSONResponse(asdict(stored), status_code=201)


@router.get("/api/evidence/{sha256}", response_model=None)
def get_evidence(sha256: str, user: Someone, ctx: Ctx) -> Response:
    """The stored file, with its media type. A unit gets only files it uploaded or its rectification
    reports name."""
    with ctx.actions.desk.cursor() as cur:
        cur.execute(
            "SELECT media_type, content FROM evidence e WHERE sha256 = %s AND (%s OR EXISTS "
            "(SELECT 1 FROM evidence_holders h WHERE h.sha256 = e.sha256 AND h.actor = %s) OR EXISTS "
            "(SELECT 1 FROM rectifications r WHERE e.sha256 = ANY(r.evidence) AND r.premises_id = ANY(%s)))",
            (sha256, user.role != "unit", user.actor, sorted(user.premises)),
        )
        row = cur.fetchone()
    if row is None:
        raise HTTPException(404, f"no evidence {sha256}")
    return Response(bytes(row["content"]), media_type=row["media_type"],
                    headers={"Cache-Control": "private, max-age=86400"})  # fmt: skip
