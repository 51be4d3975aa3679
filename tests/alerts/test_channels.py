"""Delivery against real receivers: a local HTTP server that fails then recovers, and a local SMTP server."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from psycopg_pool import ConnectionPool

from alerts.channels import Delivery, EmailChannel, Result, SmtpServer, WebhookChannel
from alerts.dispatch import Dispatcher
from alerts.outbox import Directory
from alerts.store.desk import Desk
from alerts.store.roster import load_roster
from core.policy import Policy, WebhookPolicy
from scoring.records import AlarmDecision, Signal
from simulators.inbox import Inbox, Reply
from tests.alerts.conftest import at, load, small_registry
from tests.ports import free_port

SECRET = b"s" * 32
POLICY = WebhookPolicy(timeout_s=0.5, max_attempts=6, backoff_base_s=0.2, backoff_cap_s=0.4)


def fire(ident: str = "UITD:1") -> AlarmDecision:
    return AlarmDecision(at(10), "P", ident, 1, "3F", "confirmed", "two detectors", ident, at(0))


def fire_at(premises: str) -> AlarmDecision:
    return AlarmDecision(at(6), premises, "UITD:9", 1, "1F", "confirmed", "two detectors", "UITD:9", at(0))


def desk_for(pool: ConnectionPool, email: bool = False) -> Desk:
    with pool.connection() as conn:
        return Desk(pool, load_roster(conn), Policy(), Directory(email=email))


@pytest.fixture
def hooked_pool(migrated_url: str, request: pytest.FixtureRequest) -> Iterator[tuple[ConnectionPool, Inbox]]:
    from core.db import open_pool

    script: list[Reply] = getattr(request, "param", [])
    with Inbox(SECRET, script=script) as inbox:
        load(migrated_url, small_registry(hook=inbox.url))
        with open_pool(migrated_url, max_size=4) as pool:
            yield pool, inbox


async def deliver_all(dispatcher: Dispatcher, rounds_for_s: float) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop, idle_s=0.05))
    await asyncio.sleep(rounds_for_s)
    stop.set()
    await task


def attempts(pool: ConnectionPool) -> list[tuple[str, int | None]]:
    with pool.connection() as conn:
        return [
            (str(o), s)
            for o, s in conn.execute("SELECT outcome, status_code FROM delivery_attempts ORDER BY delivery_id, attempt")
        ]  # type: ignore[misc]


@pytest.mark.parametrize(
    "hooked_pool",
    [[Reply(500), Reply(200, delay_s=1.5), Reply(429, headers={"Retry-After": "1"}), Reply(503), Reply(200)]],
    indirect=True,
)
def test_webhook_retries_through_failures_and_delivers_exactly_once(
    hooked_pool: tuple[ConnectionPool, Inbox],
) -> None:
    pool, inbox = hooked_pool
    desk_for(pool).handle([fire()], at(10))
    channel = WebhookChannel(SECRET, POLICY.timeout_s)
    dispatcher = Dispatcher(pool, {"webhook": channel}, POLICY, rng=random.Random(3))

    async def scenario() -> None:
        await deliver_all(dispatcher, 6.0)
        await channel.close()

    asyncio.run(scenario())
    keys = {r.key for r in inbox.requests}
    assert len(inbox.requests) == 5 and len(keys) == 1  # the same idempotency key on every try
    assert all(r.signed for r in inbox.requests)
    assert len(inbox.delivered) == 1 and inbox.requests[-1].status == 200
    # 500 / timeout / 429 / 503 are retried; the timed-out 200 was never seen by the sender
    assert attempts(pool) == [("retry", 500), ("retry", None), ("retry", 429), ("retry", 503), ("delivered", 200)]
    gaps = [b.at - a.at for a, b in zip(inbox.requests, inbox.requests[1:], strict=False)]
    assert gaps[0] < 0.45  # backoff after the first failure: at most base (0.2 s) plus a round
    assert gaps[1] >= 0.5  # the sender waited out its 0.5 s timeout
    assert gaps[2] >= 1.0  # Retry-After: 1 honoured
    with pool.connection() as conn:
        row = conn.execute("SELECT state, attempts FROM deliveries WHERE channel = 'webhook'").fetchone()
    assert row == ("delivered", 5)


@pytest.mark.parametrize("hooked_pool", [[Reply(404)]], indirect=True)
def test_webhook_4xx_is_a_dead_letter_at_once(hooked_pool: tuple[ConnectionPool, Inbox]) -> None:
    pool, inbox = hooked_pool
    desk_for(pool).handle([fire()], at(10))
    channel = WebhookChannel(SECRET, POLICY.timeout_s)

    async def scenario() -> None:
        await deliver_all(Dispatcher(pool, {"webhook": channel}, POLICY), 1.0)
        await channel.close()

    asyncio.run(scenario())
    assert len(inbox.requests) == 1 and attempts(pool) == [("dead", 404)]


@pytest.mark.parametrize("hooked_pool", [[Reply(500)] * 10], indirect=True)
def test_webhook_gives_up_after_max_attempts(hooked_pool: tuple[ConnectionPool, Inbox]) -> None:
    pool, inbox = hooked_pool
    desk_for(pool).handle([fire()], at(10))
    policy = WebhookPolicy(timeout_s=0.5, max_attempts=3, backoff_base_s=0.05, backoff_cap_s=0.1)
    channel = WebhookChannel(SECRET, policy.timeout_s)

    async def scenario() -> None:
        await deliver_all(Dispatcher(pool, {"webhook": channel}, policy), 2.0)
        await channel.close()

    asyncio.run(scenario())
    assert len(inbox.requests) == 3
    assert attempts(pool) == [("retry", 500), ("retry", 500), ("dead", 500)]
    with pool.connection() as conn:
        assert conn.execute("SELECT state FROM deliveries WHERE channel = 'webhook'").fetchone() == ("dead",)


def test_a_refused_connection_is_retried_and_its_error_names_the_refusal() -> None:
    channel = WebhookChannel(SECRET, 2.0)
    delivery = Delivery(1, "k-1", "webhook", f"http://127.0.0.1:{free_port()}/inspectors/I-1", {"event": "x"}, 0)

    async def send() -> Result:
        try:
            return await channel.send(delivery)
        finally:
            await channel.close()

    result = asyncio.run(send())
    assert result.verdict == "retry"
    assert result.error is not None and "ConnectionRefusedError" in result.error, result.error


class Mailbox:
    def __init__(self, refuse: set[str]) -> None:
        self.messages: list[Any] = []
        self.refuse = refuse

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 Message accepted"


def test_email_goes_to_a_real_smtp_server_and_a_refused_mailbox_is_dead(pool: ConnectionPool) -> None:
    mailbox = Mailbox(refuse={"unit-q@example.cn"})
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        desk = desk_for(pool, email=True)
        from scoring.records import Factor, RiskScore

        for premises in ("P", "Q"):  # entering red sends each unit a warning notice by e-mail
            desk.handle([RiskScore(at(0), premises, 1, 80.0, "red", None, (Factor("x", 1, 1),), "v")], at(0))
        channel = EmailChannel(SmtpServer.parse(f"smtp://127.0.0.1:{controller.port}"), "alerts@fw.test", 5.0)
        asyncio.run(deliver_all(Dispatcher(pool, {"email": channel}, POLICY), 1.5))
    finally:
        controller.stop()
    [message] = mailbox.messages
    assert message.rcpt_tos == ["unit-p@example.cn"] and message.mail_from == "alerts@fw.test"
    text = message.content.decode()
    assert "Subject: [Firewarden] notice.issued: tier red - Tower P (P)" in text
    with pool.connection() as conn:
        states = dict(conn.execute("SELECT address, state FROM deliveries WHERE channel = 'email'").fetchall())
    assert states == {"unit-p@example.cn": "delivered", "unit-q@example.cn": "dead"}


def trouble() -> Signal:
    return Signal(at(5), "P", "SP", "device_offline", "trouble", "raised")


@pytest.mark.parametrize("hooked_pool", [[Reply(200, delay_s=2.0)]], indirect=True)
def test_a_fire_is_sent_while_a_slow_receiver_still_holds_an_earlier_page(
    hooked_pool: tuple[ConnectionPool, Inbox],
) -> None:
    pool, inbox = hooked_pool
    desk = desk_for(pool)
    desk.handle([trouble()], at(5))  # its page meets the slow reply
    channel = WebhookChannel(SECRET, timeout_s=5.0)
    dispatcher = Dispatcher(pool, {"webhook": channel}, POLICY)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(dispatcher.run(stop, idle_s=0.05))
        while not inbox.requests:
            await asyncio.sleep(0.02)
        await asyncio.to_thread(desk.handle, [fire_at("Q")], at(6))
        dispatcher.wake.set()
        while len(inbox.delivered) < 2:
            await asyncio.sleep(0.02)
        stop.set()
        await task
        await channel.close()

    asyncio.run(scenario())
    slow, quick = inbox.requests[:2]
    assert slow.body["incident"]["class"] == "trouble" and quick.body["incident"]["class"] == "fire"
    assert quick.at - slow.at < 2.0  # sent while the slow receiver was still answering


def test_urgent_pages_are_claimed_first(hooked_pool: tuple[ConnectionPool, Inbox]) -> None:
    pool, inbox = hooked_pool
    desk = desk_for(pool)
    desk.handle([trouble()], at(5))
    desk.handle([fire_at("Q")], at(6))  # due later, but a fire
    channel = WebhookChannel(SECRET, POLICY.timeout_s)
    dispatcher = Dispatcher(pool, {"webhook": channel}, POLICY, batch=1)

    async def scenario() -> None:
        await deliver_all(dispatcher, 1.0)
        await channel.close()

    asyncio.run(scenario())
    assert [r.body["incident"]["class"] for r in inbox.requests] == ["fire", "trouble"]


def test_a_dead_dispatchers_claims_are_taken_over_at_once_a_live_ones_are_not(
    hooked_pool: tuple[ConnectionPool, Inbox],
) -> None:
    """A dispatcher that dies between claiming a page and sending it (its connection, and so its
    advisory lock, gone) does not hold the page for the lease: the next claim of another takes it."""
    from alerts.store import outbox

    pool, _inbox = hooked_pool
    desk_for(pool).handle([fire()], at(10))
    first, second = outbox.Alive(pool), outbox.Alive(pool)
    first.hold()
    second.hold()
    try:
        claimed = outbox.claim(pool, at(10), 100, first.number)
        assert claimed and {d.channel for d in claimed} == {"webhook"}
        assert outbox.claim(pool, at(11), 100, second.number) == []  # alive, within its lease
        assert first._conn is not None
        with pool.connection() as conn:  # the first dies: its session ends as a kill -9's would
            conn.execute("SELECT pg_terminate_backend(%s)", (first._conn.info.backend_pid,))
        taken = outbox.claim(pool, at(11), 100, second.number)
        assert sorted(d.id for d in taken) == sorted(d.id for d in claimed)
        assert outbox.claim(pool, at(12), 100, first.number) == []  # now the second's, alive
    finally:
        first.release()
        second.release()
