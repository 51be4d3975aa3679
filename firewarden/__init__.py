"""Firewarden: fire-safety monitoring for high-rise and multi-use buildings.

This package is the shared core every stage builds on: domain vocabulary, settings, the database
(pool, migrations), the registry of premises and devices, embedded services and the CLI. It imports
no stage (`ingest`, `scoring`, `alerts`, `simulators`, `console`) at module level.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("firewarden")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
