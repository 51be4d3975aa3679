"""An enforcement case's steps and what may come next, decided without I/O.

A case (执法案件) is about one offence of one premises. It opens with a rectification order
(责令改正通知书) and its deadline; a re-check (复查) finds it corrected or not. Not corrected, it may
escalate: a temporary seal-up (临时查封) or a stop of production, business or use (三停), lifted
(解除) once a re-check finds it corrected. A penalty (行政处罚) with a fine from the discretion table,
or no penalty (不予处罚) where the table's exemptions apply, may be decided while the case is open.
A measure above the policy's thresholds waits for a second person's approval (法制审核) before it
takes effect. It closes (结案) once the last re-check passed, no measure is in force and nothing
awaits approval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, get_args

from core.policy import EnforcementPolicy
from supervision.errors import CaseError

StepKind = Literal["order", "recheck", "seal_up", "stop", "penalty", "exemption", "lift", "close"]
STEP_KINDS: Final[tuple[StepKind, ...]] = get_args(StepKind)
StepState = Literal["pending", "effective", "rejected"]
MEASURES: Final = ("seal_up", "stop")
"""Coercive measures (强制措施): in force until lifted."""
DOCUMENTED: Final[dict[StepKind, str]] = {
    "order": "责改",
    "recheck": "复查",
    "seal_up": "临封",
    "stop": "停",
    "penalty": "罚",
    "exemption": "不罚",
    "lift": "解封",
}
"""Steps that produce a numbered document, with the word in its number (消责改〔2026〕12号)."""


@dataclass(frozen=True, slots=True)
class Step:
    id: int
    kind: StepKind
    state: StepState
    proposed_by: str
    fine_yuan: float | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


def in_force(steps: Sequence[Step]) -> list[Step]:
    """The coercive measures in effect and not lifted."""
    lifted = {s.detail.get("measure") for s in steps if s.kind == "lift" and s.state == "effective"}
    return [s for s in steps if s.kind in MEASURES and s.state == "effective" and s.id not in lifted]


def last_recheck(steps: Sequence[Step]) -> Step | None:
    rechecks = [s for s in steps if s.kind == "recheck" and s.state == "effective"]
    return rechecks[-1] if rechecks else None


def pending(steps: Sequence[Step]) -> list[Step]:
    return [s for s in steps if s.state == "pending"]


def check_next(kind: StepKind, steps: Sequence[Step], is_open: bool, detail: Mapping[str, Any]) -> None:
    """Raises CaseError, saying why, unless ``kind`` may be the case's next step."""
    if not is_open:
        raise CaseError("the case is closed")
    if kind == "order":
        raise CaseError("a case has one rectification order, made when it opens; re-check it")
    waiting = pending(steps)
    recheck = last_recheck(steps)
    if kind == "recheck":
        return
    if kind in MEASURES:
        if recheck is None or recheck.detail.get("passed"):
            raise CaseError(f"a {kind.replace('_', '-')} needs a re-check that found the hazard not corrected")
        if any(s.kind == kind for s in in_force(steps)) or any(s.kind == kind for s in waiting):
            raise CaseError(f"a {kind.replace('_', '-')} is already in force or awaiting approval")
        return
    if kind in ("penalty", "exemption"):
        decided = [s for s in steps if s.kind in ("penalty", "exemption") and s.state != "rejected"]
        if decided:
            raise CaseError(f"the case's penalty is already decided (step {decided[0].id}: {decided[0].kind})")
        return
    if kind == "lift":
        measure = detail.get("measure")
        if measure not in {s.id for s in in_force(steps)}:
            raise CaseError(f"step {measure} is not a seal-up or stop in force")
        if recheck is None or not recheck.detail.get("passed"):
            raise CaseError("a measure is lifted after a re-check found the hazard corrected")
        return
    if kind == "close":
        if waiting:
            raise CaseError(f"step {waiting[0].id} ({waiting[0].kind}) awaits approval")
        if forced := in_force(steps):
            raise CaseError(f"lift the {forced[0].kind.replace('_', '-')} (step {forced[0].id}) first")
        if recheck is None or not recheck.detail.get("passed"):
            raise CaseError("a case closes after a re-check found the hazard corrected")
        return
    raise CaseError(f"unknown step {kind!r}; valid steps are {', '.join(STEP_KINDS)}")


def needs_approval(kind: StepKind, fine_yuan: float | None, policy: EnforcementPolicy) -> bool:
    """Whether the step waits for a second person's approval (重大执法决定法制审核)."""
    if kind in policy.approval_measures:
        return True
    return kind == "penalty" and fine_yuan is not None and fine_yuan >= policy.approval_fine_yuan


def check_decision(step: Step, actor_user: str) -> None:
    """Raises CaseError unless ``actor_user`` (a user id) may approve or refuse ``step``: it must await
    approval, and the one who proposed it may not decide it."""
    if step.state != "pending":
        raise CaseError(f"step {step.id} is {step.state}, not awaiting approval")
    if step.proposed_by.split(":", 1)[-1].split(" ", 1)[0] == actor_user:
        raise CaseError(f"step {step.id} was proposed by {actor_user}: a second person approves it")


TAKEN_STEPS: Final[tuple[StepKind, ...]] = ("recheck", "seal_up", "stop", "penalty", "lift", "close")
"""The steps a person takes on an open case (the order comes with the case; an exemption is a penalty
the discretion table exempts)."""

Waiting = Literal["approval", "recheck", "decision", "lift", "close", "nothing"]


@dataclass(frozen=True, slots=True)
class NextUp:
    """What a case waits for now: ``steps`` a supervisor may take (in :data:`TAKEN_STEPS` order), the
    ``measures`` in force a lift may name, who acts (``admin``, ``inspector`` or nobody once closed),
    and ``waiting`` for what:

    - ``approval``: a step awaits an admin's approval (``step``), who did not propose it;
    - ``recheck``: the order's (or the last failed re-check's) deadline: re-check the hazard;
    - ``decision``: a re-check found it not corrected: seal up, stop, fine, or re-check again;
    - ``lift``: found corrected, a measure still in force: lift it;
    - ``close``: found corrected, nothing in force or pending: close the case;
    - ``nothing``: the case is closed."""

    steps: tuple[StepKind, ...]
    measures: tuple[int, ...]
    who: Literal["admin", "inspector"] | None
    waiting: Waiting
    step: int | None = None


def next_up(steps: Sequence[Step], is_open: bool) -> NextUp:
    """What ``steps`` of a case (open or not) allow and wait for now, by the rules of :func:`check_next`."""
    if not is_open:
        return NextUp((), (), None, "nothing")
    measures = tuple(s.id for s in in_force(steps))
    allowed = []
    for kind in TAKEN_STEPS:
        try:
            check_next(kind, steps, True, {"measure": measures[0]} if kind == "lift" and measures else {})
        except CaseError:
            continue
        allowed.append(kind)
    if waiting := pending(steps):
        return NextUp(tuple(allowed), measures, "admin", "approval", waiting[0].id)
    recheck = last_recheck(steps)
    if recheck is None:
        return NextUp(tuple(allowed), measures, "inspector", "recheck")
    if not recheck.detail.get("passed"):
        return NextUp(tuple(allowed), measures, "inspector", "decision")
    return NextUp(tuple(allowed), measures, "inspector", "lift" if measures else "close")
