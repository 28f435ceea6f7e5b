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
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from diagnostics.errors import ConfigError, InputError
from diagnostics.model import Failure
from diagnostics.sources import aws_common
from diagnostics.sources.base import Emit, FoundFailures, Mark, SourceContext
from diagnostics.sources.polling import PollingSource

if TYPE_CHECKING:
    import sqlite3

    from diagnostics.service.config import ConfigTable, SourceConfig
    from diagnostics.state import StateDB

log = structlog.get_logger()

_DDL = """
CREATE TABLE IF NOT EXISTS aws_s3_objects (
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    done REAL NOT NULL,
    PRIMARY KEY (source, key)
);
"""
#: Processed keys older than this are forgotten; the look-back never reaches them.
FORGET_AFTER_SECONDS = 14 * 86400

# Linear: fixed tokens and bounded classes, anchored at the end.
_DELIVERY = re.compile(
    r"^(?P<folder>.*/CloudTrail/[a-z0-9-]{1,32}/)(?P<day>\d{4}/\d{2}/\d{2})/[^/]+\.json(?:\.gz)?$"
)
# Linear: anchored, fixed width.
_ACCOUNT = re.compile(r"^\d{12}$")
# Linear: anchored, one bounded class.
_ORG = re.compile(r"^o-[a-z0-9]{10,32}$")
# Linear: anchored; '-' separates disjoint letter and digit runs.
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$")
# Linear: anchored, fixed width.
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def ensure_schema(state: StateDB) -> None:
    state.ensure_schema("aws_s3", _DDL)


def _day_before(day: str) -> str:
    """``2024/05/01`` -> ``2024/04/30``."""
    y, m, d = (int(x) for x in day.split("/"))
    return (date(y, m, d) - timedelta(days=1)).strftime("%Y/%m/%d")


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
        self._done: set[str] = set()
        #: folder (``.../CloudTrail/<region>/``) -> newest day processed there.
        self._newest: dict[str, str] = {}
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
        rows = self._ctx.state.query(
            "SELECT key FROM aws_s3_objects WHERE source = ?", (self.name,)
        )
        for (key,) in rows:
            self._remember(str(key))

    def _s3(self) -> Any:
        if self._client is None:
            self._client = aws_common.make_client("s3", self._aws)
        return self._client

    # -- listing -------------------------------------------------------------------

    def _remember(self, key: str) -> None:
        self._done.add(key)
        m = _DELIVERY.match(key)
        if m is not None:
            folder, day = m.group("folder"), m.group("day")
            if day > self._newest.get(folder, ""):
                self._newest[folder] = day

    def _children(self, prefix: str) -> list[str]:
        """The next path segment of every "folder" directly under ``prefix``."""
        out: list[str] = []
        pages = (
            self._s3()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/")
        )
        for page in pages:
            for cp in page.get("CommonPrefixes", []):
                out.append(str(cp["Prefix"])[len(prefix) :].rstrip("/"))
        return out

    def folders(self) -> list[str]:
        """Every ``.../CloudTrail/<region>/`` folder selected by accounts and regions."""
        root = f"{self.prefix}AWSLogs/"
        account_roots: list[str] = []
        for child in self._children(root):
            if _ORG.match(child):
                account_roots += [
                    f"{root}{child}/{a}/"
                    for a in self._children(f"{root}{child}/")
                    if _ACCOUNT.match(a)
                ]
            elif _ACCOUNT.match(child):
                account_roots.append(f"{root}{child}/")
        out: list[str] = []
        for acct_root in sorted(account_roots):
            account = acct_root.rstrip("/").rsplit("/", 1)[-1]
            if self.accounts and account not in self.accounts:
                continue
            base = f"{acct_root}CloudTrail/"
            for region in sorted(self._children(base)):
                if self.regions and region not in self.regions:
                    continue
                out.append(f"{base}{region}/")
        return out

    def _start_after(self, folder: str) -> str | None:
        newest = self._newest.get(folder)
        if newest is not None:
            day = _day_before(newest)
            if self.since is not None:
                day = max(day, self.since)
            return f"{folder}{day}/"
        if self.since is not None:
            return f"{folder}{self.since}/"
        return None

    def pending(self) -> Iterator[str]:
        """Delivery keys not processed yet, folder by folder, oldest first."""
        for folder in self.folders():
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": folder}
            start_after = self._start_after(folder)
            if start_after is not None:
                kwargs["StartAfter"] = start_after
            for page in self._s3().get_paginator("list_objects_v2").paginate(**kwargs):
                for obj in page.get("Contents", []):
                    key = str(obj["Key"])
                    if key not in self._done and _DELIVERY.match(key):
                        yield key

    # -- processing ------------------------------------------------------------------

    def poll(self, emit: Emit) -> int:
        """One pass over the bucket; returns how many objects it handed on."""
        handed = 0
        for key in self.pending():
            if self._stop.is_set():
                break
            failures = self._read(key)
            if failures is None:
                continue
            if not emit(FoundFailures(f"s3://{self.bucket}/{key}", failures, self._marker(key))):
                break
            self._remember(key)
            handed += 1
        return handed

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
            self._done.add(key)
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


def check_since(table: ConfigTable) -> str | None:
    since = table.text("since")
    if since is not None:
        if not _DAY.match(since):
            raise ConfigError(f"{table.where}: key 'since' must be a date like \"2024-05-01\"")
        try:
            date.fromisoformat(since)
        except ValueError:
            raise ConfigError(f"{table.where}: key 'since' {since!r} is not a real date") from None
    return since


def _positive(table: ConfigTable, key: str, default: float) -> float:
    value = table.duration(key, default)
    if value <= 0:
        raise ConfigError(f'{table.where}: key {key!r} must be above 0s, e.g. "60s"')
    return value


class _S3Type:
    def check(self, table: ConfigTable) -> Mapping[str, Any]:
        bucket = table.required_str("bucket", 'e.g. bucket = "org-cloudtrail-logs"')
        if "/" in bucket or bucket.startswith("s3:"):
            raise ConfigError(
                f"{table.where}: key 'bucket' {bucket!r} must be a bare bucket name; "
                "put the path in 'prefix'"
            )
        prefix = table.text("prefix", "") or ""
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        accounts = table.str_list("accounts")
        bad = [a for a in accounts if not _ACCOUNT.match(a)]
        if bad:
            raise ConfigError(f"{table.where}: key 'accounts' entry {bad[0]!r} is not 12 digits")
        regions = table.str_list("regions")
        bad = [r for r in regions if not _REGION.match(r)]
        if bad:
            raise ConfigError(
                f"{table.where}: key 'regions' entry {bad[0]!r} is not a region like 'us-east-1'"
            )
        return {
            "bucket": bucket,
            "prefix": prefix,
            "aws": aws_common.check_aws_options(table),
            "accounts": frozenset(accounts),
            "regions": frozenset(regions),
            "since": check_since(table),
            "poll_interval": _positive(table, "poll_interval", 60.0),
            "max_object_bytes": table.integer(
                "max_object_bytes", aws_common.DEFAULT_MAX_OBJECT_BYTES, minimum=1024
            ),
        }

    def create(self, config: SourceConfig, ctx: SourceContext) -> S3Source:
        return S3Source(config.name, ctx, **dict(config.options))


S3 = _S3Type()
