"""What scoring decides: signals, alarm decisions and risk scores, on the bus and in PostgreSQL.

The three are tagged msgspec structs (``"type": "signal" | "alarm" | "risk"``) keyed by premises id,
on two topics: alarm decisions on ``fw.alarms``, which alerts reads first, so that a fire never waits
behind a storm of signals; signals and risk scores on ``fw.decisions``. Within a topic a premises'
decisions keep their order; across the two, alerts needs none (a fire inhibits a premises' lower
incidents whichever comes first: :mod:`alerts.store.desk`). Each carries an identity that a repeated
run reproduces, so storing is idempotent: (``key``, ``state``, ``time``) for a signal,
(``alarm_id``, ``revision``) for an alarm decision, (``premises_id``, ``revision``) for a risk score.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

import msgspec

from core.policy import SignalKind

DECISIONS_TOPIC: Final = "fw.decisions"
ALARMS_TOPIC: Final = "fw.alarms"
FEEDBACK_TOPIC: Final = "fw.feedback"
STATE_TABLE: Final = "premises-state"
"""The faust table of premises states; faust keeps it in the topic :func:`changelog_topic` names."""


def changelog_topic(scoring_group: str) -> str:
    """The compacted topic the faust workers of ``scoring_group`` keep the premises states in."""
    return f"{scoring_group}-{STATE_TABLE}-changelog"


Classification = Literal["confirmed", "unverified", "nuisance_likely"]
Tier = Literal["red", "orange", "yellow", "blue"]


class Signal(msgspec.Struct, frozen=True, tag="signal"):
    """A rule breached (``raised``) or recovered (``cleared``) on one device, with its evidence.

    ``subject`` narrows the rule to a part of the device (a panel component ``loop/address``, a
    metric); ``key`` is the identity of the condition, the same for its raise and its clear.
    """

    time: datetime
    premises_id: str
    device_id: str
    rule: str
    kind: SignalKind
    state: Literal["raised", "cleared"]
    subject: str = ""
    evidence: dict[str, float | str] = {}

    @property
    def key(self) -> str:
        return f"{self.device_id}/{self.rule}/{self.subject}"


EvidenceKind = Literal["alarm", "heat", "flow", "note"]


class Evidence(msgspec.Struct, frozen=True, omit_defaults=True):
    """One device and reading an alarm decision relied on (docs/scoring.md, "Evidence").

    - ``alarm``: a fire alarm of ``device_id`` (a panel point ``point`` = ``loop/address`` of a UITD, or
      the device itself), ``component`` its component type;
    - ``heat``: a temperature reading of ``device_id`` (``component`` the metric) that met ``rule``:
      ``fixed`` (``value`` ≥ ``limit`` °C), ``rate_of_rise`` (``rate_c_per_min`` ≥ ``limit``, over
      ``span_s``) or ``rise`` (``rise_c`` ≥ ``limit`` since the reading ``span_s`` before);
    - ``flow``: sprinkler water flow reported by a flow switch (``component`` ``sprinkler_flow_switch``);
    - ``note``: evidence of an episode opened before evidence was structured, as its text.
    """

    time: datetime
    kind: EvidenceKind
    device_id: str = ""
    component: str = ""
    point: str = ""
    rule: str = ""
    value: float | None = None
    limit: float | None = None
    rise_c: float | None = None
    span_s: float | None = None
    rate_c_per_min: float | None = None
    note: str = ""


class AlarmDecision(msgspec.Struct, frozen=True, tag="alarm"):
    """How scoring classifies one fire alarm episode, as it opens, changes class and ends.

    An episode is the alarms of one zone of one premises within the verification window; it is
    named by its first alarm (``alarm_id`` = ``device_id:seq``). ``final`` marks the last decision
    of an episode (reset, expiry or end of a test), ``trigger`` the record that caused this one.
    ``evidence``: every alarm, heat and flow the episode relied on so far, in the order they happened.
    """

    time: datetime
    premises_id: str
    alarm_id: str
    revision: int
    zone: str
    classification: Classification
    reason: str
    trigger: str
    opened_at: datetime
    final: bool = False
    evidence: tuple[Evidence, ...] = ()


class Factor(msgspec.Struct, frozen=True):
    """One contribution to a risk score, in score points (positive raises the risk)."""

    name: str
    value: float
    points: float


class IfClosed(msgspec.Struct, frozen=True):
    """What one open item of a premises weighs: its score and tier once the item is closed (one fewer
    fault, supervisory signal, electrical anomaly or other hazard; the water restored; every device
    back online; the credit back to normal), computed by the model (``scoring.risk.RiskModel.if_closed``)."""

    item: str
    """The risk input closed: ``active_faults``, ``supervisory_open``, ``electrical_abnormal``,
    ``low_water``, ``other_hazards``, ``offline_share`` or ``credit_status``."""
    value: float | str
    """Its value now (the credit status for ``credit_status``)."""
    score: float
    tier: Tier
    """The tier with the item closed (leaving a tier downward takes the policy's hysteresis)."""


class RiskScore(msgspec.Struct, frozen=True, tag="risk"):
    """A premises' risk, 0-100, its tier and why, published when it moves or the tier changes."""

    time: datetime
    premises_id: str
    revision: int
    score: float
    tier: Tier
    previous_tier: Tier | None
    factors: tuple[Factor, ...]
    model_version: str
    inputs: dict[str, float | str] = {}
    """Everything the model read (``scoring.risk.RiskInputs``), so recorded outcomes can retrain it."""
    if_closed: tuple[IfClosed, ...] = ()
    """Each open item the premises' unit can close, with the score and tier it would leave."""


Decision = Signal | AlarmDecision | RiskScore

FeedbackKind = Literal["false_alarm", "real_fire", "hazard_overdue", "hazard_closed"]


class Feedback(msgspec.Struct, frozen=True, tag="feedback"):
    """What people found out that scoring cannot see, sent back on ``fw.feedback`` by alerts.

    - ``false_alarm``: an operator resolved a *confirmed* alarm as false (an unconfirmed one is
      already in scoring's history);
    - ``real_fire``: an operator resolved an *unconfirmed* alarm as a real fire;
    - ``hazard_overdue`` / ``hazard_closed``: a hazard passed its deadline unfixed, or was closed.

    ``ref`` names what it is about (an alarm id, a hazard id): feedback repeated with the same
    ``ref`` changes nothing more.
    """

    time: datetime
    premises_id: str
    kind: FeedbackKind
    ref: str


_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[Decision] = msgspec.json.Decoder(Decision)


def encode_decision(decision: Decision) -> bytes:
    return _encoder.encode(decision)


_feedback_decoder: msgspec.json.Decoder[Feedback] = msgspec.json.Decoder(Feedback)


def encode_feedback(feedback: Feedback) -> bytes:
    return _encoder.encode(feedback)


def decode_feedback(value: bytes) -> Feedback:
    """Raises ``msgspec.ValidationError`` (a ``ValueError``) for a value that is not feedback."""
    return _feedback_decoder.decode(value)


def decode_decision(value: bytes) -> Decision:
    """Raises ``msgspec.ValidationError`` (a ``ValueError``) for a value that is not a decision.

    An alarm decision of a scoring from before structured evidence (its evidence a list of strings, still
    on the bus during an upgrade) decodes with each string as a ``note``."""
    try:
        return _decoder.decode(value)
    except msgspec.ValidationError:
        raw = msgspec.json.decode(value)
        if not (isinstance(raw, dict) and raw.get("type") == "alarm" and isinstance(raw.get("evidence"), list)):
            raise
        raw["evidence"] = [
            {"time": raw.get("opened_at"), "kind": "note", "note": item} if isinstance(item, str) else item
            for item in raw["evidence"]
        ]
        return _decoder.decode(_encoder.encode(raw))


def topic_of(decision: Decision) -> str:
    """``fw.alarms`` for an alarm decision, ``fw.decisions`` for the others."""
    return ALARMS_TOPIC if isinstance(decision, AlarmDecision) else DECISIONS_TOPIC
