"""Heat in a zone, judged from one temperature sensor's own readings, whatever its reporting interval.

Three ways a reading shows heat (:class:`core.policy.HeatClass`, per zone use), after GB 4716 /
EN 54-5's point heat detectors:

- **fixed**: the reading is at or above the static response temperature;
- **rate_of_rise**: a line fitted through the readings of the last ``heat_rise_window_s`` (60 s), or
  through the last two readings when they are further apart, rises at least ``rise_c_per_min``. The
  line is Tukey's resistant line (the medians of the first and last thirds of the readings), so one
  wild reading does not make a slope, and two readings a second apart never make a rate on their own:
  the readings must span at least half the window;
- **rise**: the same line rises at least ``min_rise_c`` in all, however far apart the readings are. A
  sensor that reports every 5 minutes or every hour cannot show a rate, but its first reading after a
  fire shows the rise since the one before.

A rise counts only when it is beyond what the device's own noise explains: ``heat_noise_sd`` standard
deviations of the difference of the two medians, the standard deviation learned from the device's
recent reading-to-reading steps (their median, robust to the few steps of a real rise), plus one step
of its resolution (the smallest non-zero step it has shown). Until a device has shown
:data:`NOISE_MIN_STEPS` steps, its noise is taken as ``heat_noise_prior_c``.

In a zone whose class has no rate-of-rise element (a kitchen, a boiler room), only a fixed
temperature is heat.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass
from statistics import median
from typing import Literal

import msgspec

from core.policy import HeatClass, VerificationPolicy

NOISE_STEPS = 32
"""Recent reading-to-reading steps kept for the noise estimate."""
NOISE_MIN_STEPS = 16
_MEDIAN_STEP = 0.6745 * math.sqrt(2)
"""The median absolute step of white noise of standard deviation 1 (the steps are N(0, 2))."""
_MEDIAN_SD = math.sqrt(math.pi / 2)
"""A median of k readings of white noise has a standard deviation of about this times sd/sqrt(k)."""
DENSEST_SHARE = 100
"""Readings closer together than the window over this replace the one before (a device reporting ten
times a second keeps a hundred readings a minute, not six hundred)."""

HeatRule = Literal["fixed", "rate_of_rise", "rise"]


class HeatTrack(msgspec.Struct, array_like=True):
    """One sensor's recent temperature readings and what its noise looks like (kept in its device's state)."""

    times: list[float] = []
    values: list[float] = []
    """Readings of the last rise window, oldest first."""
    steps: list[float] = []
    """The last :data:`NOISE_STEPS` absolute steps between consecutive readings."""
    resolution: float = 0.0
    """The smallest non-zero step seen: the sensor's resolution, or finer."""


@dataclass(frozen=True, slots=True)
class Heat:
    """What a reading showed: the rule it met, the reading, and the rise the rule read (0 for ``fixed``)."""

    rule: HeatRule
    value: float
    limit: float
    """The limit it met: °C for ``fixed`` and ``rise``, °C/min for ``rate_of_rise``."""
    rise_c: float = 0.0
    span_s: float = 0.0
    rate_c_per_min: float = 0.0
    noise_c: float = 0.0
    """The rise the device's noise could explain: a rise had to be above it."""


@dataclass(frozen=True, slots=True)
class HeatReading:
    """The policy's heat numbers that do not depend on the zone."""

    window_s: float
    noise_sd: float
    noise_prior_c: float

    @classmethod
    def of(cls, policy: VerificationPolicy) -> HeatReading:
        return cls(policy.heat_rise_window_s, policy.heat_noise_sd, policy.heat_noise_prior_c)


def observe(track: HeatTrack, t: float, value: float, heat: HeatClass, reading: HeatReading) -> Heat | None:
    """Fold the reading ``value`` at ``t`` (after every reading the track holds) into ``track``; the heat
    it shows, if any. The rise is judged against the device's noise as it was before this reading."""
    found = _judge(track, t, value, heat, reading)
    if track.times:
        step = abs(value - track.values[-1])
        if step > 0 and (track.resolution == 0 or step < track.resolution):
            track.resolution = step
        track.steps.append(step)
        del track.steps[:-NOISE_STEPS]
    _keep(track, t, value, reading.window_s)
    return found


def _judge(track: HeatTrack, t: float, value: float, heat: HeatClass, reading: HeatReading) -> Heat | None:
    if value >= heat.fixed_c:
        return Heat("fixed", value, heat.fixed_c)
    if not heat.rate_of_rise or not track.times:
        return None
    start = t - max(reading.window_s, t - track.times[-1])
    first = bisect_left(track.times, start)
    times, values = [*track.times[first:], t], [*track.values[first:], value]
    k = max(1, len(times) // 3)
    rise = median(values[-k:]) - median(values[:k])
    span = median(times[-k:]) - median(times[:k])
    if rise <= 0 or span <= 0:
        return None
    rate = rise / span * 60
    by_rate = times[-1] - times[0] >= reading.window_s / 2 and rate >= heat.rise_c_per_min
    by_rise = rise >= heat.min_rise_c
    if not (by_rate or by_rise):
        return None  # before the noise estimate: most readings end here
    noise = noise_floor(track, k, reading)
    if rise <= noise:
        return None
    rule: HeatRule = "rate_of_rise" if by_rate else "rise"
    limit = heat.rise_c_per_min if by_rate else heat.min_rise_c
    return _shown(rule, value, limit, rise, span, noise)


def risen(value: float, before: float, span_s: float, noise: float, heat: HeatClass) -> Heat | None:
    """Heat by ``rise``: ``value`` is at least the minimum rise above ``before`` (a reading ``span_s``
    earlier: the last before an alarm that waits), and beyond ``noise``."""
    rise = value - before
    if not heat.rate_of_rise or rise < heat.min_rise_c or rise <= noise or span_s <= 0:
        return None
    return _shown("rise", value, heat.min_rise_c, rise, span_s, noise)


def _shown(rule: HeatRule, value: float, limit: float, rise: float, span_s: float, noise: float) -> Heat:
    """Heat by a rise of ``rise`` over ``span_s`` (rounded for the evidence)."""
    return Heat(rule, value, limit, round(rise, 3), round(span_s, 3), round(rise / span_s * 60, 3), round(noise, 3))


def noise_floor(track: HeatTrack, k: int, reading: HeatReading) -> float:
    """The largest difference of two medians of ``k`` readings each that the device's noise explains."""
    if len(track.steps) < NOISE_MIN_STEPS:  # too few steps to tell noise and resolution from a rise
        return reading.noise_sd * _MEDIAN_SD * reading.noise_prior_c * math.sqrt(2 / k)
    sd = median(track.steps) / _MEDIAN_STEP
    return reading.noise_sd * _MEDIAN_SD * sd * math.sqrt(2 / k) + track.resolution


def _keep(track: HeatTrack, t: float, value: float, window_s: float) -> None:
    """Append the reading and drop what no later reading's window reaches (older than ``t - window_s``)."""
    if track.times and t - track.times[-1] < window_s / DENSEST_SHARE:
        track.times[-1], track.values[-1] = t, value
    else:
        track.times.append(t)
        track.values.append(value)
    first = bisect_left(track.times, t - window_s)
    if first:
        del track.times[:first]
        del track.values[:first]
