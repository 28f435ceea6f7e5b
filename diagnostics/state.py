"""The one SQLite database in the state directory.

Each stage owns its tables: it declares them with ``ensure_schema`` and keeps
its queries in its own module (decode cache, checkpoints, alert groups, spool).
This module only opens the file safely and hands out transactions.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from diagnostics.errors import StateError

DB_NAME = "state.sqlite3"


def default_state_dir() -> Path:
    """``$STATE_DIRECTORY`` (systemd's StateDirectory=), else ``./.authz-diagnostics``."""
    env = os.environ.get("STATE_DIRECTORY")
    if env:
        # systemd may pass several colon-separated directories; the first is ours.
        return Path(env.split(":")[0])
    return Path(".authz-diagnostics")


class StateDB:
    """A thread-safe handle on ``state.sqlite3`` (WAL, file mode 0600)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._schemas: set[str] = set()
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Create the file with 0600 before sqlite does, so no window exists
            # where another local user could read checkpoints or cached messages.
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
            os.close(fd)
            path.chmod(0o600)
            self._conn = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=30
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        except (OSError, sqlite3.Error) as exc:
            raise StateError(
                f"cannot open the state database {path}: {exc}; "
                "check that the state directory exists and is writable by this user"
            ) from exc

    @classmethod
    def in_dir(cls, state_dir: Path) -> StateDB:
        return cls(state_dir / DB_NAME)

    def ensure_schema(self, name: str, ddl: str) -> None:
        """Run ``ddl`` (idempotent CREATE ... IF NOT EXISTS statements) once per handle."""
        with self._lock:
            if name in self._schemas:
                return
            self._conn.executescript(ddl)
            self._schemas.add(name)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction; nested calls join the outer one."""
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

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            return list(self._conn.execute(sql, params))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
