"""The policy's sections for the alert desk and the supervision work: incident classes and their routing,
webhooks, the dual-prevention schedule, credit and enforcement."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from core.domain import CreditStatus
from core.policy._section import Positive, Seconds, _Section

IncidentClass = Literal["fire", "alarm", "hazard", "supervisory", "trouble", "nuisance"]
"""What an incident is, most urgent first: a confirmed fire, an unverified alarm, a hazard signal,
a supervisory signal, a trouble signal, an alarm scoring judged nuisance-likely."""

INCIDENT_CLASSES: tuple[IncidentClass, ...] = ("fire", "alarm", "hazard", "supervisory", "trouble", "nuisance")


class ClassPolicy(_Section):
    """How one incident class is routed and chased until someone acknowledges it."""

    inspectors: bool = True
    """Tell the on-duty inspectors of the premises' jurisdiction (the monitoring centre is always told)."""
    ack_within_s: Positive | None = None
    """Escalate one jurisdiction level up when not acknowledged this long after opening; None: never."""
    remind_every_s: Positive | None = None
    """Remind everyone told so far this often until acknowledged; None: no reminders."""


def _default_classes() -> dict[IncidentClass, ClassPolicy]:
    c = ClassPolicy
    return {
        "fire": c(ack_within_s=60, remind_every_s=60),
        "alarm": c(ack_within_s=180, remind_every_s=180),
        "hazard": c(ack_within_s=4 * 3600, remind_every_s=4 * 3600),
        "supervisory": c(ack_within_s=2 * 3600, remind_every_s=3600),
        "trouble": c(ack_within_s=4 * 3600, remind_every_s=4 * 3600),
        "nuisance": c(inspectors=False),
    }


class WebhookPolicy(_Section):
    timeout_s: Positive = 5.0
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 8
    """A delivery still failing after this many attempts goes to the dead letters."""
    backoff_base_s: Positive = 1.0
    backoff_cap_s: Positive = 300.0
    """Attempt n waits a random time up to min(cap, base * 2^(n-1)) ("full jitter")."""
    max_retry_after_s: Positive = 3600.0
    """A 429's Retry-After is honoured up to this long."""


class AlertsPolicy(_Section):
    classes: dict[IncidentClass, ClassPolicy] = Field(default_factory=_default_classes)
    escalation_levels: Annotated[int, Field(ge=0, le=10)] = 1
    """How many jurisdiction levels an unacknowledged incident climbs, one per ``ack_within_s``."""
    tier_changes: bool = True
    """Tell the on-duty inspectors when a premises' tier changes (upward or downward)."""
    tick_s: Positive = 1.0
    """How often an alerts process runs the desk's timers (escalations, reminders, hazard deadlines)."""
    roster_reload_s: Positive = 60.0
    """How often alerts (and the console's actions) read the registry snapshot again: duty, jurisdictions."""
    open_attempts: Annotated[int, Field(ge=1, le=100)] = 5
    """Tries to open an incident when another alerts process opens the same one at the same moment."""
    webhook: WebhookPolicy = WebhookPolicy()

    @model_validator(mode="after")
    def _every_class(self) -> AlertsPolicy:
        defaults = _default_classes()
        object.__setattr__(self, "classes", {k: self.classes.get(k, defaults[k]) for k in INCIDENT_CLASSES})
        return self


class TierSchedule(_Section):
    first_within_days: Positive | None = None
    """After entering the tier, the first inspection is due within this; None: the usual cadence."""
    every_days: Positive
    """Then one inspection per this period while the tier lasts."""
    warning_notice: bool = False
    """Send a tiered warning notice (分级警示) to the responsible unit on entering the tier."""
    draw_pool: bool = False
    """Premises of this tier make up the random-draw pool (双随机)."""
    self_check_every_days: Positive = 30.0
    """The responsible unit checks its premises itself (自查) this often, with the inspection checklist."""


def _default_tiers() -> dict[str, TierSchedule]:
    return {
        "red": TierSchedule(first_within_days=1, every_days=7, warning_notice=True, self_check_every_days=1),
        "orange": TierSchedule(first_within_days=7, every_days=30, warning_notice=True, self_check_every_days=7),
        "yellow": TierSchedule(every_days=91),
        "blue": TierSchedule(every_days=3 * 365, draw_pool=True),
    }


class HazardRule(_Section):
    """A signal that, held for ``after_s``, is a hazard to find, assign, fix by the deadline and close."""

    after_s: Seconds = 0.0
    deadline_days: Positive = 7.0
    title: str


def _default_hazards() -> dict[str, HazardRule]:
    h = HazardRule
    return {
        "low_sprinkler_pressure": h(after_s=7200, deadline_days=3, title="Sprinkler pressure below norm"),
        "low_hydrant_pressure": h(after_s=7200, deadline_days=3, title="Hydrant pressure below norm"),
        "low_tank_level": h(after_s=7200, deadline_days=3, title="Fire water tank below norm"),
        "pressure_not_restored": h(after_s=3600, deadline_days=3, title="Water system pressure not restored"),
        "tank_not_refilling": h(after_s=3600, deadline_days=3, title="Fire water tank not refilling"),
        "component_fault": h(after_s=86_400, deadline_days=7, title="Panel fault not cleared"),
        "component_disabled": h(after_s=86_400, deadline_days=7, title="Detector disabled"),
        "device_offline": h(after_s=86_400, deadline_days=7, title="Device offline"),
        "residual_current_repeated": h(deadline_days=3, title="Residual current over setpoint 3 times in 24 h"),
        "cable_over_temperature": h(deadline_days=3, title="Cable over temperature"),
        "ebike_over_current": h(deadline_days=3, title="E-bike charging over current"),
    }


class SchedulePolicy(_Section):
    """The dual-prevention schedule: inspection cadence by tier, hazards from signals, the random draw."""

    tiers: dict[str, TierSchedule] = Field(default_factory=_default_tiers)
    """Tier → cadence; a tier the file leaves out keeps its default."""
    hazards: dict[str, HazardRule] = Field(default_factory=_default_hazards)
    """Signal rule → hazard. Replaced as a whole when the file gives ``[schedule.hazards.*]``."""
    false_alarms: Annotated[int, Field(ge=1)] = 3
    """This many alarms resolved as false within ``false_alarm_days`` open a hazard."""
    false_alarm_days: Positive = 30.0
    false_alarm_deadline_days: Positive = 7.0
    """Deadline of the hazard that repeated false alarms open (find and fix the cause)."""
    finding_deadline_days: Positive = 7.0
    """Deadline of a hazard an inspector records as a finding."""
    after_fire_days: Positive = 1.0
    """A real fire, once resolved, gets the premises an inspection task due this many days later."""
    draw_share: Annotated[float, Field(gt=0, le=1)] = 0.05
    """Share of the draw pool drawn per period (at least one premises when the pool is not empty)."""
    draw_inspectors: Annotated[int, Field(ge=1, le=5)] = 2
    draw_due_days: Positive = 30.0

    @model_validator(mode="before")
    @classmethod
    def _tier_fields_default(cls, data: Any) -> Any:
        """A tier the file gives keeps the default of every field it leaves out."""
        if isinstance(data, dict) and isinstance(data.get("tiers"), dict):
            defaults = _default_tiers()
            known = {name: defaults[name].model_dump() for name in defaults}
            tiers = {
                name: {**known[name], **given} if name in known and isinstance(given, dict) else given
                for name, given in data["tiers"].items()
            }
            data = {**data, "tiers": tiers}
        return data

    @model_validator(mode="after")
    def _every_tier(self) -> SchedulePolicy:
        defaults = _default_tiers()
        unknown = sorted(set(self.tiers) - set(defaults))
        if unknown:
            raise ValueError(f"unknown tiers {unknown}; valid tiers are {', '.join(defaults)}")
        object.__setattr__(self, "tiers", {k: self.tiers.get(k, defaults[k]) for k in defaults})
        return self


CreditEvent = Literal["overdue_rectification", "penalty", "seal_up", "stop", "repeated_major_hazards"]
"""What in a unit's record changes its credit (supervision/credit.py)."""


def _default_listing() -> dict[CreditEvent, CreditStatus]:
    return {
        "overdue_rectification": "watchlist",
        "penalty": "watchlist",
        "seal_up": "untrustworthy",
        "stop": "untrustworthy",
        "repeated_major_hazards": "untrustworthy",
    }


def _by_status(watchlist: float, untrustworthy: float) -> Callable[[], dict[CreditStatus, float]]:
    return lambda: {"watchlist": watchlist, "untrustworthy": untrustworthy}


class CreditPolicy(_Section):
    """信用监管: what lists a unit (``watchlist`` 一般失信, ``untrustworthy`` 严重失信), what repairs it, and
    how closely a listed unit is watched."""

    listing: dict[CreditEvent, CreditStatus] = Field(default_factory=_default_listing)
    """Event → the status it lists the unit as at least (a worse status stays)."""
    review_every_s: Seconds = 3600.0
    """How often the alerts process reviews listed units for repair (0: never; ``POST /api/credit/review``)."""
    major_hazards: Annotated[int, Field(ge=1)] = 2
    """This many major hazards listed (挂牌督办) within ``major_hazards_days`` are ``repeated_major_hazards``."""
    major_hazards_days: Positive = 365.0
    repair_after_days: dict[CreditStatus, Positive] = Field(default_factory=_by_status(90.0, 365.0))
    """信用修复: back to ``normal`` this long after the last listing event, once no case is open and no
    hazard is overdue."""
    cadence_factor: dict[CreditStatus, Positive] = Field(default_factory=_by_status(0.5, 0.25))
    """A listed unit's tier cadence (``every_days``, ``self_check_every_days``) is multiplied by this."""
    draw_share: dict[CreditStatus, Annotated[float, Field(gt=0, le=1)]] = Field(default_factory=_by_status(0.2, 0.5))
    """A status named here is its own stratum of the random draw, drawn at this share, whatever the
    premises' tier; the others are drawn at ``schedule.draw_share`` from the draw-pool tiers."""

    def factor(self, status: str) -> float:
        """How ``status`` scales the tier's inspection and self-check periods (1 for a status not named)."""
        return next((f for name, f in self.cadence_factor.items() if name == status), 1.0)


class EnforcementPolicy(_Section):
    """Enforcement cases (supervision/cases.py): who must approve what, and the documents' numbers."""

    approval_fine_yuan: Annotated[float, Field(ge=0)] = 10_000.0
    """A fine of at least this needs a second person's approval (重大执法决定法制审核)."""
    approval_measures: tuple[Literal["seal_up", "stop", "penalty"], ...] = ("seal_up", "stop")
    """Measures that always need approval, whatever the amount."""
    order_deadline_days: Positive = 15.0
    """A rectification order's deadline when the inspector gives none."""
    first_offence_years: Positive = 2.0
    """首次免罚: a minor (``light``) offence with no penalty of the unit this many years before gets none."""
    document_prefix: Annotated[str, Field(min_length=1, max_length=20)] = "消"
    """The issuing authority's short name at the start of a document number, e.g. ``穗消``."""
    authority: Annotated[str, Field(min_length=1, max_length=100)] = "消防救援机构"
    """The issuing authority's full name, at the head of every document, e.g. ``广州市消防救援支队``."""
