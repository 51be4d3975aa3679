"""One ingest process per MQTT client id, enforced through the database.

Two processes with one client id would take the broker session from each other in turn (each
connection closes the other's), and Mosquitto 2.0 closes the older connection without telling it why.
So each process holds a PostgreSQL advisory lock named after its client id on a connection of its own,
for as long as it runs: a second process with the same id is refused at start, with the reason. The
lock goes with the connection, so a process that dies (even by SIGKILL) frees it at once; after a
database outage the lease is taken again, and lost for good if another process took it meanwhile.
"""

from __future__ import annotations

import psycopg

from core.addresses import mask_database_url
from core.db import connect, database_errors
from core.errors import DatabaseError, ServiceError

# The first key of the two-key advisory lock: "fwin" (Firewarden ingest); the second is the id's hash.
_NAMESPACE = 0x6677696E


class ClientLease:
    def __init__(self, url: str, client_id: str) -> None:
        self.url = url
        self.client_id = client_id
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def acquire(self) -> None:
        """Take the lease. Raises ServiceError when another process holds it, DatabaseError when the
        database cannot be reached."""
        if not self.try_acquire():
            raise ServiceError(
                f"another ingest process runs as MQTT client {self.client_id}: every ingest process needs its own "
                "FIREWARDEN_INGEST_PARTITION (or FIREWARDEN_INGEST_CLIENT_ID), or FIREWARDEN_INGEST_STANDBY=true "
                "to wait as its standby"
            )

    def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; whether this process holds it now. Raises DatabaseError
        when the database cannot be reached."""
        if self._conn is not None:
            return True
        conn = connect(self.url, autocommit=True)
        try:
            with database_errors(f"taking the ingest lease in {mask_database_url(self.url)}"):
                row = conn.execute(
                    "SELECT pg_try_advisory_lock(%s, hashtext(%s))", (_NAMESPACE, self.client_id)
                ).fetchone()
        except DatabaseError:
            conn.close()
            raise
        if not (row and row[0]):
            conn.close()
            return False
        self._conn = conn
        return True

    def renew(self) -> None:
        """Take the lease again if its connection was lost (a database restart). Raises ServiceError
        when another process took it meanwhile; a database still away is left for the next renewal."""
        if self._conn is not None:
            try:
                self._conn.execute("SELECT 1")
                return
            except psycopg.Error:
                self._conn.close()
                self._conn = None
        try:
            self.acquire()
        except DatabaseError:
            return

    def release(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
