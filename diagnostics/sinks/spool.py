"""A bounded, ordered spool of outgoing messages in the state database.

While a destination is down, messages wait here (in memory without a state
directory) and leave in order when it recovers.  When the spool is full the
lowest-ranked oldest are dropped: repeats and updates before storm summaries,
and those before the first alert of a group, so a flood of repeats never
pushes out a new problem.  The caller logs the drops; they are also counted
until a delivered message reports them (``unreported``/``reported``).
"""

from __future__ import annotations

import sqlite3

from diagnostics.alerts.memdb import Database

#: Ranks: what a full spool drops last.
FIRST = 2
STORM = 1
REPEAT = 0

SCHEMA = """
CREATE TABLE IF NOT EXISTS sink_spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sink TEXT NOT NULL,
    created REAL NOT NULL,
    payload BLOB NOT NULL,
    rank INTEGER NOT NULL DEFAULT 2
);
CREATE INDEX IF NOT EXISTS sink_spool_sink ON sink_spool(sink, id);
CREATE TABLE IF NOT EXISTS sink_spool_stats (
    sink TEXT PRIMARY KEY,
    dropped INTEGER NOT NULL DEFAULT 0,
    unreported INTEGER NOT NULL DEFAULT 0
);
"""


def _add_column(conn: sqlite3.Connection, table: str, column: str, ddl: str) -> None:
    """Upgrade a spool written by an older version (CREATE IF NOT EXISTS adds no columns)."""
    names = {str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")}
    if column not in names:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}")


class Spool:
    """FIFO of payloads for one sink, at most ``limit`` long."""

    def __init__(self, db: Database, sink: str, limit: int) -> None:
        self._db = db
        self.sink = sink
        self.limit = limit
        db.ensure_schema("sink_spool", SCHEMA)
        with db.transaction() as conn:
            _add_column(conn, "sink_spool", "rank", "INTEGER NOT NULL DEFAULT 2")
            _add_column(conn, "sink_spool_stats", "unreported", "INTEGER NOT NULL DEFAULT 0")

    def push(self, payloads: list[bytes], now: float, ranks: list[int] | None = None) -> int:
        """Append ``payloads``; return how many were dropped to fit (lowest rank, oldest)."""
        ranks = ranks or [FIRST] * len(payloads)
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT INTO sink_spool (sink, created, payload, rank) VALUES (?, ?, ?, ?)",
                [(self.sink, now, p, r) for p, r in zip(payloads, ranks, strict=True)],
            )
            (size,) = conn.execute(
                "SELECT COUNT(*) FROM sink_spool WHERE sink = ?", (self.sink,)
            ).fetchone()
            excess = max(0, int(size) - self.limit)
            if excess:
                conn.execute(
                    "DELETE FROM sink_spool WHERE id IN (SELECT id FROM sink_spool "
                    "WHERE sink = ? ORDER BY rank, id LIMIT ?)",
                    (self.sink, excess),
                )
                conn.execute(
                    "INSERT INTO sink_spool_stats (sink, dropped, unreported) VALUES (?, ?, ?) "
                    "ON CONFLICT(sink) DO UPDATE SET dropped = dropped + excluded.dropped, "
                    "unreported = unreported + excluded.unreported",
                    (self.sink, excess, excess),
                )
            return excess

    def peek(self) -> tuple[int, bytes] | None:
        """The oldest payload and its id, or None when empty."""
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT id, payload FROM sink_spool WHERE sink = ? ORDER BY id LIMIT 1",
                (self.sink,),
            ).fetchone()
        return (int(row[0]), bytes(row[1])) if row else None

    def remove(self, item_id: int) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM sink_spool WHERE id = ?", (item_id,))

    def __len__(self) -> int:
        with self._db.transaction() as conn:
            (size,) = conn.execute(
                "SELECT COUNT(*) FROM sink_spool WHERE sink = ?", (self.sink,)
            ).fetchone()
        return int(size)

    def dropped(self) -> int:
        """Messages dropped because the spool was full, over the state's lifetime."""
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT dropped FROM sink_spool_stats WHERE sink = ?", (self.sink,)
            ).fetchone()
        return int(row[0]) if row else 0

    def unreported(self) -> int:
        """Drops no delivered message has reported yet."""
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT unreported FROM sink_spool_stats WHERE sink = ?", (self.sink,)
            ).fetchone()
        return int(row[0]) if row else 0

    def reported(self, n: int) -> None:
        """A delivered message told the reader about ``n`` drops."""
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE sink_spool_stats SET unreported = MAX(0, unreported - ?) WHERE sink = ?",
                (n, self.sink),
            )
