"""The audit log (operators and admins), users and API tokens (admins)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, Field

from console.security import Admin, Ctx, Operator, send
from report import ReportError

router = APIRouter(tags=["admin"])


class NewUser(BaseModel):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: Literal["operator", "inspector", "admin", "unit"]
    password: Annotated[str | None, Field(max_length=1000)] = None
    inspector_id: str | None = None
    jurisdiction_id: str | None = None
    premises: Annotated[list[str], Field(max_length=1000, description="a unit's premises (role unit only)")] = []


class NewPassword(BaseModel):
    password: Annotated[str, Field(max_length=1000)]


class NewToken(BaseModel):
    user: str
    name: Annotated[str, Field(min_length=1, max_length=200)]
    days: Annotated[float | None, Field(gt=0, le=3660)] = None


@router.get("/api/audit")
def audit(
    user: Operator,
    ctx: Ctx,
    subject: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    before: int | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> Response:
    """Who did what, newest first. ``subject`` exact (``incident:12``) or a prefix ending in ``:``;
    ``action`` a prefix (``incident.``); ``before`` an id, for the next page."""
    return send(ctx.city.audit(subject=subject, actor=actor, action=action, before_id=before, limit=limit))


@router.get("/api/summary")
def summary(user: Operator, ctx: Ctx) -> Response:
    """Counts for a glance: open incidents by class, tiers, open hazards, deliveries by state (24 h)."""
    return send(ctx.reads.summary(ctx.clock()))


@router.get("/api/users")
def users(user: Admin, ctx: Ctx) -> Response:
    return send(ctx.accounts.users())


@router.post("/api/users", status_code=201)
def add_user(body: NewUser, user: Admin, ctx: Ctx) -> Response:
    made = ctx.accounts.add_user(
        body.id, body.name, body.role, ctx.clock(), password=body.password, inspector_id=body.inspector_id,
        jurisdiction_id=body.jurisdiction_id, premises=tuple(body.premises), actor=user.actor,
    )  # fmt: skip
    return send({"id": made.id, "role": made.role, "jurisdiction_id": made.jurisdiction_id,
                 "premises": sorted(made.premises)}, status_code=201)  # fmt: skip


@router.post("/api/users/{user_id}/password")
def set_password(user_id: str, body: NewPassword, user: Admin, ctx: Ctx) -> Response:
    ctx.accounts.set_password(user_id, body.password, ctx.clock(), actor=user.actor)
    return send({"id": user_id, "password": "set", "sessions": "ended"})


@router.post("/api/users/{user_id}/{change}")
def set_disabled(user_id: str, change: Literal["disable", "enable"], user: Admin, ctx: Ctx) -> Response:
    ctx.accounts.set_disabled(user_id, change == "disable", ctx.clock(), actor=user.actor)
    return send({"id": user_id, "disabled": change == "disable"})


@router.get("/api/tokens")
def tokens(user: Admin, ctx: Ctx) -> Response:
    return send(ctx.accounts.tokens())


@router.post("/api/tokens", status_code=201)
def add_token(body: NewToken, user: Admin, ctx: Ctx) -> Response:
    """A bearer token acting as ``user``; its text is in this answer only."""
    token = ctx.accounts.add_token(body.user, body.name, ctx.clock(), body.days, actor=user.actor)
    return send({"user": body.user, "name": body.name, "token": token}, status_code=201)


@router.post("/api/tokens/{token_id}/revoke")
def revoke_token(token_id: int, user: Admin, ctx: Ctx) -> Response:
    ctx.accounts.revoke_token(token_id, ctx.clock(), actor=user.actor)
    return send({"id": token_id, "revoked": True})


@router.get("/api/report")
def supervision_report(
    user: Admin,
    ctx: Ctx,
    period: Annotated[str, Query(description="2026, 2026-Q3, 2026-11 or 2026-01-01..2026-06-30")],
    jurisdiction: str | None = None,
    lang: Literal["zh", "en"] = "zh",
    format: Literal["html", "pdf"] = "html",
    timezone: str = "Asia/Shanghai",
) -> Response:
    """The supervision report (as ``firewarden report`` writes it) of a period and a jurisdiction with
    its sub-jurisdictions (unset: all), in Chinese or English, as a page or a PDF download."""
    from report import PeriodError, Report, parse_period
    from report import timezone as zone

    try:
        chosen = parse_period(period, zone(timezone))
    except PeriodError as error:
        raise HTTPException(422, str(error)) from None
    try:
        figures = ctx.city.report(chosen, jurisdiction, ctx.clock())
    except ReportError as error:
        raise HTTPException(404, str(error)) from None
    report = Report(figures, lang)
    if format == "html":
        return Response(report.html(), media_type="text/html; charset=utf-8")
    name = f"report-{jurisdiction or 'all'}-{period.replace('..', '_')}-{lang}.pdf"
    return Response(
        report.pdf(), media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
