"""Accounts on real PostgreSQL with a fake clock: hashing, session and token lifetimes, scope."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from psycopg_pool import ConnectionPool

from console.errors import AccountError, Throttled
from console.store import accounts as accounts_module
from console.store.accounts import Accounts
from tests.alerts.conftest import load
from tests.console.conftest import PASSWORD, city_registry

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
def accounts(pool: ConnectionPool, migrated_url: str) -> Accounts:
    load(migrated_url, city_registry())
    return Accounts(pool, session_hours=12)


def test_passwords_are_stored_as_argon2id_and_sessions_end_after_the_shift(accounts: Accounts) -> None:
    accounts.add_user("op", "Op", "operator", T0, password=PASSWORD)
    with accounts.pool.connection() as conn:
        row = conn.execute("SELECT password_hash FROM users WHERE id = 'op'").fetchone()
    assert row is not None and row[0].startswith("$argon2id$") and PASSWORD not in row[0]
    found = accounts.login("op", PASSWORD, T0)
    assert found is not None
    token, user = found
    assert user.scope is None and user.actor == "operator:op"
    with accounts.pool.connection() as conn:
        stored = conn.execute("SELECT token_hash FROM sessions").fetchone()
    assert stored is not None and token.encode() not in bytes(stored[0])  # only its digest is kept
    assert accounts.session(token, T0 + timedelta(hours=11, minutes=59)) is not None
    assert accounts.session(token, T0 + timedelta(hours=12, seconds=1)) is None
    assert accounts.login("op", "not the password", T0) is None


def test_an_inspector_sees_their_jurisdiction_and_those_below(accounts: Accounts) -> None:
    station = accounts.add_user("s", "S", "inspector", T0, password=PASSWORD, inspector_id="I-STATION")
    assert station.jurisdiction_id == "J-STATION" and station.scope == {"J-STATION", "J-GRID"}
    other = accounts.add_user("o", "O", "inspector", T0, jurisdiction_id="J-OTHER")
    assert other.scope == {"J-OTHER"} and not other.sees("J-GRID")
    with pytest.raises(AccountError, match="needs --inspector"):
        accounts.add_user("x", "X", "inspector", T0)
    with pytest.raises(AccountError, match="unknown role 'chief'; valid roles are operator, inspector, admin"):
        accounts.add_user("x", "X", "chief", T0)
    with pytest.raises(AccountError, match="no jurisdiction 'J-NOWHERE'"):
        accounts.add_user("x", "X", "operator", T0, jurisdiction_id="J-NOWHERE")
    with pytest.raises(AccountError, match="must be 1-64 of letters"):
        accounts.add_user("bad id", "X", "operator", T0)


def test_tokens_expire_and_a_password_change_ends_sessions(accounts: Accounts) -> None:
    accounts.add_user("bridge", "Bridge", "operator", T0)  # tokens only: no password
    assert accounts.login("bridge", "", T0) is None
    token = accounts.add_token("bridge", "dispatch", T0, days=1)
    assert token.startswith("fwt_")
    user = accounts.token_user(token, T0 + timedelta(hours=23))
    assert user is not None and user.actor == "operator:bridge (token:dispatch)"
    assert accounts.token_user(token, T0 + timedelta(days=1, seconds=1)) is None
    accounts.add_user("op", "Op", "operator", T0, password=PASSWORD)
    found = accounts.login("op", PASSWORD, T0)
    assert found is not None
    accounts.set_password("op", "another long password", T0)
    assert accounts.session(found[0], T0) is None
    assert accounts.login("op", "another long password", T0) is not None


def test_the_cli_adds_users_and_tokens(accounts: Accounts, migrated_url: str) -> None:
    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "firewarden", "--database-url", migrated_url, *args],
                              input=stdin, capture_output=True, text=True, timeout=60)  # fmt: skip

    made = cli("users", "add", "li", "--role", "inspector", "--inspector", "I-GRID", "--password-stdin",
               stdin=PASSWORD + "\n")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "user li added as inspector, sees J-GRID and below" in made.stdout
    assert accounts.login("li", PASSWORD, T0) is not None
    weak = cli("users", "add", "wu", "--role", "operator", "--password-stdin", stdin="short\n")
    assert weak.returncode != 0 and "at least 10 characters" in weak.stderr + weak.stdout
    token = cli("tokens", "add", "li", "--name", "phone app")
    assert token.returncode == 0, token.stderr
    user = accounts.token_user(token.stdout.strip(), T0)
    assert user is not None and user.id == "li"
    assert "li" in cli("users", "list").stdout


class _CountingHasher:
    """The real argon2 hasher, counting how often a password is checked."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.verified = 0

    def verify(self, stored: str, password: str) -> bool:
        self.verified += 1
        return bool(self.real.verify(stored, password))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_the_sixth_wrong_password_in_a_minute_is_refused_without_checking_the_hash(
    accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts.add_user("op", "Op", "operator", T0, password=PASSWORD)
    hasher = _CountingHasher(accounts_module._hasher)
    monkeypatch.setattr(accounts_module, "_hasher", hasher)
    for n in range(5):
        assert accounts.login("op", f"wrong {n}", T0 + timedelta(seconds=n), "10.0.0.7") is None
    assert hasher.verified == 5
    with pytest.raises(Throttled, match=r"5 failed logins of user 'op' in the last 60 s: try again in 55 s") as refused:
        accounts.login("op", PASSWORD, T0 + timedelta(seconds=5), "10.0.0.7")  # even the right one
    assert refused.value.retry_after_s == 55 and hasher.verified == 5
    # another user from another address is not held back; the window ends a minute after the failures
    accounts.add_user("op2", "Op2", "operator", T0, password=PASSWORD)
    assert accounts.login("op2", PASSWORD, T0 + timedelta(seconds=6), "10.0.0.8") is not None
    assert accounts.login("op", PASSWORD, T0 + timedelta(seconds=61)) is not None
    with accounts.pool.connection() as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_log WHERE subject = 'user:op' ORDER BY id")]
        address = conn.execute("SELECT details->>'address' FROM audit_log WHERE action = 'auth.throttled'").fetchone()
    assert actions == ["user.added", *["auth.failed"] * 5, "auth.throttled", "auth.login"]
    assert address == ("10.0.0.7",)


def test_twenty_failures_from_one_address_hold_back_every_user_from_it(accounts: Accounts) -> None:
    for n in range(20):
        assert accounts.login(f"guess{n}", "wrong", T0 + timedelta(seconds=n / 10), "10.0.0.9") is None
    with pytest.raises(Throttled, match=r"20 failed logins from 10\.0\.0\.9"):
        accounts.login("anyone", "wrong", T0 + timedelta(seconds=3), "10.0.0.9")
