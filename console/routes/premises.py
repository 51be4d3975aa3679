"""Premises and the city: profiles, devices, readings and risk; the overview map, devices offline, KPIs."""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from console.security import Ctx, Me, Operator, send, visible
from core import uitd

router = APIRouter(tags=["premises"])

Tier = Literal["red", "orange", "yellow", "blue"]


@router.get("/api/premises")
def premises_list(
    user: Me,
    ctx: Ctx,
    search: Annotated[str | None, Query(max_length=200)] = None,
    tier: Tier | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Premises in your scope, riskiest first; ``search`` matches id, name or address."""
    return send(ctx.reads.premises_list(user.scope, search=search, tier=tier, limit=limit, offset=offset))


@router.get("/api/premises/{premises_id}")
def premises(premises_id: str, user: Me, ctx: Ctx) -> Response:
    """Profile, current tier with its top factors, devices with their state (``alarm``, ``offline``,
    ``disabled``, ``trouble``, ``supervisory``, ``over_limit``, ``hazard``, ``ok``, ``silent``), the
    alarm that puts one in alarm, the values beyond a limit (``over``) and active signals, open hazards
    and tasks."""
    found = ctx.reads.premises(user.scope, premises_id, ctx.policy)
    if found is None:
        raise HTTPException(404, f"no premises {premises_id}")
    return send(found)


@router.get("/api/premises/{premises_id}/readings")
def readings(premises_id: str, user: Me, ctx: Ctx, hours: Annotated[float, Query(gt=0, le=24 * 31)] = 24.0) -> Response:
    """Chart series (pressure, residual current, temperatures, tank level), averaged per time bucket."""
    visible(user, ctx.reads.premises_jurisdiction(premises_id), f"premises {premises_id}")
    return send(ctx.reads.readings(premises_id, ctx.clock(), hours=hours))


@router.get("/api/premises/{premises_id}/risk")
def risk(premises_id: str, user: Me, ctx: Ctx, days: Annotated[float, Query(gt=0, le=3660)] = 30.0) -> Response:
    """Risk score and tier over time."""
    visible(user, ctx.reads.premises_jurisdiction(premises_id), f"premises {premises_id}")
    return send(ctx.reads.risk_history(premises_id, ctx.clock(), days=days))


@router.get("/api/overview")
def overview(user: Me, ctx: Ctx) -> Response:
    """Tier counts, open incidents by class, devices offline, and every premises for the map."""
    return send(ctx.city.overview(user.scope))


class CommandBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer_minutes: Annotated[int, Field(ge=1, le=255)] = 10


@router.post("/api/devices/{device_id}/gb26875/{command}")
def uitd_command(
    device_id: str,
    command: Literal["duty-check", "sync-clock"],
    user: Operator,
    ctx: Ctx,
    body: CommandBody | None = None,
) -> Response:
    """Send a GB/T 26875.3 command to a UITD: ``duty-check`` (查岗; ``{"answer_minutes": 10}``) or
    ``sync-clock``. Recorded, audited and published on its downlink; 503 when the console has no broker,
    409 for a device that is not a UITD, 502 when the broker did not take it."""
    visible(user, ctx.reads.device_jurisdiction(device_id), f"device {device_id}")
    options = body or CommandBody()
    if ctx.broker is None:
        raise HTTPException(503, "this console has no MQTT broker (FIREWARDEN_MQTT_URL) to send commands through")
    sent = uitd.send_command(
        ctx.database_url,
        ctx.broker,
        device_id,
        "duty_check" if command == "duty-check" else "sync_clock",
        actor=user.actor,
        now=ctx.clock(),
        centre=ctx.centre_address,
        answer_minutes=options.answer_minutes,
    )
    return send(sent)


@router.get("/api/devices/{device_id}/gb26875/commands")
def uitd_commands(device_id: str, user: Me, ctx: Ctx, limit: Annotated[int, Query(ge=1, le=500)] = 20) -> Response:
    """The commands sent to a UITD, newest first, with what it answered (confirmed, denied, answered)."""
    visible(user, ctx.reads.device_jurisdiction(device_id), f"device {device_id}")
    return send(uitd.commands(ctx.database_url, device_id, limit))


@router.get("/api/devices/offline")
def offline(user: Me, ctx: Ctx, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> Response:
    return send(ctx.city.offline_devices(user.scope, limit=limit))


@router.get("/api/notices")
def notices(user: Me, ctx: Ctx, limit: Annotated[int, Query(ge=1, le=5000)] = 200) -> Response:
    """Warning notices in your scope, newest first (``label`` renders them per language)."""
    return send(ctx.city.notices(user.scope, limit=limit))


@router.get("/api/draws")
def draws(user: Me, ctx: Ctx, limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> Response:
    """Random draws in your scope, newest first: period, premises, inspectors drawn, seed, done."""
    return send(ctx.city.draws(user.scope, limit=limit))


@router.get("/api/kpis/trend")
def kpi_trend(
    user: Me, ctx: Ctx, days: Annotated[float, Query(gt=0, le=366)] = 30.0, tz: str = "Asia/Shanghai"
) -> Response:
    """Per day of the last ``days`` (in ``tz``), every day present, oldest first: incidents, alarms,
    fires, false alarms, median time to acknowledge (s)."""
    try:
        ZoneInfo(tz)
    except (KeyError, ValueError):
        raise HTTPException(422, f"unknown time zone {tz!r}") from None
    return send(ctx.city.kpi_trend(user.scope, ctx.clock(), days=days, tz=tz))


@router.get("/api/kpis")
def kpis(user: Me, ctx: Ctx, days: Annotated[float, Query(gt=0, le=366)] = 30.0) -> Response:
    """Time to acknowledge, false-alarm share, hazards, by jurisdiction."""
    return send(ctx.city.kpis(user.scope, ctx.clock(), days=days))
