"""Ingest: MQTT to validated records with nothing lost.

Decodes the wire contract (:mod:`core.wire`, which the simulators encode), validates, deduplicates,
keeps dead letters, writes readings and events, and hands new records to the stream bus. A library:
the process that runs it is :mod:`firewarden.processes.ingest`.

This module is the stage's face: what other packages may use. The rest of the package is internal;
its storage adapters (the only psycopg users) are :mod:`ingest.store`, :mod:`ingest.lease_store` and
:mod:`ingest.session_store`.
"""

from ingest.dedup import RecentMessages
from ingest.handoff import EVENTS_TOPIC, RECORDS_TOPIC, from_bus
from ingest.metrics import IngestMetrics
from ingest.records import EventRecord, Reading, Record, StatusRecord
from ingest.service import Ingest, IngestOptions
from ingest.session_store import Loss as SessionLoss
from ingest.session_store import acknowledge as acknowledge_session_losses
from ingest.session_store import losses as session_losses
from ingest.store import load_registry_index
from ingest.validation import RegistryIndex, ValidationPolicy, Validator

__all__ = [
    "EVENTS_TOPIC",
    "RECORDS_TOPIC",
    "EventRecord",
    "Ingest",
    "IngestMetrics",
    "IngestOptions",
    "Reading",
    "RecentMessages",
    "Record",
    "RegistryIndex",
    "SessionLoss",
    "StatusRecord",
    "ValidationPolicy",
    "Validator",
    "acknowledge_session_losses",
    "from_bus",
    "load_registry_index",
    "session_losses",
]
