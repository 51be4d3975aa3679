"""Alarm verification: is this fire alarm a fire?

Every ``fire_alarm`` event joins the open episode of its zone or opens one (an alarm of a panel point
whose zone is not known, such as a GB/T 26875.3 point missing from the registry's point list, is a
zone of its own: it is never "the same zone" as another detector), and the episode is classified
(thresholds from the policy's ``verification`` section):

- ``confirmed``: a manual call point; two distinct detectors of the zone within the window; a
  detector and sprinkler water flow in the zone (the flow switch's ``fire_alarm``, or its
  ``feedback``, which is how GB/T 26875.3 panels report a started flow switch); a detector and
  heat in the zone (a temperature reading at the fixed limit or rising at the rate-of-rise limit).
  Evidence seen shortly before the alarm counts as much as evidence after it.
- ``nuisance_likely``: the panel is in a declared test window, or the premises has at least
  ``false_alarm_history`` unconfirmed alarms in ``history_days``. Corroboration still confirms it,
  except in a test window.
- ``unverified``: anything else. The episode waits ``window_s`` (NFPA 72's positive alarm
  sequence) for corroboration; a panel reset within the window ends it as ``nuisance_likely``, and
  the window's end closes it as ``unverified`` for the operator to follow up.

Unconfirmed episodes outside a test window count as false alarms in the premises' history.
"""

from __future__ import annotations

from core.policy import VerificationPolicy
from ingest.records import EventRecord
from scoring.records import AlarmDecision, Classification, Decision
from scoring.signals import utc
from scoring.state import Episode, PremisesState

_DETECTORS = frozenset({"smoke_detector", "heat_detector", "flame_detector", "gas_detector"})
FLOW_SWITCH = "sprinkler_flow_switch"


class Verifier:
    def __init__(self, policy: VerificationPolicy) -> None:
        self.policy = policy

    def on_alarm(self, state: PremisesState, event: EventRecord, t: float, out: list[Decision]) -> None:
        component = event.component_type or ""
        point = f"{event.device_id}/{event.loop}/{event.address}"
        # An alarm whose zone is not known is its own zone: two detectors are corroboration only when
        # the same zone is known for both (a frame point missing from the registry's point list).
        zone = event.zone or ("" if event.loop is None and event.address is None else f"?{point}")
        trigger = f"{event.device_id}:{event.seq}"
        testing = event.device_id in state.tests
        episode = next((e for e in state.episodes if e.zone == zone), None)
        if episode is None:
            episode = Episode(
                alarm_id=trigger,
                zone=zone,
                panel=event.device_id,
                opened_at=t,
                expires_at=t + self.policy.window_s,
                classification="",
                false_alarm=not testing,
            )
            state.episodes.append(episode)
        elif point in episode.points and component != "manual_call_point":
            return  # the same detector again: no new evidence
        episode.points.append(point)
        episode.components.append(component)
        episode.last_alarm_at = t
        episode.evidence.append(f"{component or 'alarm'} {point} at {utc(t).isoformat()}")

        if testing:
            self._decide(state, episode, "nuisance_likely", "test_window", trigger, t, out)
            return
        reason = self._confirming(state, episode, component, t)
        if reason is not None:
            self._decide(state, episode, "confirmed", reason, trigger, t, out)
        elif episode.classification == "":
            if self._history(state, t) >= self.policy.false_alarm_history:
                self._decide(state, episode, "nuisance_likely", "false_alarm_history", trigger, t, out)
            else:
                self._decide(state, episode, "unverified", "one_detector", trigger, t, out)

    def on_heat(
        self, state: PremisesState, zone: str, detail: str, trigger: str, t: float, out: list[Decision]
    ) -> None:
        """Heat observed in ``zone`` at ``t``: remembered for later alarms, and confirms an open episode there."""
        state.heat[zone] = max(state.heat.get(zone, t), t)
        for episode in state.episodes:
            waiting = episode.classification != "confirmed" and episode.panel not in state.tests
            if episode.zone == zone and waiting and t <= episode.expires_at:
                episode.evidence.append(f"heat {detail} at {utc(t).isoformat()}")
                self._decide(state, episode, "confirmed", "alarm_and_heat", trigger, t, out)

    def on_flow(self, state: PremisesState, zone: str, point: str, trigger: str, t: float, out: list[Decision]) -> None:
        """Sprinkler water flow reported in ``zone`` at ``t`` (a flow switch's feedback): remembered for
        later alarms, and confirms an open episode there that has a detector."""
        state.flow[zone] = max(state.flow.get(zone, t), t)
        for episode in state.episodes:
            waiting = episode.classification != "confirmed" and episode.panel not in state.tests
            detector = any(c in _DETECTORS for c in episode.components)
            if episode.zone == zone and waiting and detector and t <= episode.expires_at:
                episode.evidence.append(f"water flow {point} at {utc(t).isoformat()}")
                self._decide(state, episode, "confirmed", "detector_and_flow", trigger, t, out)

    def on_reset(self, state: PremisesState, panel: str, trigger: str, t: float, out: list[Decision]) -> None:
        for episode in [e for e in state.episodes if e.panel == panel]:
            classification: Classification = "confirmed" if episode.classification == "confirmed" else "nuisance_likely"
            self._close(state, episode, classification, "panel_reset", trigger, t, out)
        state.tests.pop(panel, None)

    def advance(self, state: PremisesState, now: float, out: list[Decision]) -> None:
        for episode in list(state.episodes):
            classification: Classification = episode.classification  # type: ignore[assignment]
            if classification != "confirmed" and now >= episode.expires_at:
                self._close(state, episode, classification, "window_ended", "window", episode.expires_at, out)
            elif classification == "confirmed" and now >= episode.last_alarm_at + self.policy.episode_idle_s:
                quiet = episode.last_alarm_at + self.policy.episode_idle_s
                self._close(state, episode, classification, "quiet", "quiet", quiet, out)
        limit = self.policy.test_window_max_s
        for panel, opened in list(state.tests.items()):
            if now - opened >= limit:
                del state.tests[panel]

    def _confirming(self, state: PremisesState, episode: Episode, component: str, t: float) -> str | None:
        if component == "manual_call_point":
            return "manual_call_point"
        detectors = {p for p, c in zip(episode.points, episode.components, strict=True) if c in _DETECTORS}
        if len(detectors) >= 2:
            return "two_detectors"
        flowed = state.flow.get(episode.zone)
        flow = FLOW_SWITCH in episode.components or (flowed is not None and abs(t - flowed) <= self.policy.window_s)
        if detectors and flow:
            return "detector_and_flow"
        heat = state.heat.get(episode.zone)
        if heat is not None and abs(t - heat) <= self.policy.window_s:
            return "alarm_and_heat"
        return None

    def _history(self, state: PremisesState, t: float) -> int:
        # Counted, not pruned: the risk inputs prune the history, keeping the longer of both windows.
        since = t - self.policy.history_days * 86_400
        return sum(1 for f in state.false_alarms if f > since)

    def _decide(
        self,
        state: PremisesState,
        episode: Episode,
        classification: Classification,
        reason: str,
        trigger: str,
        t: float,
        out: list[Decision],
    ) -> None:
        if episode.classification == classification:
            return
        if classification == "confirmed":
            state.fires.append(t)
            episode.false_alarm = False
        episode.classification = classification
        state.risk.dirty = True
        out.append(self._decision(state, episode, reason, trigger, t, final=False))

    def _close(
        self,
        state: PremisesState,
        episode: Episode,
        classification: Classification,
        reason: str,
        trigger: str,
        t: float,
        out: list[Decision],
    ) -> None:
        episode.classification = classification
        state.episodes.remove(episode)
        if episode.false_alarm:
            state.false_alarms.append(t)
            state.risk.dirty = True
        out.append(self._decision(state, episode, reason, trigger, t, final=True))

    @staticmethod
    def _decision(
        state: PremisesState, episode: Episode, reason: str, trigger: str, t: float, *, final: bool
    ) -> AlarmDecision:
        episode.revision += 1
        return AlarmDecision(
            time=utc(t),
            premises_id=state.premises_id,
            alarm_id=episode.alarm_id,
            revision=episode.revision,
            zone=episode.zone,
            classification=episode.classification,  # type: ignore[arg-type]
            reason=reason,
            trigger=trigger,
            opened_at=utc(episode.opened_at),
            final=final,
            evidence=tuple(episode.evidence),
        )
