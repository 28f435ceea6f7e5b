"""``type = "s3"``: poll a CloudTrail delivery bucket.

CloudTrail writes ``AWSLogs/[<org-id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/``
``<account>_CloudTrail_<region>_<time>_<unique>.json.gz``.  Each pass finds
the account/region folders (ListObjectsV2 with a delimiter, filtered by the
``accounts`` and ``regions`` options), then lists each folder with
``StartAfter`` at the day before the newest delivery already processed there:
keys sort by date, so a pass reads only recent days, and the one-day
look-back catches a delivery that lands after a later one.  Keys already
processed are recorded in the state database, in the same transaction as the
alerts they produced, so each object is processed once even across restarts.

A folder that cannot be listed is counted and logged, and the pass goes on
with the other folders (it fails only when no folder could be listed).
An object that cannot be read (AccessDenied on an SSE-KMS object, a
persistent 5xx) is counted and logged, and the pass goes on with the next
key; the key is retried on later passes and, after ``MAX_OBJECT_ATTEMPTS``
failed passes, recorded as skipped.  Memory and the state table hold only
the keys a listing can still return: those on or after the look-back day.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from diagnostics.errors import InputError
from diagnostics.model import Failure
from diagnostics.sources import aws_common
from diagnostics.sources.base import Emit, FoundFailures, Mark, SourceContext
from diagnostics.sources.polling import PollingSource
from diagnostics.sources.s3_listing import trail_folders
from diagnostics.support.logconfig import get_logger

if TYPE_CHECKING:
    import sqlite3

    from diagnostics.support.state import StateDB

log = get_logger()

_DDL = """
CREATE TABLE IF NOT EXISTS aws_s3_objects (
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    done REAL NOT NULL,
    PRIMARY KEY (source, key)
);
CREATE TABLE IF NOT EXISTS aws_s3_skipped (
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    skipped REAL NOT NULL,
    error TEXT NOT NULL,
    PRIMARY KEY (source, key)
);
"""
#: Processed keys older than this are forgotten; the look-back never reaches them.
FORGET_AFTER_SECONDS = 14 * 86400
#: Failed reads of one key (each in a pass where another object was read, so
#: an outage or a missing s3:GetObject never counts) before it is skipped.
MAX_OBJECT_ATTEMPTS = 5
OBJECT_DENIED_HINT = "grant s3:GetObject (and kms:Decrypt for SSE-KMS objects) — docs/aws-setup.md"

# Linear: fixed tokens and bounded classes, anchored at the end.
_DELIVERY = re.compile(
    r"^(?P<folder>.*/CloudTrail/[a-z0-9-]{1,32}/)(?P<day>\d{4}/\d{2}/\d{2})/[^/]+\.json(?:\.gz)?$"
)


def ensure_schema(state: StateDB) -> None:
    state.ensure_schema("aws_s3", _DDL)


def _day_before(day: str) -> str:
    """``2024/05/01`` -> ``2024/04/30``."""
    y, m, d = (int(x) for x in day.split("/"))
    return (date(y, m, d) - timedelta(days=1)).strftime("%Y/%m/%d")


_RETRYING = "retrying at the next poll"


def _object_hint(code: str | None) -> str:
    return OBJECT_DENIED_HINT if code in aws_common.DENIED_CODES else _RETRYING


class S3Source(PollingSource):
    ERROR_COUNTER = "s3_pass_errors"
    WHAT = "s3 pass"
    DENIED_HINT = "grant s3:ListBucket and s3:GetObject on the bucket (docs/aws-setup.md)"

    def __init__(
        self,
        name: str,
        ctx: SourceContext,
        *,
        bucket: str,
        prefix: str = "",
        aws: aws_common.AwsOptions = aws_common.DEFAULT_AWS,
        accounts: frozenset[str] = frozenset(),
        regions: frozenset[str] = frozenset(),
        since: str | None = None,
        poll_interval: float = 60.0,
        max_object_bytes: int = aws_common.DEFAULT_MAX_OBJECT_BYTES,
        client: Any = None,
    ) -> None:
        self.name = name
        self._ctx = ctx
        self.bucket = bucket
        self.prefix = prefix
        self._aws = aws
        self.accounts = accounts
        self.regions = regions
        self.since = since.replace("-", "/") if since else None
        self.poll_interval = poll_interval
        self.max_object_bytes = max_object_bytes
        self._client = client
        #: ``<folder><YYYY/MM/DD>/`` -> keys processed that day; days before a
        #: folder's look-back are dropped each pass (no listing returns them).
        self._done: dict[str, set[str]] = {}
        #: folder (``.../CloudTrail/<region>/``) -> newest day processed there.
        self._newest: dict[str, str] = {}
        #: key -> counted failed reads; its day holds the folder's look-back back.
        self._attempts: dict[str, int] = {}
        #: folder -> the StartAfter at which the state table was last pruned.
        self._pruned: dict[str, str] = {}
        super().__init__()

    # -- lifecycle ---------------------------------------------------------------

    def load(self) -> None:
        """Declare the table and read which keys were processed before."""
        ensure_schema(self._ctx.state)
        with self._ctx.state.transaction() as conn:
            conn.execute(
                "DELETE FROM aws_s3_objects WHERE source = ? AND done < ?",
                (self.name, time.time() - FORGET_AFTER_SECONDS),
            )
            conn.execute(
                "DELETE FROM aws_s3_skipped WHERE source = ? AND skipped < ?",
                (self.name, time.time() - FORGET_AFTER_SECONDS),
            )
        rows = self._ctx.state.query(
            "SELECT key FROM aws_s3_objects WHERE source = ? "
            "UNION SELECT key FROM aws_s3_skipped WHERE source = ?",
            (self.name, self.name),
        )
        for (key,) in rows:
            self._remember(str(key))
        self._prune_memory()

    def _s3(self) -> Any:
        if self._client is None:
            self._client = aws_common.make_client("s3", self._aws)
        return self._client

    # -- listing -------------------------------------------------------------------

    def _remember(self, key: str, *, newest: bool = True) -> None:
        m = _DELIVERY.match(key)
        if m is None:
            return
        folder, day = m.group("folder"), m.group("day")
        self._done.setdefault(f"{folder}{day}/", set()).add(key)
        if newest and day > self._newest.get(folder, ""):
            self._newest[folder] = day

    def is_done(self, key: str) -> bool:
        """True when ``key`` was processed (or skipped) and is still remembered."""
        m = _DELIVERY.match(key)
        return m is not None and key in self._done.get(f"{m.group('folder')}{m.group('day')}/", ())

    @property
    def remembered(self) -> int:
        """How many processed keys are held in memory."""
        return sum(len(keys) for keys in self._done.values())

    def folders(self) -> list[str]:
        """Every ``.../CloudTrail/<region>/`` folder selected by accounts and regions."""
        return trail_folders(
            self._s3(), self.bucket, self.prefix, accounts=self.accounts, regions=self.regions
        )

    def _start_after(self, folder: str) -> str | None:
        newest = self._newest.get(folder)
        if newest is not None:
            day = _day_before(newest)
            for key in self._attempts:
                # A key still being retried must stay inside the listing.
                m = _DELIVERY.match(key)
                if m is not None and m.group("folder") == folder:
                    day = min(day, m.group("day"))
            if self.since is not None:
                day = max(day, self.since)
            return f"{folder}{day}/"
        if self.since is not None:
            return f"{folder}{self.since}/"
        return None

    def pending(self) -> Iterator[str]:
        """Delivery keys not processed yet, folder by folder, oldest first.

        A folder whose listing fails (a bucket policy denying one account's
        prefix, throttling past the retries) is counted, logged and left for
        the next pass; the other folders go on.  Only when every folder
        fails does the pass fail (an outage, or no s3:ListBucket at all).
        """
        failed: list[tuple[str, Exception]] = []
        listed = 0
        for folder in self.folders():
            try:
                yield from self._pending_in(folder)
            except Exception as exc:  # any listing error: this folder only
                failed.append((folder, exc))
                continue
            listed += 1
        if failed and not listed:
            raise failed[-1][1]  # the whole pass failed: PollingSource logs and counts it
        for folder, error in failed:
            self._folder_failed(folder, error)

    def _folder_failed(self, folder: str, exc: Exception) -> None:
        event = "s3 folder listing failed; other folders go on"
        self._failed("s3_list_errors", event, exc, self.DENIED_HINT, folder=folder)

    def _failed(self, counter: str, event: str, exc: Exception, denied: str, **at: Any) -> str:
        """Count and log one failed call (``denied``: the hint for AccessDenied); its code."""
        code = aws_common.error_code(exc) or type(exc).__name__
        self._ctx.count(counter)
        hint = denied if code in aws_common.DENIED_CODES else _RETRYING
        log.warning(event, source=self.name, **at, error=str(exc), hint=hint)
        return code

    def _pending_in(self, folder: str) -> Iterator[str]:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": folder}
        start_after = self._start_after(folder)
        if start_after is not None:
            kwargs["StartAfter"] = start_after
        for page in self._s3().get_paginator("list_objects_v2").paginate(**kwargs):
            for obj in page.get("Contents", []):
                key = str(obj["Key"])
                if _DELIVERY.match(key) and not self.is_done(key):
                    yield key

    # -- processing ------------------------------------------------------------------

    def poll(self, emit: Emit) -> int:
        """One pass over the bucket; returns how many objects it handed on."""
        handed = 0
        failed: list[tuple[str, str]] = []
        for key in self.pending():
            if self._stop.is_set():
                break
            try:
                failures = self._read(key)
            except Exception as exc:
                # One unreadable object must not hold back every key after it.
                failed.append((key, self._object_failed(key, exc)))
                continue
            if failures is None:
                continue
            if not emit(FoundFailures(f"s3://{self.bucket}/{key}", failures, self._marker(key))):
                break
            self._remember(key)
            self._attempts.pop(key, None)
            handed += 1
        self._settle(failed, counted=handed > 0)
        self._prune_memory()
        self._prune_state()
        return handed

    def _object_failed(self, key: str, exc: Exception) -> str:
        """Count and log one failed read; returns the error code for the record."""
        attempts = self._attempts.get(key, 0) + 1
        event = "s3 delivery unreadable; other deliveries go on"
        return self._failed(
            "s3_object_errors", event, exc, OBJECT_DENIED_HINT, key=key, attempts=attempts
        )

    def _settle(self, failed: list[tuple[str, str]], *, counted: bool) -> None:
        """Count this pass's failed reads; skip keys that failed too often.

        A failure counts only when another object was read in the same pass:
        an outage or a role without s3:GetObject fails every key, and must
        not turn the whole backlog into skipped keys.
        """
        for key, code in failed:
            n = self._attempts.get(key, 0) + (1 if counted else 0)
            self._attempts[key] = n
            if n >= MAX_OBJECT_ATTEMPTS:
                self._skip(key, code)

    def _skip(self, key: str, code: str) -> None:
        with self._ctx.state.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO aws_s3_skipped (source, key, skipped, error) "
                "VALUES (?, ?, ?, ?)",
                (self.name, key, time.time(), code),
            )
        self._attempts.pop(key, None)
        self._remember(key)
        self._ctx.count("s3_objects_skipped")
        log.warning(
            "s3 delivery skipped after repeated failed reads",
            source=self.name,
            key=key,
            error=code,
            attempts=MAX_OBJECT_ATTEMPTS,
            hint=_object_hint(code),
        )

    def _prune_memory(self) -> None:
        """Forget days before each folder's look-back: no listing returns them."""
        for day_prefix in list(self._done):
            start_after = self._start_after(day_prefix[: -len("YYYY/MM/DD/")])
            if start_after is not None and day_prefix < start_after:
                del self._done[day_prefix]

    def _prune_state(self) -> None:
        """Delete rows before the look-back a restart would compute, once per new day."""
        for folder in list(self._newest):
            start_after = self._start_after(folder)
            if start_after is None or self._pruned.get(folder) == start_after:
                continue
            self._pruned[folder] = start_after
            with self._ctx.state.transaction() as conn:
                # After a restart the look-back starts from the newest
                # *committed* key, which may lag the newest one in memory.
                row = conn.execute(
                    "SELECT MAX(key) FROM aws_s3_objects WHERE source = ? AND key >= ? AND key < ?",
                    (self.name, folder, f"{folder}~"),
                ).fetchone()
                m = _DELIVERY.match(str(row[0])) if row and row[0] else None
                if m is None:
                    continue
                floor = min(start_after, f"{folder}{_day_before(m.group('day'))}/")
                for table in ("aws_s3_objects", "aws_s3_skipped"):
                    conn.execute(
                        f"DELETE FROM {table} WHERE source = ? AND key >= ? AND key < ?",  # noqa: S608 - fixed table names
                        (self.name, folder, floor),
                    )

    def _read(self, key: str) -> list[Failure] | None:
        """The failures in ``key``; None when the object is to be skipped this pass."""
        try:
            failures = aws_common.object_failures(
                self._s3(), self.bucket, key, cap=self.max_object_bytes
            )
        except InputError as exc:
            # A corrupt or oversized delivery is recorded as done: retrying
            # it every poll would help nobody.
            self._ctx.count("s3_objects_rejected")
            log.warning("s3 delivery rejected", source=self.name, key=key, error=str(exc))
            return []
        if failures is None:
            # Deleted (lifecycle rule, operator) between the list and the get.
            self._ctx.count("s3_objects_vanished")
            log.warning(
                "s3 delivery vanished before it was read; skipped", source=self.name, key=key
            )
            self._remember(key, newest=False)
            self._attempts.pop(key, None)
            return None
        self._ctx.count("s3_objects_read")
        return failures

    def _marker(self, key: str) -> Mark:
        name = self.name

        def mark(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR IGNORE INTO aws_s3_objects (source, key, done) VALUES (?, ?, ?)",
                (name, key, time.time()),
            )

        return mark
