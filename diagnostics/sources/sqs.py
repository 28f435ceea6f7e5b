"""``type = "sqs"``: competing consumers on one queue of CloudTrail notifications.

Two threads.  The receiver long-polls (``WaitTimeSeconds``, up to 10
messages), reads each message (fetching the S3 objects a notification
names), drops failures whose CloudTrail ``eventID`` this instance already
alerted (SQS is at-least-once), and emits one ``FoundFailures`` per message.
The acker deletes a message only once the transaction that added its alerts
has committed and those alerts are delivered: the message's ``mark`` writes
its id to ``aws_sqs_acked`` in that transaction and wakes the acker, which
reads the row back through the state lock (so it sees the transaction's
outcome, never a half); it then waits until every sink has delivered the
notifications the message's failures wait on (``awaits``), and only then
calls ``DeleteMessageBatch``.  Until then the acker keeps extending the
messages' visibility.  A worker killed at any point, and never restarted,
therefore loses nothing: its undeleted messages reappear for another
worker.  The price is bounded: the messages it had delivered but not yet
deleted are alerted again by whoever receives them next (see
docs/scale-out.md and ``dedup_table``).

Shutdown has two phases, so a rolling restart deletes everything it
committed: ``stop()`` stops receiving only (the acker keeps deleting and
extending while the service drains its queue and commits); ``join()``,
which the service calls after the drain, makes the acker's final pass:
delete what was delivered, and hand every other message straight back to
the queue (visibility 0) for another worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from diagnostics.errors import ConfigError, InputError
from diagnostics.model import Failure, Owed
from diagnostics.sources import aws_common
from diagnostics.sources.base import Awaits, Emit, FoundFailures, Mark, SourceContext
from diagnostics.sources.sqs_ack import InFlight, SqsAcker
from diagnostics.support.logconfig import get_logger

if TYPE_CHECKING:
    import sqlite3

    from diagnostics.config.table import ConfigTable
    from diagnostics.sources.settings import SourceConfig

log = get_logger()

_DDL = """
CREATE TABLE IF NOT EXISTS aws_sqs_events (
    source TEXT NOT NULL,
    event_id TEXT NOT NULL,
    seen REAL NOT NULL,
    PRIMARY KEY (source, event_id)
);
CREATE TABLE IF NOT EXISTS aws_sqs_acked (
    source TEXT NOT NULL,
    message_id TEXT NOT NULL,
    done REAL NOT NULL,
    PRIMARY KEY (source, message_id)
);
"""


class SqsSource(SqsAcker):
    finite = False

    def __init__(
        self,
        name: str,
        ctx: SourceContext,
        *,
        queue_url: str,
        aws: aws_common.AwsOptions = aws_common.DEFAULT_AWS,
        s3_endpoint_url: str | None = None,
        wait_time_seconds: int = 20,
        max_messages: int = 10,
        visibility_timeout: int = 120,
        processing_timeout: float = 900.0,
        max_object_bytes: int = aws_common.DEFAULT_MAX_OBJECT_BYTES,
        max_inflight: int = 50,
        max_undelivered: int = 1000,
        clock: Any = time.monotonic,
    ) -> None:
        self.name = name
        self._ctx = ctx
        self.queue_url = queue_url
        self._aws = aws
        self._s3_endpoint = s3_endpoint_url
        self.wait_time_seconds = wait_time_seconds
        self.max_messages = max_messages
        self.visibility_timeout = visibility_timeout
        self.processing_timeout = processing_timeout
        self.max_object_bytes = max_object_bytes
        self.max_inflight = max_inflight
        self.max_undelivered = max_undelivered
        self._clock = clock
        self._sqs: Any = None
        self._s3: dict[str | None, Any] = {}
        self._lock = threading.Lock()
        self._inflight: dict[str, InFlight] = {}
        #: eventIDs emitted but not yet committed -> message id.
        self._pending_ids: dict[str, str] = {}
        self._wake = threading.Event()
        self._room = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last_prune = 0.0

    # -- lifecycle ---------------------------------------------------------------

    def prepare(self) -> None:
        """Declare the tables and build the client (``start`` does it too)."""
        self._ctx.state.ensure_schema("aws_sqs", _DDL)
        if self._sqs is None:
            self._sqs = aws_common.make_client(
                "sqs", self._aws, read_timeout=self.wait_time_seconds + 15.0
            )

    def start(self, emit: Emit) -> None:
        self.prepare()
        for target, role in ((self._receive_loop, "receive"), (self._ack_loop, "ack")):
            t = threading.Thread(
                target=target, args=(emit,), name=f"source-{self.name}-{role}", daemon=True
            )
            self._threads.append(t)
            t.start()

    def is_ready(self) -> bool:
        return bool(self._threads)

    def stop(self) -> None:
        """Stop receiving; the acker goes on deleting what the drain commits."""
        self._stop.set()
        with self._room:
            self._room.notify_all()

    def join(self, timeout: float) -> None:
        """After the drain: the acker's final delete pass, then the threads end.

        Bounded by ``timeout``; the acker goes first, since the receiver may
        sit in a long poll it cannot cut short.
        """
        deadline = time.monotonic() + timeout
        self.stop()
        self._closing.set()
        self._wake.set()
        # The acker was started second.
        for t in reversed(self._threads):
            t.join(max(0.0, deadline - time.monotonic()))

    @property
    def inflight(self) -> int:
        with self._lock:
            return len(self._inflight)

    # -- receiving ---------------------------------------------------------------

    def _receive_loop(self, emit: Emit) -> None:
        while not self._stop.is_set():
            with self._room:
                while self._full() and not self._stop.is_set():
                    self._room.wait(0.5)
            if self._stop.is_set():
                return
            try:
                got = self.receive_once(emit)
            except Exception as exc:
                self._ctx.count("sqs_receive_errors")
                log.warning(
                    "sqs receive failed; retrying",
                    source=self.name,
                    error=str(exc),
                    hint=receive_hint(aws_common.error_code(exc)),
                )
                self._stop.wait(min(5.0, self.wait_time_seconds or 1.0))
                continue
            if got == 0 and self.wait_time_seconds == 0:
                # Short polling an empty queue would spin, and every call is billed.
                self._stop.wait(self._ctx.poll_interval)

    def _full(self) -> bool:
        """Too many messages being read, or too many waiting on a sink (hold ``_lock``)."""
        waiting = sum(1 for e in self._inflight.values() if e.committed)
        reading = len(self._inflight) - waiting
        return reading >= self.max_inflight or waiting >= self.max_undelivered

    def receive_once(self, emit: Emit) -> int:
        """One ReceiveMessage call and the messages it returned; returns their number."""
        answer = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.max_messages,
            WaitTimeSeconds=self.wait_time_seconds,
            VisibilityTimeout=self.visibility_timeout,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        messages = answer.get("Messages", [])
        now = self._clock()
        todo: list[tuple[Mapping[str, Any], InFlight]] = []
        late: list[InFlight] = []
        with self._lock:
            for m in messages:
                first = self._inflight.get(m["MessageId"])
                if first is not None:
                    # Back while its first copy is still being worked on (an
                    # extension failed or came late).  The first copy keeps its
                    # eventIDs and its commit; only the receipt handle changes,
                    # since SQS deletes with the newest one.  Handling this copy
                    # too would let its empty commit delete the message even if
                    # the first copy's transaction rolls back.
                    first.receipt = m["ReceiptHandle"]
                    first.extended = now
                    self._ctx.count("sqs_redelivered_in_flight")
                    log.warning(
                        "sqs message reappeared while still in flight",
                        source=self.name,
                        message_id=first.message_id,
                        hint="check sqs:ChangeMessageVisibility, or raise visibility_timeout",
                    )
                    continue
                entry = InFlight(m["MessageId"], m["ReceiptHandle"], now, now)
                if self._stop.is_set():
                    # A poll already under way when stop() came may pick up what
                    # the final pass just handed back, after that pass is over:
                    # hand it back here instead of holding it unseen.
                    late.append(entry)
                    continue
                self._inflight[entry.message_id] = entry
                todo.append((m, entry))
        self._ctx.count("sqs_messages_received", len(messages))
        if late:
            self._release_or_warn(late)
        for msg, entry in todo:
            if self._stop.is_set():
                # Tracked before stop(), unmarked: the final pass hands it back.
                continue
            self._handle(msg, entry, emit)
        return len(messages)

    def _handle(self, msg: Mapping[str, Any], entry: InFlight, emit: Emit) -> None:
        origin = f"sqs:{self.queue_url.rsplit('/', 1)[-1]}/{entry.message_id}"
        try:
            failures = self._read(str(msg.get("Body", "")), origin)
        except aws_common.PoisonMessage as exc:
            self._ctx.count("sqs_poison_messages")
            log.warning(
                "sqs message unreadable; left for the redrive policy",
                source=self.name,
                message_id=entry.message_id,
                receive_count=msg.get("Attributes", {}).get("ApproximateReceiveCount"),
                reason=str(exc),
            )
            self._forget(entry)
            return
        except Exception as exc:
            # Transient (S3 5xx, network): the message reappears and is retried.
            self._ctx.count("sqs_message_errors")
            log.warning(
                "sqs message not processed; it will be retried",
                source=self.name,
                message_id=entry.message_id,
                error=str(exc),
            )
            self._forget(entry)
            return
        fresh = self._unseen(failures, entry)
        if not emit(FoundFailures(origin, fresh, self._marker(entry), self._awaits(entry))):
            self._forget(entry)
            return
        entry.emitted = True

    def _read(self, body: str, origin: str) -> list[Failure]:
        content = aws_common.parse_message(body, origin)
        self._ctx.count(f"sqs_{content.kind}")
        failures = list(content.failures)
        for bucket, key, region in content.objects:
            try:
                found = aws_common.object_failures(
                    self._s3_client(region), bucket, key, cap=self.max_object_bytes
                )
            except InputError as exc:
                raise aws_common.PoisonMessage(str(exc)) from None
            except Exception as exc:
                if aws_common.error_code(exc) in aws_common.DENIED_CODES:
                    raise aws_common.PoisonMessage(
                        f"s3://{bucket}/{key}: access denied; grant s3:GetObject "
                        "(and kms:Decrypt for SSE-KMS trails) to the daemon's role"
                    ) from None
                raise
            if found is None:
                self._ctx.count("s3_objects_vanished")
                log.warning("s3 object named by a notification is gone; skipped", key=key)
                continue
            self._ctx.count("s3_objects_read")
            failures.extend(found)
        return failures

    def _s3_client(self, region: str | None) -> Any:
        client = self._s3.get(region)
        if client is None:
            opts = aws_common.AwsOptions(region or self._aws.region, self._s3_endpoint)
            client = self._s3[region] = aws_common.make_client("s3", opts)
        return client

    def _unseen(self, failures: list[Failure], entry: InFlight) -> list[Failure]:
        """Drop failures whose eventID this instance already alerted or has in flight."""
        ids = sorted({f.source.event_id for f in failures if f.source.event_id})
        known: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows = self._ctx.state.query(
                "SELECT event_id FROM aws_sqs_events WHERE source = ? AND event_id IN "  # noqa: S608 - only "?" placeholders are formatted in
                f"({aws_common.placeholders(len(chunk))})",
                (self.name, *chunk),
            )
            known.update(str(r[0]) for r in rows)
        fresh: list[Failure] = []
        mine: set[str] = set()
        with self._lock:
            for f in failures:
                eid = f.source.event_id
                if eid is not None and eid not in mine:
                    if eid in known or eid in self._pending_ids:
                        self._ctx.count("sqs_duplicate_events")
                        continue
                    mine.add(eid)
                    self._pending_ids[eid] = entry.message_id
                fresh.append(f)
        entry.event_ids = tuple(mine)
        return fresh

    @staticmethod
    def _awaits(entry: InFlight) -> Awaits:
        def awaits(owed: tuple[Owed, ...]) -> None:
            entry.owed = owed

        return awaits

    def _marker(self, entry: InFlight) -> Mark:
        name = self.name

        def mark(conn: sqlite3.Connection) -> None:
            now = time.time()
            conn.executemany(
                "INSERT OR IGNORE INTO aws_sqs_events (source, event_id, seen) VALUES (?, ?, ?)",
                [(name, eid, now) for eid in entry.event_ids],
            )
            conn.execute(
                "INSERT OR IGNORE INTO aws_sqs_acked (source, message_id, done) VALUES (?, ?, ?)",
                (name, entry.message_id, now),
            )
            entry.marked = True
            self._wake.set()

        return mark


#: Error codes SQS gives for a queue that does not exist (JSON and query protocols).
_NO_QUEUE_CODES = frozenset({"QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"})


def receive_hint(code: str | None) -> str:
    """What to do about a failed ReceiveMessage, by its error code."""
    if code in aws_common.DENIED_CODES:
        return "check sqs:ReceiveMessage on the queue (docs/aws-setup.md)"
    if code in _NO_QUEUE_CODES:
        return "the queue does not exist: check queue_url (aws sqs get-queue-url)"
    if code in aws_common.THROTTLE_CODES:
        return "SQS is throttling the receives; retrying with backoff (no permission is missing)"
    return "retrying shortly"


class _SqsType:
    def check(self, table: ConfigTable) -> Mapping[str, Any]:
        queue_url = table.required_str(
            "queue_url", 'e.g. queue_url = "https://sqs.us-east-1.amazonaws.com/123456789012/authz"'
        )
        if not queue_url.startswith(("https://", "http://")):
            raise ConfigError(
                f"{table.where}: key 'queue_url' must be the queue's URL (https://sqs...), "
                "not its name or ARN; `aws sqs get-queue-url --queue-name NAME` prints it"
            )
        wait = table.integer("wait_time_seconds", 20, minimum=0)
        if wait > 20:
            raise ConfigError(f"{table.where}: key 'wait_time_seconds' must be 0 to 20 (SQS limit)")
        batch = table.integer("max_messages", 10)
        if batch > 10:
            raise ConfigError(f"{table.where}: key 'max_messages' must be 1 to 10 (SQS limit)")
        visibility = table.integer("visibility_timeout", 120, minimum=2)
        if visibility > 43200:
            raise ConfigError(f"{table.where}: key 'visibility_timeout' must be at most 43200")
        s3_endpoint = table.text("s3_endpoint_url")
        return {
            "queue_url": queue_url,
            "aws": aws_common.check_aws_options(table),
            "s3_endpoint_url": s3_endpoint,
            "wait_time_seconds": wait,
            "max_messages": batch,
            "visibility_timeout": visibility,
            "processing_timeout": table.duration("processing_timeout", 900.0),
            "max_object_bytes": table.integer(
                "max_object_bytes", aws_common.DEFAULT_MAX_OBJECT_BYTES, minimum=1024
            ),
            "max_inflight": table.integer("max_inflight", 50),
            "max_undelivered": table.integer("max_undelivered", 1000),
        }

    def create(self, config: SourceConfig, ctx: SourceContext) -> SqsSource:
        return SqsSource(config.name, ctx, **dict(config.options))


SQS = _SqsType()
