"""A bounded, ordered spool of outgoing messages in the state database.

While a destination is down, messages wait here (in memory without a state
directory) and leave in order when it recovers.  When the spool is full the
oldest are dropped; the caller counts and logs them, never silently.
"""

from __future__ import annotations

from diagnostics.alerts.memdb import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS sink_spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sink TEXT NOT NULL,
    created REAL NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS sink_spool_sink ON sink_spool(sink, id);
CREATE TABLE IF NOT EXISTS sink_spool_stats (
    sink TEXT PRIMARY KEY,
    dropped INTEGER NOT NULL DEFAULT 0
);
"""


class Spool:
    """FIFO of payloads for one sink, at most ``limit`` long."""

    def __init__(self, db: Database, sink: str, limit: int) -> None:
        self._db = db
        self.sink = sink
        self.limit = limit
        db.ensure_schema("sink_spool", SCHEMA)

    def push(self, payloads: list[bytes], now: float) -> int:
        """Append ``payloads``; return how many of the oldest were dropped to fit."""
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT INTO sink_spool (sink, created, payload) VALUES (?, ?, ?)",
                [(self.sink, now, p) for p in payloads],
            )
            (size,) = conn.execute(
                "SELECT COUNT(*) FROM sink_spool WHERE sink = ?", (self.sink,)
            ).fetchone()
            excess = max(0, int(size) - self.limit)
            if excess:
                conn.execute(
                    "DELETE FROM sink_spool WHERE id IN (SELECT id FROM sink_spool "
                    "WHERE sink = ? ORDER BY id LIMIT ?)",
                    (self.sink, excess),
                )
                conn.execute(
                    "INSERT INTO sink_spool_stats (sink, dropped) VALUES (?, ?) "
                    "ON CONFLICT(sink) DO UPDATE SET dropped = dropped + excluded.dropped",
                    (self.sink, excess),
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
