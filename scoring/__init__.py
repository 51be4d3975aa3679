"""Scoring: stream processors for device state, standards-based rules, alarm verification, anomaly
models and premises risk tiers, driven by the faust worker (``kafka`` bus) or the in-process runner.

This module is the stage's face: what other packages may use. The rest of the package is internal.
The processes that run it are in :mod:`firewarden.processes.scoring`; the offline training package
reads the models' features and fits their parameters through the names below.

- decisions and feedback on the bus: :class:`Signal`, :class:`AlarmDecision`, :class:`RiskScore`,
  :class:`Feedback`, their codecs and topics;
- the engine and its runners: :class:`Scorer`, :class:`Engine`, :func:`decisions_of`,
  :class:`LocalRunner`, the faust worker's state codec (:func:`dump_state`, :func:`load_state`);
- models: :class:`Models` and their files, :class:`RiskModel`, :class:`AnomalyModel`;
- storage: :class:`DecisionStore`, :func:`record_models`, :func:`load_sites` (the only psycopg users).
"""

from scoring.anomaly import WINDOWS, AnomalyModel, MetricModel, advance
from scoring.engine import Engine, decisions_of
from scoring.errors import ModelError
from scoring.models import (
    ANOMALY_FILE,
    FORMAT,
    RISK_FILE,
    SHIPPED,
    ModelFile,
    Models,
    ModelWatch,
    load,
    models_for,
    new_version,
    save,
)
from scoring.records import (
    ALARMS_TOPIC,
    DECISIONS_TOPIC,
    FEEDBACK_TOPIC,
    STATE_TABLE,
    AlarmDecision,
    Decision,
    Evidence,
    Factor,
    Feedback,
    RiskScore,
    Signal,
    changelog_topic,
    decode_decision,
    decode_feedback,
    encode_decision,
    encode_feedback,
)
from scoring.reload import ModelReload, SiteRefresh
from scoring.risk import COLUMNS, COUNTS, SHARES, Fold, RiskInputs, RiskModel, features
from scoring.runner import LocalRunner
from scoring.scorer import Scorer
from scoring.site import Sites, Supervised
from scoring.state import PremisesState, Window, dump_state, load_state
from scoring.store import DecisionStore, load_sites, record_models

__all__ = [
    "ALARMS_TOPIC",
    "ANOMALY_FILE",
    "COLUMNS",
    "COUNTS",
    "DECISIONS_TOPIC",
    "FEEDBACK_TOPIC",
    "FORMAT",
    "RISK_FILE",
    "SHARES",
    "SHIPPED",
    "STATE_TABLE",
    "WINDOWS",
    "AlarmDecision",
    "AnomalyModel",
    "Decision",
    "DecisionStore",
    "Engine",
    "Evidence",
    "Factor",
    "Feedback",
    "Fold",
    "LocalRunner",
    "MetricModel",
    "ModelError",
    "ModelFile",
    "ModelReload",
    "ModelWatch",
    "Models",
    "PremisesState",
    "RiskInputs",
    "RiskModel",
    "RiskScore",
    "Scorer",
    "Signal",
    "SiteRefresh",
    "Sites",
    "Supervised",
    "Window",
    "advance",
    "changelog_topic",
    "decisions_of",
    "decode_decision",
    "decode_feedback",
    "dump_state",
    "encode_decision",
    "encode_feedback",
    "features",
    "load",
    "load_sites",
    "load_state",
    "models_for",
    "new_version",
    "record_models",
    "save",
]
