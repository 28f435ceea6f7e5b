"""An in-memory stand-in for ``StateDB`` when a run has no state directory.

The alert groups and the Slack spool keep their tables in SQL either way, so
one code path serves the daemon (durable) and one-shot runs (memory).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from diagnostics.state import StateDB


class Database(Protocol):
    """What alerts and sinks use of ``StateDB``."""

    def ensure_schema(self, name: str, ddl: str) -> None: ...

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...


class MemoryDB:
    """``StateDB``'s interface over a private ``:memory:`` database."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._schemas: set[str] = set()
        self._conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)

    def ensure_schema(self, name: str, ddl: str) -> None:
        with self._lock:
            if name not in self._schemas:
                self._conn.executescript(ddl)
                self._schemas.add(name)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn.in_transaction:
                yield self._conn
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")


def database(state: StateDB | None) -> Database:
    return state if state is not None else MemoryDB()
