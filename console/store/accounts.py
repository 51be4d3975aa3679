"""Who may use the console: users with roles, web sessions and API tokens, kept in PostgreSQL.

Roles:
- ``operator``: the monitoring centre; sees every jurisdiction, acknowledges and resolves incidents;
- ``inspector``: sees only their jurisdiction and those below it; their task list, findings, hazards;
- ``admin``: everything an operator may, plus users and tokens;
- ``unit``: a responsible unit (社会单位): only its own premises, through the unit portal
  (``/api/unit/...``); it sees no jurisdiction and no other route.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommendation); a
hash made with older parameters is upgraded at the next login. Session and API tokens are 256-bit
random strings shown once; the database keeps their SHA-256 only, so a copy of the tables logs
nobody in. Every login, failed login and account change is written to the audit log.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypedDict, cast, get_args

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from console.errors import AccountError, Throttled
from core.db.audit import record as audit

Role = Literal["operator", "inspector", "admin", "unit"]
ROLES: tuple[Role, ...] = get_args(Role)
MIN_PASSWORD = 10
TOKEN_PREFIX = "fwt_"

_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong user id costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))

FAILURES_PER_USER = 5
"""Failed logins of one user within :data:`THROTTLE_WINDOW_S` after which its logins are refused unchecked."""
FAILURES_PER_ADDRESS = 20
"""The same from one client address (several users may share an office's address)."""
THROTTLE_WINDOW_S = 60

_SCOPE = """
WITH RECURSIVE scope(id) AS (
    SELECT %s::text WHERE %s::text IS NOT NULL
    UNION SELECT j.id FROM jurisdictions j JOIN scope ON j.parent_id = scope.id
) SELECT array_agg(id) AS ids FROM scope
"""


class UserRow(TypedDict):
    """A user as listed: who, what role, in which scope, whether a password logs them in."""

    id: str
    name: str
    role: str
    inspector_id: str | None
    jurisdiction_id: str | None
    premises_ids: list[str]
    disabled: bool
    created_at: datetime
    can_log_in: bool


class TokenRow(TypedDict):
    """An API token as listed (never its secret)."""

    id: int
    user_id: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Principal:
    """The user behind a request, with what they may see."""

    id: str
    name: str
    role: Role
    inspector_id: str | None
    jurisdiction_id: str | None
    scope: frozenset[str] | None
    """The jurisdictions an inspector sees; None: all of them (operators, admins)."""
    via: str = "session"
    """``session`` or ``token:<name>``."""
    premises: frozenset[str] = frozenset()
    """The premises a unit account answers for (empty for the other roles)."""

    @property
    def actor(self) -> str:
        """How the audit log names this user's actions, e.g. ``operator:wang``."""
        suffix = "" if self.via == "session" else f" ({self.via})"
        return f"{self.role}:{self.id}{suffix}"

    def sees(self, jurisdiction_id: str | None) -> bool:
        return self.scope is None or jurisdiction_id in self.scope


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class Accounts:
    """Users, sessions and tokens over one connection pool; ``now`` is always a parameter."""

    def __init__(self, pool: ConnectionPool, session_hours: float = 12.0) -> None:
        self.pool = pool
        self.session_hours = session_hours

    def _cursor(self, conn: psycopg.Connection[Any]) -> psycopg.Cursor[dict[str, Any]]:
        return conn.cursor(row_factory=dict_row)

    # ---- users -----------------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        role: str,
        now: datetime,
        *,
        password: str | None = None,
        inspector_id: str | None = None,
        jurisdiction_id: str | None = None,
        premises: tuple[str, ...] = (),
        actor: str = "admin:cli",
    ) -> Principal:
        """Make a user. An inspector names their registry inspector (whose jurisdiction they get) or a
        jurisdiction; raises AccountError for an unknown role, inspector or jurisdiction, a weak password
        or a taken id."""
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; valid roles are {', '.join(ROLES)}")
        if password is not None:
            check_password(password)
        with self.pool.connection() as conn, self._cursor(conn) as cur:
            if inspector_id is not None:
                cur.execute("SELECT jurisdiction_id FROM inspectors WHERE id = %s", (inspector_id,))
                row = cur.fetchone()
                if row is None:
                    raise AccountError(f"no inspector {inspector_id!r} in the registry")
                jurisdiction_id = jurisdiction_id or row["jurisdiction_id"]
            if role == "inspector" and jurisdiction_id is None:
                raise AccountError("an inspector user needs --inspector (a registry inspector) or --jurisdiction")
            if (role == "unit") != bool(premises):
                raise AccountError("a unit user needs --premises (the premises it answers for); only a unit has them")
            if premises:
                cur.execute("SELECT array_agg(id) AS ids FROM premises WHERE id = ANY(%s)", (list(premises),))
                found = set((cur.fetchone() or {}).get("ids") or ())
                if missing := sorted(set(premises) - found):
                    raise AccountError(f"no premises {', '.join(missing)} in the registry")
            if jurisdiction_id is not None:
                cur.execute("SELECT 1 FROM jurisdictions WHERE id = %s", (jurisdiction_id,))
                if cur.fetchone() is None:
                    raise AccountError(f"no jurisdiction {jurisdiction_id!r} in the registry")
            hashed = _hasher.hash(password) if password is not None else None
            try:
                cur.execute(
                    "INSERT INTO users (id, name, role, inspector_id, jurisdiction_id, password_hash, created_at, "
                    "premises_ids) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (user_id, name, role, inspector_id, jurisdiction_id, hashed, now, sorted(premises)),
                )
            except psycopg.errors.UniqueViolation:
                raise AccountError(f"user {user_id!r} already exists") from None
            except psycopg.errors.CheckViolation:
                raise AccountError(f"user id {user_id!r} must be 1-64 of letters, digits, _ . @ -") from None
            audit(cur, now, actor, "user.added", f"user:{user_id}", role=role, inspector=inspector_id,
                  jurisdiction=jurisdiction_id, premises=sorted(premises))  # fmt: skip
        return self.principal(user_id)

    def set_password(self, user_id: str, password: str, now: datetime, actor: str = "admin:cli") -> None:
        """Set a new password and end the user's sessions."""
        check_password(password)
        with self.pool.connection() as conn, self._cursor(conn) as cur:
            cur.execute("UPDATE users SET password_hash = %s WHERE id = %s", (_hasher.hash(password), user_id))
            if cur.rowcount == 0:
                raise AccountError(f"no user {user_id!r}")
            cur.execute("DELETE FROM sessions WHERE user_id = %s", (user_id,))
            audit(cur, now, actor, "user.password_set", f"user:{user_id}")

    def set_disabled(self, user_id: str, disabled: bool, now: datetime, actor: str = "admin:cli") -> None:
        """Disable (sessions ended, tokens refused) or enable a user."""
        with self.pool.connection() as conn, self._cursor(conn) as cur:
            cur.execute("UPDATE users SET disabled = %s WHERE id = %s", (disabled, user_id))
            if cur.rowcount == 0:
                raise AccountError(f"no user {user_id!r}")
            if disabled:
                cur.execute("DELETE FROM sessions WHERE user_id = %s", (user_id,))
            audit(cur, now, actor, "user.disabled" if disabled else "user.enabled", f"user:{user_id}")

    def users(self) -> list[UserRow]:
        with self.pool.connection() as conn, self._cursor(conn) as cur:
            cur.execute(
                "SELECT id, name, role, inspector_id, jurisdiction_id, premises_ids, disabled, created_at, "
                "password_hash IS NOT NULL AS can_log_in FROM users ORDER BY role, id"
            )
            return cast(list[UserRow], cur.fetchall())

    def principal(self, user_id: str, via: str = "session") -> Principal:
        with self.pool.connection() as conn, self._cursor(conn) as cur:
            cur.execute("SELECT * FROM users WHERE id = %s", (user_id,))
            row = cur.fetchone()
            if row is None:
                raise AccountError(f"no user {user_id!r}")
            return self._principal(cur, row, via)

    def _principal(self, cur: psycopg.Cursor[dict[str, Any]], row: dict[str, Any], via: str) -> Principal:
        scope = None
        if row["role"] == "inspector":
            cur.execute(_SCOPE, (row["jurisdiction_id"], row["jurisdiction_id"]))
            found = cur.fetchone()
            scope = frozenset((found or {}).get("ids") or ())
        if row["role"] == "unit":
            scope = frozenset()  # no jurisdiction: a unit sees its premises through the portal only
        return Principal(row["id"], row["name"], row["role"], row["inspector_id"], row["jurisdiction_id"], scope, via,
                         frozenset(row.get("premises_ids") or ()))  # fmt: skip

    # ---- sessions --------------------------------------------------------------------------------

    def login(
        self, user_id: str, password: str, now: datetime, address: str | None = None
    ) -> tuple[str, Principal] | None:
        """A new session token and its user, or None (unknown user, wrong password, disabled: one answer).

        Raises :class:`Throttled`, without looking at the password, after :data:`FAILURES_PER_USER`
        failed logins of the user or :data:`FAILURES_PER_ADDRESS` from ``address`` (the client's) within
        :data:`THROTTLE_WINDOW_S`; the refusal is audited (``auth.throttled``) and is no failure itself,
        so the window ends on time however often the client tries."""
        with self.pool.connection() as conn, self._cursor(conn) as cur:
            self._throttle(cur, user_id[:64], address, now)
            cur.execute("SELECT * FROM users WHERE id = %s", (user_id,))
            row = cur.fetchone()
            stored = row["password_hash"] if row is not None and row["password_hash"] else _DUMMY_HASH
            try:
                _hasher.verify(stored, password)
                good = row is not None and row["password_hash"] is not None and not row["disabled"]
            except (VerificationError, InvalidHashError):
                good = False
            if row is None or not good:
                audit(cur, now, f"user:{user_id[:64]}", "auth.failed", f"user:{user_id[:64]}", address=address)
                return None
            if _hasher.check_needs_rehash(stored):
                cur.execute("UPDATE users SET password_hash = %s WHERE id = %s", (_hasher.hash(password), user_id))
            token = secrets.token_urlsafe(32)
            expires = now + timedelta(hours=self.session_hours)
            cur.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (%s, %s, %s, %s)",
                (digest(token), user_id, now, expires),
            )
            cur.execute("DELETE FROM sessions WHERE user_id = %s AND expires_at < %s", (user_id, now))
            audit(cur, now, f"{row['role']}:{user_id}", "auth.login", f"user:{user_id}")
            return token, self._principal(cur, row, "session")

    def _throttle(self, cur: psycopg.Cursor[dict[str, Any]], user_id: str, address: str | None, now: datetime) -> None:
        since = now - timedelta(seconds=THROTTLE_WINDOW_S)
        cur.execute(
            "SELECT count(*) FILTER (WHERE subject = %(subject)s) AS by_user, "
            "min(at) FILTER (WHERE subject = %(subject)s) AS user_first, "
            "count(*) FILTER (WHERE details->>'address' = %(address)s) AS by_address, "
            "min(at) FILTER (WHERE details->>'address' = %(address)s) AS address_first "
            "FROM audit_log WHERE action = 'auth.failed' AND at > %(since)s",
            {"subject": f"user:{user_id}", "address": address, "since": since},
        )
        row = cur.fetchone()
        assert row is not None
        if row["by_user"] >= FAILURES_PER_USER:
            what, first = f"{row['by_user']} failed logins of user {user_id!r}", row["user_first"]
        elif address is not None and row["by_address"] >= FAILURES_PER_ADDRESS:
            what, first = f"{row['by_address']} failed logins from {address}", row["address_first"]
        else:
            return
        wait = max(1, math.ceil((first - since).total_seconds()))
        audit(cur, now, f"user:{user_id}", "auth.throttled", f"user:{user_id}", address=address)
        cur.connection.commit()  # the refusal is recorded; nothing else happened
        raise Throttled(f"{what} in the last {THROTTLE_WINDOW_S} s: try again in {wait} s", wait)

    def session(self, token: str, now: datetime) -> Principal | None:
        """The user of a live session token, or None."""
        with self.pool.connection() as conn, self._cursor(conn) as cur:
            cur.execute(
                "SELECT u.* FROM sessions s JOIN users u ON u.id = s.user_id "
                "WHERE s.token_hash = %s AND s.expires_at > %s AND NOT u.disabled",
                (digest(token), now),
            )
            row = cur.fetchone()
            return None if row is None else self._principal(cur, row, "session")

    def logout(self, token: str, now: datetime) -> None:
        with self.pool.connection() as conn, self._cursor(conn) as cur:
            cur.execute("DELETE FROM sessions WHERE token_hash = %s RETURNING user_id", (digest(token),))
            row = cur.fetchone()
            if row is not None:
                audit(cur, now, f"user:{row['user_id']}", "auth.logout", f"user:{row['user_id']}")

    # ---- API tokens ------------------------------------------------------------------------------

    def add_token(
        self, user_id: str, name: str, now: datetime, days: float | None = None, actor: str = "admin:cli"
    ) -> str:
        """A new bearer token acting as ``user_id``; the only time its text is seen."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires = now + timedelta(days=days) if days is not None else None
        with self.pool.connection() as conn, self._cursor(conn) as cur:
            cur.execute("SELECT 1 FROM users WHERE id = %s", (user_id,))
            if cur.fetchone() is None:
                raise AccountError(f"no user {user_id!r}")
            cur.execute(
                "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (user_id, name, digest(token), now, expires),
            )
            audit(cur, now, actor, "token.added", f"user:{user_id}", name=name,
                  expires_at=expires.isoformat() if expires else None)  # fmt: skip
        return token

    def revoke_token(self, token_id: int, now: datetime, actor: str = "admin:cli") -> None:
        with self.pool.connection() as conn, self._cursor(conn) as cur:
            cur.execute(
                "UPDATE api_tokens SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL RETURNING user_id, name",
                (now, token_id),
            )
            row = cur.fetchone()
            if row is None:
                raise AccountError(f"no live token {token_id}")
            audit(cur, now, actor, "token.revoked", f"user:{row['user_id']}", name=row["name"], token=token_id)

    def tokens(self) -> list[TokenRow]:
        with self.pool.connection() as conn, self._cursor(conn) as cur:
            cur.execute("SELECT id, user_id, name, created_at, expires_at, revoked_at FROM api_tokens ORDER BY id")
            return cast(list[TokenRow], cur.fetchall())

    def token_user(self, token: str, now: datetime) -> Principal | None:
        """The user a live bearer token acts as, or None."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        with self.pool.connection() as conn, self._cursor(conn) as cur:
            cur.execute(
                "SELECT u.*, t.name AS token_name FROM api_tokens t JOIN users u ON u.id = t.user_id "
                "WHERE t.token_hash = %s AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > %s) "
                "AND NOT u.disabled",
                (digest(token), now),
            )
            row = cur.fetchone()
            return None if row is None else self._principal(cur, row, f"token:{row['token_name']}")


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
