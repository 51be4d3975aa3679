"""The simulation: a fleet reporting over simulated time, as one ordered stream of MQTT messages.

:class:`Simulation` is pure: no clock, no network. ``messages()`` yields :class:`Outgoing` in send
order (simulated time), lazily, so a long run needs little memory; the publisher paces and sends
them. Same registry, seed, start and scenario give byte-identical messages and ground truth.

Scenarios act through three hooks:
- an :class:`Overlay` changes a device's telemetry (or silences it, or skews its clock) for a window;
- :meth:`Simulation.at` runs a callback at a simulated time (a panel event, an injected message);
- a :class:`StreamFault` rewrites the stream itself (duplicates, reordering).
Each hook may carry a :class:`GroundTruth`, which records every message that carries its scenario.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from core import gb26875 as gb
from core.domain import METRICS
from core.registry import Device, Premises, RegistryFile
from core.wire import Component, Event, Status, Telemetry, encode_payload, topic_for
from simulators.panel import Point, layout, points_of, uitd_address
from simulators.physics import Environment, Metrics, Model, build_model, share_water_systems, stable_seed

HEARTBEAT_EVERY = 10  # a battery or mains sensor sends a status every N reports; a UITD every report
ANALOG_EVERY = 10  # a frame-speaking UITD uploads its panel's analog values every N reports
# GB/T 26875.3 status bits of the events a simulated UITD uploads as frames.
_STATE_BITS: Final = {
    "fire_alarm": 1 << 1,
    "fault": 1 << 2,
    "disabled": 1 << 3,
    "supervisory": 1 << 4,
    "feedback": 1 << 6,
}
_UITD_BITS: Final = {"fire_alarm": 1 << 1, "fault": 1 << 2}
_OPERATION_BITS: Final = {"reset": 1 << 0, "test": 1 << 6}


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to publish: ``index`` is its position in the stream, ``at`` its simulated send time."""

    index: int
    at: float
    topic: str
    payload: bytes
    device_id: str | None = None
    seq: int | None = None


@dataclass(slots=True)
class GroundTruth:
    """What a scenario did, where and when, and which messages carry it (the evaluation joins on these)."""

    id: str
    kind: str
    category: str
    expected: str
    start: float
    end: float
    premises_id: str | None = None
    device_ids: list[str] = field(default_factory=list)
    zone: str | None = None
    details: dict[str, object] = field(default_factory=dict)
    messages: list[tuple[str, int]] = field(default_factory=list)
    stream_indices: list[int] = field(default_factory=list)

    def carried(self, message: Outgoing) -> None:
        self.stream_indices.append(message.index)
        if message.device_id is not None and message.seq is not None:
            self.messages.append((message.device_id, message.seq))


@dataclass(slots=True)
class Overlay:
    """A change to one device's reports while ``start <= t < end``."""

    start: float
    end: float
    change: Callable[[float, Metrics], None] | None = None
    silent: bool = False
    skew_s: float = 0.0
    truth: GroundTruth | None = None


@dataclass(slots=True)
class StreamFault:
    """Rewrites messages of ``device_ids`` (all when empty) while ``start <= t < end``."""

    start: float
    end: float
    mode: str  # "duplicate" or "delay"
    delay_s: float
    share: float
    truth: GroundTruth
    device_ids: frozenset[str] = frozenset()


@dataclass(slots=True)
class DeviceState:
    device: Device
    premises: Premises
    model: Model
    topics: dict[str, str]
    interval: float
    rng: random.Random
    seq: int = 0
    reports: int = 0
    overlays: list[Overlay] = field(default_factory=list)
    panel: list[Point] = field(default_factory=list)
    frames: bool = False
    """A UITD that speaks GB/T 26875.3 (channel ``gb26875``) instead of JSON events and status."""
    serial: int = 0
    address_order: str = "loop_point"


def seq_base(start: float) -> int:
    """The seq a device's first message follows: the run's start in milliseconds. A real device keeps
    counting across restarts; a simulated one starts where a later run's devices would have got to, so
    a run never reuses the seqs of an earlier run (ingest files a reused seq as ``seq_conflict``), while
    the same run replayed (same start) sends the same seqs again, which are duplicates."""
    return max(0, int(start * 1000))


class Simulation:
    """A fleet over ``[start, start + duration)`` simulated seconds (Unix time, UTC)."""

    def __init__(
        self, registry: RegistryFile, *, seed: int, start: float, duration: float, gb26875: float = 0.0
    ) -> None:
        """``gb26875``: the share of UITDs (0-1, chosen by the seed) that speak GB/T 26875.3 frames
        (component states, operations, keep-alives, analog values) instead of JSON events and status."""
        if duration <= 0:
            raise ValueError("duration must be positive")
        if not 0.0 <= gb26875 <= 1.0:
            raise ValueError("gb26875 is a share of the UITDs, from 0 to 1")
        self.seed = seed
        self.start = start
        self.end = start + duration
        self.premises = {p.id: p for p in registry.premises}
        self.rng = random.Random(stable_seed(seed, "simulation"))
        self.truths: list[GroundTruth] = []
        self.stream_faults: list[StreamFault] = []
        self.devices: dict[str, DeviceState] = {}
        self.by_premises: dict[str, list[DeviceState]] = {p.id: [] for p in registry.premises}
        self._heap: list[tuple[float, int, Callable[[float], None]]] = []
        self._order = itertools.count()
        self._index = itertools.count()
        self._out: list[Outgoing] = []
        environments = {p.id: Environment.of(p, seed) for p in registry.premises}
        registered = points_of(registry)
        for device in registry.devices:
            premises = self.premises[device.premises]
            rng = random.Random(stable_seed(seed, device.id, "schedule"))
            uitd = device.type == "uitd"
            state = DeviceState(
                device=device,
                premises=premises,
                model=build_model(device, environments[premises.id], seed),
                topics={c: topic_for(premises.id, device.id, c) for c in ("telemetry", "event", "status", "gb26875")},
                interval=float(device.expected_interval_s or 60),
                rng=rng,
                panel=(registered.get(device.id) or layout(premises, seed)) if uitd else [],
                seq=seq_base(start),
                frames=uitd and random.Random(stable_seed(seed, device.id, "gb26875")).random() < gb26875,
                address_order=device.address_order or "loop_point",
            )
            self.devices[device.id] = state
            self.by_premises[premises.id].append(state)
            first = start + rng.uniform(0, state.interval)
            self.at(first, self._reporter(state))
        models = {device_id: state.model for device_id, state in self.devices.items()}
        share_water_systems(models, self.premises)
        for device_id, model in models.items():
            self.devices[device_id].model = model

    # --- hooks for scenarios ------------------------------------------------------------------------

    def at(self, t: float, action: Callable[[float], None]) -> None:
        """Run ``action(t)`` at simulated time ``t`` (ignored past the end of the run)."""
        if t < self.end:
            heapq.heappush(self._heap, (t, next(self._order), action))

    def truth(
        self, kind: str, category: str, expected: str, start: float, end: float, *, premises_id: str | None = None,
        device_ids: list[str] | None = None, zone: str | None = None, details: dict[str, object] | None = None,
    ) -> GroundTruth:  # fmt: skip
        """Open a ground-truth record; its id is its number in this run."""
        record = GroundTruth(
            f"gt-{len(self.truths) + 1:05d}", kind, category, expected, start, min(end, self.end), premises_id,
            list(device_ids or []), zone, dict(details or {}),
        )  # fmt: skip
        self.truths.append(record)
        return record

    def event(
        self,
        t: float,
        state: DeviceState,
        kind: str,
        point: Point | None = None,
        detail: str | None = None,
        truth: GroundTruth | None = None,
    ) -> None:
        """Schedule an ``event`` message from ``state``'s device at ``t``."""
        component = Component(point.type, point.loop, point.address, point.zone) if point else None  # type: ignore[arg-type]

        def send(now: float) -> None:
            if state.frames:
                message = self._frame(state, now, self._event_unit(state, now, kind, point, detail))
                if truth is not None and message is not None:
                    truth.carried(message)
                return
            state.seq += 1
            payload = Event(seq=state.seq, ts=self._ts(state, now), kind=kind, component=component, detail=detail)  # type: ignore[arg-type]
            message = self._emit(now, state.topics["event"], encode_payload(payload), state.device.id, state.seq)
            if truth is not None and message is not None:
                truth.carried(message)

        self.at(t, send)

    def burst(self, state: DeviceState, start: float, end: float, every: float) -> None:
        """Extra reports from ``state`` every ``every`` seconds in [start, end): a sensor's change-of-value
        and alarm-mode reporting, which real IoT sensors do instead of waiting for their next interval."""
        t = start
        while t < min(end, self.end):
            self.at(t, lambda now: self._report(state, now))
            t += every

    def inject(
        self,
        t: float,
        topic: str,
        payload: bytes,
        truth: GroundTruth,
        device_id: str | None = None,
        seq: int | None = None,
    ) -> None:
        """Schedule a message exactly as given (for transport faults)."""

        def send(now: float) -> None:
            message = self._emit(now, topic, payload, device_id, seq, faults=False)
            if message is not None:
                truth.carried(message)

        self.at(t, send)

    # --- the stream ---------------------------------------------------------------------------------

    def messages(self) -> Iterator[Outgoing]:
        """Every message of the run, in send order. Can be consumed once."""
        while self._heap:
            t, _, action = heapq.heappop(self._heap)
            action(t)
            if self._out:
                yield from self._out
                self._out.clear()

    def _reporter(self, state: DeviceState) -> Callable[[float], None]:
        def report(t: float) -> None:
            self._report(state, t)
            self.at(t + state.interval * (1 + state.rng.gauss(0, 0.01)), report)

        return report

    def _report(self, state: DeviceState, t: float) -> None:
        active = [o for o in state.overlays if o.start <= t < o.end]
        if any(o.silent for o in active):
            return
        metrics = state.model.sample(t)
        state.reports += 1
        for overlay in active:
            if overlay.change is not None:
                overlay.change(t, metrics)
        ts = self._ts(state, t, active)
        if metrics:
            for name, value in metrics.items():
                metric = METRICS[name]
                metrics[name] = min(metric.high, max(metric.low, value))
            state.seq += 1
            message = self._emit(
                t,
                state.topics["telemetry"],
                encode_payload(Telemetry(state.seq, ts, metrics)),
                state.device.id,
                state.seq,
            )
            if message is not None:
                for overlay in active:
                    if overlay.truth is not None:
                        overlay.truth.carried(message)
        if state.frames:
            self._frame_report(state, t)
        elif state.device.type == "uitd" or state.reports % HEARTBEAT_EVERY == 1:
            state.seq += 1
            battery = None if state.model.battery is None else round(state.model.battery)
            status = Status(
                seq=state.seq,
                ts=ts,
                state="online",
                battery_pct=battery,
                rssi_dbm=float(-60 - state.rng.randint(0, 30)),
            )
            self._emit(t, state.topics["status"], encode_payload(status), state.device.id, state.seq)

    # --- GB/T 26875.3 -------------------------------------------------------------------------------

    def _label_time(self, state: DeviceState, t: float) -> datetime:
        return datetime.fromtimestamp(self._ts(state, t) / 1000, UTC)

    def _event_unit(self, state: DeviceState, t: float, kind: str, point: Point | None, detail: str | None) -> bytes:
        """The data unit a UITD uploads for an event: a component's state (type 2) with its condition
        bit (none for a ``*_cleared`` or ``enabled``: the point is normal again), the UITD's operation
        (type 24) for a reset or test, the UITD's state (type 21) for an event of no point."""
        at = self._label_time(state, t)
        if kind in _OPERATION_BITS:
            return gb.data_unit(gb.UITD_OPERATION, [gb.uitd_operation_object(_OPERATION_BITS[kind], 1, at)])
        if point is None or point.type == "panel":
            bits = 1 | _UITD_BITS.get(kind, 0)
            return gb.data_unit(gb.UITD_STATE, [gb.uitd_state_object(bits, at)])
        bits = 1 | _STATE_BITS.get(kind, 0)
        code = gb.COMPONENT_CODES[point.type]
        address = gb.join_address(point.loop, point.address, state.address_order)
        text = detail or f"{point.zone} {point.type}"
        return gb.data_unit(gb.COMPONENT_STATE, [gb.component_state_object(code, address, bits, text, at)])

    def _frame_report(self, state: DeviceState, t: float) -> None:
        """A frame-speaking UITD's report: its keep-alive; its version and clock first; analog values
        (a pressure switch's pressure, in kPa) every ``ANALOG_EVERY`` reports."""
        at = self._label_time(state, t)
        if state.reports == 1:
            self._frame(state, t, gb.data_unit(gb.UITD_VERSION, [bytes((2, 1))]))
            self._frame(state, t, gb.data_unit(gb.UITD_CLOCK, [gb.time_label(at)]))
        self._frame(state, t, b"")
        pressure = next((p for p in state.panel if p.type == "pressure_switch"), None)
        if pressure is not None and state.reports % ANALOG_EVERY == 1:
            kpa_tenths = round((300.0 + state.rng.gauss(0, 3)) * 10)
            address = gb.join_address(pressure.loop, pressure.address, state.address_order)
            unit = gb.data_unit(
                gb.ANALOG, [gb.analog_object(gb.COMPONENT_CODES["pressure_switch"], address, 5, kpa_tenths, at)]
            )
            self._frame(state, t, unit)

    def _frame(self, state: DeviceState, t: float, data: bytes) -> Outgoing | None:
        """Send one frame (command 2, send data) of ``state``'s UITD; its message's seq is its first record's."""
        state.serial = (state.serial + 1) % 65_536
        at = self._label_time(state, t)
        raw = gb.encode_frame(state.serial, gb.SEND_DATA, data, sent_at=at, source=uitd_address(state.device.id))
        seq = gb.record_seq(raw[6:12], state.serial, 0, 0)
        return self._emit(t, state.topics["gb26875"], raw, state.device.id, seq)

    def _ts(self, state: DeviceState, t: float, active: list[Overlay] | None = None) -> int:
        if active is None:
            active = [o for o in state.overlays if o.start <= t < o.end]
        skew = sum(o.skew_s for o in active)
        return int((t + skew) * 1000)

    def _emit(
        self, t: float, topic: str, payload: bytes, device_id: str | None, seq: int | None, *, faults: bool = True
    ) -> Outgoing | None:
        """Add a message to the stream now, unless a stream fault delays it. Returns what was sent now."""
        if faults and self.stream_faults:
            for fault in self.stream_faults:
                if (
                    fault.start <= t < fault.end
                    and (not fault.device_ids or device_id in fault.device_ids)
                    and self.rng.random() < fault.share
                ):
                    # A copy for "duplicate"; for "delay", the original itself, sent later instead of now.
                    self.inject(t + fault.delay_s, topic, payload, fault.truth, device_id, seq)
                    if fault.mode == "delay":
                        return None
        message = Outgoing(next(self._index), t, topic, payload, device_id, seq)
        self._out.append(message)
        return message
