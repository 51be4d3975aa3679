"""Who is asking: the session cookie (browsers) or a bearer token (integrations), and what they may do.

- no credentials, or dead ones: 401 with ``WWW-Authenticate: Bearer``;
- a role that may not do this: 403;
- an inspector asking for something outside their jurisdiction, or a unit for something not of its
  premises: 404, as if it did not exist, so that ids from elsewhere tell nothing;
- a unit account on any route but the unit portal's, who am I, the live stream and evidence: 403.

The cookie is HttpOnly and SameSite=Strict (a page of another site cannot send it, which is the
console's defence against cross-site requests; every change is a JSON POST), and Secure when the
console is served over HTTPS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from fastapi import Depends, HTTPException, Request, Response

from alerts import Actions
from console.store.accounts import Accounts, Principal, Role
from console.store.city import City
from console.store.live import Changes
from console.store.reads import Reads
from core.addresses import MqttUrl
from core.policy import Policy
from supervision import DiscretionTable, Supervision

COOKIE = "fw_session"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Console:
    """What every route needs: people's actions, accounts, the read side, live changes."""

    actions: Actions
    supervision: Supervision
    accounts: Accounts
    reads: Reads
    city: City
    changes: Changes
    policy: Policy
    clock: Callable[[], datetime] = utc_now
    database_url: str = ""
    broker: MqttUrl | None = None
    """Where the centre's GB/T 26875.3 commands to UITDs are published; None: commands are off."""
    centre_address: bytes = bytes(6)
    tile_url: str | None = None
    """Map tiles (``{z}/{x}/{y}``) the browser draws under the map; None: none."""

    @property
    def discretion(self) -> DiscretionTable:
        """The discretion table enforcement cases follow (裁量基准)."""
        return self.supervision.table


def console_of(request: Request) -> Console:
    found: Console = request.app.state.console
    return found


Ctx = Annotated[Console, Depends(console_of)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer realm="firewarden"'})


def principal(request: Request, ctx: Ctx) -> Principal:
    """The caller, from ``Authorization: Bearer fwt_...`` or the session cookie; 401 otherwise."""
    now = ctx.clock()
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("the Authorization header must be 'Bearer <token>'")
        user = ctx.accounts.token_user(token.strip(), now)
        if user is None:
            raise _unauthorized("unknown, revoked or expired API token")
        return user
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        raise _unauthorized("log in first (POST /api/auth/login) or send an API token")
    user = ctx.accounts.session(cookie, now)
    if user is None:
        raise _unauthorized("the session has ended; log in again")
    return user


Someone = Annotated[Principal, Depends(principal)]
"""Any logged-in user, a unit account included: who am I, the live stream, evidence uploads."""


def staff(user: Someone) -> Principal:
    """Any user but a unit account, which may use the unit portal only (403 elsewhere)."""
    if user.role == "unit":
        raise HTTPException(403, "a unit account may use the unit portal (/api/unit/...) only")
    return user


Me = Annotated[Principal, Depends(staff)]


def allow(*roles: Role) -> Callable[..., Principal]:
    """A dependency that lets only ``roles`` through (403 for the others)."""

    def check(user: Someone) -> Principal:
        if user.role not in roles:
            raise HTTPException(403, f"a {user.role} may not do this; it needs the role {' or '.join(roles)}")
        return user

    return check


Operator = Annotated[Principal, Depends(allow("operator", "admin"))]
Admin = Annotated[Principal, Depends(allow("admin"))]
Unit = Annotated[Principal, Depends(allow("unit"))]
Supervisor = Annotated[Principal, Depends(allow("inspector", "admin"))]
"""Who makes enforcement decisions: inspectors (in their jurisdiction) and admins."""


def visible(user: Principal, jurisdiction_id: str | None, what: str) -> None:
    """404 unless ``user`` may see something in ``jurisdiction_id`` (None: it does not exist)."""
    if jurisdiction_id is None or not user.sees(jurisdiction_id):
        raise HTTPException(404, f"no {what}")


_encoder = msgspec.json.Encoder(decimal_format="number")


def send(data: Any, status_code: int = 200) -> Response:
    """JSON through msgspec: datetimes as RFC 3339, numerics as numbers, and fast on 10,000 rows
    (FastAPI's own encoder walks every value in Python)."""
    return Response(_encoder.encode(data), status_code=status_code, media_type="application/json")
