"""Alarm verification: is this fire alarm a fire?

Every ``fire_alarm`` event joins the open episode of its zone or opens one, and the episode is
classified (numbers from the policy's ``verification`` section):

- ``confirmed``: a manual call point; two distinct detectors of the zone (panel points, or independent
  smoke alarms the registry places in the zone); a detector and sprinkler water flow in the zone (the
  flow switch's ``fire_alarm``, or its ``feedback``, which is how GB/T 26875.3 panels report a started
  flow switch); an alarm and heat in the zone (:mod:`scoring.heat`: a room temperature sensor of the
  zone at its fixed limit, rising at the rate-of-rise limit, or risen by the minimum rise since its
  reading before, as the zone's use allows). Heat and flow seen up to ``window_s`` before the alarm
  count as much as those after it.
- ``nuisance_likely``: the panel is in a declared test window, or the premises has at least
  ``false_alarm_history`` unconfirmed alarms in ``history_days``. Corroboration still confirms it,
  except in a test window.
- ``unverified``: anything else. The episode waits ``window_s`` (NFPA 72's positive alarm sequence)
  for corroboration, or longer when a heat sensor of its zone reports slower than that: until that
  sensor's next reading is due (the scorer says when, at most ``heat_wait_max_s``). A panel reset
  ends it as ``nuisance_likely``, the wait's end closes it as ``unverified`` for the operator to
  follow up.

An alarm whose zone is not known (a GB/T 26875.3 point missing from the registry's point list, a device
with no zone) is a zone of its own: it never corroborates, nor is corroborated by, another detector.
Every decision carries its evidence (:class:`scoring.records.Evidence`): each alarm, heat and flow the
episode relied on, in the order they happened. Unconfirmed episodes outside a test window count as
false alarms in the premises' history.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.policy import VerificationPolicy
from scoring.records import AlarmDecision, Classification, Decision, Evidence
from scoring.signals import utc
from scoring.state import Episode, PremisesState

DETECTORS = frozenset({"smoke_detector", "heat_detector", "flame_detector", "gas_detector"})
FLOW_SWITCH = "sprinkler_flow_switch"


@dataclass(frozen=True, slots=True)
class Alarm:
    """A fire alarm as verification reads it (the scorer resolves its zone and component)."""

    device_id: str
    point: str
    """``loop/address`` of a panel point, empty for a device that is its own point."""
    zone: str
    component: str
    trigger: str
    """The record that raised it: ``device_id:seq``."""

    @property
    def detector(self) -> str:
        """What tells two detectors apart: the device and its point."""
        return f"{self.device_id}/{self.point}"


class Verifier:
    def __init__(self, policy: VerificationPolicy) -> None:
        self.policy = policy

    def on_alarm(
        self,
        state: PremisesState,
        alarm: Alarm,
        t: float,
        out: list[Decision],
        wait_until: float,
        baselines: dict[str, list[float]],
    ) -> None:
        """A fire alarm at ``t``; an episode it opens waits for corroboration until ``wait_until`` at
        least (``t + window_s`` or later, when a slow heat sensor of the zone is due to report), and
        remembers the zone's heat sensors' last readings (``baselines``: device → [time, °C])."""
        testing = alarm.device_id in state.tests
        episode = next((e for e in state.episodes if e.zone == alarm.zone), None)
        if episode is None:
            episode = Episode(
                alarm_id=alarm.trigger,
                zone=alarm.zone,
                panel=alarm.device_id,
                opened_at=t,
                expires_at=max(t + self.policy.window_s, wait_until),
                classification="",
                false_alarm=not testing,
                baselines=baselines,
            )
            state.episodes.append(episode)
        elif alarm.detector in episode.points and alarm.component != "manual_call_point":
            return  # the same detector again: no new evidence
        episode.points.append(alarm.detector)
        episode.components.append(alarm.component)
        episode.last_alarm_at = t
        episode.evidence.append(Evidence(utc(t), "alarm", alarm.device_id, alarm.component, alarm.point))

        if testing:
            self._decide(state, episode, "nuisance_likely", "test_window", alarm.trigger, t, out)
            return
        reason, clues = self._confirming(state, episode, alarm.component, t)
        if reason is not None:
            episode.evidence.extend(c for c in clues if c not in episode.evidence)
            self._decide(state, episode, "confirmed", reason, alarm.trigger, t, out)
        elif episode.classification == "":
            if self._history(state, t) >= self.policy.false_alarm_history:
                self._decide(state, episode, "nuisance_likely", "false_alarm_history", alarm.trigger, t, out)
            else:
                self._decide(state, episode, "unverified", "one_detector", alarm.trigger, t, out)

    def on_heat(
        self, state: PremisesState, zone: str, clue: Evidence, trigger: str, t: float, out: list[Decision]
    ) -> None:
        """Heat seen in ``zone`` at ``t``: remembered for later alarms, and confirms a waiting episode there."""
        self._remember(state, zone, clue, t)
        for episode in state.episodes:
            if episode.zone == zone and self._waiting(state, episode, t):
                episode.evidence.append(clue)
                self._decide(state, episode, "confirmed", "alarm_and_heat", trigger, t, out)

    def on_flow(
        self, state: PremisesState, zone: str, clue: Evidence, trigger: str, t: float, out: list[Decision]
    ) -> None:
        """Sprinkler water flow reported in ``zone`` at ``t`` (a flow switch's feedback): remembered for
        later alarms, and confirms a waiting episode there that has a detector."""
        self._remember(state, zone, clue, t)
        for episode in state.episodes:
            detector = any(c in DETECTORS for c in episode.components)
            if episode.zone == zone and detector and self._waiting(state, episode, t):
                episode.evidence.append(clue)
                self._decide(state, episode, "confirmed", "detector_and_flow", trigger, t, out)

    def baselines(self, state: PremisesState, zone: str, device_id: str, t: float, value: float) -> list[list[float]]:
        """[time, °C] of ``device_id``'s last reading before each alarm of ``zone`` still waiting, for its
        reading ``value`` at ``t`` to be judged against. A reading from before an alarm, scored after it
        (the runners score events first), becomes that alarm's baseline instead when it is the later one."""
        out = []
        for e in state.episodes:
            if e.zone != zone or not self._waiting(state, e, t):
                continue
            if t <= e.opened_at:
                known = e.baselines.get(device_id)
                if known is None or t > known[0]:
                    e.baselines[device_id] = [t, value]
            elif device_id in e.baselines:
                out.append(e.baselines[device_id])
        return out

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
        for zone, clues in list(state.clues.items()):
            if all(c.time.timestamp() < now - self.policy.window_s for c in clues):
                del state.clues[zone]

    def _waiting(self, state: PremisesState, episode: Episode, t: float) -> bool:
        """Whether something seen at ``t`` may still corroborate the episode: it is unconfirmed, not in a
        test, and ``t`` is no earlier than a window before its alarm and no later than its wait."""
        if episode.classification == "confirmed" or episode.panel in state.tests:
            return False
        return episode.opened_at - self.policy.window_s <= t <= episode.expires_at

    def _remember(self, state: PremisesState, zone: str, clue: Evidence, t: float) -> None:
        """Keep ``clue`` for alarms of ``zone`` to come: the latest of each device and kind, within the window."""
        kept = [
            c
            for c in state.clues.get(zone, ())
            if c.time.timestamp() >= t - self.policy.window_s and (c.kind, c.device_id) != (clue.kind, clue.device_id)
        ]
        state.clues[zone] = [*kept, clue]

    def _confirming(
        self, state: PremisesState, episode: Episode, component: str, t: float
    ) -> tuple[str | None, list[Evidence]]:
        """Why the episode is a fire now, and the heat or flow seen before that says so."""
        if component == "manual_call_point":
            return "manual_call_point", []
        detectors = {p for p, c in zip(episode.points, episode.components, strict=True) if c in DETECTORS}
        if len(detectors) >= 2:
            return "two_detectors", []
        recent = [c for c in state.clues.get(episode.zone, ()) if abs(t - c.time.timestamp()) <= self.policy.window_s]
        flows = [c for c in recent if c.kind == "flow"]
        if detectors and (FLOW_SWITCH in episode.components or flows):
            return "detector_and_flow", flows
        heats = [c for c in recent if c.kind == "heat"]
        if heats:
            return "alarm_and_heat", heats
        return None, []

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
            # One fire is one fire: a zone confirmed while another zone of the premises still is (the
            # fire spreading, or seen on another floor) is not another fire in the premises' history.
            if not any(e is not episode and e.classification == "confirmed" for e in state.episodes):
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
        # a string was written by a version before structured evidence (see Episode.evidence)
        opened = utc(episode.opened_at)
        evidence = sorted(
            (e if isinstance(e, Evidence) else Evidence(opened, "note", note=e) for e in episode.evidence),
            key=lambda e: e.time,
        )
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
            evidence=tuple(evidence),
        )
