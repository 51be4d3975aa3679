"""The one error tree of Firewarden: every error it raises on purpose, with the module it lives in.

Bad input from outside (a device's message, a registry file, a setting) is reported through these
errors or turned into data (a dead letter); a programming error raises whatever Python raises and is
never caught here. Each stage keeps its own in its ``errors`` module and re-exports them in its face;
``tests/test_errors.py`` keeps this drawing true::

    FirewardenError                    core.errors
     ├── SettingsError                 core.errors          a setting has a bad value; names it and its valid values
     ├── DatabaseError                 core.errors          the database could not be reached or used
     │    └── MigrationError           core.errors          the schema cannot be brought to the expected version
     ├── RegistryError                 core.errors          a registry file or import was rejected (record, field)
     ├── CredentialsError              core.errors          the broker's key file cannot be read, made or trusted
     ├── ServiceError                  core.errors          an embedded service failed to start or stop
     ├── BusError                      core.errors          the stream bus did not accept messages (Kafka unreachable)
     ├── CommandError                  core.errors          a downlink command that cannot be sent
     ├── DecodeError                   core.wire            a message off the wire does not fit the contract
     ├── ModelError                    scoring.errors       a model file missing, unreadable or made for other features
     ├── ActionError                   alerts.errors        an action that cannot be done: unknown incident, wrong state
     │    ├── EvidenceError            alerts.errors        a file that cannot be kept as evidence
     │    ├── ChecklistError           alerts.errors        a checklist set that cannot be used
     │    └── CaseError                supervision.errors   a case step the case does not allow now
     ├── AccountError                  console.errors       a user or token that cannot be made, changed or used
     ├── Throttled                     console.errors       too many failed logins: refused unchecked
     ├── PeriodError                   report.errors        a report period or time zone that cannot be read
     ├── ReportError                   report.errors        a report that cannot be made: an unknown jurisdiction
     ├── PublishError                  simulators.errors    the simulator's broker could not be reached or refused it
     ├── RecordingError                simulators.errors    a recorded stream file is damaged (names the line)
     └── ScenarioError                 simulators.errors    a scenario file was rejected (names the event and field)
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


class CommandError(FirewardenError):
    """A command that cannot be sent: an unknown device, one that is not a UITD, a broker that refused."""


class CredentialsError(FirewardenError):
    """The key file cannot be read or made, or is not a key this command made."""
