"""The roster read from the registry's tables: jurisdictions, inspectors and their duty, premises, departments."""

from __future__ import annotations

from alerts.roster import DepartmentContact, Inspector, Roster, Site
from core.db import Connection


def load_roster(conn: Connection) -> Roster:
    """The registry's jurisdictions, inspectors, premises and duty roster, as of now."""
    rows = conn.execute("SELECT id, parent_id FROM jurisdictions")
    parents = {str(j): (str(p) if p is not None else None) for j, p in rows}
    inspectors = {
        str(row[0]): Inspector(str(row[0]), str(row[1]), str(row[2]), row[3], row[4])
        for row in conn.execute("SELECT id, name, jurisdiction_id, email, webhook_url FROM inspectors")
    }
    sites = {
        str(row[0]): Site(str(row[0]), str(row[1]), str(row[2]), str(row[3]), row[4], tuple(row[5]))
        for row in conn.execute("SELECT id, name, jurisdiction_id, unit_name, unit_email, departments FROM premises")
    }
    departments = {
        str(row[0]): DepartmentContact(str(row[0]), str(row[1]), row[2], row[3])
        for row in conn.execute("SELECT id, name, email, webhook_url FROM departments")
    }
    roster = Roster(parents, inspectors, sites, departments)
    for inspector_id, jurisdiction_id, starts_at, ends_at in conn.execute(
        "SELECT inspector_id, jurisdiction_id, starts_at, ends_at FROM duty_roster"
    ):
        roster.shifts[str(jurisdiction_id)].append((starts_at, ends_at, str(inspector_id)))
    return roster
