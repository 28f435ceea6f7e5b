"""Lookup answers keyed by (account, id): an in-memory LRU, optionally backed by SQLite.

The key is the SHA-256 of the account and the blob or ID, so the state file
never holds blobs.  Answers are kept for ``ttl`` seconds; "invalid or
expired" answers (a negative entry) for a shorter ``negative_ttl`` chosen by
the caller.  Errors that depend on the environment (throttling, credentials)
are never cached: they say nothing about the blob.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from diagnostics.errors import StateError
from diagnostics.lookup.key import LookupKey
from diagnostics.model import JSONObject
from diagnostics.support.logconfig import get_logger
from diagnostics.support.state import StateDB

log = get_logger()

_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    lookup_key TEXT PRIMARY KEY, -- SHA-256 of (account, blob or ID)
    value BLOB,             -- orjson answer; NULL for a negative entry
    error TEXT,             -- the error of a negative entry
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS {table}_expiry ON {table} (expires_at);
"""

#: Seconds between sweeps of expired rows while the daemon runs.
PRUNE_EVERY = 3600.0


@dataclass(frozen=True, slots=True)
class CacheEntry:
    decoded: JSONObject | None
    error: str | None
    expires_at: float


class LookupCache:
    """Thread-safe LRU of lookup answers, write-through to ``db`` when given.

    ``clock`` is wall time (``time.time``) because entries outlive the process.
    Each client keeps its answers in its own ``TABLE`` (a subclass constant).
    """

    #: The state DB table (a class constant: never built from input).
    TABLE = "lookup_cache"

    def __init__(
        self,
        db: StateDB | None = None,
        *,
        max_entries: int = 10_000,
        ttl: float = 7 * 24 * 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._max = max_entries
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._mem: OrderedDict[str, CacheEntry] = OrderedDict()
        self._pruned_at = clock()
        if db is not None:
            self._migrate(db)
            db.ensure_schema(self.TABLE, _DDL.format(table=self.TABLE))
            self._prune()

    def __len__(self) -> int:
        with self._lock:
            return len(self._mem)

    def get(self, key: LookupKey) -> CacheEntry | None:
        digest = key.digest()
        now = self._clock()
        with self._lock:
            entry = self._mem.get(digest)
            if entry is not None:
                if entry.expires_at > now:
                    self._mem.move_to_end(digest)
                    return entry
                del self._mem[digest]
        entry = self._load(digest, now)
        if entry is not None:
            self._remember(digest, entry)
        return entry

    def put_decoded(self, key: LookupKey, decoded: JSONObject) -> None:
        self._put(key, CacheEntry(decoded, None, self._clock() + self.ttl))

    def put_negative(self, key: LookupKey, error: str, ttl: float) -> None:
        self._put(key, CacheEntry(None, error, self._clock() + ttl))

    def _put(self, key: LookupKey, entry: CacheEntry) -> None:
        digest = key.digest()
        self._remember(digest, entry)
        if self._db is None:
            return
        if self._clock() - self._pruned_at >= PRUNE_EVERY:
            # A daemon runs for months: answers are privileged, so an expired
            # one must leave the disk, not wait for the next restart.
            self._prune()
        payload = None if entry.decoded is None else orjson.dumps(entry.decoded)
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    f"INSERT OR REPLACE INTO {self.TABLE} VALUES (?, ?, ?, ?)",  # noqa: S608
                    (digest, payload, entry.error, entry.expires_at),
                )
        except (StateError, sqlite3.Error, OSError) as exc:
            # A full or read-only disk must not stop lookups; memory still helps.
            log.warning("lookup_cache_write_failed", table=self.TABLE, error=str(exc))

    def _remember(self, digest: str, entry: CacheEntry) -> None:
        with self._lock:
            self._mem[digest] = entry
            self._mem.move_to_end(digest)
            while len(self._mem) > self._max:
                self._mem.popitem(last=False)

    def _load(self, digest: str, now: float) -> CacheEntry | None:
        if self._db is None:
            return None
        try:
            rows = self._db.query(
                f"SELECT value, error, expires_at FROM {self.TABLE} "  # noqa: S608
                "WHERE lookup_key = ? AND expires_at > ?",
                (digest, now),
            )
        except (StateError, sqlite3.Error) as exc:
            log.warning("lookup_cache_read_failed", table=self.TABLE, error=str(exc))
            return None
        if not rows:
            return None
        value, error, expires_at = rows[0]
        try:
            obj = orjson.loads(value) if isinstance(value, bytes) else None
        except orjson.JSONDecodeError:
            return None  # a damaged row is a miss; the next lookup rewrites it
        return CacheEntry(
            obj if isinstance(obj, dict) else None,
            error if isinstance(error, str) else None,
            float(expires_at) if isinstance(expires_at, (int, float)) else 0.0,
        )

    def _migrate(self, db: StateDB) -> None:
        """Drop a table of the first version, keyed by the blob or ID alone.

        Its rows cannot say which account they were fetched for, so one of
        them could answer a line naming another account; they are a cache,
        so dropping them costs one lookup each.
        """
        try:
            columns = {row[1] for row in db.query(f"PRAGMA table_info({self.TABLE})")}
            if columns and "lookup_key" not in columns:
                with db.transaction() as conn:
                    conn.execute(f"DROP TABLE {self.TABLE}")
                log.info("lookup_cache_dropped_unversioned_rows", table=self.TABLE)
        except (StateError, sqlite3.Error) as exc:
            log.warning("lookup_cache_migrate_failed", table=self.TABLE, error=str(exc))

    def _prune(self) -> None:
        assert self._db is not None
        self._pruned_at = self._clock()
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    f"DELETE FROM {self.TABLE} WHERE expires_at <= ?",  # noqa: S608
                    (self._clock(),),
                )
        except (StateError, sqlite3.Error) as exc:
            log.warning("lookup_cache_prune_failed", table=self.TABLE, error=str(exc))
