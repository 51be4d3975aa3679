"""The registry's records as they appear in a registry file (docs/registry.md), validated on load.

Records are strict: a string field does not take a number, unknown fields are refused, every closed
vocabulary comes from :mod:`core.domain`. Cross-record rules (unique ids, references, setpoints
that fit the device type) are checked in :mod:`core.registry.checks`.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from core.domain import DEVICE_TYPE_NAMES, ID_PATTERN, Category, ComponentType, CreditStatus, JurisdictionKind, ZoneUse

FORMAT: Final = "firewarden-registry/1"

Id = Annotated[str, StringConstraints(pattern=f"^{ID_PATTERN.pattern}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]
OptionalText = Annotated[str, StringConstraints(max_length=500)] | None


class _Record(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


Position = tuple[float, float]
"""(longitude, latitude), GeoJSON's order."""


class Boundary(_Record):
    """A GeoJSON Polygon or MultiPolygon (RFC 7946): rings of (longitude, latitude), each closed."""

    model_config = ConfigDict(strict=False, extra="forbid", frozen=True)

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[list[Position]] | list[list[list[Position]]]

    @field_validator("coordinates")
    @classmethod
    def _rings(cls, value: Any) -> Any:
        polygons = value if value and value[0] and isinstance(value[0][0][0], list | tuple) else [value]
        for polygon in polygons:
            if not polygon:
                raise ValueError("a polygon needs at least one ring")
            for ring in polygon:
                if len(ring) < 4 or tuple(ring[0]) != tuple(ring[-1]):
                    raise ValueError("a ring needs at least 4 positions, the last equal to the first")
                for lon, lat in ring:
                    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                        raise ValueError(f"({lon}, {lat}) is not a (longitude, latitude) position")
        return value

    @model_validator(mode="after")
    def _shape(self) -> Boundary:
        nested = bool(self.coordinates and self.coordinates[0] and isinstance(self.coordinates[0][0][0], list | tuple))
        if nested != (self.type == "MultiPolygon"):
            raise ValueError(f"coordinates do not have the shape of a {self.type}")
        return self


class Jurisdiction(_Record):
    id: Id
    name: Text
    kind: JurisdictionKind
    parent: Id | None = None
    boundary: Boundary | None = None
    """Drawn on the console's map; optional."""


class Unit(_Record):
    """The responsible unit (社会单位) of a premises: who must self-check and fix its hazards."""

    name: Text
    contact: Text
    phone: OptionalText = None
    email: OptionalText = None


class Premises(_Record):
    id: Id
    name: Text
    category: Category
    address: Text
    jurisdiction: Id
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    height_m: Annotated[float, Field(ge=0, le=1000)] | None = None
    floors: Annotated[int, Field(ge=0, le=300)] | None = None
    occupancy: Annotated[int, Field(ge=0)] | None = None
    credit_status: CreditStatus = "normal"
    unit: Unit
    departments: list[Id] = Field(default_factory=list)
    """The departments that supervise the premises' sector (行业主管部门): told of its warning notices."""


PLATFORM_ID = r"^(onenet|ctwing):[A-Za-z0-9_-]{1,64}/[^\s/]{1,128}$"
"""A device's name on its IoT platform (OneNET: product id and device name; CTWing: product id and device id)."""


class Device(_Record):
    id: Id
    premises: Id
    type: str
    location: Text
    zone: OptionalText = None
    expected_interval_s: Annotated[int, Field(gt=0, le=7 * 86_400)] | None = None
    setpoints: dict[str, float] = Field(default_factory=dict)
    address_order: Literal["loop_point", "point_loop", "number"] | None = None
    """GB/T 26875.3 UITDs: how the vendor splits a component's 4-byte address (None: ``loop_point``)."""
    gb26875_address: Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{12}$")] | None = None
    """GB/T 26875.3 UITDs: the 6-byte source address its frames carry, as 12 hex digits in the order
    sent; how ``firewarden gateway gb26875`` knows the UITD behind a TCP connection."""

    platform_id: Annotated[str, StringConstraints(pattern=PLATFORM_ID)] | None = None
    """NB-IoT devices: the IoT platform's name for the device, ``onenet:<product id>/<device name>`` or
    ``ctwing:<product id>/<device id>``; how ``firewarden gateway nbiot`` knows the device a platform push
    is about."""
    water_system: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    """Water-system gauges: the system the gauge measures (``sprinkler-1``, ``tank-B1``); a premises' gauges
    on one water system measuring one metric are judged against each other (:mod:`scoring.peers`)."""

    @field_validator("gb26875_address")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.lower() if value is not None else None

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in DEVICE_TYPE_NAMES:
            raise ValueError(f"unknown device type {value!r}; valid types are {', '.join(DEVICE_TYPE_NAMES)}")
        return value


class Department(_Record):
    """A supervising department of a sector (行业主管部门: education, civil affairs, health...) or a street
    office; warning notices of its premises reach it through its channels."""

    id: Id
    name: Text
    email: OptionalText = None
    webhook_url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2000)] | None = None
    phone: OptionalText = None


class Inspector(_Record):
    id: Id
    name: Text
    jurisdiction: Id
    phone: OptionalText = None
    email: OptionalText = None
    webhook_url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2000)] | None = None


class PanelPoint(_Record):
    """One point of the fire alarm panel behind a UITD (the panel's point list, 点位表): where it is.

    ``loop`` is 0 for panels whose addresses are one number (``address_order: number``)."""

    device: Id
    loop: Annotated[int, Field(ge=0, le=65_535)] = 0
    address: Annotated[int, Field(ge=0, le=2**31 - 1)]
    zone: ZoneName | None = None
    floor: OptionalText = None
    component_type: ComponentType | None = None
    description: OptionalText = None
    maps_to: Id | None = None
    """A registry device (of the same premises) that stands for this point: its analog values are that
    device's readings."""


ZoneName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]
"""A zone as the panel or the building names it (the ``zone`` of devices, panel points and events)."""


class Zone(_Record):
    """What a zone of a premises is used for: alarm verification reads a temperature rise by it."""

    premises: Id
    zone: ZoneName
    use: ZoneUse
    description: OptionalText = None


class Shift(_Record):
    """One duty-roster entry: ``inspector`` answers for ``jurisdiction`` from ``starts_at`` to ``ends_at``."""

    inspector: Id
    jurisdiction: Id
    starts_at: Annotated[AwareDatetime, Field(strict=False)]
    ends_at: Annotated[AwareDatetime, Field(strict=False)]


class RegistryFile(_Record):
    """A whole registry file. Every section is optional: a file may carry only devices, say."""

    format: Literal["firewarden-registry/1"] = FORMAT
    jurisdictions: list[Jurisdiction] = Field(default_factory=list)
    departments: list[Department] = Field(default_factory=list)
    inspectors: list[Inspector] = Field(default_factory=list)
    duty_roster: list[Shift] = Field(default_factory=list)
    premises: list[Premises] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)
    panel_points: list[PanelPoint] = Field(default_factory=list)
    zones: list[Zone] = Field(default_factory=list)
