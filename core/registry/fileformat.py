"""Reading and writing registry files (YAML or JSON, by extension), with errors that name record and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import msgspec
import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from core.errors import RegistryError
from core.registry.checks import check, locate
from core.registry.model import RegistryFile

FileFormat = Literal["yaml", "json"]

# libyaml makes large files several times faster; pure Python is the fallback where it is missing.
_YamlLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YamlDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def format_of(path: Path) -> FileFormat:
    """The file format its extension names. Raises RegistryError for any other extension."""
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix == ".json":
        return "json"
    raise RegistryError(str(path), [f"file: extension {suffix or '(none)'!r} is not .yaml, .yml or .json"])


def load(path: Path) -> RegistryFile:
    """Parse and validate a registry file, cross-record rules included.

    Raises RegistryError listing every problem found. References to records the file does not hold
    are left for the importer, which resolves them against the database.
    """
    source = str(path)
    fmt = format_of(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RegistryError(source, [f"file: cannot be read: {exc.strerror or exc}"]) from None
    data = _parse(source, raw, fmt)
    if not isinstance(data, dict):
        raise RegistryError(source, [f"file: the top level must be a mapping of sections, not {_kind(data)}"])
    try:
        registry = RegistryFile.model_validate(data)
    except ValidationError as exc:
        raise RegistryError(source, [_explain(error, data) for error in exc.errors()]) from None
    problems, _ = check(registry)
    if problems:
        raise RegistryError(source, problems)
    return registry


def dump(registry: RegistryFile, fmt: FileFormat) -> str:
    """The registry as file text; :func:`load` of this text gives back an equal registry."""
    data = registry.model_dump(mode="json", exclude_none=True)
    for device in data["devices"]:
        if not device["setpoints"]:
            del device["setpoints"]
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    return yaml.dump(data, Dumper=_YamlDumper, sort_keys=False, allow_unicode=True, width=120)


def _parse(source: str, raw: bytes, fmt: FileFormat) -> Any:
    if fmt == "json":
        try:
            return msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            raise RegistryError(source, [f"file: not valid JSON: {exc}"]) from None
    try:
        return yaml.load(raw, Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc)
        raise RegistryError(source, [f"file: not valid YAML{where}: {problem}"]) from None


def _explain(error: ErrorDetails, data: dict[str, Any]) -> str:
    loc = error["loc"]
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "is not a known field"
    elif error["type"] in ("string_type", "int_type", "float_type", "dict_type", "list_type", "bool_type"):
        message = f"{message}, got {_kind(error['input'])} {_short(error['input'])}"
    if len(loc) == 1:
        if error["type"] == "extra_forbidden":
            return (
                f"section {loc[0]!r}: is not a known section; valid sections are {', '.join(RegistryFile.model_fields)}"
            )
        return f"section {loc[0]!r}: {message}"
    section, index, *field = loc
    record = _record_at(data, str(section), index)
    record_id = record.get("id") if isinstance(record, dict) else None
    where = locate(str(section), int(index), record_id if isinstance(record_id, str) else None)
    if not field:
        return f"{where}: {message}"
    return f"{where}: field {'.'.join(str(part) for part in field)!r}: {message}"


def _record_at(data: dict[str, Any], section: str, index: object) -> object:
    records = data.get(section)
    if isinstance(records, list) and isinstance(index, int) and index < len(records):
        return records[index]
    return None


def _kind(value: object) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "nothing",
    }.get(type(value), type(value).__name__)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
