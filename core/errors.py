"""The error hierarchy shared by every Firewarden package.

Bad input from outside (a device's message, a registry file, a setting) is reported through these
errors or turned into data (a dead letter); a programming error raises whatever Python raises and is
never caught here::

    FirewardenError
     ├── SettingsError           a setting has a bad value; names the setting and its valid values
     ├── DatabaseError           the database could not be reached or used
     │    └── MigrationError     the schema cannot be brought to the expected version
     ├── RegistryError          a registry file or import was rejected; lists record and field
     ├── ServiceError           an embedded service (PostgreSQL, MQTT broker) failed to start or stop
     ├── BusError               the stream bus did not accept messages (Kafka unreachable, refused)
     ├── DecodeError            (core.wire) a message off the wire does not fit the contract
     │
     │   each stage's own, in its package's ``errors`` module:
     ├── ModelError             (scoring.errors) a model file missing, unreadable or made for other features
     ├── ActionError            (alerts.errors) an action that cannot be done: unknown incident, wrong state
     └── AccountError           (console.errors) a user or token that cannot be made, changed or used
"""

from __future__ import annotations

from pydantic import ValidationError


class FirewardenError(Exception):
    """Root of every error Firewarden raises on purpose."""


class SettingsError(FirewardenError):
    """A setting is missing or has a value outside its valid set."""


class DatabaseError(FirewardenError):
    """The database could not be reached, or refused what was asked of it."""


class MigrationError(DatabaseError):
    """The schema cannot be migrated: a changed migration, a flavour mismatch, a failed statement."""


class RegistryError(FirewardenError):
    """A registry file or import was rejected.

    ``problems`` holds one line per problem, each naming the record and the field, so that a user
    can fix every problem in one pass instead of one per run.
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{source}: {len(problems)} problem(s), nothing was imported:\n{shown}{more}")


class ServiceError(FirewardenError):
    """An embedded service failed to start, answer or stop."""


class BusError(FirewardenError):
    """The stream bus did not accept a message; the caller keeps it and retries."""


def problems(error: ValidationError, top: str = "the document") -> list[str]:
    """Each problem of a pydantic validation as ``where: what`` (``top`` where it is the whole document)."""
    return [
        f"{'.'.join(str(p) for p in e['loc']) or top}: {e['msg'].removeprefix('Value error, ')}" for e in error.errors()
    ]
