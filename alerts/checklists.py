"""Inspection checklists per premises category (场所分类检查指引): versioned sets of items in a data file.

The shipped set is ``alerts/data/checklists.yaml`` (items with their Chinese and English text, legal
basis, source document, the severity of a failure and the categories they apply to). The set in use
is the newest row of the table ``checklists``; the first use installs the shipped one as version 1,
and an admin's replacement (console or ``firewarden checklists import``) becomes the next version.
A visit records each item's result against the version and the texts it was shown
(``task_checks``), so no later change rewrites a past result; a failed item opens a hazard with its
severity's deadline (:func:`alerts.store.inspections.record_result`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Annotated, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from alerts.errors import ChecklistError
from core.domain import Category
from core.errors import problems

FORMAT: Final = "firewarden-checklists/1"
Severity = Literal["major", "general"]
Result = Literal["pass", "fail", "na"]

_Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeverityRule(_Strict):
    deadline_days: Annotated[float, Field(gt=0, le=365)]
    """A failed item of this severity opens a hazard due this many days after the visit."""


class Item(_Strict):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    zh: _Text
    en: _Text
    basis: _Text
    """The legal basis (法律依据), as cited to the unit."""
    source: str
    """A key of the set's ``sources``: the document the item follows."""
    severity: Severity
    categories: Literal["all"] | list[Category]

    def applies_to(self, category: str) -> bool:
        return self.categories == "all" or category in self.categories


class ChecklistSet(_Strict):
    format: Literal["firewarden-checklists/1"]
    severities: dict[Severity, SeverityRule]
    sources: dict[str, _Text]
    items: Annotated[list[Item], Field(min_length=1)]

    @model_validator(mode="after")
    def _references(self) -> ChecklistSet:
        seen: set[str] = set()
        for n, item in enumerate(self.items):
            if item.id in seen:
                raise ValueError(f"items[{n}]: id {item.id!r} appears twice")
            seen.add(item.id)
            if item.source not in self.sources:
                raise ValueError(f"items[{n}] ({item.id}): source {item.source!r} is not one of the sources")
            if item.severity not in self.severities:
                raise ValueError(f"items[{n}] ({item.id}): severity {item.severity!r} has no deadline in severities")
        return self

    def for_category(self, category: str) -> list[Item]:
        return [i for i in self.items if i.applies_to(category)]

    def item(self, item_id: str) -> Item | None:
        return next((i for i in self.items if i.id == item_id), None)


def parse(document: object, where: str = "checklists") -> ChecklistSet:
    """A validated set from a decoded document; raises ChecklistError naming each problem's location."""
    try:
        return ChecklistSet.model_validate(document)
    except ValidationError as error:
        raise ChecklistError(f"{where}: {'; '.join(problems(error))}") from None


def load_text(text: str, where: str) -> ChecklistSet:
    """A set from YAML (or JSON, which YAML reads too)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ChecklistError(f"{where}: not YAML or JSON: {error}") from None
    return parse(document, where)


@cache
def shipped() -> ChecklistSet:
    """The set shipped with Firewarden (``alerts/data/checklists.yaml``)."""
    text = resources.files("alerts").joinpath("data/checklists.yaml").read_text(encoding="utf-8")
    return load_text(text, "alerts/data/checklists.yaml")


@dataclass(frozen=True, slots=True)
class Version:
    number: int
    checklists: ChecklistSet
    created_at: datetime
    created_by: str


def dump(checklists: ChecklistSet, fmt: Literal["yaml", "json"] = "yaml") -> str:
    document = checklists.model_dump(mode="json")
    if fmt == "json":
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    return str(yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=120))


class Check(_Strict):
    """One item's result on a visit."""

    item: str
    result: Result
    note: Annotated[str, StringConstraints(max_length=1000)] = ""
    photo: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None
    """The SHA-256 of a photo stored as evidence (``POST /api/evidence``)."""
