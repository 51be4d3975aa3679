"""Gauges on one water system judged against each other (docs/scoring.md, "Gauges on one system").

Two pressure gauges on one sprinkler system (the pump's outlet and the most unfavourable point) read the
same sawtooth a static head apart: the jockey pump restores both at once, and a real loss (a pump that
does not start, a leak) lowers both. So the *difference* of a gauge and its peer is constant but for
their noise, whatever the system does; a sensor that drifts moves it, and a sensor that froze stops
following its peer. That is what a lone gauge cannot see: a reading falling with no refill yet may be a
pump that stopped or the sensor, and only the peer tells which.

**Comparisons.** Each peer's newest reading is compared with this gauge's reading at the same moment,
on the line between this gauge's readings before and after it (so a system falling fast in a real
loss, which moves every gauge, is followed whatever the learned fall): once per reading of the peer
(a fast gauge does not count a slow peer's noise sixty times), and not while a refill is in one of
the two and not yet in the other (a peer that has not reported since this gauge's refill). The first
:data:`BOOT` comparisons give the offset (their median: the static head) and the spread (their
interquartile range); then both are learned from each hour leaving the last day untainted (nothing
stood out over it), so a slow drift is learned neither as the new offset nor as a wider spread.

**Drift.** At each comparison, the last 3, 6, 12 and 24 hours of differences less the offset are fitted
with a line; a window *stands out* when its slope is beyond 20 % of ``drift_per_h`` by ``drift_z``
standard errors and the newest difference is beyond ``drift_z`` spreads the same way. A gauge is
blamed (:func:`blamed`) when it stands out against every peer for half an hour and two comparisons, and,
with a single peer (either may be the one that moved), when its own readings over the window, against
its own learned fall and refills (:func:`scoring.gauge_learning.residual`), explain how far the
difference moved better than the peer's do (within half of it), and the peer is not raised already.

**Stuck.** A gauge whose reading repeats while every peer moved as the system does (a refill, or a fall
of five pair deviations and a resolution step, no faster than one and a half times its learned
fall) is stuck (:func:`stuck_against`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from core.policy import AnomalyPolicy, GaugeSpec
from scoring.gauge_learning import ALLOWANCE, fall_per_s, fall_se_per_h, noise, pair_sd_of, refill_sd_of, residual
from scoring.state import GaugeTrack, PeerTrack

BOOT: Final = 24
"""Comparisons learned from together: the offset is their median."""
HOURS_KEPT: Final = 25
WINDOWS_H: Final = (3, 6, 12, 24)
SUSPECT_Z: Final = 2.0
"""A window this many standard errors out taints its hours: they do not teach the offset."""
HOLD_S: Final = 1800.0
"""How long, and :data:`HOLD_COMPARISONS` comparisons, a gauge must stand out before it is blamed."""
HOLD_COMPARISONS: Final = 2
CLEAR_S: Final = 12 * 3600.0
"""Calm against every peer this long clears a drift found against them."""
OFFSET_TAU_H: Final = 7 * 24.0
"""The offset forgets with this time constant (hours): a pipe's static head does not change."""
SPREAD_TAU_H: Final = 72.0
"""The spread forgets with this time constant (hours)."""
GAP_INTERVALS: Final = 6.0
"""A peer silent for this many of its intervals is not compared with."""
ABOVE_SIGMAS: Final = 5.0
"""How far above its highest learned reading (in pair deviations, beside the refill's spread) a gauge reads high."""
STILL_SIGMAS: Final = 5.0
"""How far (in the peer's pair deviations) a peer must have moved while a gauge repeated."""


@dataclass(frozen=True, slots=True)
class Peer:
    """A peer as a reading of its gauge finds it: its id, what it learned of itself, its expected interval."""

    id: str
    track: GaugeTrack
    interval_s: float
    breached: bool = False
    """A threshold rule of the peer's metric is breached: it reads a loss (or a valve closed before it)."""

    def usable(self, t: float) -> bool:
        """Reporting, within its threshold rules' limits, and not itself raised stuck."""
        p = self.track
        return (
            p.last_v is not None
            and not self.breached
            and abs(t - p.last_t) <= GAP_INTERVALS * self.interval_s
            and p.raised != "sensor_stuck"
        )


@dataclass(frozen=True, slots=True)
class Standing:
    """A gauge standing out against one peer: the window's rate (this gauge less the peer, per hour), its
    hours, its z and the newest difference from the offset."""

    peer: str
    rate_per_h: float
    hours: int
    z: float
    difference: float


def compare(track: GaugeTrack, peers: Sequence[Peer], spec: GaugeSpec, policy: AnomalyPolicy, t: float,
            value: float, previous: tuple[float, float], breached: bool) -> None:  # fmt: skip
    """Compare a reading with each usable peer's newest reading (once per reading of the peer).
    ``previous``: this gauge's reading before, (time, value)."""
    for peer in peers:
        if not peer.usable(t):
            continue
        p = peer.track
        pt = track.peers.get(peer.id)
        if pt is None:
            pt = track.peers[peer.id] = PeerTrack()
        if p.last_t == pt.peer_t or track.last_refill_t > p.last_t or p.last_refill_t > t:
            continue  # compared already, or a refill one of the two has not shown yet
        assert p.last_v is not None
        pt.peer_t = p.last_t
        d = _at(previous, (t, value), p.last_t, fall_per_s(track)) - p.last_v
        floor = math.hypot(noise(track), noise(p))
        if pt.sd == 0:
            pt.boot.append(d)
            if len(pt.boot) >= BOOT:
                ordered = sorted(pt.boot)
                pt.offset = ordered[len(ordered) // 2]
                spread = (ordered[3 * len(ordered) // 4] - ordered[len(ordered) // 4]) / 1.349
                pt.sd = max(spread, floor)
                pt.boot = []
            continue
        e = d - pt.offset
        quiet = not breached and track.raised is None and p.raised is None and pt.found == 0
        _bucket(pt, t, e, not quiet, floor)
        pt.last_e = e
        if stands_out(pt, spec, policy, t, e) is None:
            if pt.found:
                pt.calm_since = t
            pt.found, pt.since = 0, 0.0
        else:
            pt.found += 1
            pt.since = pt.since or t


def _at(before: tuple[float, float], now: tuple[float, float], when: float, fall: float) -> float:
    """This gauge's reading at ``when``, the peer's reading time: between its two readings around it, as
    the line between them says (a system falling fast, in a real loss, moves both gauges, and the line
    follows it whatever the learned fall); before both, carried back by the learned fall."""
    (t0, v0), (t1, v1) = before, now
    if t0 <= when <= t1 and t1 > t0:
        return v0 + (v1 - v0) * (when - t0) / (t1 - t0)
    return v1 + fall * (t1 - when)


def stands_out(pt: PeerTrack, spec: GaugeSpec, policy: AnomalyPolicy, t: float, e: float) -> Standing | None:
    """The shortest window in which the difference moved beyond its allowance, with the newest beyond its
    spread the same way; hours a window at :data:`SUSPECT_Z` covers are tainted."""
    now = math.floor(t / 3600)
    allowance = ALLOWANCE * spec.drift_per_h
    found = None
    reach = 0
    for hours in WINDOWS_H:
        start = now - hours + 1
        span = [b for b in pt.hours if b[0] >= start]
        if not span or span[0][0] > start + 1:
            continue  # the comparisons do not reach back that far
        n = sx = se = sxe = sxx = 0.0
        for b in span:
            off = b[0] - start
            n += b[1]
            sx += b[2] + off * b[1]
            se += b[3]
            sxe += b[4] + off * b[3]
            sxx += b[5] + 2 * off * b[2] + off * off * b[1]
        spread_x = sxx - sx * sx / n if n else 0.0
        if n < 3 or spread_x <= 0:
            continue
        rate = (sxe - sx * se / n) / spread_x
        z = (abs(rate) - allowance) / (pt.sd / math.sqrt(spread_x))
        if z > SUSPECT_Z:
            reach = hours
        if found is None and z > policy.drift_z and math.copysign(1.0, rate) * e > policy.drift_z * pt.sd:
            found = Standing("", rate, hours, z, e)  # the shortest: the rate now
    if reach:
        for b in pt.hours:
            if b[0] >= now - reach + 1:
                b[6] = 1.0
    return found


def _bucket(pt: PeerTrack, t: float, e: float, tainted: bool, floor: float) -> None:
    hour = float(math.floor(t / 3600))
    x = t / 3600 - hour
    if pt.hours and pt.hours[-1][0] == hour:
        b = pt.hours[-1]
        b[1] += 1
        b[2] += x
        b[3] += e
        b[4] += x * e
        b[5] += x * x
        b[6] = max(b[6], float(tainted))
        b[7] += e * e
        return
    pt.hours.append([hour, 1.0, x, e, x * e, x * x, float(tainted), e * e])
    while len(pt.hours) > HOURS_KEPT:
        _fold(pt, pt.hours.pop(0), floor)


def _fold(pt: PeerTrack, b: list[float], floor: float) -> None:
    """An hour leaving the last day teaches the offset and the spread, unless a window stood out over it
    (a drift is not learned as the new offset, nor as a wider spread)."""
    if b[6] or b[1] <= 0:
        return
    mean = b[3] / b[1]
    pt.offset += (1 - math.exp(-1 / OFFSET_TAU_H)) * mean
    var = max(b[7] / b[1] - mean * mean, 0.0) if b[1] > 1 else pt.sd**2
    pt.sd = max(floor, math.sqrt(pt.sd**2 + (1 - math.exp(-1 / SPREAD_TAU_H)) * (var - pt.sd**2)))
    pt.learned_h += 1


def blamed(track: GaugeTrack, peers: Sequence[Peer], spec: GaugeSpec, policy: AnomalyPolicy,
           t: float) -> Standing | None:  # fmt: skip
    """Whether this gauge is the one that moved: it stands out against every usable peer the same way,
    long enough; with one peer, its own residual rate explains the difference better than the peer's."""
    usable = [p for p in peers if p.usable(t) and p.id in track.peers and track.peers[p.id].sd > 0]
    if not usable:
        return None
    found = []
    for peer in usable:
        pt = track.peers[peer.id]
        if pt.found < HOLD_COMPARISONS or t - pt.since < HOLD_S:
            return None
        standing = stands_out(pt, spec, policy, t, pt.last_e)
        if standing is None:
            return None
        found.append(Standing(peer.id, standing.rate_per_h, standing.hours, standing.z, standing.difference))
    if len({math.copysign(1.0, s.rate_per_h) for s in found}) > 1:
        return None
    if len(usable) == 1 and (
        usable[0].track.raised is not None
        or not _explains(track, usable[0].track, t, found[0], track.peers[usable[0].id])
    ):
        return None  # the one peer is already raised, or is as likely the one that moved
    return max(found, key=lambda s: s.z)


def _explains(track: GaugeTrack, peer: GaugeTrack, t: float, s: Standing, pt: PeerTrack) -> bool:
    """With one peer, either may be the one that moved. Over the longest window the comparisons cover,
    this gauge is the one when the difference moved by four standard errors of the peer's own change,
    the peer's own readings (against its own learned fall and refills) miss that move by three, and
    this gauge's own readings explain it within two (or its own series keeps breaking on jumps: a fast
    drift). A gauge reading above the highest it learned is the one that reads high."""
    if _above_top(peer):
        return False  # the peer reads above where its pump or float valve ever lifted it
    if _above_top(track) and s.rate_per_h > 0:
        return True
    now = math.floor(t / 3600)
    for hours in reversed(WINDOWS_H):
        start = now - hours + 1
        span = [b for b in pt.hours if b[0] >= start and b[1] > 0]
        if len(span) >= 2 and span[0][0] <= start + 1:
            break
    else:
        return False
    moved = span[-1][3] / span[-1][1] - span[0][3] / span[0][1]
    moved_se = pt.sd * math.sqrt(1 / span[-1][1] + 1 / span[0][1])
    theirs = _own_change(peer, start)
    if theirs is None:
        return False
    their_se = math.hypot(theirs[1], moved_se)
    if abs(moved) < 4 * their_se or abs(theirs[0] + moved) < 3 * their_se:
        return False  # too small to tell, or the peer moving by -moved would explain it
    mine = _own_change(track, start)
    if mine is None:  # this gauge's own series is broken: by its own jumps (a fast drift) or a restart
        return track.last_jump_t >= track.last_t - 3600
    return abs(mine[0] - moved) < 2 * math.hypot(mine[1], moved_se)


def _above_top(track: GaugeTrack) -> bool:
    """The reading is above the highest the gauge read while it learned, by more than its noise and its
    refill's spread explain (two refills learned): the pump or float valve never lifts it there."""
    if track.refills < 2 or track.last_v is None:
        return False
    return track.last_v > track.top + ABOVE_SIGMAS * pair_sd_of(track) + 4 * refill_sd_of(track)


def _genuine_refill(track: GaugeTrack, interval_s: float) -> bool:
    """The gauge's last refill lifted it from where its pump or float valve cuts in to where its refills
    lift it (a sensor that reads high in steps shows no such refill)."""
    if track.refills < 2 or track.post == 0 or track.floor == 0:
        return False
    margin = 3 * refill_sd_of(track) + 2 * pair_sd_of(track)
    near_cut_in = abs(track.last_pre - track.floor) <= margin + fall_per_s(track) * interval_s
    return near_cut_in and abs(track.last_post - track.post) <= margin


def _own_change(track: GaugeTrack, start: float) -> tuple[float, float] | None:
    """How far a gauge's own readings moved from the hour ``start`` on, beyond its learned fall and
    refills, and the standard error of that (None when its series does not reach back that far: broken
    by a jump or a restart)."""
    span = [b for b in track.hours if b[0] >= start]
    if not span or span[0][0] > start + 1:
        return None
    total, seconds, refills = residual(track, span)
    sigma = noise(track)
    fall_se = fall_se_per_h(track, unlearned=0.0)
    var = 2 * sigma**2 + refills * refill_sd_of(track) ** 2 + (seconds / 3600 * fall_se) ** 2
    return total, math.sqrt(var)


def calm(track: GaugeTrack, t: float) -> bool:
    """No comparison with a peer stood out for :data:`CLEAR_S`."""
    return all(pt.found == 0 and t - pt.calm_since >= CLEAR_S for pt in track.peers.values())


def run_baseline(track: GaugeTrack, peers: Sequence[Peer]) -> None:
    """While this gauge repeats, note each peer's first reading after the run began."""
    for peer in peers:
        p = peer.track
        pt = track.peers.get(peer.id)
        if pt is not None and pt.run_v is None and p.last_v is not None and p.last_t > track.run_since:
            pt.run_v, pt.run_t = p.last_v, p.last_t


def end_run(track: GaugeTrack) -> None:
    for pt in track.peers.values():
        pt.run_v = None


def stuck_against(track: GaugeTrack, peers: Sequence[Peer], t: float) -> tuple[str, float] | None:
    """(a peer, how far it moved) when every usable peer moved as the system does since this gauge's run
    of repeats began (and at least one did): a refill, or a fall beyond :data:`STILL_SIGMAS` of its pair
    deviations and a resolution step (a coarse gauge mid-step repeats while the level falls a
    step), no faster than one and a half times its learned fall. A refill counts when it lifted the
    peer from where its refills start to where they end. A peer that rose without a refill or
    fell faster, or whose own readings stand out, may itself be the faulty one."""
    moved: tuple[str, float] | None = None
    for peer in peers:
        pt = track.peers.get(peer.id)
        if not peer.usable(t) or pt is None or pt.run_v is None:
            continue
        p = peer.track
        assert p.last_v is not None
        change = p.last_v - pt.run_v
        if p.raised is not None or p.suspect:
            return None  # the peer's own readings stand out: it may be the one that moved
        if p.last_refill_t > pt.run_t and _genuine_refill(p, peer.interval_s):
            moved = moved or (peer.id, change)
            continue
        fell = fall_per_s(p) * (p.last_t - pt.run_t)
        sd = pair_sd_of(p)
        beyond = STILL_SIGMAS * sd + max(track.resolution, p.resolution)
        if -change >= beyond and -change <= 1.5 * fell + 2 * sd:
            moved = moved or (peer.id, change)
            continue
        return None
    return moved
