"""The console: its HTTP API (OpenAPI at ``/docs``) and the web pages that use it.

Served by ``firewarden console`` (any number of them behind a load balancer: they keep no state of
their own) or inside ``firewarden up``. People's actions go through :class:`alerts.actions.Actions`:
database transactions whose feedback reaches scoring on the bus and whose deliveries the alerts
processes send. Every ``/api`` route but ``/api/health`` and
``/api/auth/login`` needs a session or an API token (:mod:`console.security`); the pages themselves
are static files that hold no data and send a visitor without a session to ``/login``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from alerts import ActionError, Actions, ChecklistError
from console.errors import AccountError, Throttled
from console.routes import admin, auth, cases, field, premises, queue, supervision, unit
from console.security import Console
from console.store.accounts import Accounts
from console.store.city import City
from console.store.live import Changes
from console.store.reads import Reads
from core.addresses import MqttUrl
from core.errors import CommandError, DatabaseError
from core.policy import Policy
from core.words import vocabulary
from supervision import DiscretionTable, Supervision, shipped_discretion

WEB = Path(__file__).resolve().parent / "web"


def build_console(
    actions: Actions,
    policy: Policy,
    database_url: str,
    session_hours: float = 12.0,
    *,
    broker: MqttUrl | None = None,
    centre_address: bytes = bytes(6),
    tile_url: str | None = None,
    discretion: DiscretionTable | None = None,
) -> Console:
    """The console over the actions' pool; its live feed listens on its own connection. ``broker``:
    where commands to UITDs go (None: the console cannot send them)."""
    return Console(
        actions=actions,
        supervision=Supervision(actions, discretion or shipped_discretion()),
        accounts=Accounts(actions.pool, session_hours=session_hours),
        reads=Reads(actions.pool),
        city=City(actions.pool),
        changes=Changes(database_url),
        policy=policy,
        database_url=database_url,
        broker=broker,
        centre_address=centre_address,
        tile_url=tile_url,
    )


def create_app(console: Console) -> FastAPI:
    # The API reference is served from the package (Swagger UI vendored in web/vendor), never from a CDN:
    # a monitoring centre's network may have no way out.
    app = FastAPI(
        docs_url=None,
        redoc_url=None,
        title="Firewarden console",
        version="1",
        description="Incidents, premises and risk, hazards, inspection tasks, KPIs and the audit log. "
        "Authenticate with the session cookie (POST /api/auth/login) or `Authorization: Bearer <token>`.",
    )
    app.state.console = console

    @app.exception_handler(ActionError)
    async def _refused(request: Request, exc: ActionError) -> JSONResponse:
        status = 404 if str(exc).startswith("no ") else 409
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(ChecklistError)
    async def _checklist(request: Request, exc: ChecklistError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(AccountError)
    async def _account(request: Request, exc: AccountError) -> JSONResponse:
        text = str(exc)
        status = 404 if text.startswith("no ") else 409 if "already exists" in text else 422
        return JSONResponse({"detail": text}, status_code=status)

    @app.exception_handler(CommandError)
    async def _command(request: Request, exc: CommandError) -> JSONResponse:
        text = str(exc)
        status = 404 if text.startswith("unknown device") else 409 if "commands go to a uitd" in text else 502
        return JSONResponse({"detail": text}, status_code=status)

    @app.exception_handler(Throttled)
    async def _throttled(request: Request, exc: Throttled) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": str(exc.retry_after_s)})

    @app.exception_handler(DatabaseError)
    async def _database(request: Request, exc: DatabaseError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    for module in (auth, queue, premises, field, supervision, cases, unit, admin):
        app.include_router(module.router)

    def page(name: str) -> Any:
        async def serve() -> FileResponse:
            return FileResponse(WEB / name, headers={"Cache-Control": "no-cache"})

        return serve

    @app.get("/docs", include_in_schema=False)
    async def api_reference() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Firewarden console API",
            swagger_js_url="/static/vendor/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui.css",
            swagger_favicon_url="/static/vendor/swagger-favicon.png",
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/static/vocabulary.json", include_in_schema=False)
    async def vocabulary_file() -> JSONResponse:
        return JSONResponse(vocabulary(), headers={"Cache-Control": "no-cache"})

    app.get("/", include_in_schema=False)(page("index.html"))
    app.get("/login", include_in_schema=False)(page("login.html"))
    app.mount("/static", StaticFiles(directory=WEB), name="static")
    return app
