"""Connections and the pool, with connection failures translated to :class:`DatabaseError`."""

from __future__ import annotations

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from core.addresses import mask_database_url
from core.errors import DatabaseError

CONNECT_TIMEOUT_S = 10


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[tuple[object, ...]]:
    """One connection, for short command-line work. Raises DatabaseError (password masked) on failure."""
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.OperationalError as exc:
        raise DatabaseError(f"cannot connect to {mask_database_url(url)}: {first_line(exc)}") from None


def open_pool(url: str, *, min_size: int = 1, max_size: int = 10, name: str = "firewarden") -> ConnectionPool:
    """An open pool whose connections are checked before use; waits until ``min_size`` are ready.

    The caller closes it (it is a context manager). Raises DatabaseError when no connection can be made.
    """
    pool = ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        name=name,
        open=False,
        check=ConnectionPool.check_connection,
        kwargs={"connect_timeout": CONNECT_TIMEOUT_S},
    )
    try:
        pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
    except PoolTimeout:
        pool.close()
        # The pool swallows the cause; one direct attempt says why (wrong password, no server, ...).
        connect(url).close()
        raise DatabaseError(f"cannot open a pool to {mask_database_url(url)}") from None
    return pool


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (psycopg's carry context lines), for one-line reports."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
