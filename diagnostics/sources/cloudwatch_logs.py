"""``type = "cloudwatch_logs"``: poll a log group with FilterLogEvents.

The filter pattern runs server-side, so only lines carrying a failure marker
cross the network.  The checkpoint is a timestamp plus the ids of the events
seen near it: each pass asks from ``checkpoint - lookback`` (CloudWatch Logs
accepts events up to hours late, and ingestion is not ordered across
streams) and skips the event ids already handled.  Both are written in the
alerts' transaction, so a restart neither loses nor repeats an event.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from diagnostics.errors import ConfigError
from diagnostics.model import Failure, InputStats
from diagnostics.sources import aws_common
from diagnostics.sources.base import Emit, FoundFailures, Mark, SourceContext
from diagnostics.sources.polling import PollingSource
from diagnostics.support.logconfig import get_logger

if TYPE_CHECKING:
    import sqlite3

    from diagnostics.config.table import ConfigTable
    from diagnostics.sources.settings import SourceConfig

log = get_logger()

_DDL = """
CREATE TABLE IF NOT EXISTS aws_cwl_checkpoints (
    source TEXT PRIMARY KEY,
    log_group TEXT NOT NULL,
    ts INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS aws_cwl_seen (
    source TEXT NOT NULL,
    event_id TEXT NOT NULL,
    ts INTEGER NOT NULL,
    PRIMARY KEY (source, event_id)
);
"""

#: OR of quoted terms (CloudWatch Logs filter syntax: ``?"a" ?"b"``), one per
#: marker the extractor looks for: CloudTrail error codes and message phrases.
DEFAULT_FILTER_PATTERN = (
    '?"AccessDenied" ?"UnauthorizedOperation" ?"UnauthorizedAccess" ?"not authorized" '
    '?"NotAuthorized" ?"AuthorizationError" ?"Encoded authorization failure" '
    '?"explicitDeny" ?"Forbidden" ?"AuthFailure"'
)


class CloudWatchLogsSource(PollingSource):
    ERROR_COUNTER = "cwl_pass_errors"
    WHAT = "cloudwatch logs pass"
    DENIED_HINT = "grant logs:FilterLogEvents on the log group (docs/aws-setup.md)"

    def __init__(
        self,
        name: str,
        ctx: SourceContext,
        *,
        log_group: str,
        stream_prefix: str | None = None,
        filter_pattern: str = DEFAULT_FILTER_PATTERN,
        aws: aws_common.AwsOptions = aws_common.DEFAULT_AWS,
        poll_interval: float = 30.0,
        lookback: float = 300.0,
        start_at: str = "end",
        clock: Any = time.time,
        client: Any = None,
    ) -> None:
        self.name = name
        self._ctx = ctx
        self.log_group = log_group
        self.stream_prefix = stream_prefix
        self.filter_pattern = filter_pattern
        self._aws = aws
        self.poll_interval = poll_interval
        self.lookback_ms = int(lookback * 1000)
        self.start_at = start_at
        self._clock = clock
        self._client = client
        self.checkpoint: int = 0
        self._seen: dict[str, int] = {}
        super().__init__()

    def load(self) -> None:
        """Read the checkpoint; a first start begins now ("end") or at the oldest event."""
        state = self._ctx.state
        state.ensure_schema("aws_cwl", _DDL)
        rows = state.query(
            "SELECT log_group, ts FROM aws_cwl_checkpoints WHERE source = ?", (self.name,)
        )
        if rows and rows[0][0] == self.log_group:
            self.checkpoint = int(str(rows[0][1]))
            seen = state.query(
                "SELECT event_id, ts FROM aws_cwl_seen WHERE source = ?", (self.name,)
            )
            self._seen = {str(e): int(str(t)) for e, t in seen}
            return
        # First start, or the group changed: a fresh checkpoint.
        self.checkpoint = int(self._clock() * 1000) if self.start_at == "end" else 0
        with state.transaction() as conn:
            conn.execute("DELETE FROM aws_cwl_seen WHERE source = ?", (self.name,))
            conn.execute(
                "INSERT INTO aws_cwl_checkpoints (source, log_group, ts) VALUES (?, ?, ?) "
                "ON CONFLICT (source) DO UPDATE SET log_group = excluded.log_group, "
                "ts = excluded.ts",
                (self.name, self.log_group, self.checkpoint),
            )

    def _logs(self) -> Any:
        if self._client is None:
            self._client = aws_common.make_client("logs", self._aws)
        return self._client

    def poll(self, emit: Emit) -> int:
        """One pass: every page of new events; returns how many events were new."""
        kwargs: dict[str, Any] = {
            "logGroupName": self.log_group,
            "startTime": max(0, self.checkpoint - self.lookback_ms),
            "interleaved": True,
        }
        if self.filter_pattern:
            kwargs["filterPattern"] = self.filter_pattern
        if self.stream_prefix:
            kwargs["logStreamNamePrefix"] = self.stream_prefix
        new_total = 0
        while not self._stop.is_set():
            page = self._logs().filter_log_events(**kwargs)
            events = [
                e
                for e in page.get("events", [])
                if e.get("eventId") not in self._seen
                and (
                    not self.stream_prefix
                    or str(e.get("logStreamName", "")).startswith(self.stream_prefix)
                )
            ]
            if events:
                new_total += len(events)
                failures = self._failures(events)
                if not emit(
                    FoundFailures(f"logs:{self.log_group}", failures, self._marker(events))
                ):
                    return new_total
                for e in events:
                    self._seen[str(e["eventId"])] = int(e["timestamp"])
                self.checkpoint = max(self.checkpoint, *(int(e["timestamp"]) for e in events))
            token = page.get("nextToken")
            if not token:
                break
            kwargs["nextToken"] = token
        self._forget_old()
        return new_total

    def _failures(self, events: list[Mapping[str, Any]]) -> list[Failure]:
        from diagnostics.extract import extract_text

        out: list[Failure] = []
        stats = InputStats()
        for e in events:
            path = f"logs:{self.log_group}/{e.get('logStreamName', '')}"
            out.extend(extract_text(str(e.get("message", "")), path, stats))
        self._ctx.count("cwl_events_read", len(events))
        return out

    def _marker(self, events: list[Mapping[str, Any]]) -> Mark:
        name = self.name
        rows = [(name, str(e["eventId"]), int(e["timestamp"])) for e in events]
        newest = max(int(e["timestamp"]) for e in events)

        def mark(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT OR IGNORE INTO aws_cwl_seen (source, event_id, ts) VALUES (?, ?, ?)", rows
            )
            conn.execute(
                "UPDATE aws_cwl_checkpoints SET ts = MAX(ts, ?) WHERE source = ?", (newest, name)
            )

        return mark

    def _forget_old(self) -> None:
        """Event ids older than the look-back can never be asked for again."""
        horizon = self.checkpoint - self.lookback_ms
        old = [k for k, ts in self._seen.items() if ts < horizon]
        if not old:
            return
        for k in old:
            del self._seen[k]
        with self._ctx.state.transaction() as conn:
            conn.execute(
                "DELETE FROM aws_cwl_seen WHERE source = ? AND ts < ?", (self.name, horizon)
            )


class _CloudWatchLogsType:
    def check(self, table: ConfigTable) -> Mapping[str, Any]:
        group = table.required_str("log_group", 'e.g. log_group = "/aws/lambda/my-function"')
        if group.startswith("arn:"):
            raise ConfigError(
                f"{table.where}: key 'log_group' must be the group's name, not its ARN"
            )
        start_at = table.text("start_at", "end")
        if start_at not in ("end", "beginning"):
            raise ConfigError(f'{table.where}: key \'start_at\' must be "end" or "beginning"')
        poll = table.duration("poll_interval", 30.0)
        if poll <= 0:
            raise ConfigError(f"{table.where}: key 'poll_interval' must be above 0s, e.g. \"30s\"")
        return {
            "log_group": group,
            "stream_prefix": table.text("stream_prefix"),
            "filter_pattern": table.text("filter_pattern", DEFAULT_FILTER_PATTERN) or "",
            "aws": aws_common.check_aws_options(table),
            "poll_interval": poll,
            "lookback": table.duration("lookback", 300.0),
            "start_at": start_at,
        }

    def create(self, config: SourceConfig, ctx: SourceContext) -> CloudWatchLogsSource:
        return CloudWatchLogsSource(config.name, ctx, **dict(config.options))


CLOUDWATCH_LOGS = _CloudWatchLogsType()
