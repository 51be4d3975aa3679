"""What a water-system gauge learns of itself, and the hourly tests of its residuals (:mod:`scoring.gauges`
judges with them).

- **its noise, fall rate and refill**, first from its first :data:`BOOT_PAIRS` pairs of readings
  together (:func:`bootstrap`), then one pair at a time: the noise as it comes, the refill as the
  median of the last refills (:func:`learn_refill`), the fall rate from an hour only once that hour
  has left the last day untainted (:func:`bucket`, :func:`fold`);
- **how often a reading repeats the one before** (:func:`repeat_chance`).

Every hour :func:`windows` tests the residuals of the last 3, 6, 12 and 24 hours: the change of the
reading, plus the learned fall over its time, minus the learned refill at each refill.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from core.policy import GaugeSpec
from scoring.state import GaugeTrack

WINDOWS_H: Final = (3, 6, 12, 24)
"""The windows (hours) the residual rate is tested over, each ending at the last full hour."""
HOURS_KEPT: Final = max(WINDOWS_H) + 1
ALLOWANCE: Final = 0.2
"""A window's rate must exceed this share of the smallest drift to catch (``drift_per_h``)."""
REFILL_SIGMAS: Final = 5.0
"""A pair of readings whose residual is beyond this many of its standard deviations is no ordinary
step: a refill when upward and like the learned refill, otherwise a jump that breaks the series."""
PAIRS_KEPT: Final = 500.0
"""The repeat learner halves its counts past this many pairs: the device's recent habit counts most."""
LEARN_TAU_S: Final = 30 * 86_400.0
"""The fall rate forgets with this time constant: a system whose leak changes over weeks is followed,
a drift of hours is not learned as its new normal."""
BOOT_PAIRS: Final = 48
"""Pairs of readings learned from together before the gauge learns one pair at a time."""
RECENT_REFILLS: Final = 15
"""Refills the learned refill is the median of."""
REFILLS_TRUSTED: Final = 2
"""Refills learned before a step is judged against the learned refill rather than the noise alone."""
TREND_STEPS: Final = 3
"""Steps whose median says a reading falls faster than its learned fall (:func:`under_fall`)."""
TREND_MIN_S: Final = 1800.0
"""The least time :data:`TREND_STEPS` steps must span to say how fast a reading falls (600 s reports and slower)."""
HIDDEN_REFILL_SHARE: Final = 0.25
"""How much of a refill one interval's extra fall must be before a refill is looked for against the fall."""
GOLDEN: Final = (math.sqrt(5) - 1) / 2
MEAN_PER_MEDIAN_ABS: Final = 1.183
"""Mean over median absolute deviation of a normal variable."""
MIN_SIGMA: Final = 1e-9
STILL_GRID: Final = 17
"""Levels a coarse gauge's run of repeats may have started from, across two steps (:func:`still_chance`)."""
NOISE_RATE: Final = 0.02
"""How far one pair moves the learned noise towards what its residual shows."""


@dataclass(frozen=True, slots=True)
class Window:
    hours: int
    rate_per_h: float
    z: float
    sustained: bool
    late_refills: float
    """Refills in the window's second half."""


def noise(track: GaugeTrack) -> float:
    """The learned noise (standard deviation) of one reading, at least what its resolution makes."""
    return max(track.sigma, track.resolution / math.sqrt(12))


def pair_sd_of(track: GaugeTrack) -> float:
    return math.sqrt(2) * noise(track)


def refill_sd_of(track: GaugeTrack) -> float:
    return 1.25 * track.refill_ad


def fall_per_s(track: GaugeTrack) -> float:
    return track.fall_v / track.fall_t if track.fall_t > 0 else 0.0


def fall_se_per_h(track: GaugeTrack, unlearned: float = math.inf) -> float:
    """The standard error of the learned fall rate, per hour: the noise of the ends of each stretch it
    was learned from (one more stretch than refills) over the hours learned; ``unlearned`` before any."""
    learned_h = track.fall_t / 3600
    return noise(track) * math.sqrt(2 * (track.refills + 1)) / learned_h if learned_h > 0 else unlearned


def learn_noise(track: GaugeTrack, residual: float, pairs: int = 1) -> None:
    """Move the learned noise towards what ``pairs`` pairs with this residual show: the mean |residual| of a
    pair is 0.798 × √2 × sigma; each residual is capped at three times its expectation.

    A run of repeats is learned only once a reading ends it, all its pairs at once (their residuals are the
    same: the learned fall over an interval): a gauge that froze must not teach itself, reading by reading,
    that it is quiet, and so that a run this long is likely."""
    target = min(abs(residual), 3.4 * noise(track)) / 1.128
    track.sigma = target + (track.sigma - target) * (1 - NOISE_RATE) ** pairs


def end_run(track: GaugeTrack) -> None:
    """A reading moved: count the run of repeats that ended (learned only once it ends, so a stuck run is
    never learned as the device's habit) and this change; past :data:`PAIRS_KEPT` pairs, halve both."""
    track.repeats += track.run
    track.pairs += track.run + 1
    track.run = 0
    track.still = []
    if track.pairs > PAIRS_KEPT:
        track.pairs /= 2
        track.repeats /= 2


def repeat_chance(track: GaugeTrack) -> float:
    """The device's chance that a reading repeats the one before, at its upper ~2-sigma bound: how often
    it did (a coarse gauge is judged by :func:`still_chance` too)."""
    q = (track.repeats + 1) / (track.pairs + 2)
    q = q + 2 * math.sqrt(q * (1 - q) / (track.pairs + 2))
    return min(1.0, q)


def coarse(track: GaugeTrack) -> bool:
    """A step of the gauge's resolution is larger than its noise: its readings repeat by the step."""
    return 0 < track.sigma < track.resolution


def still_chance(track: GaugeTrack, value: float, t: float, fall: float) -> float:
    """ln of the chance that a coarse gauge read ``value`` at every reading of its run so far, ``t`` the
    newest, at the most likely level the run can have started from; its level falling ``fall`` a second.

    A coarse gauge repeats more while its level sits in the middle of a step than on average, so how
    often it repeated (:func:`repeat_chance`) says too little: each reading of the run is judged by its
    own chance of landing in the step, given where the level stood then (a quantised normal noise).
    The starting level is unknown: :data:`STILL_GRID` of them across two steps around ``value`` are
    followed at once (``track.still``, one reading at a time), the best one counts, and the number of
    them is charged (they are that many guesses). A level that stays in the middle of the step makes
    this the chance ``erf(resolution / (2 sqrt(2) sigma))`` per reading; one that falls through the
    step makes it shrink fast.

    Asked only once the run is unlikely by :func:`repeat_chance` (both must say so), then at every
    reading of the run: the first call takes the run so far, its readings spread evenly over its time."""
    step, spread = track.resolution, math.sqrt(2) * track.sigma
    fallen = fall * (t - track.run_since)
    if track.still:
        _still_reading(track, value, fallen, step, spread)
    else:  # the run so far at once, its readings evenly spread (asked first once the run is long)
        track.still = [0.0] * STILL_GRID
        for i in range(track.run + 1):
            _still_reading(track, value, fallen * i / track.run, step, spread)
    return max(track.still) + math.log(STILL_GRID)


def _still_reading(track: GaugeTrack, value: float, fallen: float, step: float, spread: float) -> None:
    for k in range(STILL_GRID):
        level = value + step * (2 * k / (STILL_GRID - 1) - 1) - fallen
        chance = 0.5 * (math.erf((value + step / 2 - level) / spread) - math.erf((value - step / 2 - level) / spread))
        track.still[k] += math.log(max(chance, 1e-300))


def bootstrap(track: GaugeTrack) -> None:
    """Learn the noise, the fall and the refill from the first :data:`BOOT_PAIRS` pairs together.

    Refills are rare and upward, so the ordinary steps are the lower bulk: the fall starts as the
    median change per second; the noise from how far the lower quartile of the residuals lies below
    their median (0.674 standard deviations for a normal variable; refills above cannot move it much);
    then the refills are the residuals far above, and the fall is refitted without them. (A coarse
    gauge's quartiles would all fall on its steps: each change is spread over one step first.)"""
    pairs = track.boot
    track.boot = []
    rates = sorted(step / dt for dt, step in pairs)
    fall = -rates[len(rates) // 2]
    # A coarse gauge's changes sit on steps of its resolution: its quartiles fall on the same steps
    # whatever the noise. Each change is spread over its step, the same way every time (a golden-ratio
    # sequence, not a random one), so that the quartiles measure the noise.
    spread = [track.resolution * ((i * GOLDEN) % 1.0 - 0.5) for i in range(len(pairs))]
    refills: list[float] = []
    for _ in range(2):
        residuals = sorted(step + fall * dt + d for (dt, step), d in zip(pairs, spread, strict=True))
        middle = residuals[len(residuals) // 2]
        pair_sd = max((middle - residuals[len(residuals) // 4]) / 0.674, pair_sd_of(track), MIN_SIGMA)
        refills = [step + fall * dt for dt, step in pairs if step + fall * dt - middle > REFILL_SIGMAS * pair_sd]
        ordinary = [(dt, step) for dt, step in pairs if step + fall * dt - middle <= REFILL_SIGMAS * pair_sd]
        fall = -sum(step for _, step in ordinary) / sum(dt for dt, _ in ordinary)
    track.sigma = pair_sd / math.sqrt(2)
    track.fall_v = -sum(step for _, step in ordinary)
    track.fall_t = sum(dt for dt, _ in ordinary)
    track.learned_t = track.fall_t
    for found in refills:
        learn_refill(track, found, pair_sd)


def learn_refill(track: GaugeTrack, residual: float, pair_sd: float) -> None:
    """The refill and its spread: the median of the last refills and their median distance from it (a
    noise spike taken for a refill does not move it)."""
    track.recent_refills.append(residual)
    del track.recent_refills[:-RECENT_REFILLS]
    ordered = sorted(track.recent_refills)
    track.refill = ordered[len(ordered) // 2]
    deviations = sorted(abs(r - track.refill) for r in ordered)
    track.refill_ad = max(deviations[len(deviations) // 2] * MEAN_PER_MEDIAN_ABS, 0.8 * pair_sd)
    track.refills = min(track.refills + 1, 200.0)


def bucket(
    track: GaugeTrack,
    t: float,
    step: float,
    dt: float,
    refill: float,
    fall_v: float,
    fall_t: float,
    tainted: bool,
) -> None:
    """Add a pair to its hour: its change, time and refill (the residual is computed when a window is
    tested, with the fall and refill learned by then), what it would teach of the fall, and whether
    the hour is tainted (a threshold rule's limit breached)."""
    hour = float(math.floor(t / 3600))
    if track.hours and track.hours[-1][0] == hour:
        b = track.hours[-1]
        b[1] += step
        b[2] += dt
        b[3] += refill
        b[4] += fall_v
        b[5] += fall_t
        b[6] = max(b[6], float(tainted))
        return
    track.hours.append([hour, step, dt, refill, fall_v, fall_t, float(tainted)])
    while len(track.hours) > HOURS_KEPT:
        fold(track, track.hours.pop(0))


def fold(track: GaugeTrack, bucket: list[float]) -> None:
    """Learn the fall from an hour leaving the last day, unless it was tainted while there: a window
    over it stood out, or a signal of the gauge was raised (a slow fault is not learned as normal)."""
    _, _, _, _, fall_v, fall_t, tainted = bucket
    if tainted or fall_t <= 0:
        return
    decay = math.exp(-fall_t / LEARN_TAU_S)
    track.fall_v = track.fall_v * decay + fall_v
    track.fall_t = track.fall_t * decay + fall_t
    track.learned_t += fall_t


def windows(track: GaugeTrack, spec: GaugeSpec, t: float) -> list[Window]:
    """The residual rate over each window of :data:`WINDOWS_H` that the buckets cover (full hours before ``t``)."""
    now = math.floor(t / 3600)
    closed = [b for b in track.hours if b[0] < now]
    if not closed:
        return []
    sigma = noise(track)
    refill_sd = refill_sd_of(track)
    # the learning's own uncertainty: the fall rate from its stretches, the refill from its count
    fall_se = fall_se_per_h(track)
    refill_se = refill_sd / math.sqrt(track.refills) if track.refills >= 1 else 0.0
    allowance = ALLOWANCE * spec.drift_per_h
    out = []
    for hours in WINDOWS_H:
        span = [b for b in closed if b[0] >= now - hours]
        if not span or span[0][0] > now - hours:
            continue  # the series does not reach back that far (a restart or a jump)
        total, seconds, refills = residual(track, span)
        if seconds < 0.5 * hours * 3600:
            continue
        h = seconds / 3600
        var = 2 * sigma**2 + refills * refill_sd**2 + (h * fall_se) ** 2 + (refills * refill_se) ** 2
        rate = total / h
        z = (abs(total) - allowance * h) / math.sqrt(var) if var > 0 else 0.0
        half = len(span) // 2
        sustained = True
        for part in (span[:half], span[half:]):
            if part:
                part_total, part_seconds, _ = residual(track, part)
                sustained &= math.copysign(1.0, rate) * part_total / max(1.0, part_seconds / 3600) > allowance
        out.append(Window(hours, rate, z, sustained, sum(b[3] for b in span[half:])))
    return out


def residual(track: GaugeTrack, hours: list[list[float]]) -> tuple[float, float, float]:
    """(sum of the residuals, seconds, refills) of some hours: the change of the reading, plus the
    learned fall over the time, minus the learned refill at each refill."""
    change, seconds, refills = (sum(b[i] for b in hours) for i in (1, 2, 3))
    return change + fall_per_s(track) * seconds - track.refill * refills, seconds, refills


def under_fall(track: GaugeTrack, residual: float, pair_sd: float, dt: float) -> float | None:
    """A refill seen against a fall faster than the learned one, as its size (None when it is none).

    A reading that falls faster than the gauge learned (a sensor drifting low, or a loss) moves each
    interval by more than the learned fall; a refill then lifts the reading by its usual size *from
    that line*, which can leave the step itself small or even downward (hourly, at 0.05 MPa/h). A
    refill can hide in one interval's fall only when that interval's extra fall is a good part of a
    refill (a slow reporter, or a fast fall; a fast reporter's refills show as steps up of their own,
    and its steps span too short a time to say how fast it falls: :data:`TREND_MIN_S`).
    So once each of the last :data:`TREND_STEPS` steps fell faster than the learned fall by two pairs'
    noise and by :data:`HIDDEN_REFILL_SHARE` of a refill, a step that rose from their median by about
    the learned refill is a refill."""
    if track.refills < REFILLS_TRUSTED or track.refill <= 4 * pair_sd or len(track.fall_steps) < TREND_STEPS:
        return None
    if TREND_STEPS * dt < TREND_MIN_S:
        return None  # a fast reporter: its refills show as steps up, and three steps are no trend
    if max(track.fall_steps) * dt >= -max(2 * pair_sd, HIDDEN_REFILL_SHARE * track.refill):
        return None  # not every one of the last steps fell that much faster than learned
    trend = sorted(track.fall_steps)[TREND_STEPS // 2] * dt
    lifted = residual - trend
    return lifted if 0.5 * track.refill < lifted <= 3 * track.refill else None


def refills_lowered(track: GaugeTrack) -> bool:
    """The last refill lifted the reading to clearly below where refills used to lift it."""
    if track.refills < REFILLS_TRUSTED or track.post == 0:
        return False
    return track.last_post < track.post - 3 * refill_sd_of(track) - 2 * pair_sd_of(track)
