"""``type = "cloudtrail_lookup"``: poll CloudTrail ``LookupEvents`` for authorization failures.

No trail, bucket or queue is needed: LookupEvents reads the account's last 90
days of management events, in one region per call, at 2 calls per second.

The checkpoint is a time cursor per region: the end of the last pass whose
pages were all read.  CloudTrail makes an event visible to LookupEvents
minutes after it happened (typically about 5, sometimes 15), so an event can
appear behind a cursor that has already passed its time.  Each pass therefore
asks from ``cursor - lookback`` (15 minutes by default) and skips the failures
whose ``eventID`` it already alerted; both are written in the alerts'
transaction, so a restart neither loses nor repeats an alert.  An event later
than the look-back is missed: raise ``lookback`` if a region delivers slower.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from diagnostics.errors import ConfigError
from diagnostics.sources import aws_common
from diagnostics.sources import lookup_events as le
from diagnostics.sources.base import Emit, FoundFailures, Mark, SourceContext
from diagnostics.sources.polling import PollingSource
from diagnostics.support.logconfig import get_logger

if TYPE_CHECKING:
    import sqlite3

    from diagnostics.config.table import ConfigTable
    from diagnostics.model import Failure
    from diagnostics.sources.settings import SourceConfig
    from diagnostics.support.ratelimit import TokenBucket

log = get_logger()

_DDL = """
CREATE TABLE IF NOT EXISTS aws_ctl_cursors (
    source TEXT NOT NULL,
    region TEXT NOT NULL,
    cursor REAL NOT NULL,
    floor REAL NOT NULL,
    PRIMARY KEY (source, region)
);
CREATE TABLE IF NOT EXISTS aws_ctl_seen (
    source TEXT NOT NULL,
    region TEXT NOT NULL,
    event_id TEXT NOT NULL,
    ts REAL NOT NULL,
    PRIMARY KEY (source, region, event_id)
);
"""

#: Default look-back: CloudTrail's delivery delay is typically under 15 minutes.
DEFAULT_LOOKBACK = 900.0


class CloudTrailLookupSource(PollingSource):
    ERROR_COUNTER = "ctl_pass_errors"
    WHAT = "cloudtrail lookup pass"
    DENIED_HINT = (
        f'allow "{le.PERMISSION}" (Resource "*") for the daemon\'s identity (docs/aws-setup.md)'
    )

    def __init__(
        self,
        name: str,
        ctx: SourceContext,
        *,
        regions: tuple[str, ...],
        aws: aws_common.AwsOptions = aws_common.DEFAULT_AWS,
        poll_interval: float = 60.0,
        lookback: float = DEFAULT_LOOKBACK,
        start_back: float = 0.0,
        attribute: tuple[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        client_for: Callable[[str], Any] | None = None,
    ) -> None:
        self.name = name
        self._ctx = ctx
        self.regions = regions
        self._aws = aws
        self.poll_interval = poll_interval
        self.lookback = lookback
        self.start_back = start_back
        self.attribute = attribute
        self._clock = clock
        self._client_for = client_for
        self._clients: dict[str, Any] = {}
        self._buckets: dict[str, TokenBucket] = {}
        #: region -> (cursor, floor), epoch seconds.
        self.cursors: dict[str, tuple[float, float]] = {}
        self._seen: dict[str, dict[str, float]] = {}
        self._told_denied: set[str] = set()
        super().__init__()

    def load(self) -> None:
        """Read each region's cursor; a first start begins now, or ``start_at`` ago."""
        state = self._ctx.state
        state.ensure_schema("aws_ctl", _DDL)
        rows = state.query(
            "SELECT region, cursor, floor FROM aws_ctl_cursors WHERE source = ?", (self.name,)
        )
        saved = {str(r): (float(str(c)), float(str(f))) for r, c, f in rows}
        seen = state.query(
            "SELECT region, event_id, ts FROM aws_ctl_seen WHERE source = ?", (self.name,)
        )
        for region, event_id, ts in seen:
            self._seen.setdefault(str(region), {})[str(event_id)] = float(str(ts))
        now = self._clock()
        for region in self.regions:
            if region in saved:
                self.cursors[region] = saved[region]
                continue
            start = now - self.start_back
            self.cursors[region] = (start, start)
            with state.transaction() as conn:
                conn.execute(
                    "INSERT INTO aws_ctl_cursors (source, region, cursor, floor) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (source, region) DO NOTHING",
                    (self.name, region, start, start),
                )

    def _client(self, region: str) -> Any:
        if region not in self._clients:
            if self._client_for is not None:
                self._clients[region] = self._client_for(region)
            else:
                # One bucket per region: the 2/s limit is per account and region.
                bucket = self._buckets.setdefault(region, le.new_bucket())
                self._clients[region] = le.make_client(
                    region, bucket, endpoint_url=self._aws.endpoint_url
                )
        return self._clients[region]

    def poll(self, emit: Emit) -> int:
        """One pass over every region; returns how many failures were new."""
        new = 0
        for region in self.regions:
            if self._stop.is_set():
                break
            try:
                new += self._poll_region(region, emit)
            except le.LookupDenied as exc:
                self._ctx.count(self.ERROR_COUNTER)
                log.warning(f"{self.WHAT} refused", source=self.name, region=region, hint=str(exc))
                self._diagnose_own_denial(region, exc, emit)
            except Exception as exc:
                # One region failing must not starve the others; retried next pass.
                self._ctx.count(self.ERROR_COUNTER)
                log.warning(
                    f"{self.WHAT} failed",
                    source=self.name,
                    region=region,
                    error=str(exc),
                    hint="retrying at the next poll",
                )
        return new

    def _poll_region(self, region: str, emit: Emit) -> int:
        cursor, floor = self.cursors[region]
        end = self._clock()
        start = max(floor, cursor - self.lookback)
        window = le.LookupWindow(
            datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC), self.attribute
        )
        seen = self._seen.setdefault(region, {})
        origin = f"cloudtrail-lookup:{region}"
        new = 0
        for page in le.lookup_pages(self._client(region), region, window, stop=self._stop):
            self._ctx.count("ctl_events_read", page.events)
            if page.unparsable:
                self._ctx.count("ctl_unparsable_events", len(page.unparsable))
                log.warning(
                    "CloudTrailEvent is not a CloudTrail record; event skipped",
                    source=self.name,
                    region=region,
                    events=len(page.unparsable),
                    first_event_id=page.unparsable[0],
                    hint="the other events are read; report the event id if it persists",
                )
            fresh = [(i, f) for i, f in page.failures if i not in seen]
            if not fresh:
                continue
            if not emit(FoundFailures(origin, [f for _, f in fresh], self._mark(region, fresh))):
                return new
            new += len(fresh)
            for event_id, failure in fresh:
                seen[event_id] = _event_time(failure, end)
        if self._stop.is_set():
            return new  # a pass cut short leaves the cursor where it was
        # Queued after the pages' batches: the cursor moves once they are committed.
        if not emit(FoundFailures(origin, [], self._advance(region, end))):
            return new
        self.cursors[region] = (end, floor)
        self._forget_old(region, end - self.lookback)
        return new

    def _mark(self, region: str, fresh: list[tuple[str, Failure]]) -> Mark:
        now = self._clock()
        rows = [(self.name, region, i, _event_time(f, now)) for i, f in fresh]

        def mark(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT OR IGNORE INTO aws_ctl_seen (source, region, event_id, ts) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )

        return mark

    def _advance(self, region: str, end: float) -> Mark:
        name = self.name

        def mark(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE aws_ctl_cursors SET cursor = MAX(cursor, ?) "
                "WHERE source = ? AND region = ?",
                (end, name, region),
            )

        return mark

    def _forget_old(self, region: str, horizon: float) -> None:
        """Event ids older than the next window's start can never be answered again."""
        seen = self._seen.get(region, {})
        old = [k for k, ts in seen.items() if ts < horizon]
        if not old:
            return
        for k in old:
            del seen[k]
        with self._ctx.state.transaction() as conn:
            conn.execute(
                "DELETE FROM aws_ctl_seen WHERE source = ? AND region = ? AND ts < ?",
                (self.name, region, horizon),
            )

    def _diagnose_own_denial(self, region: str, exc: le.LookupDenied, emit: Emit) -> None:
        """The refusal is an authorization failure too: alerted once per region and run."""
        if region in self._told_denied or not exc.aws_message:
            return
        self._told_denied.add(region)
        from diagnostics.extract import extract_text

        own = f"cloudtrail-lookup:{region} (authz-diag's own LookupEvents call)"
        failures = extract_text(exc.aws_message, own)
        if failures:
            emit(FoundFailures(own, failures))


def _event_time(failure: Failure, default: float) -> float:
    """The failure's eventTime in epoch seconds (``default`` when absent or odd)."""
    text = failure.event_time
    if not text:
        return default
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return default


class _CloudTrailLookupType:
    def check(self, table: ConfigTable) -> Mapping[str, Any]:
        aws = aws_common.check_aws_options(table)
        regions = table.str_list("regions")
        if aws.region and regions:
            raise ConfigError(f"{table.where}: give 'region' or 'regions', not both")
        if aws.region:
            regions = [aws.region]
        if not regions:
            raise ConfigError(
                f"{table.where}: key 'regions' is required, e.g. regions = [\"us-east-1\"] "
                "(LookupEvents reads one region per call)"
            )
        poll = table.duration("poll_interval", 60.0)
        if poll <= 0:
            raise ConfigError(f"{table.where}: key 'poll_interval' must be above 0s, e.g. \"60s\"")
        start_at = table.text("start_at", "end") or "end"
        start_back = 0.0
        if start_at != "end":
            from diagnostics.support.durations import parse_duration

            start_back = parse_duration(start_at, where=f"{table.where}: key 'start_at'")
            if start_back > le.RETENTION.total_seconds():
                raise ConfigError(
                    f"{table.where}: key 'start_at' reaches past the 90 days LookupEvents keeps"
                )
        attribute_text = table.text("lookup_attribute")
        attribute = None
        if attribute_text is not None:
            try:
                attribute = le.parse_attribute(attribute_text)
            except Exception as exc:
                raise ConfigError(f"{table.where}: key 'lookup_attribute': {exc}") from None
        return {
            "regions": tuple(dict.fromkeys(regions)),
            "aws": aws,
            "poll_interval": poll,
            "lookback": table.duration("lookback", DEFAULT_LOOKBACK),
            "start_back": start_back,
            "attribute": attribute,
        }

    def create(self, config: SourceConfig, ctx: SourceContext) -> CloudTrailLookupSource:
        return CloudTrailLookupSource(config.name, ctx, **dict(config.options))


CLOUDTRAIL_LOOKUP = _CloudTrailLookupType()
