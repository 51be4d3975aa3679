"""What every store module does with the database, written once: a transaction with rows as dicts,
psycopg's errors said as :class:`~core.errors.DatabaseError`, and locking the row an action is about
(or saying why not)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, TypeAlias

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from core.db.pool import first_line
from core.errors import DatabaseError, FirewardenError

Pool: TypeAlias = ConnectionPool
"""A pool of connections (:func:`core.db.open_pool`), as the stages hold it."""
Connection: TypeAlias = psycopg.Connection[Any]
Cursor: TypeAlias = psycopg.Cursor[dict[str, Any]]
"""A cursor whose rows are dicts, column name to value: what every store works with."""
Row: TypeAlias = dict[str, Any]

TRANSIENT: tuple[type[Exception], ...] = (DatabaseError, psycopg.OperationalError)
"""Errors a loop that works on the database logs and tries again after: the database went away."""


@contextmanager
def transaction(pool: Pool, conn: Connection | None = None) -> Iterator[Cursor]:
    """One transaction, rows as dicts: on ``conn`` (a savepoint when it is already in one), else on a
    connection from the pool. Committed when the block ends, rolled back when it raises."""
    with ExitStack() as stack:
        if conn is None:
            conn = stack.enter_context(pool.connection())
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            yield cur


def rows(pool: Pool, query: str, params: dict[str, Any] | tuple[Any, ...] = ()) -> list[Row]:
    """The rows of one read-only query, as dicts, in a short transaction of its own."""
    with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()


@contextmanager
def database_errors(what: str) -> Iterator[None]:
    """psycopg's errors inside the block raised as ``DatabaseError("<what> failed: <first line>")``;
    ``what`` names the work and, where it helps, the database (its URL masked)."""
    try:
        yield
    except psycopg.Error as error:
        raise DatabaseError(f"{what} failed: {first_line(error)}") from None


def locked(
    cur: Cursor,
    table: str,
    key: object,
    *,
    what: str,
    error: type[FirewardenError],
    column: str = "id",
    columns: str = "*",
    states: Collection[str] = (),
    refused: str = "{what} {key} is {state}",
) -> Row:
    """The row of ``table`` whose ``column`` is ``key``, locked until the transaction ends.

    Raises ``error("no <what> <key>")`` when there is none, and ``error(refused)`` when ``states`` is
    given and the row's ``state`` is not among them (``refused`` may name ``what``, ``key``, ``state``).
    ``table``, ``column`` and ``columns`` are the caller's literals, never user input."""
    cur.execute(f"SELECT {columns} FROM {table} WHERE {column} = %s FOR UPDATE", (key,))
    row = cur.fetchone()
    if row is None:
        raise error(f"no {what} {key}")
    if states and row["state"] not in states:
        raise error(refused.format(what=what, key=key, state=row["state"]))
    return row
