"""Water-system gauges that know their device: stuck and drifting sensors, and a system that no longer
restores itself, judged against the device's own physics (docs/scoring.md, "Water-system gauges").

A sprinkler or hydrant pressure gauge and a tank level gauge live on a sawtooth: the system leaks (or
the tank drains) slowly, then the jockey pump (or the float valve) restores it. What each gauge learns
of itself is :mod:`scoring.gauge_learning`'s; this module judges with it.

**Stuck.** A run of identical readings is raised as ``sensor_stuck`` once its chance is below the
false-alarm budget per reading (``stuck_false_per_day`` spread over the readings the device sends in a
day): the device's own chance of a repeat to the power of the run's length, and for a coarse gauge
also the run's chance where its level stood (:func:`scoring.gauge_learning.still_chance`); or once the
learned fall should have moved the reading. Not judged while the reading is beyond one of the device's threshold
rules' limits: a valve closed to a constant zero is the rule's, not a stuck sensor's.

**Drift.** What is left of each pair of readings — the *residual*: its change, plus the learned fall
over its time, minus the learned refill when it is one — adds up to noise in a healthy system,
whatever the report interval, and to the drift rate in a drifting sensor. Changes are kept in hourly
buckets; every hour the last 3, 6, 12 and 24 hours are tested (:func:`windows`, :func:`_judge`). A
reading above the highest learned one for two hours reads high too (:func:`_above`). A reading drifting
low is called a drift only while refills go on and show the offset; otherwise it may be a real loss.
A reading that jumps by more than the noise and a refill explain breaks the series.

**Impairment.** The reading below the learned cut-in with the next refill late: the pump (or float
valve) no longer restores the system (:func:`_impaired`), raised as the gauge's ``impairment`` signal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from core.policy import AnomalyPolicy, GaugeSpec
from scoring import peers as against
from scoring.gauge_learning import (
    BOOT_PAIRS,
    HOURS_KEPT,
    REFILL_SIGMAS,
    REFILLS_TRUSTED,
    TREND_STEPS,
    Window,
    bootstrap,
    bucket,
    coarse,
    end_run,
    fall_per_s,
    learn_noise,
    learn_refill,
    pair_sd_of,
    refill_sd_of,
    refills_lowered,
    repeat_chance,
    still_chance,
    under_fall,
    windows,
)
from scoring.peers import Peer
from scoring.signals import Signals
from scoring.state import GaugeTrack

SUSPECT_Z: Final = 2.0
"""Learning pauses while any window stands this many standard errors from zero."""
RAISE_HOURS: Final = 2
"""Hourly verdicts in a row before a drift is raised."""
CLEAR_HOURS: Final = 12
"""Quiet hours in a row (no window significant) before a raised drift clears."""
ABOVE_SIGMAS: Final = 5.0
"""How far above the highest learned reading (in a pair's standard deviations) a reading reads high."""
ABOVE_READINGS: Final = 3
ABOVE_S: Final = 7200.0
"""Readings, and seconds, above the highest learned before a gauge is said to read high."""
LATE_SHARE: Final = 0.3
"""How late (a share of the learned period between refills) a refill must be before the system is
said not to restore itself: refills come a little early or late by how far each overshoots."""
STILL_READINGS: Final = 3
"""Repeats before a gauge that should have fallen visibly since the run began is stuck."""
STILL_SIGMAS: Final = 5.0
"""How far (in a pair's standard deviations) the learned fall must have taken a reading that did not move."""
STILL_FALL_SHARE: Final = 0.5
"""The share of the learned fall a coarse gauge's run of repeats is judged against: a tank whose use
halves for a while is not taken for a stuck gauge."""
MIN_PAIRS: Final = 24
"""Readings compared before the chance of a repeat is trusted."""
GAP_INTERVALS: Final = 6.0
"""Readings further apart than this many expected intervals are not compared (the device was away)."""


@dataclass(frozen=True, slots=True)
class _Gauge:
    """One gauge metric of one device as a reading finds it: what it learned, what the policy says of its
    metric, its expected report interval, and where its signals go."""

    track: GaugeTrack
    spec: GaugeSpec
    policy: AnomalyPolicy
    device_id: str
    interval_s: float
    signals: Signals
    peers: Sequence[Peer] = ()
    """The other gauges of the metric on the device's water system (:mod:`scoring.peers`)."""


def observe(
    track: GaugeTrack,
    spec: GaugeSpec,
    policy: AnomalyPolicy,
    device_id: str,
    t: float,
    value: float,
    interval_s: float,
    breached: bool,
    signals: Signals,
    peers: Sequence[Peer] = (),
) -> None:
    """Fold one reading into the gauge's track; raise or clear ``sensor_stuck`` and ``sensor_drift``;
    ``peers``: the other gauges of the metric on its water system."""
    if track.last_v is None or t - track.last_t > GAP_INTERVALS * interval_s:
        _restart(track, t, value)
        return
    dt = t - track.last_t
    if dt <= 0:
        return
    step = value - track.last_v
    previous, previous_t = track.last_v, track.last_t
    if step and (track.resolution == 0 or abs(step) < track.resolution):
        track.resolution = abs(step)
    track.last_v, track.last_t = value, t
    g = _Gauge(track, spec, policy, device_id, interval_s, signals, peers)
    if _stuck(g, t, value, previous, previous_t, breached):
        return
    _drift(g, t, value, step, dt, breached)
    if peers:
        against.compare(track, peers, spec, policy, t, value, (previous_t, previous), breached)
        _judge_peers(g, t)


def _restart(track: GaugeTrack, t: float, value: float) -> None:
    track.last_v, track.last_t = value, t
    track.run = 0
    track.still = []
    against.end_run(track)


def _stuck(g: _Gauge, t: float, value: float, previous: float, previous_t: float, breached: bool) -> bool:
    """Count the run of repeats; True while the gauge is (being judged) stuck, so drift skips the reading."""
    track, spec, policy = g.track, g.spec, g.policy
    device_id, interval_s, signals = g.device_id, g.interval_s, g.signals
    if value == previous:
        if track.run == 0:
            track.run_since = previous_t
        track.run += 1
        against.run_baseline(track, g.peers)
        if track.raised == "sensor_stuck" or breached or track.pairs < MIN_PAIRS:
            return track.raised == "sensor_stuck"
        moved = against.stuck_against(track, g.peers, t) if track.run >= STILL_READINGS else None
        budget = math.log(policy.stuck_false_per_day * interval_s / 86_400.0)
        q = repeat_chance(track)
        learned = track.learned_t >= policy.gauge_learn_s
        fall = fall_per_s(track) if learned else 0.0
        should_fall = fall * (t - track.run_since)
        chance = track.run * math.log(q) if q < 1.0 else 0.0
        if coarse(track) and chance <= budget:  # both: how often it repeated, and where the level stood
            chance = max(chance, still_chance(track, value, t, STILL_FALL_SHARE * max(fall, 0.0)))
        unlikely = chance <= budget
        if unlikely or moved or (track.run >= STILL_READINGS and should_fall >= STILL_SIGMAS * pair_sd_of(track)):
            _clear_drift(g, t, "stuck")
            track.raised = "sensor_stuck"
            evidence: dict[str, float | str] = {
                "value": value,
                "repeats": track.run,
                "stuck_for_s": round(t - track.run_since, 3),
                "repeat_chance": round(q, 4),
                "expected": f"a run this long once in {math.exp(-chance):.3g} readings, "
                f"a fall of {should_fall:.4g} since it began",
            }
            if moved:
                evidence["peer"], evidence["peer_moved"] = moved[0], round(moved[1], 6)
                evidence["expected"] = f"to move with {moved[0]}, which moved {moved[1]:+.4g} meanwhile"
            signals.raise_(t, device_id, "sensor_stuck", "trouble", spec.metric, evidence)
        return track.raised == "sensor_stuck"
    if track.run and track.sigma and track.raised is None and not _suspect(track, spec, t):
        learn_noise(track, fall_per_s(track) * (previous_t - track.run_since) / track.run, track.run)
    end_run(track)
    against.end_run(track)
    if track.raised == "sensor_stuck":
        track.raised = None
        track.hours = []
        signals.clear(t, device_id, "sensor_stuck", spec.metric, {"value": value})
        return True
    return False


def _drift(g: _Gauge, t: float, value: float, step: float, dt: float, breached: bool) -> None:
    track, spec, policy = g.track, g.spec, g.policy
    device_id, interval_s, signals = g.device_id, g.interval_s, g.signals
    if track.sigma == 0:
        if value > track.top or not track.boot:
            track.top = value
        track.boot.append([dt, step])
        if len(track.boot) >= BOOT_PAIRS:
            bootstrap(track)
        return
    residual = step + fall_per_s(track) * dt
    pair_sd = pair_sd_of(track)
    learning = track.raised is None and not _suspect(track, spec, t)
    kind = _kind(track, spec, residual, pair_sd, dt)
    under = under_fall(track, residual, pair_sd, dt) if kind != "refill" else None
    if under is not None:
        kind, residual = "refill", under
    elif kind != "refill":
        track.fall_steps = [*track.fall_steps, residual / dt][-TREND_STEPS:]
    # before a day is learned any reading raises the top; after, only one its noise explains
    early = track.learned_t < policy.gauge_learn_s
    explained = learning and value <= track.top + _above_margin(track, interval_s)
    if value > track.top and (early or explained):
        track.top = value
    _above(g, t, value)
    if kind == "jump":
        track.hours = []
        track.last_jump_t = t
        return
    if kind == "refill":
        # a drift moves neither when the pump cuts in nor how far it lifts the reading: refills are
        # learned whatever the windows say (a refill learned wrong would itself make them stand out)
        if track.last_refill_t > 0:
            between = t - track.last_refill_t
            track.period_s = between if track.period_s <= 0 else track.period_s + 0.1 * (between - track.period_s)
            before = value - step  # the reading before the refill: near the cut-in
            track.floor = before if track.floor == 0 else track.floor + 0.1 * (before - track.floor)
        track.last_refill_t = t
        track.last_pre = value - step
        if track.impaired:
            track.impaired = False
            signals.clear(t, device_id, spec.impairment, spec.metric, {"value": value})
        learn_refill(track, residual, pair_sd)
        track.last_post = value
        judged = track.raised is None and track.learned_t >= policy.gauge_learn_s  # as _judge: after a day
        raised = judged and refills_lowered(track) and _lowered_refill(g, t, value, under)
        if learning and not raised:  # where a refill lifts the reading to, while nothing is suspected
            track.post = track.last_post if track.post == 0 else track.post + 0.1 * (track.last_post - track.post)
        bucket(track, t, step, dt, 1.0, 0.0, 0.0, breached)
    else:
        if learning and step:  # a repeat's noise is learned when its run ends (_stuck)
            learn_noise(track, residual)
        # the fall is learned from an hour only once it has left the last day unsuspected (fold)
        bucket(track, t, step, dt, 0.0, -step if learning else 0.0, dt if learning else 0.0, breached)
        _impaired(g, t, value)
    _judge(g, t)


def _lowered_refill(g: _Gauge, t: float, value: float, hidden: float | None) -> bool:
    """A refill lifted the reading to clearly below where refills lift it while the reading fell
    faster than it learned: the pump (or float valve) restored the system, so the fall was the
    sensor's. Raised at once (True) when a window of the last hours stands out falling by
    ``drift_z`` standard errors, held in both its halves, or when the refill was ``hidden`` in a fall
    so fast between readings that it breaks the windows' series (:func:`under_fall`; its size)."""
    track = g.track
    falling = [w for w in windows(track, g.spec, t) if w.z > g.policy.drift_z and w.sustained and w.rate_per_h < 0]
    if not falling and hidden is None:
        return False
    evidence: dict[str, float | str] = {"direction": "reads low", "after_refill": value}
    if falling:
        longest = falling[-1]
        evidence |= {"rate_per_h": round(longest.rate_per_h, 6), "over_h": longest.hours, "z": round(longest.z, 2)}
    else:
        evidence |= {
            "rate_per_h": round(sorted(track.fall_steps)[TREND_STEPS // 2] * 3600, 6),
            "over_h": round(TREND_STEPS * g.interval_s / 3600, 3),
            "refill": round(hidden or 0.0, 6),
        }
    _raise_drift(
        g,
        t,
        evidence,
        f"a refill lifts it to {track.post:.4g}; it fell {fall_per_s(track) * 3600:.4g}/h between refills",
    )
    return True


def _kind(track: GaugeTrack, spec: GaugeSpec, residual: float, pair_sd: float, dt: float) -> str:
    """An ordinary step on the fall's line, a refill (up, beyond the noise and four steps of the
    gauge's resolution; once refills are learned, nearer the learned refill than the fall's line and
    not three times larger), or a jump."""
    established = track.refills >= REFILLS_TRUSTED and track.refill > 4 * pair_sd
    low = 0.5 * track.refill if established else max(REFILL_SIGMAS * pair_sd, 4 * track.resolution)
    high = 3 * track.refill if established else math.inf
    if low < residual <= high:
        return "refill"
    if abs(residual) > REFILL_SIGMAS * pair_sd + spec.fast_loss_per_h * dt / 3600:
        return "jump"
    return "ordinary"


def _suspect(track: GaugeTrack, spec: GaugeSpec, t: float) -> bool:
    """Whether a window stands two standard errors out, worked out once an hour (the windows cover
    closed hours only; what is learned within the hour moves them a little, not enough to matter)."""
    hour = math.floor(t / 3600)
    if hour != track.suspect_hour:
        track.suspect_hour = hour
        track.suspect = any(w.z > SUSPECT_Z for w in windows(track, spec, t))
    return track.suspect


def _judge(g: _Gauge, t: float) -> None:
    track, spec, policy = g.track, g.spec, g.policy
    hour = math.floor(t / 3600)
    if hour == track.verdict_hour or track.learned_t < policy.gauge_learn_s:
        return
    track.verdict_hour = hour
    found = windows(track, spec, t)
    _taint(track, found, t)
    # A reading that falls is the sensor's only while the pump (or float valve) visibly still restores
    # the system: refills in the window's second half, on their learned schedule, and the last one
    # lifted the reading to below where refills used to (the refill is physical, the offset the
    # sensor's). Otherwise it may be a real loss, the threshold rules' to raise.
    restoring = _restoring(track, t)
    lowered = refills_lowered(track)
    drifting = [
        w
        for w in found
        if w.z > policy.drift_z
        and w.sustained
        and (w.rate_per_h > 0 or (restoring and lowered and w.late_refills >= 1))
    ]
    fast = any(w.z > policy.drift_z and w.rate_per_h < -spec.fast_loss_per_h for w in found) and not restoring
    if track.raised == "sensor_drift":
        if track.by_peer:
            return  # found against the peers: they clear it (_judge_peers)
        track.quiet = 0 if any(w.z > policy.drift_z for w in found) else track.quiet + 1
        if track.quiet >= CLEAR_HOURS:
            _clear_drift(g, t, "no drift for 12 hours")
        return
    if fast or not drifting:
        track.streak = 0
        return
    track.streak += 1
    if track.streak < RAISE_HOURS:
        return
    longest = drifting[-1]
    _raise_drift(
        g,
        t,
        {
            "rate_per_h": round(longest.rate_per_h, 6),
            "over_h": longest.hours,
            "z": round(longest.z, 2),
            "direction": "reads high" if longest.rate_per_h > 0 else "reads low",
        },
    )


def _judge_peers(g: _Gauge, t: float) -> None:
    """Raise ``sensor_drift`` when this gauge is the one that moved away from its peers; clear one found
    so once it agrees with them again for 12 hours."""
    track = g.track
    if track.raised == "sensor_drift" and track.by_peer:
        if against.calm(track, t):
            _clear_drift(g, t, "agrees with its peers for 12 hours")
        return
    if track.raised is not None or track.pairs < MIN_PAIRS:
        return
    found = against.blamed(track, g.peers, g.spec, g.policy, t)
    if found is None:
        return
    pt = track.peers[found.peer]
    evidence: dict[str, float | str] = {
        "rate_per_h": round(found.rate_per_h, 6),
        "over_h": found.hours,
        "z": round(found.z, 2),
        "direction": "reads high" if found.rate_per_h > 0 else "reads low",
        "peer": found.peer,
        "difference": round(found.difference, 6),
    }
    _raise_drift(g, t, evidence, f"{pt.offset:+.4g} from {found.peer} (spread {pt.sd:.2g})")
    track.by_peer = True


def _above(g: _Gauge, t: float, value: float) -> None:
    """A reading above the highest the gauge read while it learned (two refills seen), by more than its
    noise explains: the pump (or float valve) stops at its setpoint, so a level above it for two hours
    and three readings is the sensor reading high (a drift too fast for the hourly test at a slow
    report rate)."""
    track, policy = g.track, g.policy
    learned = track.learned_t >= policy.gauge_learn_s and track.refills >= 2
    if not learned or value <= track.top + _above_margin(track, g.interval_s):
        track.above = 0
        return
    if track.above == 0:
        track.above_since = t
    track.above += 1
    if track.raised is None and track.above >= ABOVE_READINGS and t - track.above_since >= ABOVE_S:
        rate = (value - track.top) / ((t - track.above_since) / 3600)
        evidence: dict[str, float | str] = {
            "value": value,
            "highest_learned": track.top,
            "above_for_s": round(t - track.above_since, 3),
            "direction": "reads high",
            "rate_per_h": round(rate, 6),
        }
        _raise_drift(g, t, evidence)


def _impaired(g: _Gauge, t: float, value: float) -> None:
    """The system no longer restores itself: the reading is below the learned cut-in by more than its
    noise, the refill's spread and one interval's fall explain, and the next refill is late by 30 % of
    a learned period (and two intervals): a working pump or float valve would have cut in by then."""
    track, spec, policy, interval_s = g.track, g.spec, g.policy, g.interval_s
    if track.impaired or track.period_s <= 0 or track.refills < 2 or track.learned_t < policy.gauge_learn_s:
        return
    margin = ABOVE_SIGMAS * pair_sd_of(track) + 2 * refill_sd_of(track) + fall_per_s(track) * interval_s
    overdue = t - track.last_refill_t - track.period_s
    if value >= track.floor - margin or overdue < max(2 * interval_s, LATE_SHARE * track.period_s):
        return
    track.impaired = True
    check = IMPAIRMENT_CHECKS.get(spec.metric, IMPAIRMENT_CHECKS["water_pressure_mpa"])
    g.signals.raise_(
        t,
        g.device_id,
        spec.impairment,
        "trouble",
        spec.metric,
        {
            "value": value,
            "cut_in_learned": round(track.floor, 6),
            "since_refill_s": round(t - track.last_refill_t, 3),
            "refill_every_s": round(track.period_s, 3),
            "check": check,
        },
    )


IMPAIRMENT_CHECKS: Final = {
    "water_pressure_mpa": "the pressure-maintenance (jockey) pump did not start: check its power, controller "
    "and pressure switch, the valves between it and the gauge (a closed valve), and the pipework for a leak "
    "it cannot keep up with",
    "tank_level_m": "the tank is not refilling: check the inlet (float) valve, the make-up water supply and "
    "its valve, and the tank for a leak",
}
"""What an inspector should check when a gauge's system stops restoring itself, by metric."""


def _above_margin(track: GaugeTrack, interval_s: float) -> float:
    """How far above the highest learned reading a healthy gauge can still read: its noise, its refill's
    spread, and the fall over one report interval (a slow reporter seldom reads the very top)."""
    return ABOVE_SIGMAS * pair_sd_of(track) + 4 * refill_sd_of(track) + fall_per_s(track) * interval_s


def _raise_drift(g: _Gauge, t: float, evidence: dict[str, float | str], expected: str = "") -> None:
    track = g.track
    track.raised, track.streak, track.quiet, track.by_peer = "sensor_drift", 0, 0, False
    evidence["expected"] = expected or (
        f"falls {fall_per_s(track) * 3600:.4g}/h between refills, refills +{track.refill:.4g}"
    )
    g.signals.raise_(t, g.device_id, "sensor_drift", "trouble", g.spec.metric, evidence)


def _taint(track: GaugeTrack, found: list[Window], t: float) -> None:
    """Mark the hours a window stood out over, or all of them while a signal of the gauge is raised."""
    now = math.floor(t / 3600)
    reach = max((w.hours for w in found if abs(w.z) > SUSPECT_Z), default=0)
    if track.raised is not None or track.impaired:
        reach = HOURS_KEPT
    for b in track.hours:
        if b[0] >= now - reach:
            b[6] = 1.0


def _restoring(track: GaugeTrack, t: float) -> bool:
    """Whether the system visibly still restores itself: a period between refills is learned and the
    last refill came within one and a half of it (a sensor's drift does not move when the pump or
    float valve cuts in; a pump that does not start, or a leak it cannot keep up with, stops the
    refills)."""
    return track.period_s > 0 and t - track.last_refill_t <= 1.5 * track.period_s


def _clear_drift(g: _Gauge, t: float, why: str) -> None:
    track = g.track
    if track.raised != "sensor_drift":
        return
    track.raised = None
    track.quiet = 0
    track.by_peer = False
    g.signals.clear(t, g.device_id, "sensor_drift", g.spec.metric, {"why": why})
