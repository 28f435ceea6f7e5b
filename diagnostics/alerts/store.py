"""The alert-group table: one row per group, so a restart neither resends nor forgets."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

import orjson

from diagnostics.alerts.alert import Alert, AlertStatus
from diagnostics.alerts.codec import diagnosis_from_json
from diagnostics.alerts.keys import GroupKey
from diagnostics.model import JSONObject, Owed

SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_groups (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    created REAL NOT NULL,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    count INTEGER NOT NULL,
    notified_at REAL,
    notified_count INTEGER NOT NULL DEFAULT 0,
    seq INTEGER NOT NULL DEFAULT 0,
    status TEXT,
    dirty INTEGER NOT NULL DEFAULT 0,
    due REAL,
    retry_at REAL,
    sources TEXT NOT NULL,
    sources_total INTEGER NOT NULL DEFAULT 0,
    samples TEXT NOT NULL,
    variants TEXT NOT NULL,
    diagnoses TEXT NOT NULL,
    distinct_total INTEGER NOT NULL DEFAULT 1,
    prev_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS alert_groups_due ON alert_groups(due);
CREATE INDEX IF NOT EXISTS alert_groups_retry ON alert_groups(retry_at);
CREATE INDEX IF NOT EXISTS alert_groups_last_seen ON alert_groups(last_seen);
CREATE TABLE IF NOT EXISTS alert_stats (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS alert_folded (
    group_id TEXT PRIMARY KEY,
    storm_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_deliveries (
    group_id TEXT NOT NULL,
    sink TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (group_id, sink)
);
"""

_COLUMNS = (
    "id", "key", "created", "first_seen", "last_seen", "count", "notified_at",
    "notified_count", "seq", "status", "dirty", "due", "retry_at", "sources",
    "sources_total", "samples", "variants", "diagnoses", "distinct_total", "prev_count",
)  # fmt: skip
_JSON_COLUMNS = ("key", "sources", "samples", "variants", "diagnoses")

#: How many variant ids a group remembers to tell a repeat from a new failure.
MAX_VARIANT_IDS = 200


@dataclass(slots=True)
class Group:
    """A group row, mutable while one transaction works on it."""

    id: str
    key: JSONObject
    created: float
    first_seen: float
    last_seen: float
    count: int
    notified_at: float | None = None
    notified_count: int = 0
    seq: int = 0
    status: str | None = None
    dirty: int = 0
    due: float | None = None
    retry_at: float | None = None
    sources: list[str] = field(default_factory=list)
    sources_total: int = 0
    samples: list[str] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)
    diagnoses: list[JSONObject] = field(default_factory=list)
    distinct_total: int = 1
    #: ``notified_count`` of the notification before the latest one.
    prev_count: int = 0

    def alert(self) -> Alert:
        diagnoses = tuple(diagnosis_from_json(d) for d in self.diagnoses)
        status: AlertStatus = (
            self.status if self.status in ("new", "updated", "repeat") else "new"  # type: ignore[assignment]
        )
        return Alert(
            key=GroupKey.from_json(self.key),
            status=status,
            count=self.count,
            first_seen=self.first_seen,
            last_seen=self.last_seen,
            sources=tuple(self.sources),
            samples=tuple(self.samples),
            diagnosis=diagnoses[0],
            diagnoses=diagnoses,
            distinct_total=self.distinct_total,
            sources_total=self.sources_total,
            new_count=self.notified_count - self.prev_count,
            notification_id=self.notification_id(),
        )

    def notification_id(self) -> str:
        """``<group id>.<created, ms>.<seq>``: stable across restarts, unique per group row.

        ``created`` tells a group recreated after it went quiet (its row was
        deleted, ``seq`` starts again at 1) from the earlier one.
        """
        return f"{self.id}.{int(self.created * 1000)}.{self.seq}"


def _row_to_group(row: tuple[Any, ...]) -> Group:
    values = dict(zip(_COLUMNS, row, strict=True))
    for name in _JSON_COLUMNS:
        values[name] = orjson.loads(values[name])
    return Group(**values)


def load(conn: sqlite3.Connection, group_id: str) -> Group | None:
    row = conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM alert_groups WHERE id = ?",  # noqa: S608 - fixed column list
        (group_id,),
    ).fetchone()
    return _row_to_group(row) if row else None


def load_where(conn: sqlite3.Connection, where: str, params: tuple[object, ...]) -> list[Group]:
    rows = conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM alert_groups WHERE {where} ORDER BY created, id",  # noqa: S608 - callers pass fixed SQL
        params,
    ).fetchall()
    return [_row_to_group(r) for r in rows]


def save(conn: sqlite3.Connection, group: Group) -> None:
    values = [getattr(group, name) for name in _COLUMNS]
    for i, name in enumerate(_COLUMNS):
        if name in _JSON_COLUMNS:
            values[i] = orjson.dumps(values[i]).decode()
    marks = ", ".join("?" for _ in _COLUMNS)
    conn.execute(
        f"INSERT OR REPLACE INTO alert_groups ({', '.join(_COLUMNS)}) VALUES ({marks})",  # noqa: S608 - fixed column list
        values,
    )


def delivered_seq(conn: sqlite3.Connection, group_id: str, sink: str) -> int:
    row = conn.execute(
        "SELECT seq FROM alert_deliveries WHERE group_id = ? AND sink = ?", (group_id, sink)
    ).fetchone()
    return int(row[0]) if row else 0


def mark_delivered(conn: sqlite3.Connection, group_id: str, sink: str, seq: int) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO alert_deliveries (group_id, sink, seq) VALUES (?, ?, ?)",
        (group_id, sink, seq),
    )


def fold(conn: sqlite3.Connection, group_id: str, storm_id: str) -> None:
    """Record that ``group_id`` now lives in storm ``storm_id`` (see ``resolve``)."""
    conn.execute(
        "INSERT OR REPLACE INTO alert_folded (group_id, storm_id) VALUES (?, ?)",
        (group_id, storm_id),
    )


def resolve(conn: sqlite3.Connection, owed: Owed) -> Owed | None:
    """The notification that now carries ``owed``, or None when its group is gone.

    A group folded into a storm before it was notified is carried by the
    storm's first notification.
    """
    if conn.execute("SELECT 1 FROM alert_groups WHERE id = ?", (owed.group_id,)).fetchone():
        return owed
    row = conn.execute(
        "SELECT storm_id FROM alert_folded WHERE group_id = ?", (owed.group_id,)
    ).fetchone()
    if row is None:
        return None
    storm = Owed(str(row[0]), 1)
    return resolve(conn, storm) if storm.group_id != owed.group_id else None


def forget_quiet(conn: sqlite3.Connection, repeat_interval: float, now: float) -> None:
    """Drop groups quiet for ``repeat_interval`` since their last notification.

    Their delivery records go with them: a recurrence starts a new group with
    ``seq`` 1, which a stale record (``seq`` >= 1) would mark as already sent.
    """
    quiet = (
        "SELECT id FROM alert_groups WHERE due IS NULL AND retry_at IS NULL "
        "AND notified_at IS NOT NULL AND notified_at + ? < ?"
    )
    params = (repeat_interval, now)
    conn.execute(f"DELETE FROM alert_deliveries WHERE group_id IN ({quiet})", params)  # noqa: S608
    conn.execute(f"DELETE FROM alert_storms WHERE group_id IN ({quiet})", params)  # noqa: S608
    conn.execute(f"DELETE FROM alert_folded WHERE storm_id IN ({quiet})", params)  # noqa: S608
    conn.execute(f"DELETE FROM alert_groups WHERE id IN ({quiet})", params)  # noqa: S608


def delete(conn: sqlite3.Connection, group_id: str) -> None:
    conn.execute("DELETE FROM alert_groups WHERE id = ?", (group_id,))
    conn.execute("DELETE FROM alert_deliveries WHERE group_id = ?", (group_id,))
    conn.execute("DELETE FROM alert_storms WHERE group_id = ?", (group_id,))
    conn.execute("DELETE FROM alert_folded WHERE storm_id = ?", (group_id,))


def count(conn: sqlite3.Connection) -> int:
    (n,) = conn.execute("SELECT COUNT(*) FROM alert_groups").fetchone()
    return int(n)


#: Which groups go first when the table is full: those owing nothing (sent and
#: delivered, no repeat due), then those already notified once, then any.
_EVICTION_TIERS = (
    "due IS NULL AND retry_at IS NULL AND seq > 0",
    "seq > 0 AND retry_at IS NULL",
    "1 = 1",
)


def evict(conn: sqlite3.Connection, n: int) -> tuple[int, int]:
    """Delete ``n`` groups, least recently seen first by tier; (owing nothing, unsent)."""
    removed: list[int] = []
    for where in _EVICTION_TIERS:
        left = n - sum(removed)
        if left <= 0:
            removed.append(0)
            continue
        ids = [
            str(r[0])
            for r in conn.execute(
                f"SELECT id FROM alert_groups WHERE {where} ORDER BY last_seen LIMIT ?",  # noqa: S608 - fixed tiers
                (left,),
            )
        ]
        for gid in ids:
            delete(conn, gid)
        removed.append(len(ids))
    return removed[0] + removed[1], removed[2]


def bump(conn: sqlite3.Connection, name: str, n: int = 1) -> None:
    conn.execute(
        "INSERT INTO alert_stats (name, value) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
        (name, n),
    )


def stats(conn: sqlite3.Connection) -> dict[str, int]:
    """Counters kept across restarts: evicted groups, suppressed failures."""
    return {str(k): int(v) for k, v in conn.execute("SELECT name, value FROM alert_stats")}
