"""Standards-based threshold rules over readings: hysteresis, minimum duration and repeats.

A rule is breached while its metric is beyond the limit. It raises its signal once the breach has
lasted ``min_duration_s`` (counted in the device's own time), or, for a repeat rule, on the
``repeats``-th separate breach within ``repeat_window_s``. It clears only once the metric is back
past the limit by ``clear_margin``, so a value hovering at the limit does not flap.
"""

from __future__ import annotations

from core.policy import ThresholdRule
from scoring.signals import Signals
from scoring.site import DeviceInfo
from scoring.state import DeviceState, RuleState


def limit_of(rule: ThresholdRule, device: DeviceInfo | None) -> float:
    if rule.setpoint is not None and device is not None:
        return device.setpoints.get(rule.setpoint, rule.limit)
    return rule.limit


def apply_rule(
    rule: ThresholdRule,
    device: DeviceInfo | None,
    device_id: str,
    state: DeviceState,
    t: float,
    value: float,
    signals: Signals,
) -> None:
    limit = limit_of(rule, device)
    below = rule.direction == "below"
    beyond = value < limit if below else value > limit
    recovered = value >= limit + rule.clear_margin if below else value <= limit - rule.clear_margin
    track = state.rules.get(rule.name)
    if track is None:
        track = state.rules[rule.name] = RuleState()
    evidence: dict[str, float | str] = {"metric": rule.metric, "value": value, "limit": limit}

    if beyond and track.breach_since is None:
        track.breach_since = t
        if rule.repeats > 1:
            track.hits = [h for h in track.hits if h > t - rule.repeat_window_s]
            track.hits.append(t)
    elif recovered and track.breach_since is not None:
        track.breach_since = None
        if rule.repeats == 1:
            track.raised = False
            signals.clear(t, device_id, rule.name, rule.metric, evidence)

    if rule.repeats > 1:
        _repeats(rule, device_id, track, t, evidence, signals)
    elif (
        beyond and not track.raised and track.breach_since is not None and t - track.breach_since >= rule.min_duration_s
    ):
        track.raised = True
        evidence["breached_since_s"] = round(t - track.breach_since, 3)
        signals.raise_(t, device_id, rule.name, rule.kind, rule.metric, evidence)


def _repeats(
    rule: ThresholdRule,
    device_id: str,
    track: RuleState,
    t: float,
    evidence: dict[str, float | str],
    signals: Signals,
) -> None:
    recent = [h for h in track.hits if h > t - rule.repeat_window_s]
    if len(recent) >= rule.repeats and not track.raised:
        track.raised = True
        evidence["breaches"] = len(recent)
        evidence["window_s"] = rule.repeat_window_s
        signals.raise_(t, device_id, rule.name, rule.kind, rule.metric, evidence)
    elif track.raised and len(recent) < rule.repeats and track.breach_since is None:
        track.raised = False
        evidence["breaches"] = len(recent)
        signals.clear(t, device_id, rule.name, rule.metric, evidence)
