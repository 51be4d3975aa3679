"""The scorer: one step of every processor for one record of one premises.

:meth:`Scorer.process` and :meth:`Scorer.advance` are the whole contract both runners drive: given a
premises' state and a record (or a later time), they update the state and return the decisions, in
order. They are pure apart from that state: no clock, no I/O, so the local runner, the faust worker
and the tests get the same decisions from the same records.

Time is the premises' clock: the latest record time seen for it; windows expire by it. Whether a
device still reports is judged by another clock, the premises' latest time of receipt (when ingest
read a message from the broker): a device with a skewed clock, or one delivering the backlog it
buffered through an outage, is judged by when its messages arrive, not by what they say the time
was. The runners advance both clocks from the wall clock when a premises falls silent, never past
the newest receipt they have seen, so a stalled pipeline is not mistaken for a silent city (see
docs/scoring.md).
"""

from __future__ import annotations

import dataclasses

from core.policy import HeatClass, Policy, ThresholdRule
from ingest import EventRecord, Reading, Record, StatusRecord
from scoring import anomaly, gauges, heat
from scoring.models import Models
from scoring.peers import Peer
from scoring.records import Decision, Evidence, Feedback, RiskScore, Tier
from scoring.risk import ELECTRICAL_RULES, WATER_RULES, RiskInputs, tier_of
from scoring.rules import apply_rule
from scoring.signals import Signals, utc
from scoring.site import DeviceInfo, Site, Sites
from scoring.state import DeviceState, GaugeTrack, PremisesState, Window
from scoring.verification import FLOW_SWITCH, Alarm, Verifier

DEVICE_DETECTORS = {"smoke_alarm": "smoke_detector", "gas_detector": "gas_detector"}
"""An independent alarm's ``fire_alarm`` that names no component is that of the detector it is."""
HEAT_METRIC = "temperature_c"
SLOW_SENSOR_GRACE = 0.5
"""An alarm waits for a heat sensor's readings this much of an interval longer than they take (a
sensor's clock runs a little late, or its message does)."""

_PANEL_SIGNALS = {
    "fault": ("component_fault", "trouble", True),
    "fault_cleared": ("component_fault", "trouble", False),
    "supervisory": ("supervisory", "supervisory", True),
    "supervisory_cleared": ("supervisory", "supervisory", False),
    "disabled": ("component_disabled", "trouble", True),
    "enabled": ("component_disabled", "trouble", False),
}


class Scorer:
    def __init__(self, policy: Policy, sites: Sites, models: Models) -> None:
        self.policy = policy
        self.sites = sites
        self.models = models
        self.verifier = Verifier(policy.verification)
        self._rules: dict[tuple[str, str], tuple[ThresholdRule, ...]] = {}
        self._heat_types = frozenset(policy.verification.heat_device_types)
        self._heat_reading = heat.HeatReading.of(policy.verification)
        self._heat_classes: dict[str, HeatClass] = {}

    def new_state(self, premises_id: str) -> PremisesState:
        return PremisesState(premises_id)

    def process(self, state: PremisesState, record: Record) -> list[Decision]:
        t = record.time.timestamp()
        received = record.received_at.timestamp() if record.received_at is not None else t
        first = state.clock == 0.0
        state.clock = max(state.clock, t)
        self._receive(state, received)
        signals = Signals(state)
        site = self.sites.get(state.premises_id)
        info = site.devices.get(record.device_id) if site is not None else None
        device = state.devices.get(record.device_id)
        if device is None:
            device = state.devices[record.device_id] = DeviceState()
        if first and site is not None:
            for other in site.devices:  # a device that never speaks goes offline from the first record on
                state.devices.setdefault(other, DeviceState(seen_at=state.received))

        # Windows that ended before this record close first, so it cannot join an episode already over.
        self.verifier.advance(state, state.clock, signals.out)

        if isinstance(record, StatusRecord) and record.state == "offline":
            reason = record.detail or "broker last will"  # a gateway says why: its connection closed
            self._went_offline(device, record.device_id, received, signals, {"reason": reason}, will=True)
        else:
            self._heard(state, device, info, record.device_id, received, signals)

        if isinstance(record, Reading):
            self._reading(state, site, device, info, record, t, signals)
        elif isinstance(record, EventRecord):
            self._event(state, site, record, t, signals)
        elif record.battery_pct is not None:
            device.battery_pct = record.battery_pct

        self._advance(state, site, state.clock, signals)
        return signals.out

    def advance(self, state: PremisesState, now: float, received: float | None = None) -> list[Decision]:
        """Let time pass without a record: the premises' clock to ``now``, its clock of receipt to
        ``received`` (default ``now``), Unix seconds: expiries and silent devices.

        The runners call this once a second with the wall clock less the allowed lateness, and the
        newest receipt of any record (see :class:`scoring.runner.Engine`)."""
        received = now if received is None else received
        if now <= state.clock and received <= state.received:
            return []
        state.clock = max(state.clock, now)
        self._receive(state, received)
        signals = Signals(state)
        self._advance(state, self.sites.get(state.premises_id), state.clock, signals)
        return signals.out

    def feedback(self, state: PremisesState, feedback: Feedback) -> list[Decision]:
        """Fold what people found out into the premises' history; the risk is rescored at once.

        Feedback is applied at the premises' own clock: it changes history, not time.
        """
        mark = f"{feedback.kind}:{feedback.ref}"
        if mark in state.feedback_refs:
            return []
        state.feedback_refs = [*state.feedback_refs[-199:], mark]
        t = feedback.time.timestamp()
        if feedback.kind == "false_alarm":
            state.false_alarms.append(t)
        elif feedback.kind == "real_fire":
            counted = [f for f in state.false_alarms if f <= t]
            if counted:  # the unconfirmed episode scoring had filed as a false alarm
                state.false_alarms.remove(max(counted))
            state.fires.append(t)
        elif feedback.kind == "hazard_overdue":
            state.overdue_hazards[feedback.ref] = t
        else:
            state.overdue_hazards.pop(feedback.ref, None)
        state.risk.dirty = True
        signals = Signals(state)
        self._risk(state, self.sites.get(state.premises_id), state.clock or t, signals)
        return signals.out

    def _reading(
        self,
        state: PremisesState,
        site: Site | None,
        device: DeviceState,
        info: DeviceInfo | None,
        r: Reading,
        t: float,
        signals: Signals,
    ) -> None:
        previous_t = device.last_time.get(r.metric)
        if previous_t is not None and t <= previous_t:
            return  # late or repeated: rules and windows follow each device's own time order
        device.last_time[r.metric] = t
        device.latest[r.metric] = r.value
        device_type = info.type if info is not None else ""
        rules = self._rules_of(r.metric, device_type)
        for rule in rules:
            apply_rule(rule, info, r.device_id, device, t, r.value, signals)
        if r.metric == HEAT_METRIC and device_type in self._heat_types and info is not None and info.zone:
            self._heat(state, site, device, info, r, t, signals)
        interval = info.interval_s if info is not None else anomaly.UNKNOWN_INTERVAL_S
        spec = self.policy.anomaly.gauge(r.metric)
        if spec is not None:
            track = device.gauges.get(r.metric)
            if track is None:
                track = device.gauges[r.metric] = GaugeTrack()
            breached = _breached(device, rules)
            peers = self._peers(state, site, info, r.metric) if site is not None and info is not None else ()
            gauges.observe(
                track, spec, self.policy.anomaly, r.device_id, t, r.value, interval, breached, signals, peers
            )
            return
        window = device.windows.get(r.metric)
        if window is None:
            window = device.windows[r.metric] = Window()
        anomaly.observe(
            self.models.anomaly, self.policy.anomaly, window, r.device_id, r.metric, t, r.value, interval, signals
        )

    def _rules_of(self, metric: str, device_type: str) -> tuple[ThresholdRule, ...]:
        rules = self._rules.get((metric, device_type))
        if rules is None:
            rules = self._rules[(metric, device_type)] = tuple(
                rule for rule in self.policy.rules if rule.metric == metric and rule.applies_to(device_type)
            )
        return rules

    def _peers(self, state: PremisesState, site: Site, info: DeviceInfo, metric: str) -> tuple[Peer, ...]:
        """The other gauges of the metric on the device's water system, as far as scoring has seen them,
        and whether a threshold rule of the metric is breached on each."""
        out = []
        for peer_id in site.peers(info):
            device, peer_info = state.devices.get(peer_id), site.devices.get(peer_id)
            track = device.gauges.get(metric) if device is not None else None
            if device is None or track is None or peer_info is None:
                continue
            breached = _breached(device, self._rules_of(metric, peer_info.type))
            out.append(Peer(peer_id, track, peer_info.interval_s, breached))
        return tuple(out)

    def _heat(
        self,
        state: PremisesState,
        site: Site | None,
        device: DeviceState,
        info: DeviceInfo,
        r: Reading,
        t: float,
        signals: Signals,
    ) -> None:
        """A room temperature reading: heat in the device's zone, as the zone's use reads it (:mod:`scoring.heat`),
        or a rise since its last reading before an alarm of the zone that still waits."""
        if device.heat is None:
            device.heat = heat.HeatTrack()
        use = site.use_of(info.zone) if site is not None else "ordinary"
        cls = self._heat_classes.get(use)
        if cls is None:
            cls = self._heat_classes[use] = self.policy.verification.heat_class(use)
        # alarms of the zone that wait, and the device's noise before this reading's own step: only then
        baselines = self.verifier.baselines(state, info.zone, r.device_id, t, r.value) if cls.rate_of_rise else []
        noise = heat.noise_floor(device.heat, 1, self._heat_reading) if baselines else 0.0
        found = heat.observe(device.heat, t, r.value, cls, self._heat_reading)
        for since, before in baselines if found is None else ():
            found = heat.risen(r.value, before, t - since, noise, cls)
            if found is not None:
                break
        if found is not None:
            clue = Evidence(
                utc(t),
                "heat",
                r.device_id,
                r.metric,
                rule=found.rule,
                value=found.value,
                limit=found.limit,
                rise_c=found.rise_c or None,
                span_s=found.span_s or None,
                rate_c_per_min=found.rate_c_per_min or None,
            )
            self.verifier.on_heat(state, info.zone, clue, f"{r.device_id}:{r.seq}", t, signals.out)

    def _alarm(self, site: Site | None, e: EventRecord) -> Alarm:
        """Where a fire alarm is and what raised it: a panel point's zone comes with its event (from the
        point list); an independent alarm's from the registry. A zone nobody knows is the alarm's own."""
        info = site.devices.get(e.device_id) if site is not None else None
        own = e.loop is None and e.address is None
        component = e.component_type or (DEVICE_DETECTORS.get(info.type, "") if own and info is not None else "")
        point = "" if own else f"{e.loop}/{e.address}"
        zone = e.zone or (info.zone if own and info is not None else "") or f"?{e.device_id}/{point}"
        return Alarm(e.device_id, point, zone, component, f"{e.device_id}:{e.seq}")

    def _heat_watch(
        self, state: PremisesState, site: Site | None, zone: str, t: float
    ) -> tuple[float, dict[str, list[float]]]:
        """For an alarm of ``zone`` at ``t``: until when it waits for the zone's heat sensors (the registry's:
        ``heat_wait_readings`` of their intervals and ``SLOW_SENSOR_GRACE`` more, at most ``heat_wait_max_s``),
        and each sensor's latest reading at or before ``t`` that scoring holds ([time, °C]).

        The wait depends on the registry alone, not on which readings were scored before the alarm: the
        runners interleave events and readings differently (events first), and must decide the same."""
        due = t
        baselines: dict[str, list[float]] = {}
        if site is None:
            return due, baselines
        readings = self.policy.verification.heat_wait_readings + SLOW_SENSOR_GRACE
        for device_id, info in site.devices.items():
            if info.zone != zone or info.type not in self._heat_types:
                continue
            due = max(due, t + readings * info.interval_s)
            device = state.devices.get(device_id)
            track = device.heat if device is not None else None
            if track is not None:
                before = [i for i, at in enumerate(track.times) if at <= t]
                if before:
                    baselines[device_id] = [track.times[before[-1]], track.values[before[-1]]]
        return min(due, t + self.policy.verification.heat_wait_max_s), baselines

    def _event(self, state: PremisesState, site: Site | None, e: EventRecord, t: float, signals: Signals) -> None:
        if e.loop is not None or e.address is not None:
            # A GB/T 26875.3 point the registry's point list lacks: its events have no zone, which
            # verification needs; a warning until the point list has it (docs/registry.md).
            point = f"{e.loop}/{e.address}"
            if e.unknown_point:
                evidence: dict[str, float | str] = {"component": e.component_type or "", "detail": e.detail or ""}
                signals.raise_(t, e.device_id, "unknown_point", "trouble", point, evidence)
            else:
                signals.clear(t, e.device_id, "unknown_point", point)
        if e.kind == "fire_alarm":
            alarm = self._alarm(site, e)
            wait, baselines = self._heat_watch(state, site, alarm.zone, t)
            self.verifier.on_alarm(state, alarm, t, signals.out, wait, baselines)
        elif e.kind in _PANEL_SIGNALS:
            rule, kind, raised = _PANEL_SIGNALS[e.kind]
            subject = f"{e.loop}/{e.address}" if e.loop is not None else (e.component_type or "device")
            if raised:
                found: dict[str, float | str] = {"component": e.component_type or "", "zone": e.zone or ""}
                if e.detail:
                    found["detail"] = e.detail
                signals.raise_(t, e.device_id, rule, kind, subject, found)  # type: ignore[arg-type]
            else:
                signals.clear(t, e.device_id, rule, subject)
        elif e.kind == "normal":
            # A GB/T 26875.3 state report with no condition set: whatever the point had is over.
            subject = f"{e.loop}/{e.address}" if e.loop is not None else (e.component_type or "device")
            for rule in ("component_fault", "supervisory", "component_disabled"):
                signals.clear(t, e.device_id, rule, subject)
        elif e.kind == "feedback" and e.component_type == FLOW_SWITCH:
            point = "" if e.loop is None and e.address is None else f"{e.loop}/{e.address}"
            clue = Evidence(utc(t), "flow", e.device_id, FLOW_SWITCH, point)
            self.verifier.on_flow(state, e.zone or "", clue, f"{e.device_id}:{e.seq}", t, signals.out)
        elif e.kind == "test":
            state.tests[e.device_id] = t
        elif e.kind == "reset":
            self.verifier.on_reset(state, e.device_id, f"{e.device_id}:{e.seq}", t, signals.out)

    def _advance(self, state: PremisesState, site: Site | None, now: float, signals: Signals) -> None:
        self.verifier.advance(state, now, signals.out)
        if site is not None and state.received >= state.next_offline_check:
            self._offline(state, site, signals)
        if state.risk.dirty:
            self._risk(state, site, now, signals)

    @staticmethod
    def _receive(state: PremisesState, received: float) -> None:
        state.received = max(state.received, received)

    @staticmethod
    def forgive(state: PremisesState, start: float, end: float) -> None:
        """Nothing was received from anywhere between ``start`` and ``end`` (the stream stalled): that
        time is not held against any device's silence. Called by the runners (:class:`scoring.runner.Engine`)."""
        gap = end - start
        for device in state.devices.values():
            if device.online and device.seen_at is not None and device.seen_at <= start:
                device.seen_at = min(device.seen_at + gap, end)
        if state.next_offline_check > start:
            state.next_offline_check += gap
        else:
            state.next_offline_check = min(state.next_offline_check + gap, end)

    def _heard(
        self,
        state: PremisesState,
        device: DeviceState,
        info: DeviceInfo | None,
        device_id: str,
        received: float,
        signals: Signals,
    ) -> None:
        """A message of the device arrived (received at ``received``): it reports, unless what is in hand
        says it was silent since."""
        device.seen_at = max(device.seen_at or received, received)
        if device.online:
            return
        since = device.offline_at if device.offline_at is not None else received
        if device.offline_by_will:
            if received < since:
                return  # sent before its last will: the will still stands
        elif info is not None and device.seen_at + self.policy.devices.offline_after_intervals * info.interval_s < (
            state.received
        ):
            return  # a late message from long before: still silent for too long
        device.online = True
        device.offline_at = None
        device.offline_by_will = False
        # Never cleared before it was raised: a message that arrived late clears at the raise's time.
        signals.clear(max(received, since), device_id, "device_offline")
        # Offline devices are left out of the next check's time; one back online must be in it again.
        state.next_offline_check = min(state.next_offline_check, state.received)

    @staticmethod
    def _went_offline(
        device: DeviceState,
        device_id: str,
        at: float,
        signals: Signals,
        evidence: dict[str, float | str],
        *,
        will: bool = False,
    ) -> None:
        device.online = False
        device.offline_at = at
        device.offline_by_will = will
        signals.raise_(at, device_id, "device_offline", "trouble", "", evidence)

    def _offline(self, state: PremisesState, site: Site, signals: Signals) -> None:
        now = state.received
        k = self.policy.devices.offline_after_intervals
        upcoming = float("inf")
        for device_id, info in site.devices.items():
            device = state.devices.get(device_id)
            if device is None or device.seen_at is None or not device.online:
                continue
            due = device.seen_at + k * info.interval_s
            if now > due:
                self._went_offline(device, device_id, due, signals, {"silent_s": round(now - device.seen_at, 3)})
            else:
                upcoming = min(upcoming, due)
        state.next_offline_check = upcoming

    def _risk(self, state: PremisesState, site: Site | None, now: float, signals: Signals) -> None:
        state.risk.dirty = False
        if site is None:
            return
        inputs = self.inputs(state, site, now)
        policy = self.policy.risk
        score, factors = self.models.risk.score(inputs, policy.top_factors)
        previous: Tier | None = state.risk.tier  # type: ignore[assignment]
        tier = tier_of(score, policy, previous)
        moved = state.risk.score is None or abs(score - state.risk.score) >= policy.report_change
        if tier == previous and not moved:
            return
        state.risk.score, state.risk.tier = score, tier
        state.risk.revision += 1
        signals.out.append(
            RiskScore(
                utc(now),
                state.premises_id,
                state.risk.revision,
                score,
                tier,
                previous,
                factors,
                self.models.risk.version,
                dataclasses.asdict(inputs),
                self.models.risk.if_closed(inputs, policy, tier),
            )
        )

    def inputs(self, state: PremisesState, site: Site, now: float) -> RiskInputs:
        """What the risk model reads of this premises now (history windows end at ``now``)."""
        kinds = state.signal_kinds
        rules = state.signals
        known = [state.devices.get(d) for d in site.devices]
        offline = sum(1 for d in known if d is not None and not d.online)
        day = 86_400.0
        risk = self.policy.risk
        state.fires = [f for f in state.fires if f > now - risk.fire_history_days * day]
        state.hazards = [h for h in state.hazards if h > now - risk.hazard_history_days * day]
        # verification reads the false-alarm history too
        kept_days = max(risk.false_alarm_history_days, self.policy.verification.history_days)
        state.false_alarms = [f for f in state.false_alarms if f > now - kept_days * day]
        p = site.profile
        return RiskInputs(
            category=p.category,
            height_m=p.height_m,
            occupancy=p.occupancy,
            credit_status=p.credit_status,
            active_faults=sum(1 for k in kinds.values() if k == "trouble"),
            offline_share=offline / len(site.devices) if site.devices else 0.0,
            supervisory_open=sum(1 for k in kinds.values() if k == "supervisory"),
            electrical_abnormal=sum(1 for r in rules.values() if r in ELECTRICAL_RULES),
            low_water=int(any(r in WATER_RULES for r in rules.values())),
            # An overdue hazard counts as a live one until it is closed (DOMAIN.md: it raises the risk).
            other_hazards=len(state.overdue_hazards)
            + sum(
                1
                for key, k in kinds.items()
                if k == "hazard_candidate" and rules[key] not in ELECTRICAL_RULES | WATER_RULES
            ),
            false_alarms_30d=sum(1 for f in state.false_alarms if f > now - 30 * day),
            hazards_90d=len(state.hazards),
            fires_365d=len(state.fires),
            **site.supervised.at(now),
        )


def _breached(device: DeviceState, rules: tuple[ThresholdRule, ...]) -> bool:
    """Whether one of these threshold rules is breached on the device now."""
    return any(device.rules[rule.name].breach_since is not None for rule in rules if rule.name in device.rules)
