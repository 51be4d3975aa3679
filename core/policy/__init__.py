"""The policy file: every number a fire authority may tune (thresholds, windows, tiers), with defaults.

Defaults come from docs/policy.md, which cites the standard behind each (DOMAIN.md's table). A policy
file is TOML; every section and field is optional, and a field it leaves out keeps its default.
Rules are replaced as a whole list when the file gives ``[[rules]]``, so the file shows every rule
in force. Unknown fields are refused with their place in the file, as a typo in a threshold must
never silently fall back to a default.

The sections live by what reads them (:mod:`core.policy.scoring`, :mod:`core.policy.supervision`) and
are all re-exported here.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import Field, ValidationError, model_validator

from core.action_plans import PlanStep, default_action_plans
from core.errors import SettingsError, problems
from core.policy._section import Positive, Seconds, SignalKind, _Section
from core.policy.scoring import (
    AnomalyPolicy,
    DevicesPolicy,
    GaugeSpec,
    HeatClass,
    HeatUse,
    IngestPolicy,
    RetrainPolicy,
    RiskPolicy,
    ThresholdRule,
    VerificationPolicy,
    _default_rules,
)
from core.policy.supervision import (
    INCIDENT_CLASSES,
    AlertsPolicy,
    ClassPolicy,
    CreditEvent,
    CreditPolicy,
    EnforcementPolicy,
    HazardRule,
    IncidentClass,
    SchedulePolicy,
    TierSchedule,
    WebhookPolicy,
)

__all__ = [
    "INCIDENT_CLASSES",
    "AlertsPolicy",
    "AnomalyPolicy",
    "ClassPolicy",
    "CreditEvent",
    "CreditPolicy",
    "DevicesPolicy",
    "EnforcementPolicy",
    "GaugeSpec",
    "HazardRule",
    "HeatClass",
    "HeatUse",
    "IncidentClass",
    "IngestPolicy",
    "Policy",
    "Positive",
    "RetrainPolicy",
    "RiskPolicy",
    "SchedulePolicy",
    "Seconds",
    "SignalKind",
    "ThresholdRule",
    "TierSchedule",
    "VerificationPolicy",
    "WebhookPolicy",
    "load_policy",
]


class Policy(_Section):
    """The whole policy; ``Policy()`` is the documented default."""

    ingest: IngestPolicy = IngestPolicy()
    devices: DevicesPolicy = DevicesPolicy()
    rules: tuple[ThresholdRule, ...] = Field(default_factory=_default_rules)
    verification: VerificationPolicy = VerificationPolicy()
    risk: RiskPolicy = RiskPolicy()
    anomaly: AnomalyPolicy = AnomalyPolicy()
    alerts: AlertsPolicy = AlertsPolicy()
    schedule: SchedulePolicy = SchedulePolicy()
    credit: CreditPolicy = CreditPolicy()
    enforcement: EnforcementPolicy = EnforcementPolicy()
    action_plans: dict[IncidentClass, tuple[PlanStep, ...]] = Field(default_factory=default_action_plans)  # type: ignore[arg-type]
    """The operator's steps per incident class (:mod:`core.action_plans`); a class left out keeps its default."""

    def self_check_every_days(self, tier: str | None, credit_status: str) -> float:
        """How often the unit checks its premises itself: its tier's period (blue before the first score),
        shortened for a unit listed for its credit."""
        rules = self.schedule.tiers[tier or "blue"]
        return round(rules.self_check_every_days * self.credit.factor(credit_status), 2)

    @model_validator(mode="after")
    def _every_plan(self) -> Policy:
        defaults = default_action_plans()
        plans = {k: self.action_plans.get(k, defaults[k]) for k in INCIDENT_CLASSES}
        for cls, steps in plans.items():
            ids = [step.id for step in steps]
            if len(set(ids)) != len(ids):
                raise ValueError(f"action_plans.{cls}: step ids must be unique, got {', '.join(ids)}")
        object.__setattr__(self, "action_plans", plans)
        return self

    @model_validator(mode="after")
    def _unique_rule_names(self) -> Policy:
        names = [rule.name for rule in self.rules]
        doubles = sorted({n for n in names if names.count(n) > 1})
        if doubles:
            raise ValueError(f"rule names must be unique, repeated: {', '.join(doubles)}")
        return self


def load_policy(path: Path | None) -> Policy:
    """The policy in ``path`` over the defaults; the defaults alone when ``path`` is None.

    Raises :class:`SettingsError` naming the file, the field and the problem.
    """
    if path is None:
        return Policy()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"policy file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"policy file {path} cannot be read as TOML: {exc}") from None
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(f"policy file {path}:\n  " + "\n  ".join(problems(exc, "(top level)"))) from None
