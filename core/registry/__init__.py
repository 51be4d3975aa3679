"""The registry of premises, devices, jurisdictions, inspectors and the duty roster.

File format: docs/registry.md. Public surface: :func:`load`, :func:`dump`, :func:`import_registry`,
:func:`export_registry` and the record models.
"""

from core.registry import checks
from core.registry.fileformat import FileFormat, dump, format_of, load
from core.registry.model import (
    FORMAT,
    Boundary,
    Department,
    Device,
    Inspector,
    Jurisdiction,
    PanelPoint,
    Premises,
    RegistryFile,
    Shift,
    Unit,
    Zone,
)
from core.registry.store import Upserted, export_registry, import_registry

__all__ = [
    "FORMAT",
    "Boundary",
    "Department",
    "Device",
    "FileFormat",
    "Inspector",
    "Jurisdiction",
    "PanelPoint",
    "Premises",
    "RegistryFile",
    "Shift",
    "Unit",
    "Upserted",
    "Zone",
    "checks",
    "dump",
    "export_registry",
    "format_of",
    "import_registry",
    "load",
]
