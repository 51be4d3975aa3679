"""Who is told over which channel, and the two append-only records of it: the outbox and the audit log.

Every message to a person is first a row of ``deliveries`` written in the same transaction as the
change it reports, then sent by :mod:`alerts.dispatch`. A row's idempotency key is built from what
it reports (``incident-42/opened/inspector:I-1/webhook``), so handling a decision twice never
pages anyone twice, and the receiver sees the same key on every retry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from alerts.roster import DepartmentContact, Inspector, Site

CENTRE = "centre"
"""The monitoring centre: every incident reaches its queue (the ``console`` channel)."""


@dataclass(frozen=True, slots=True)
class Recipient:
    id: str
    """``centre``, ``inspector:<id>`` or ``unit:<premises id>``."""
    channels: tuple[tuple[str, str], ...]
    """(channel, address) pairs: ``console``, ``webhook`` or ``email``."""


@dataclass(frozen=True, slots=True)
class Directory:
    """Addresses by recipient: the registry's for inspectors and units, the settings' for the centre."""

    email: bool
    """Whether SMTP is configured; without it nobody is sent e-mail."""
    centre_webhook_url: str | None = None
    centre_email: str | None = None

    def centre(self) -> Recipient:
        channels = [("console", "queue")]
        if self.centre_webhook_url:
            channels.append(("webhook", self.centre_webhook_url))
        if self.email and self.centre_email:
            channels.append(("email", self.centre_email))
        return Recipient(CENTRE, tuple(channels))

    def inspector(self, inspector: Inspector) -> Recipient:
        channels = []
        if inspector.webhook_url:
            channels.append(("webhook", inspector.webhook_url))
        if self.email and inspector.email:
            channels.append(("email", inspector.email))
        return Recipient(f"inspector:{inspector.id}", tuple(channels))

    def department(self, department: DepartmentContact) -> Recipient:
        channels = [("webhook", department.webhook_url)] if department.webhook_url else []
        if self.email and department.email:
            channels.append(("email", department.email))
        return Recipient(f"department:{department.id}", tuple(channels))

    def unit(self, site: Site) -> Recipient:
        channels = [("email", site.unit_email)] if self.email and site.unit_email else []
        return Recipient(f"unit:{site.id}", tuple(channels))


_DELIVERY = """INSERT INTO deliveries (idempotency_key, incident_id, premises_id, kind, recipient, channel, address,
    payload, state, created_at, next_attempt_at, delivered_at, priority)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (idempotency_key) DO NOTHING"""

OTHER_PRIORITY = 9
"""Priority of messages that are not an incident's page (hazards, notices, tier changes): after every incident."""


def enqueue(
    cur: psycopg.Cursor[Any],
    *,
    key: str,
    kind: str,
    premises_id: str,
    recipients: Iterable[Recipient],
    payload: dict[str, Any],
    now: datetime,
    incident_id: int | None = None,
    priority: int = OTHER_PRIORITY,
) -> int:
    """One delivery per recipient and channel; the console's is delivered by being written. Returns
    how many were queued for sending. Lower ``priority`` is sent first (an incident's class rank)."""
    rows = []
    for recipient in recipients:
        for channel, address in recipient.channels:
            console = channel == "console"
            rows.append(
                (
                    f"{key}/{recipient.id}/{channel}",
                    incident_id,
                    premises_id,
                    kind,
                    recipient.id,
                    channel,
                    address,
                    Jsonb({**payload, "recipient": recipient.id}),
                    "delivered" if console else "pending",
                    now,
                    now,
                    now if console else None,
                    priority,
                )
            )
    if rows:
        cur.executemany(_DELIVERY, rows)
    return sum(1 for row in rows if row[8] == "pending")
