"""The discretion table (裁量基准): offence × circumstance → the range of the fine, from a data file.

The shipped table is ``supervision/data/discretion.yaml`` (format ``firewarden-discretion/1``); a
fire authority points the setting ``FIREWARDEN_DISCRETION_FILE`` at its own. :func:`decide` applies
the two no-penalty rules: a hazard the unit reported itself (主动申报免罚) and a first minor offence
(首次免罚, for offences the table marks ``first_offence_exempt``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from core.errors import SettingsError, problems

FORMAT: Final = "firewarden-discretion/1"
Circumstance = Literal["light", "general", "serious"]
CIRCUMSTANCES: Final[tuple[Circumstance, ...]] = ("light", "general", "serious")
Measure = Literal["order", "seal_up", "stop"]

_Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MeasureText(_Strict):
    zh: _Text
    en: _Text
    basis: _Text


class Offence(_Strict):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    zh: _Text
    en: _Text
    basis: _Text
    """The article it breaks, as cited in the documents."""
    first_offence_exempt: bool
    ranges: dict[Circumstance, tuple[Annotated[float, Field(ge=0)], Annotated[float, Field(ge=0)]]]
    """Circumstance → the fine's range in yuan, both ends included."""

    @model_validator(mode="after")
    def _ranges(self) -> Offence:
        missing = [c for c in CIRCUMSTANCES if c not in self.ranges]
        if missing:
            raise ValueError(f"ranges: no range for {', '.join(missing)}")
        for name, (low, high) in self.ranges.items():
            if low > high:
                raise ValueError(f"ranges.{name}: {low:g} is above {high:g}")
        return self


class DiscretionTable(_Strict):
    format: Literal["firewarden-discretion/1"]
    measures: dict[Measure, MeasureText]
    offences: Annotated[list[Offence], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique(self) -> DiscretionTable:
        seen: set[str] = set()
        for n, offence in enumerate(self.offences):
            if offence.id in seen:
                raise ValueError(f"offences[{n}]: id {offence.id!r} appears twice")
            seen.add(offence.id)
        return self

    def offence(self, offence_id: str) -> Offence | None:
        return next((o for o in self.offences if o.id == offence_id), None)


def parse(text: str, where: str) -> DiscretionTable:
    """A validated table from YAML; raises SettingsError naming every problem and where it is."""
    try:
        return DiscretionTable.model_validate(yaml.safe_load(text))
    except yaml.YAMLError as error:
        raise SettingsError(f"{where}: not YAML: {error}") from None
    except ValidationError as error:
        raise SettingsError(f"{where}: {'; '.join(problems(error))}") from None


@cache
def shipped() -> DiscretionTable:
    text = resources.files("supervision").joinpath("data/discretion.yaml").read_text(encoding="utf-8")
    return parse(text, "supervision/data/discretion.yaml")


def load(path: Path | None) -> DiscretionTable:
    """The table at ``path``, or the shipped one."""
    if path is None:
        return shipped()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SettingsError(f"the discretion table {path} cannot be read: {error.strerror}") from None
    return parse(text, str(path))


@dataclass(frozen=True, slots=True)
class Decision:
    """What the table says for a penalty: a fine within ``low``..``high``, or none (``exemption``)."""

    low: float
    high: float
    exemption: Literal["self_reported", "first_offence"] | None = None


def decide(offence: Offence, circumstance: Circumstance, self_reported: bool, penalised_before: bool) -> Decision:
    """The penalty's range for ``offence`` in ``circumstance``. No penalty when the hazard was reported by
    the unit itself, or for a first (``penalised_before`` false) minor offence the table exempts."""
    low, high = offence.ranges[circumstance]
    if self_reported:
        return Decision(low, high, "self_reported")
    if circumstance == "light" and offence.first_offence_exempt and not penalised_before:
        return Decision(low, high, "first_offence")
    return Decision(low, high)
