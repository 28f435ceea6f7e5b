"""Per-file checkpoints and processed-object records in the state database."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from typing import NamedTuple

from diagnostics.support.state import StateDB

_DDL = """
CREATE TABLE IF NOT EXISTS watch_files (
    source TEXT NOT NULL,
    dev INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    path TEXT NOT NULL,
    fp_len INTEGER NOT NULL,
    fp TEXT NOT NULL,
    offset INTEGER NOT NULL,
    guard TEXT NOT NULL DEFAULT '',
    updated REAL NOT NULL,
    line INTEGER,
    PRIMARY KEY (source, dev, ino)
);
CREATE TABLE IF NOT EXISTS watch_sources (
    source TEXT PRIMARY KEY,
    first_started REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS watch_processed (
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    done REAL NOT NULL,
    PRIMARY KEY (source, key)
);
"""

#: Bytes hashed to tell a reused inode from the file checkpointed before.
FINGERPRINT_BYTES = 256
#: Checkpoints of files no longer matched and not written this long are forgotten.
FORGET_AFTER_SECONDS = 30 * 86400


class SavedFile(NamedTuple):
    """A file's checkpoint: its fingerprint, the committed offset and the line there.

    ``line`` is the 1-based number of the line starting at ``offset``; ``None``
    when it is not known (a row written before line numbers were stored).
    """

    fp_len: int
    fp: str
    offset: int
    guard: frozenset[str]
    line: int | None


def ensure(state: StateDB) -> None:
    state.ensure_schema("watch", _DDL)
    # Rows written before line numbers were kept have no ``line`` column; add
    # it (NULL: line unknown) so those checkpoints stay readable.  Checked in
    # the write transaction, so two sources starting together alter it once.
    with state.transaction() as conn:
        columns = {str(row[1]) for row in conn.execute("PRAGMA table_info(watch_files)")}
        if "line" not in columns:
            conn.execute("ALTER TABLE watch_files ADD COLUMN line INTEGER")


def fingerprint(head: bytes) -> str:
    return hashlib.sha256(head).hexdigest()


def guard_key(offset: int, dedup_key: tuple[object, ...]) -> str:
    """A stable (cross-process) key for one alerted failure at one offset."""
    digest = hashlib.sha256(repr(dedup_key).encode("utf-8", "replace")).hexdigest()[:24]
    return f"{offset}:{digest}"


def first_start(state: StateDB, source: str) -> bool:
    """True, and remembered, the first time ``source`` ever runs with this state."""
    with state.transaction() as conn:
        row = conn.execute("SELECT 1 FROM watch_sources WHERE source = ?", (source,)).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO watch_sources (source, first_started) VALUES (?, ?)",
                (source, time.time()),
            )
            return True
    return False


def load_file(state: StateDB, source: str, dev: int, ino: int) -> SavedFile | None:
    rows = state.query(
        "SELECT fp_len, fp, offset, guard, line FROM watch_files"
        " WHERE source=? AND dev=? AND ino=?",
        (source, dev, ino),
    )
    if not rows:
        return None
    fp_len, fp, offset, guard, line = rows[0]
    assert isinstance(fp_len, int) and isinstance(fp, str) and isinstance(offset, int)
    keys = frozenset(k for k in str(guard).split(",") if k)
    return SavedFile(fp_len, fp, offset, keys, line if isinstance(line, int) else None)


def save_file(
    conn: sqlite3.Connection,
    source: str,
    identity: tuple[int, int, str, int, str],
    offset: int,
    guard: tuple[str, ...],
    *,
    line: int | None = None,
) -> None:
    """Record ``offset`` (and ``line``, the number of the line starting there, if known)."""
    dev, ino, path, fp_len, fp = identity
    conn.execute(
        "INSERT INTO watch_files"
        " (source, dev, ino, path, fp_len, fp, offset, guard, updated, line)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (source, dev, ino) DO UPDATE SET path=excluded.path,"
        " fp_len=excluded.fp_len, fp=excluded.fp, offset=excluded.offset,"
        " guard=excluded.guard, updated=excluded.updated, line=excluded.line",
        (source, dev, ino, path, fp_len, fp, offset, ",".join(guard), time.time(), line),
    )


def forget_unmatched(state: StateDB, source: str, present: set[tuple[int, int]]) -> int:
    """Forget checkpoints of files not in ``present`` and not written for 30 days.

    ``updated`` only moves when data is committed, so a quiet file that still
    matches the globs must be kept by identity, or its next start re-reads it.
    """
    cutoff = time.time() - FORGET_AFTER_SECONDS
    with state.transaction() as conn:
        stale = conn.execute(
            "SELECT dev, ino FROM watch_files WHERE source = ? AND updated < ?",
            (source, cutoff),
        ).fetchall()
        gone = [(source, dev, ino) for dev, ino in stale if (dev, ino) not in present]
        conn.executemany("DELETE FROM watch_files WHERE source=? AND dev=? AND ino=?", gone)
    return len(gone)


def processed_keys(state: StateDB, source: str) -> set[str]:
    rows = state.query("SELECT key FROM watch_processed WHERE source = ?", (source,))
    return {str(r[0]) for r in rows}


def processed_times(state: StateDB, source: str) -> dict[str, float]:
    """Processed keys of ``source`` and when each was processed (epoch seconds)."""
    rows = state.query("SELECT key, done FROM watch_processed WHERE source = ?", (source,))
    out: dict[str, float] = {}
    for key, done in rows:
        assert isinstance(done, int | float)
        out[str(key)] = float(done)
    return out


def forget_processed(state: StateDB, source: str, keys: list[str]) -> None:
    with state.transaction() as conn:
        conn.executemany(
            "DELETE FROM watch_processed WHERE source = ? AND key = ?",
            [(source, k) for k in keys],
        )


def mark_processed(
    conn: sqlite3.Connection, source: str, key: str, done: float | None = None
) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO watch_processed (source, key, done) VALUES (?, ?, ?)",
        (source, key, time.time() if done is None else done),
    )
