"""The HTTP API of alerts and the schedule: incidents, hazards, inspectors' task lists (JSON, CSV, iCalendar).

Served by ``firewarden up`` (uvicorn, in the same process as the alerts service, so an action's
feedback reaches scoring at once). OpenAPI docs at ``/docs``. Listens on 127.0.0.1 by default:
authentication and roles come with the console (issue 7); until then, do not expose it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from alerts.incidents import RESOLUTIONS
from alerts.inspections import as_csv, as_ical, end_of_day, record_result, task_list
from alerts.service import Alerts
from firewarden.errors import ActionError

DEFAULT_TZ = "Asia/Shanghai"


class Actor(BaseModel):
    actor: str = Field(min_length=1, max_length=200, description="who acts, e.g. operator:wang")


class Resolution(Actor):
    code: str = Field(description="one of " + ", ".join(RESOLUTIONS))
    note: str = Field(default="", max_length=4000)


class Note(Actor):
    note: str = Field(default="", max_length=4000)


class VisitResult(Actor):
    findings: list[Annotated[str, Field(min_length=1, max_length=1000)]] = Field(
        default_factory=list, description="each finding opens a hazard; empty: a clean visit"
    )


def _rows(alerts: Alerts, query: str, *args: Any) -> list[dict[str, Any]]:
    with alerts.desk.cursor() as cur:
        cur.execute(query, args)
        return cur.fetchall()


def create_app(alerts: Alerts) -> FastAPI:
    app = FastAPI(title="Firewarden", version="1", description="Alerts, hazards and inspection tasks.")

    @app.exception_handler(ActionError)
    async def _refused(request: Any, exc: ActionError) -> JSONResponse:
        status = 404 if str(exc).startswith("no ") else 409
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "decisions_handled": alerts.handled, "delivered": alerts.dispatcher.delivered}

    @app.get("/api/incidents")
    async def incidents(
        state: Literal["open", "acknowledged", "resolved", "unresolved"] = "unresolved",
        limit: Annotated[int, Query(ge=1, le=5000)] = 200,
    ) -> list[dict[str, Any]]:
        """The queue: most urgent class first, then oldest first."""
        where = "state <> 'resolved'" if state == "unresolved" else "state = %s"
        args: tuple[Any, ...] = () if state == "unresolved" else (state,)
        order = (
            "CASE class WHEN 'fire' THEN 1 WHEN 'alarm' THEN 2 WHEN 'hazard' THEN 3 WHEN 'supervisory' THEN 4 "
            "WHEN 'trouble' THEN 5 ELSE 6 END, opened_at"
        )
        return _rows(alerts, f"SELECT * FROM incidents WHERE {where} ORDER BY {order} LIMIT %s", *args, limit)

    @app.post("/api/incidents/{incident_id}/acknowledge")
    async def acknowledge(incident_id: int, body: Actor) -> dict[str, Any]:
        incident = await alerts.act(alerts.desk.acknowledge, incident_id, body.actor, datetime.now(UTC))
        return {"id": incident.id, "state": incident.state, "acknowledged_by": incident.acknowledged_by}

    @app.post("/api/incidents/{incident_id}/resolve")
    async def resolve(incident_id: int, body: Resolution) -> dict[str, Any]:
        await alerts.act(alerts.desk.resolve, incident_id, body.actor, body.code, body.note, datetime.now(UTC))
        return {"id": incident_id, "state": "resolved", "code": body.code}

    @app.get("/api/hazards")
    async def hazards(state: Literal["open", "recovered", "closed", "unclosed"] = "unclosed") -> list[dict[str, Any]]:
        where = "state <> 'closed'" if state == "unclosed" else "state = %s"
        args: tuple[Any, ...] = () if state == "unclosed" else (state,)
        return _rows(alerts, f"SELECT * FROM hazards WHERE {where} ORDER BY deadline LIMIT 5000", *args)

    @app.post("/api/hazards/{hazard_id}/close")
    async def close_hazard(hazard_id: int, body: Note) -> dict[str, Any]:
        await alerts.act(alerts.desk.close_hazard, hazard_id, body.actor, body.note, datetime.now(UTC))
        return {"id": hazard_id, "state": "closed"}

    @app.get("/api/tasks", response_model=None)
    async def tasks(
        inspector: str,
        day: date | None = None,
        tz: str = DEFAULT_TZ,
        format: Literal["json", "csv", "ics"] = "json",
    ) -> list[dict[str, Any]] | Response:
        """An inspector's open tasks due by the end of ``day`` (today in ``tz``), red first, each with its reason."""
        try:
            zone = ZoneInfo(tz)
        except (KeyError, ValueError):
            raise HTTPException(422, f"unknown time zone {tz!r}") from None
        today = day or datetime.now(zone).date()
        items = task_list(alerts.desk, inspector, end_of_day(today, zone))
        if format == "csv":
            return Response(as_csv(items), media_type="text/csv; charset=utf-8")
        if format == "ics":
            return Response(as_ical(items, inspector), media_type="text/calendar; charset=utf-8")
        return [i.as_json() for i in items]

    @app.post("/api/tasks/{task_id}/result")
    async def task_result(task_id: int, body: VisitResult) -> dict[str, Any]:
        """Record a visit: findings open hazards; a hazard task with no findings confirms the fix."""
        await alerts.act(record_result, alerts.desk, task_id, body.actor, body.findings, datetime.now(UTC))
        return {"id": task_id, "state": "done", "findings": len(body.findings)}

    @app.get("/api/summary")
    async def summary() -> dict[str, Any]:
        """Counts for a glance: open incidents by class, tiers, open hazards, deliveries by state."""
        since = datetime.now(UTC) - timedelta(days=1)
        by_class = _rows(alerts, "SELECT class, count(*) AS n FROM incidents WHERE state <> 'resolved' GROUP BY 1")
        tiers = _rows(alerts, "SELECT tier, count(*) AS n FROM premises_schedule GROUP BY 1")
        hazards = _rows(alerts, "SELECT count(*) AS n FROM hazards WHERE state <> 'closed'")
        sent = _rows(alerts, "SELECT state, count(*) AS n FROM deliveries WHERE created_at > %s GROUP BY 1", since)
        return {
            "incidents": {r["class"]: r["n"] for r in by_class},
            "tiers": {r["tier"]: r["n"] for r in tiers},
            "open_hazards": hazards[0]["n"],
            "deliveries_24h": {r["state"]: r["n"] for r in sent},
        }

    return app
