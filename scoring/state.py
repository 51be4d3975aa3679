"""Per-premises scoring state: everything the processors remember between two records of a premises.

One :class:`PremisesState` per premises, plain mutable msgspec structs so that the faust runner can
keep it in a table (msgpack bytes, changelogged) and the local runner in a dict, with the same code.
Times are Unix seconds (UTC) here, for speed; records and decisions carry datetimes.
"""

from __future__ import annotations

import msgspec

from scoring.heat import HeatTrack
from scoring.records import Evidence


class RuleState(msgspec.Struct, array_like=True):
    """One threshold rule on one device: since when it is breached, whether it raised, recent hits."""

    breach_since: float | None = None
    raised: bool = False
    hits: list[float] = []


class Window(msgspec.Struct, array_like=True):
    """Running sums of one metric's current feature window (tumbling, in time), and the anomaly verdicts so far.

    ``last``/``last_t``: the latest reading compared for repeats; ``pairs``: how many comparisons."""

    n: int = 0
    t0: float = 0.0
    sx: float = 0.0
    sxx: float = 0.0
    st: float = 0.0
    stt: float = 0.0
    stx: float = 0.0
    repeats: int = 0
    last: float | None = None
    streak: int = 0
    raised: str | None = None
    index: int = -1
    """Which epoch-aligned window of time it is (see :func:`scoring.anomaly.window_of`)."""
    pairs: int = 0
    last_t: float = 0.0


class PeerTrack(msgspec.Struct, array_like=True):
    """One gauge against one peer on its water system: what their difference learned, and its last day
    (:mod:`scoring.peers`)."""

    offset: float = 0.0
    """The learned difference (this gauge less the peer): the static head between them, an installation's offset."""
    sd: float = 0.0
    """The spread (standard deviation) of one comparison about the offset; 0 until the first are learned."""
    learned_h: float = 0.0
    """Hours of comparisons the offset was learned from."""
    boot: list[float] = []
    """The first comparisons' differences, learned from together."""
    peer_t: float = 0.0
    """The peer's reading time of the last comparison: one comparison per reading of the peer."""
    hours: list[list[float]] = []
    """[hour, comparisons, Σx, Σe, Σxe, Σxx, tainted, Σee] per hour of the last day: e the difference less
    the offset, x the time within the hour (hours)."""
    last_e: float = 0.0
    """The newest difference less the offset."""
    found: int = 0
    """Comparisons in a row that stood out."""
    since: float = 0.0
    """When the comparisons in a row that stood out began (0: the last did not)."""
    calm_since: float = 0.0
    """When the comparisons stopped standing out."""
    run_v: float | None = None
    """The peer's first reading after this gauge's run of repeats began, and its time."""
    run_t: float = 0.0


class GaugeTrack(msgspec.Struct, array_like=True):
    """One gauge metric of one device: what it learned and the evidence of the last day (:mod:`scoring.gauges`)."""

    last_v: float | None = None
    last_t: float = 0.0
    pairs: float = 0.0
    repeats: float = 0.0
    run: int = 0
    run_since: float = 0.0
    fall_v: float = 0.0
    fall_t: float = 0.0
    resolution: float = 0.0
    """The smallest change between two readings seen: the gauge's quantisation step."""
    sigma: float = 0.0
    """The noise (standard deviation) of one reading; 0 until the first pairs are learned."""
    boot: list[list[float]] = []
    """[seconds, change] of the first pairs, learned from together (:func:`scoring.gauge_learning.bootstrap`)."""
    refill: float = 0.0
    refill_ad: float = 0.0
    refills: float = 0.0
    recent_refills: list[float] = []
    """The residuals of the last refills (:func:`scoring.gauge_learning.learn_refill`)."""
    top: float = 0.0
    """The highest reading while learning: the pump's (or float valve's) setpoint and the noise."""
    above: int = 0
    above_since: float = 0.0
    last_refill_t: float = 0.0
    post: float = 0.0
    """The learned reading just after a refill (where the pump stops, less a little fall)."""
    last_post: float = 0.0
    """The reading just after the last refill."""
    floor: float = 0.0
    """The learned reading just before a refill: near where the pump (or float valve) cuts in."""
    impaired: bool = False
    """The impairment signal (the system stopped restoring itself) is raised."""
    period_s: float = 0.0
    """The learned time between refills; 0 until two refills were seen."""
    learned_t: float = 0.0
    hours: list[list[float]] = []
    """[hour, change of the reading, seconds, refills, fall to learn, its seconds, tainted] per hour of
    the last day (:func:`scoring.gauge_learning.bucket`)."""
    raised: str | None = None
    streak: int = 0
    quiet: int = 0
    verdict_hour: int = -1
    suspect: bool = False
    suspect_hour: int = -1
    """Whether a test window stood two standard errors out, as of the start of this hour."""
    still: list[float] = []
    """A coarse gauge's run of repeats: its log chance from each level it may have started from
    (:func:`scoring.gauge_learning.still_chance`)."""
    peers: dict[str, PeerTrack] = {}
    """Peer device id → this gauge against that peer on its water system (:mod:`scoring.peers`)."""
    last_pre: float = 0.0
    """The reading just before the last refill."""
    last_jump_t: float = 0.0
    """When a reading last jumped by more than the noise and a refill explain (its series broke)."""
    by_peer: bool = False
    """The raised ``sensor_drift`` was found against the peers: only they clear it."""
    fall_steps: list[float] = []
    """The residuals per second of the last :data:`scoring.gauge_learning.TREND_STEPS` steps that were no refill:
    a reading falling faster than the learned fall, its median (:func:`scoring.gauge_learning.under_fall`)."""


class DeviceState(msgspec.Struct, array_like=True):
    seen_at: float | None = None
    """When ingest received the device's latest message (its own clock may be skewed or replaying a backlog)."""
    last_time: dict[str, float] = {}
    """Device time of the latest reading per metric, to skip readings that arrive out of order."""
    latest: dict[str, float] = {}
    online: bool = True
    battery_pct: float | None = None
    faults: dict[str, str] = {}
    disabled: dict[str, str] = {}
    supervisory: dict[str, str] = {}
    rules: dict[str, RuleState] = {}
    windows: dict[str, Window] = {}
    offline_at: float | None = None
    """When it was judged offline (the time its silence became overdue, or its last will's)."""
    offline_by_will: bool = False
    """Offline because the broker published its last will, not because it fell silent."""
    heat: HeatTrack | None = None
    """A room temperature sensor's recent readings and noise (alarm verification's heat)."""
    gauges: dict[str, GaugeTrack] = {}
    """Water-system gauge metric → what the gauge learned of itself (:mod:`scoring.gauges`)."""


class Episode(msgspec.Struct, array_like=True):
    """One fire alarm episode of one zone (see :class:`scoring.records.AlarmDecision`)."""

    alarm_id: str
    zone: str
    panel: str
    opened_at: float
    expires_at: float
    classification: str
    last_alarm_at: float = 0.0
    revision: int = 0
    points: list[str] = []
    components: list[str] = []
    evidence: list[Evidence | str] = []
    """What the episode relied on, as it came. A string is evidence recorded by a version before
    structured evidence (2026-12), kept readable so that states in a changelog survive the upgrade."""
    false_alarm: bool = True
    baselines: dict[str, list[float]] = {}
    """Heat sensor of the zone → [time, °C] of its last reading before the alarm: a later reading that
    rose the minimum rise above it is heat, however many readings apart."""


class RiskState(msgspec.Struct, array_like=True):
    score: float | None = None
    tier: str | None = None
    revision: int = 0
    dirty: bool = True


class PremisesState(msgspec.Struct, array_like=True):
    premises_id: str
    clock: float = 0.0
    """The latest record time seen for this premises: the processors' notion of now."""
    devices: dict[str, DeviceState] = {}
    signals: dict[str, str] = {}
    """Active signals: key → rule."""
    signal_kinds: dict[str, str] = {}
    episodes: list[Episode] = []
    tests: dict[str, float] = {}
    """Panels in a test window: device id → when the window opened."""
    heat: dict[str, float] = {}
    """No longer written (see ``clues``); kept so that states written before 2026-12 still decode
    (the struct is an array: fields are positional)."""
    false_alarms: list[float] = []
    fires: list[float] = []
    hazards: list[float] = []
    next_offline_check: float = 0.0
    risk: RiskState = msgspec.field(default_factory=RiskState)
    overdue_hazards: dict[str, float] = {}
    """Hazards past their deadline (alerts' feedback): hazard id → when it became overdue."""
    feedback_refs: list[str] = []
    """Feedback already folded in, ``kind:ref``, so a redelivered one counts once."""
    received: float = 0.0
    """The latest time of receipt seen for this premises: the clock devices are judged offline by."""
    flow: dict[str, float] = {}
    """No longer written (see ``clues``); kept so that states written before 2026-12 still decode."""
    offsets: dict[str, int] = {}
    """Topic → offset of the last message applied to this state (Kafka only): a message at or before it
    was redelivered after a crash, and is already in the state restored from the changelog."""
    clues: dict[str, list[Evidence]] = {}
    """Zone → heat and flow seen there within the verification window, the latest of each device and
    kind: a later alarm of the zone is corroborated by them and names them as evidence."""


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(PremisesState)


def dump_state(state: PremisesState) -> bytes:
    return _encoder.encode(state)


def load_state(data: bytes) -> PremisesState:
    return _decoder.decode(data)
