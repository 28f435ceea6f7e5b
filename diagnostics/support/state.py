"""The one SQLite database in the state directory.

Each stage owns its tables: it declares them with ``ensure_schema`` and keeps
its queries in its own module (decode cache, checkpoints, alert groups, spool).
This module only opens the file safely and hands out transactions.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from diagnostics.errors import StateError
from diagnostics.support.file_modes import state_problem
from diagnostics.support.logconfig import get_logger

DB_NAME = "state.sqlite3"

log = get_logger()


def _is_corrupt(exc: sqlite3.Error) -> bool:
    """ "file is not a database", "database disk image is malformed": not a permission problem."""
    # OperationalError (can't open, locked, read-only) subclasses DatabaseError; only
    # DatabaseError itself means the bytes are bad.
    return type(exc) is sqlite3.DatabaseError


def move_aside(path: Path) -> Path:
    """Rename a corrupt database (and its WAL/SHM files) to ``<name>.corrupt-<time>``."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    path.replace(target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.replace(target.with_name(target.name + suffix))
    return target


def refuse_unsafe_state(state_dir: Path, db_name: str = DB_NAME) -> None:
    """Raise ``StateError`` if other users could plant or read the state (``file_modes``)."""
    problem = state_problem(state_dir, db_name)
    if problem is not None:
        raise StateError(problem.message)


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
            self._conn = self._open(path)
        except sqlite3.Error as exc:
            if not _is_corrupt(exc):
                raise self._error(exc) from exc
            # A corrupt file must not crash-loop the service: keep it for
            # inspection and start fresh (checkpoints and groups are lost,
            # so inputs are read again per their start_at).
            try:
                aside = move_aside(path)
                self._conn = self._open(path)
            except (OSError, sqlite3.Error) as again:
                raise self._error(again) from again
            log.error(
                "state.corrupt_moved_aside",
                path=str(path),
                moved_to=str(aside),
                error=str(exc),
                hint="started with an empty state database; inspect or delete the old file",
            )
        except OSError as exc:
            raise self._error(exc) from exc

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        refuse_unsafe_state(path.parent, path.name)
        # Create the file with 0600 before sqlite does, so no window exists
        # where another local user could read checkpoints or cached messages.
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
        path.chmod(0o600)
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            # Reads the schema pages: a damaged header or schema fails here, not later.
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except BaseException:
            conn.close()
            raise
        return conn

    def _error(self, exc: BaseException) -> StateError:
        return StateError(
            f"cannot open the state database {self.path}: {exc}; "
            "check that the state directory exists and is writable by this user"
        )

    @classmethod
    def in_dir(cls, state_dir: Path) -> StateDB:
        return cls(state_dir / DB_NAME)

    @classmethod
    def memory(cls) -> StateDB:
        """A private in-memory database: the same tables and code for one-shot runs."""
        db = cls.__new__(cls)
        db.path = Path(":memory:")
        db._lock = threading.RLock()
        db._schemas = set()
        db._conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        return db

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
