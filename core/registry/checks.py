"""Cross-record rules of a registry file: unique ids, references, setpoints, shifts, no parent cycles.

References that the file itself does not satisfy are not errors yet: the database may hold their
targets (a file of devices only, for premises imported before). They are returned as
:class:`Reference` for the importer to resolve inside its transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from core.domain import DEVICE_TYPES
from core.registry.model import RegistryFile

Table = Literal["jurisdictions", "departments", "premises", "inspectors", "devices"]


@dataclass(frozen=True, slots=True)
class Reference:
    """``section[index].field`` of the record ``record_id`` names ``target_id`` in ``table``."""

    section: str
    index: int
    record_id: str
    field: str
    table: Table
    target_id: str

    def problem(self) -> str:
        noun = {
            "jurisdictions": "jurisdiction",
            "premises": "premises",
            "inspectors": "inspector",
            "devices": "device",
        }[self.table]
        where = locate(self.section, self.index, self.record_id)
        return f"{where}: field '{self.field}': unknown {noun} {self.target_id!r}"


def locate(section: str, index: int, record_id: str | None) -> str:
    """How a problem names its record: ``devices[12] (id 'D-7')``, index from 0 as in the file."""
    return f"{section}[{index}]" + (f" (id {record_id!r})" if record_id else "")


def check(registry: RegistryFile) -> tuple[list[str], list[Reference]]:
    """(problems, references the file leaves open). Problems name the record and the field."""
    problems: list[str] = []
    for section in ("jurisdictions", "departments", "inspectors", "premises", "devices"):
        problems += _duplicates(section, [r.id for r in getattr(registry, section)])
    problems += _duplicates(
        "duty_roster",
        [f"{s.inspector}@{s.jurisdiction}@{s.starts_at.isoformat()}" for s in registry.duty_roster],
    )
    problems += _duplicates("panel_points", [f"{p.device}@{p.loop}@{p.address}" for p in registry.panel_points])
    problems += _duplicates("zones", [f"{z.premises}@{z.zone}" for z in registry.zones])
    problems += _address_problems(registry)
    problems += _platform_problems(registry)
    problems += _water_system_problems(registry)
    problems += _point_problems(registry)
    problems += _setpoint_problems(registry)
    problems += _shift_problems(registry)
    problems += _cycle_problems(registry)

    known: dict[Table, set[str]] = {
        "jurisdictions": {j.id for j in registry.jurisdictions},
        "departments": {d.id for d in registry.departments},
        "premises": {p.id for p in registry.premises},
        "inspectors": {i.id for i in registry.inspectors},
        "devices": {d.id for d in registry.devices},
    }
    open_refs = [ref for ref in _references(registry) if ref.target_id not in known[ref.table]]
    return problems, open_refs


def _references(registry: RegistryFile) -> Iterable[Reference]:
    for i, j in enumerate(registry.jurisdictions):
        if j.parent is not None:
            yield Reference("jurisdictions", i, j.id, "parent", "jurisdictions", j.parent)
    for i, p in enumerate(registry.premises):
        yield Reference("premises", i, p.id, "jurisdiction", "jurisdictions", p.jurisdiction)
        for department in p.departments:
            yield Reference("premises", i, p.id, "departments", "departments", department)
    for i, d in enumerate(registry.devices):
        yield Reference("devices", i, d.id, "premises", "premises", d.premises)
    for i, ins in enumerate(registry.inspectors):
        yield Reference("inspectors", i, ins.id, "jurisdiction", "jurisdictions", ins.jurisdiction)
    for i, point in enumerate(registry.panel_points):
        yield Reference("panel_points", i, "", "device", "devices", point.device)
        if point.maps_to is not None:
            yield Reference("panel_points", i, "", "maps_to", "devices", point.maps_to)
    for i, z in enumerate(registry.zones):
        yield Reference("zones", i, "", "premises", "premises", z.premises)
    for i, s in enumerate(registry.duty_roster):
        yield Reference("duty_roster", i, "", "inspector", "inspectors", s.inspector)
        yield Reference("duty_roster", i, "", "jurisdiction", "jurisdictions", s.jurisdiction)


def _duplicates(section: str, keys: Sequence[str]) -> list[str]:
    first_seen: dict[str, int] = {}
    problems = []
    for index, key in enumerate(keys):
        if key in first_seen:
            problems.append(f"{locate(section, index, key)}: field 'id': duplicate of {section}[{first_seen[key]}]")
        else:
            first_seen[key] = index
    return problems


def _platform_problems(registry: RegistryFile) -> list[str]:
    """An IoT platform's name for a device names one device."""
    return _names_one(registry, "platform_id", range(len(registry.devices)))


WATER_METRICS = frozenset({"water_pressure_mpa", "tank_level_m"})
"""What a device on a water system measures: a pressure or a level."""


def _water_system_problems(registry: RegistryFile) -> list[str]:
    """A water system is a gauge's: only a device that measures a water pressure or a tank level has one."""
    return [
        f"{locate('devices', index, d.id)}: field 'water_system': a {d.type} measures no water pressure or tank level"
        for index, d in enumerate(registry.devices)
        if d.water_system is not None and not DEVICE_TYPES[d.type].metrics & WATER_METRICS
    ]


def _address_problems(registry: RegistryFile) -> list[str]:
    """A GB/T 26875.3 address is a UITD's, and names one UITD."""
    devices = registry.devices
    problems = [
        f"{locate('devices', index, d.id)}: field 'gb26875_address': only a uitd has one"
        for index, d in enumerate(devices)
        if d.gb26875_address is not None and d.type != "uitd"
    ]
    uitds = [index for index, d in enumerate(devices) if d.type == "uitd"]
    return problems + _names_one(registry, "gb26875_address", uitds)


def _names_one(registry: RegistryFile, field: str, indexes: Iterable[int]) -> list[str]:
    """For the devices at ``indexes``: each value of ``field`` set is no other device's."""
    problems = []
    first_seen: dict[str, int] = {}
    for index in indexes:
        device = registry.devices[index]
        value = getattr(device, field)
        if value is None:
            continue
        if value in first_seen:
            problems.append(
                f"{locate('devices', index, device.id)}: field '{field}': {value} is already "
                f"devices[{first_seen[value]}]'s"
            )
        else:
            first_seen[value] = index
    return problems


def _point_problems(registry: RegistryFile) -> list[str]:
    """Points of devices in the file belong to a UITD; a point maps to a device of the same premises."""
    devices = {d.id: d for d in registry.devices}
    problems = []
    for index, point in enumerate(registry.panel_points):
        where = locate("panel_points", index, None)
        uitd = devices.get(point.device)
        if uitd is not None and uitd.type != "uitd":
            problems.append(f"{where}: field 'device': {point.device!r} is a {uitd.type}, points belong to a uitd")
        target = devices.get(point.maps_to) if point.maps_to else None
        if uitd is not None and target is not None and target.premises != uitd.premises:
            problems.append(
                f"{where}: field 'maps_to': {point.maps_to!r} is in premises {target.premises!r}, "
                f"the UITD in {uitd.premises!r}"
            )
    return problems


def _setpoint_problems(registry: RegistryFile) -> list[str]:
    problems = []
    for index, device in enumerate(registry.devices):
        allowed = DEVICE_TYPES[device.type].metrics
        for metric in device.setpoints:
            if metric not in allowed:
                valid = ", ".join(sorted(allowed)) or "none"
                problems.append(
                    f"{locate('devices', index, device.id)}: field 'setpoints.{metric}': "
                    f"a {device.type} does not measure {metric}; valid metrics are {valid}"
                )
    return problems


def _shift_problems(registry: RegistryFile) -> list[str]:
    return [
        f"{locate('duty_roster', index, None)}: field 'ends_at': must be after starts_at"
        for index, shift in enumerate(registry.duty_roster)
        if shift.ends_at <= shift.starts_at
    ]


def _cycle_problems(registry: RegistryFile) -> list[str]:
    parent = {j.id: j.parent for j in registry.jurisdictions}
    index_of = {j.id: i for i, j in enumerate(registry.jurisdictions)}
    problems = []
    for start in parent:
        seen = {start}
        node = parent[start]
        while node is not None and node in parent:
            if node == start:
                problems.append(
                    f"{locate('jurisdictions', index_of[start], start)}: field 'parent': "
                    "the chain of parents comes back to this jurisdiction"
                )
                break
            if node in seen:
                break  # a cycle further up, reported from one of its own members
            seen.add(node)
            node = parent[node]
    return problems
