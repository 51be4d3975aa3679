"""Who is told over which channel: recipients and their addresses.

Every message to a person is first a row of ``deliveries`` (:mod:`alerts.store.outbox`) written in
the same transaction as the change it reports, then sent by :mod:`alerts.dispatch`. A row's
idempotency key is built from what it reports (``incident-42/opened/inspector:I-1/webhook``), so
handling a decision twice never pages anyone twice, and the receiver sees the same key on every retry.
"""

from __future__ import annotations

from dataclasses import dataclass

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
