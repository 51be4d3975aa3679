"""Who answers for a premises at a given moment: jurisdictions, inspectors and the duty roster.

A snapshot of the registry, read once (:func:`alerts.store.roster.load_roster`) and asked many times. Routing walks the
jurisdiction tree: the premises' own jurisdiction first; when nobody is on duty there, its parent,
and so on up to the root. Escalation starts that walk ``level`` steps higher.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from core.registry import RegistryFile


@dataclass(frozen=True, slots=True)
class Inspector:
    id: str
    name: str
    jurisdiction_id: str
    email: str | None = None
    webhook_url: str | None = None


@dataclass(frozen=True, slots=True)
class Site:
    """What routing and the schedule need of a premises."""

    id: str
    name: str
    jurisdiction_id: str
    unit_name: str
    unit_email: str | None = None
    departments: tuple[str, ...] = ()
    """Its supervising departments' ids (:attr:`Roster.departments`)."""


@dataclass(frozen=True, slots=True)
class DepartmentContact:
    """A supervising department and where it is told (e-mail, webhook)."""

    id: str
    name: str
    email: str | None
    webhook_url: str | None


@dataclass(frozen=True, slots=True)
class Route:
    """Where an alert goes: the jurisdiction that answered and its on-duty inspectors.

    ``passed`` lists the jurisdictions skipped on the way because nobody was on duty there.
    """

    jurisdiction_id: str
    inspectors: tuple[Inspector, ...]
    passed: tuple[str, ...] = ()


@dataclass(slots=True)
class Roster:
    parents: dict[str, str | None]
    inspectors: dict[str, Inspector]
    sites: dict[str, Site]
    departments: dict[str, DepartmentContact] = field(default_factory=dict)
    shifts: dict[str, list[tuple[datetime, datetime, str]]] = field(default_factory=lambda: defaultdict(list))
    """Jurisdiction → (starts_at, ends_at, inspector id)."""

    def on_duty(self, jurisdiction_id: str, at: datetime) -> tuple[Inspector, ...]:
        ids = sorted({i for start, end, i in self.shifts.get(jurisdiction_id, ()) if start <= at < end})
        return tuple(self.inspectors[i] for i in ids if i in self.inspectors)

    def chain(self, jurisdiction_id: str) -> list[str]:
        """The jurisdiction and its ancestors, nearest first."""
        out: list[str] = []
        current: str | None = jurisdiction_id
        while current is not None and current not in out:
            out.append(current)
            current = self.parents.get(current)
        return out

    def route(self, premises_id: str, at: datetime, level: int = 0) -> Route:
        """The on-duty inspectors for ``premises_id`` at ``at``, ``level`` jurisdictions above its own.

        When nobody is on duty, the next level up answers; past the root, the route is empty (the
        monitoring centre, always told, is then the only recipient).
        """
        site = self.sites.get(premises_id)
        if site is None:
            return Route("", ())
        chain = self.chain(site.jurisdiction_id)[level:]
        for index, jurisdiction in enumerate(chain):
            inspectors = self.on_duty(jurisdiction, at)
            if inspectors:
                return Route(jurisdiction, inspectors, tuple(chain[:index]))
        return Route(chain[-1] if chain else site.jurisdiction_id, (), tuple(chain))

    def home_inspectors(self, premises_id: str) -> tuple[Inspector, ...]:
        """Inspectors whose home is the premises' jurisdiction, or the nearest ancestor that has any."""
        site = self.sites.get(premises_id)
        if site is None:
            return ()
        by_home: dict[str, list[Inspector]] = defaultdict(list)
        for inspector in self.inspectors.values():
            by_home[inspector.jurisdiction_id].append(inspector)
        for jurisdiction in self.chain(site.jurisdiction_id):
            if by_home.get(jurisdiction):
                return tuple(sorted(by_home[jurisdiction], key=lambda i: i.id))
        return ()

    def regular_inspector(self, premises_id: str) -> Inspector | None:
        """The premises' own inspector: one of its home inspectors, the same one on every call.

        Chosen by a stable hash of the premises id, so the load spreads over a jurisdiction's
        inspectors and a restart assigns nobody new.
        """
        candidates = self.home_inspectors(premises_id)
        if not candidates:
            return None
        return candidates[zlib.crc32(premises_id.encode()) % len(candidates)]

    def city_of(self, jurisdiction_id: str) -> str:
        return self.chain(jurisdiction_id)[-1]


def roster_of(registry: RegistryFile) -> Roster:
    """The roster of a registry file, as :func:`load_roster` reads it from the database (a replay's)."""
    roster = Roster(
        {j.id: j.parent for j in registry.jurisdictions},
        {i.id: Inspector(i.id, i.name, i.jurisdiction, i.email, i.webhook_url) for i in registry.inspectors},
        {
            p.id: Site(p.id, p.name, p.jurisdiction, p.unit.name, p.unit.email, tuple(p.departments))
            for p in registry.premises
        },
        {d.id: DepartmentContact(d.id, d.name, d.email, d.webhook_url) for d in registry.departments},
    )
    for shift in registry.duty_roster:
        roster.shifts[shift.jurisdiction].append((shift.starts_at, shift.ends_at, shift.inspector))
    return roster
