"""Premises and the city: profiles, devices, readings and risk; the overview map, devices offline, KPIs."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response

from console.security import Ctx, Me, send, visible

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
    return send(ctx.city.premises_list(user.scope, search=search, tier=tier, limit=limit, offset=offset))


@router.get("/api/premises/{premises_id}")
def premises(premises_id: str, user: Me, ctx: Ctx) -> Response:
    """Profile, current tier with its top factors, devices with their state, open hazards and tasks."""
    found = ctx.city.premises(user.scope, premises_id)
    if found is None:
        raise HTTPException(404, f"no premises {premises_id}")
    return send(found)


@router.get("/api/premises/{premises_id}/readings")
def readings(premises_id: str, user: Me, ctx: Ctx, hours: Annotated[float, Query(gt=0, le=24 * 31)] = 24.0) -> Response:
    """Chart series (pressure, residual current, temperatures, tank level), averaged per time bucket."""
    visible(user, ctx.city.premises_jurisdiction(premises_id), f"premises {premises_id}")
    return send(ctx.city.readings(premises_id, ctx.clock(), hours=hours))


@router.get("/api/premises/{premises_id}/risk")
def risk(premises_id: str, user: Me, ctx: Ctx, days: Annotated[float, Query(gt=0, le=3660)] = 30.0) -> Response:
    """Risk score and tier over time."""
    visible(user, ctx.city.premises_jurisdiction(premises_id), f"premises {premises_id}")
    return send(ctx.city.risk_history(premises_id, ctx.clock(), days=days))


@router.get("/api/overview")
def overview(user: Me, ctx: Ctx) -> Response:
    """Tier counts, open incidents by class, devices offline, and every premises for the map."""
    return send(ctx.city.overview(user.scope))


@router.get("/api/devices/offline")
def offline(user: Me, ctx: Ctx, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> Response:
    return send(ctx.city.offline_devices(user.scope, limit=limit))


@router.get("/api/kpis")
def kpis(user: Me, ctx: Ctx, days: Annotated[float, Query(gt=0, le=366)] = 30.0) -> Response:
    """Time to acknowledge, false-alarm share, hazards, by jurisdiction."""
    return send(ctx.city.kpis(user.scope, ctx.clock(), days=days))
