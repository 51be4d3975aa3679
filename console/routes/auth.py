"""Logging in and out, who am I, what the console needs to know (codes, plans), and the live stream."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse

from alerts import RESOLUTIONS
from console.security import COOKIE, Ctx, Someone, send
from console.store.accounts import Principal
from console.store.reads import CHART_METRICS

router = APIRouter(tags=["auth"])


class Login(BaseModel):
    user: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=1000)]


def _me(user: Principal) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "role": user.role,
        "inspector_id": user.inspector_id,
        "jurisdiction_id": user.jurisdiction_id,
        "scope": None if user.scope is None else sorted(user.scope),
        "premises": sorted(user.premises),
    }


@router.post("/api/auth/login")
def login(body: Login, request: Request, ctx: Ctx) -> Response:
    """Start a web session: sets the ``fw_session`` cookie (HttpOnly, SameSite=Strict). After 5 failed
    logins of a user, or 20 from an address, within a minute: 429 with ``Retry-After``, the password
    unchecked."""
    address = request.client.host if request.client else None
    found = ctx.accounts.login(body.user, body.password, ctx.clock(), address)
    if found is None:
        raise HTTPException(401, "wrong user or password, or the user is disabled")
    token, user = found
    response = send(_me(user))
    response.set_cookie(
        COOKIE, token, max_age=int(ctx.accounts.session_hours * 3600), httponly=True, samesite="strict",
        secure=request.url.scheme == "https", path="/",
    )  # fmt: skip
    return response


@router.post("/api/auth/logout")
def logout(request: Request, ctx: Ctx) -> Response:
    token = request.cookies.get(COOKIE)
    if token:
        ctx.accounts.logout(token, ctx.clock())
    response = send({"logged_out": True})
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/api/me")
def me(user: Someone) -> Response:
    return send(_me(user))


@router.get("/api/meta")
def meta(user: Someone, ctx: Ctx) -> Response:
    """What the pages need to draw: resolution codes, action plans, acknowledge times per class."""
    classes = ctx.policy.alerts.classes
    return send({
        "resolutions": RESOLUTIONS,
        "action_plans": {cls: [step.model_dump() for step in steps] for cls, steps in ctx.policy.action_plans.items()},
        "ack_within_s": {cls: c.ack_within_s for cls, c in classes.items()},
        "chart_metrics": CHART_METRICS,
        "tile_url": ctx.tile_url,
    })  # fmt: skip


@router.get("/api/live")
async def live(user: Someone, ctx: Ctx) -> EventSourceResponse:
    """Server-sent events: ``change`` with the tables and premises that changed in your scope."""
    return EventSourceResponse(ctx.changes.stream(user), ping=0)


@router.get("/api/health", tags=["ops"])
def health(ctx: Ctx) -> Response:
    """For probes; no login needed, tells nothing but that the process answers and its database does."""
    ctx.reads.ping()
    return send({"status": "ok"})
