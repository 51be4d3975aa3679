"""Alerts: routing to responsible inspectors, grouping, escalation, delivery channels, and the
dual-prevention schedule with hazards and inspector task lists.

This module is the stage's face: what other packages may use. The rest of the package is internal.

- people's commands and queries: :class:`Actions` (typed, one per thing a person does), with the
  records they return (:class:`Incident`, :class:`TaskItem`, :class:`TaskChecklist`, :class:`Version`,
  :class:`Verdict`, :class:`Stored`, :class:`File`);
- the running stage: :class:`Alerts` (a bus consumer with timers and a dispatcher) and what builds it
  from the settings (:func:`channels_of`, :func:`directory_of`, :func:`webhook_secret`), its metrics;
- for the supervision stage, which changes what alerts keeps in the same transactions: :class:`Desk`
  (through :meth:`Actions.fresh_desk`), :class:`Outcome`, :func:`evidence_known`;
- pure logic the offline tools replay: :func:`apply`, :func:`trigger_of`, :func:`roster_of`.

The storage adapters, the only psycopg users, are in :mod:`alerts.store`.
"""

from alerts.actions import Actions
from alerts.checklists import Check, ChecklistSet, Version
from alerts.checklists import dump as dump_checklists
from alerts.checklists import load_text as load_checklists
from alerts.checklists import parse as parse_checklists
from alerts.errors import ActionError, ChecklistError, EvidenceError
from alerts.incidents import RESOLUTIONS, Incident, apply, trigger_of
from alerts.metrics import AlertsCollector, alerts_registry
from alerts.outbox import Directory
from alerts.roster import Roster, roster_of
from alerts.service import Alerts, channels_of, directory_of, webhook_secret
from alerts.store.desk import Desk
from alerts.store.draws import Published, Verdict, seed_of
from alerts.store.draws import as_csv as draw_as_csv
from alerts.store.evidence import MAX_BYTES as EVIDENCE_MAX_BYTES
from alerts.store.evidence import File, Stored
from alerts.store.evidence import known as evidence_known
from alerts.store.inspections import TaskChecklist, TaskItem, end_of_day
from alerts.store.inspections import as_csv as tasks_as_csv
from alerts.store.inspections import as_ical as tasks_as_ical
from alerts.store.prevention import SYSTEM, Outcome, reschedule_inspection
from alerts.store.roster import load_roster

__all__ = [
    "EVIDENCE_MAX_BYTES",
    "RESOLUTIONS",
    "SYSTEM",
    "ActionError",
    "Actions",
    "Alerts",
    "AlertsCollector",
    "Check",
    "ChecklistError",
    "ChecklistSet",
    "Desk",
    "Directory",
    "EvidenceError",
    "File",
    "Incident",
    "Outcome",
    "Published",
    "Roster",
    "Stored",
    "TaskChecklist",
    "TaskItem",
    "Verdict",
    "Version",
    "alerts_registry",
    "apply",
    "channels_of",
    "directory_of",
    "draw_as_csv",
    "dump_checklists",
    "end_of_day",
    "evidence_known",
    "load_checklists",
    "load_roster",
    "parse_checklists",
    "reschedule_inspection",
    "roster_of",
    "seed_of",
    "tasks_as_csv",
    "tasks_as_ical",
    "trigger_of",
    "webhook_secret",
]
