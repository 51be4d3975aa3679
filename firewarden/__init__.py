"""Firewarden: fire-safety monitoring for high-rise and multi-use buildings.

This package is the top floor, the composition root: the ``firewarden`` command and every process it
runs (``ingest``, ``score``, ``alerts``, ``console``, ``up`` with all of them in one, ``demo``), their
signal handling, health endpoints and the live summary. It is the only package that imports every
stage; the stages import the core (``core``) and what lies upstream of them.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("firewarden")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
