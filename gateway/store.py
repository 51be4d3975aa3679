"""What the gateway reads of the registry: the UITDs' GB/T 26875.3 addresses."""

from __future__ import annotations

import psycopg

from core.db import connect
from core.errors import DatabaseError
from gateway.server import Uitd


def load_addresses(database_url: str) -> dict[str, Uitd]:
    """Every UITD with a ``gb26875_address`` in the registry, by that address. Raises DatabaseError."""
    try:
        with connect(database_url) as conn:
            rows = conn.execute(
                "SELECT gb26875_address, premises_id, id FROM devices WHERE gb26875_address IS NOT NULL"
            ).fetchall()
    except psycopg.Error as error:
        raise DatabaseError(f"reading the UITDs' addresses failed: {error}") from None
    return {str(r[0]): Uitd(str(r[1]), str(r[2])) for r in rows}
