"""Scenario files (YAML): what happens during a run, and when. Format in docs/simulators.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from simulators.errors import ScenarioError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: object) -> float:
    """Seconds from ``90``, ``"90s"``, ``"20m"``, ``"2h"``, ``"1d"`` or ``"1.5h"``."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text such as 90s, 20m, 2h, 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ValueError(f"{value!r} is not a duration such as 90s, 20m, 2h or 1d")
        seconds = float(match[1]) * _UNIT_S[match[2]]
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScenarioEvent(_Strict):
    """One thing that happens: ``kind`` at offset ``at`` from the start, to a target (drawn if not given)."""

    kind: str
    at: Duration
    duration: Duration | None = None
    premises: str | None = None
    device: str | None = None
    params: dict[str, float] = Field(default_factory=dict)


class Scenario(_Strict):
    name: str = "unnamed"
    duration: Duration = 3600.0
    start: AwareDatetime | None = None
    events: list[ScenarioEvent] = Field(default_factory=list)
    random: dict[str, Annotated[int, Field(ge=0, le=100_000)]] = Field(default_factory=dict)


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file. Kinds and targets are checked when it is applied to a fleet."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
    try:
        return Scenario.model_validate(data or {})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "file"
            problems.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
        raise ScenarioError(f"{path}: " + "; ".join(problems)) from None
