"""A bounded, ordered spool of outgoing messages in the state database.

While a destination is down, messages wait here (in memory without a state
directory) and leave in order when it recovers.  When the spool is full it
drops, in this order: repeats and updates (oldest first), storm summaries
(oldest first), and only then first alerts.  First alerts are levelled by
scope (the alert's account, or its principal when it names no account): the
newest alert of the scope with the most waiting goes first, so every scope
keeps its oldest alert as long as there is room for one per scope.  A flood
of forged denials in one account therefore cannot push out another
account's alert, and with one alert per account (a flood that names a new
account each time) the newest go: the real denial that came before the
flood stays, and the storm alert (or its next update, if its first summary
went too) speaks for the rest.  Drops are counted by kind until a delivered
message reports them (``unreported``/``reported``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

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
    rank INTEGER NOT NULL DEFAULT 2,
    scope TEXT,
    group_id TEXT
);
CREATE INDEX IF NOT EXISTS sink_spool_sink ON sink_spool(sink, id);
CREATE TABLE IF NOT EXISTS sink_spool_stats (
    sink TEXT PRIMARY KEY,
    dropped INTEGER NOT NULL DEFAULT 0,
    unreported INTEGER NOT NULL DEFAULT 0,
    unreported_first INTEGER NOT NULL DEFAULT 0,
    unreported_storm INTEGER NOT NULL DEFAULT 0,
    unreported_repeat INTEGER NOT NULL DEFAULT 0
);
"""

_COUNTERS = ("unreported_first", "unreported_storm", "unreported_repeat")


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


@dataclass(frozen=True, slots=True)
class Dropped:
    """Messages dropped from a full spool, by kind.

    ``unsorted`` are drops an older version counted without their kind.
    """

    first: int = 0
    storm: int = 0
    repeat: int = 0
    unsorted: int = 0

    @property
    def total(self) -> int:
        return self.first + self.storm + self.repeat + self.unsorted

    def __bool__(self) -> bool:
        return self.total > 0

    def __add__(self, other: Dropped) -> Dropped:
        return Dropped(
            self.first + other.first,
            self.storm + other.storm,
            self.repeat + other.repeat,
            self.unsorted + other.unsorted,
        )

    def words(self) -> str:
        """``2 first alerts, 1 storm summary, 40 repeats or updates`` (kinds that occurred)."""
        parts = [
            _plural(self.first, "first alert", "first alerts") if self.first else "",
            _plural(self.storm, "storm summary", "storm summaries") if self.storm else "",
            _plural(self.repeat, "repeat or update", "repeats or updates") if self.repeat else "",
            f"{self.unsorted} of a kind an older version did not record" if self.unsorted else "",
        ]
        return ", ".join(p for p in parts if p) or "none"


def _add_column(conn: sqlite3.Connection, table: str, column: str, ddl: str) -> None:
    """Upgrade a spool written by an older version (CREATE IF NOT EXISTS adds no columns)."""
    names = {str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")}
    if column not in names:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}")


def _ids(conn: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> list[int]:
    return [int(r[0]) for r in conn.execute(sql, params)]


class Spool:
    """FIFO of payloads for one sink, at most ``limit`` long."""

    def __init__(self, db: Database, sink: str, limit: int) -> None:
        self._db = db
        self.sink = sink
        self.limit = limit
        db.ensure_schema("sink_spool", SCHEMA)
        with db.transaction() as conn:
            _add_column(conn, "sink_spool", "rank", "INTEGER NOT NULL DEFAULT 2")
            _add_column(conn, "sink_spool", "scope", "TEXT")
            _add_column(conn, "sink_spool", "group_id", "TEXT")
            conn.execute(
                "CREATE INDEX IF NOT EXISTS sink_spool_group ON sink_spool(sink, group_id)"
            )
            _add_column(conn, "sink_spool_stats", "unreported", "INTEGER NOT NULL DEFAULT 0")
            for column in _COUNTERS:
                _add_column(conn, "sink_spool_stats", column, "INTEGER NOT NULL DEFAULT 0")

    def push(
        self,
        payloads: Sequence[bytes],
        now: float,
        ranks: Sequence[int] | None = None,
        scopes: Sequence[str | None] | None = None,
        groups: Sequence[str | None] | None = None,
    ) -> Dropped:
        """Append ``payloads`` (with their rank, scope and alert group); return what was dropped."""
        ranks = ranks or [FIRST] * len(payloads)
        scopes = scopes or [None] * len(payloads)
        groups = groups or [None] * len(payloads)
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT INTO sink_spool (sink, created, payload, rank, scope, group_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (self.sink, now, p, r, s, g)
                    for p, r, s, g in zip(payloads, ranks, scopes, groups, strict=True)
                ],
            )
            (size,) = conn.execute(
                "SELECT COUNT(*) FROM sink_spool WHERE sink = ?", (self.sink,)
            ).fetchone()
            excess = max(0, int(size) - self.limit)
            if not excess:
                return Dropped()
            dropped = self._drop(conn, excess)
            conn.execute(
                "INSERT INTO sink_spool_stats (sink, dropped, unreported, unreported_first, "
                "unreported_storm, unreported_repeat) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(sink) DO UPDATE SET dropped = dropped + excluded.dropped, "
                "unreported = unreported + excluded.unreported, "
                "unreported_first = unreported_first + excluded.unreported_first, "
                "unreported_storm = unreported_storm + excluded.unreported_storm, "
                "unreported_repeat = unreported_repeat + excluded.unreported_repeat",
                (self.sink, excess, excess, dropped.first, dropped.storm, dropped.repeat),
            )
            return dropped

    def _drop(self, conn: sqlite3.Connection, excess: int) -> Dropped:
        """Delete ``excess`` messages: repeats, then storm summaries, then levelled first alerts."""
        repeats = _ids(
            conn,
            "SELECT id FROM sink_spool WHERE sink = ? AND rank < ? ORDER BY id LIMIT ?",
            (self.sink, STORM, excess),
        )
        storms = _ids(
            conn,
            "SELECT id FROM sink_spool WHERE sink = ? AND rank = ? ORDER BY id LIMIT ?",
            (self.sink, STORM, excess - len(repeats)),
        )
        # n is an alert's place in its scope, oldest first: dropping the highest n
        # first (newest first among equals) always takes the newest alert of the
        # scope with the most waiting, and a scope's oldest alert last of all.
        firsts = _ids(
            conn,
            "SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY scope ORDER BY id) AS n "
            "FROM sink_spool WHERE sink = ? AND rank > ?) ORDER BY n DESC, id DESC LIMIT ?",
            (self.sink, STORM, excess - len(repeats) - len(storms)),
        )
        conn.executemany(
            "DELETE FROM sink_spool WHERE id = ?", [(i,) for i in [*repeats, *storms, *firsts]]
        )
        return Dropped(first=len(firsts), storm=len(storms), repeat=len(repeats))

    def peek(self) -> tuple[int, bytes] | None:
        """The oldest payload and its id, or None when empty."""
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT id, payload FROM sink_spool WHERE sink = ? ORDER BY id LIMIT 1",
                (self.sink,),
            ).fetchone()
        return (int(row[0]), bytes(row[1])) if row else None

    def holds(self, group_id: str) -> bool:
        """Whether a message of alert group ``group_id`` is still waiting here."""
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT 1 FROM sink_spool WHERE sink = ? AND group_id = ? LIMIT 1",
                (self.sink, group_id),
            ).fetchone()
        return row is not None

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

    def unreported(self) -> Dropped:
        """Drops no delivered message has reported yet, by kind."""
        with self._db.transaction() as conn:
            row = conn.execute(
                f"SELECT unreported, {', '.join(_COUNTERS)} FROM sink_spool_stats "  # noqa: S608 - fixed names
                "WHERE sink = ?",
                (self.sink,),
            ).fetchone()
        if row is None:
            return Dropped()
        total, first, storm, repeat = (int(x) for x in row)
        return Dropped(first, storm, repeat, max(0, total - first - storm - repeat))

    def reported(self, dropped: Dropped) -> None:
        """A delivered message told the reader about ``dropped``."""
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE sink_spool_stats SET unreported = MAX(0, unreported - ?), "
                "unreported_first = MAX(0, unreported_first - ?), "
                "unreported_storm = MAX(0, unreported_storm - ?), "
                "unreported_repeat = MAX(0, unreported_repeat - ?) WHERE sink = ?",
                (dropped.total, dropped.first, dropped.storm, dropped.repeat, self.sink),
            )
