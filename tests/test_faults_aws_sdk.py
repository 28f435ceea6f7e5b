"""AWS sources under injected service faults, through the real boto3 path (moto in-process).

Every AWS client the sources build gets a ``before-send`` hook (botocore's
event system) that answers scripted calls with a real HTTP error response:
503 ``SlowDown``, 500 ``InternalError``, 400 ``ThrottlingException``, 403
``AccessDenied``.  botocore parses those bodies and its standard retry mode
retries them for real; only the retry *delay* is set to zero so the storms
run in milliseconds.  Calls not scripted go through to moto.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import test_aws_sources as helpers
from structlog.testing import capture_logs
from test_aws_sources import REGION, Committer, _bucket, _queue, check, ctx_for
from test_aws_sources_helpers import (
    ACCOUNT_A,
    ACCOUNT_B,
    delivery,
    delivery_key,
    eventbridge,
    failure_record,
)

from diagnostics.sources import aws_common
from diagnostics.sources.base import Event, FoundFailures
from diagnostics.sources.cloudwatch_logs import CLOUDWATCH_LOGS, CloudWatchLogsSource
from diagnostics.sources.s3 import S3, S3Source
from diagnostics.sources.sqs import SQS, SqsSource
from diagnostics.state import StateDB

# The moto and state-database fixtures of the source tests, reused by name.
aws_env = helpers.aws
state_db = helpers.state

BUCKET = helpers.BUCKET


# -- the fault injector -------------------------------------------------------------------


class _Raw:
    """The raw body botocore reads from an ``AWSResponse``."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


@dataclass(frozen=True)
class Fault:
    """One scripted HTTP answer: status, headers and body, as the service would send them."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def s3_error(code: str, status: int, message: str = "injected") -> Fault:
    """An S3 (REST-XML) error document."""
    body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
    return Fault(status, body, (("Content-Type", "application/xml"),))


def json_error(code: str, status: int, query_code: str | None = None) -> Fault:
    """An AWS JSON-protocol error (SQS and CloudWatch Logs), with SQS's query-compatible header."""
    body = json.dumps({"__type": f"com.amazonaws.coral#{code}", "message": "injected"}).encode()
    headers = [("Content-Type", "application/x-amz-json-1.0")]
    if query_code is not None:
        headers.append(("x-amzn-query-error", f"{query_code};Sender"))
    return Fault(status, body, tuple(headers))


SLOW_DOWN = s3_error("SlowDown", 503, "Please reduce your request rate.")
S3_500 = s3_error("InternalError", 500, "We encountered an internal error. Please try again.")
S3_DENIED = s3_error("AccessDenied", 403, "Access Denied")
SQS_THROTTLED = json_error("ThrottlingException", 400, "ThrottlingException")
SQS_500 = json_error("InternalFailure", 500, "InternalFailure")
SQS_DENIED = json_error("AccessDeniedException", 400, "AccessDenied")
LOGS_THROTTLED = json_error("ThrottlingException", 400)
LOGS_DENIED = json_error("AccessDeniedException", 400)
#: Attempts botocore makes per call (make_client: standard mode, total_max_attempts=5).
ATTEMPTS = 5

#: A scripted step: a Fault, None (pass through to moto), or a function that
#: builds the answer from the outgoing request (or returns None to pass).
Step = Fault | None | Callable[[Any], Any]


class Faults:
    """Scripted answers per operation, served from botocore's ``before-send`` event."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: dict[str, list[Step]] = {}
        self.calls: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self.after_call: dict[str, Callable[[dict[str, Any]], None]] = {}

    def script(self, operation: str, steps: list[Step]) -> None:
        with self._lock:
            self._script.setdefault(operation, []).extend(steps)

    def pending(self, operation: str) -> int:
        with self._lock:
            return len(self._script.get(operation, []))

    def before_send(self, request: Any, event_name: str, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        operation = event_name.rsplit(".", 1)[-1]
        with self._lock:
            self.calls[operation] += 1
            steps = self._script.get(operation)
            step = steps.pop(0) if steps else None
        if callable(step):
            step = step(request)
        if step is None:
            return None
        url = request.url
        # botocore calls every before-send handler, moto's stub included: point
        # the answered request where moto matches nothing, so the fault really
        # is "the service refused" and not "it acted, then answered an error".
        request.url = "https://fault-injected.invalid/"
        if isinstance(step, Fault):
            self.injected[operation] += 1
            return AWSResponse(url, step.status, dict(step.headers), _Raw(step.body))
        return step  # an AWSResponse built by the step

    def after(self, parsed: dict[str, Any], event_name: str, **_: Any) -> None:
        hook = self.after_call.get(event_name.rsplit(".", 1)[-1])
        if hook is not None:
            hook(parsed)


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Faults:
    """Every client the sources build answers scripted calls with faults; retries don't wait."""
    from botocore.retries import standard

    plan = Faults()
    real = aws_common.make_client

    def make_client(service: str, opts: aws_common.AwsOptions, **kw: Any) -> Any:
        client = real(service, opts, **kw)
        # First, so the hook answers before moto's own before-send stub does.
        client.meta.events.register_first("before-send", plan.before_send)
        client.meta.events.register("after-call", plan.after)
        return client

    monkeypatch.setattr(aws_common, "make_client", make_client)
    # The retry decision, quota and attempt count stay botocore's; only the
    # jittered sleep between attempts is zero.
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0.0)
    return plan


def _until(pred: Callable[[], bool], timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def _warnings(logs: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [e for e in logs if e.get("event") == event and e.get("log_level") == "warning"]


# -- S3 -------------------------------------------------------------------------------------


def test_s3_slowdown_storm_and_500s_lose_nothing_and_resume(
    aws_env: None, state_db: StateDB, faults: Faults
) -> None:
    """SlowDown and 500 storms on ListObjectsV2 and GetObject fail whole passes, which are
    counted and logged with a hint; later passes alert every failure exactly once."""
    s3 = _bucket()
    expected: list[str] = []
    n = 0
    for account in (ACCOUNT_A, ACCOUNT_B):
        for day in ("2024-05-01", "2024-05-02"):
            for _ in range(3):
                n += 1
                records = [failure_record(n, account), failure_record(100 + n, account)]
                expected += [str(r["eventID"]) for r in records]
                key = delivery_key(account, REGION, day, n)
                s3.put_object(Bucket=BUCKET, Key=key, Body=delivery(records))
    # Pass 1: the first listing exhausts its retries.  Pass 2: the listing
    # recovers after two SlowDowns; the third object read hits 500s past the
    # retries, mid-pass.  Pass 3: one more SlowDown per call type, retried.
    faults.script("ListObjectsV2", [SLOW_DOWN] * ATTEMPTS + [SLOW_DOWN] * 2)
    faults.script("GetObject", [None, None] + [S3_500] * ATTEMPTS + [SLOW_DOWN])
    ctx = ctx_for(state_db)
    src = S3Source("trail", ctx, **check(S3, {"bucket": BUCKET, "poll_interval": "50ms"}))
    emit = Committer(state_db)
    with capture_logs() as logs:
        src.start(emit)
        try:
            assert _until(lambda: len(emit.event_ids) >= len(expected))
            # A few more quiet passes: nothing is read twice.
            passes = faults.calls["ListObjectsV2"]
            assert _until(lambda: faults.calls["ListObjectsV2"] >= passes + 10)
        finally:
            src.stop()
            src.join(5)
    assert sorted(str(i) for i in emit.event_ids) == sorted(expected)  # each exactly once
    assert faults.injected["ListObjectsV2"] == ATTEMPTS + 2
    assert faults.injected["GetObject"] == ATTEMPTS + 1
    assert ctx.stats["s3_pass_errors"] == 2
    failed = _warnings(logs, "s3 pass failed")
    assert [("SlowDown" in e["error"], "InternalError" in e["error"]) for e in failed] == [
        (True, False),
        (False, True),
    ]
    assert all(e["hint"] == "retrying at the next poll" and e["source"] == "trail" for e in failed)
    assert "reached max retries: 4" in failed[0]["error"]


# -- SQS ------------------------------------------------------------------------------------


class CommitWatch:
    """Which messages have committed alerts, and every delete that came before its commit."""

    def __init__(self, faults: Faults) -> None:
        self.receipts: dict[str, str] = {}
        self.committed: set[str] = set()
        self.early_deletes: list[str] = []
        self.refused: list[str] = []
        self._lock = threading.Lock()
        faults.after_call["ReceiveMessage"] = self._received

    def _received(self, parsed: dict[str, Any]) -> None:
        with self._lock:
            for m in parsed.get("Messages", []):
                self.receipts[m["ReceiptHandle"]] = m["MessageId"]

    def committed_event(self, ev: FoundFailures) -> None:
        with self._lock:
            self.committed.add(ev.origin.rsplit("/", 1)[-1])

    def check_delete(self, request: Any) -> None:
        entries = json.loads(request.body)["Entries"]
        with self._lock:
            for e in entries:
                mid = self.receipts.get(e["ReceiptHandle"], "?")
                if mid not in self.committed:
                    self.early_deletes.append(mid)


def _partial_delete(sqs: Any, watch: CommitWatch, fail_first: int) -> Step:
    """A DeleteMessageBatch answer that deletes all but the first ``fail_first`` entries."""
    from botocore.awsrequest import AWSResponse

    def step(request: Any) -> Any:
        watch.check_delete(request)
        body = json.loads(request.body)
        entries = body["Entries"]
        ok, bad = entries[fail_first:], entries[:fail_first]
        watch.refused += [watch.receipts.get(e["ReceiptHandle"], "?") for e in bad]
        if ok:  # the part that succeeds really is deleted, in moto
            sqs.delete_message_batch(QueueUrl=body["QueueUrl"], Entries=ok)
        answer = {
            "Successful": [{"Id": e["Id"]} for e in ok],
            "Failed": [
                {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "x"}
                for e in bad
            ],
        }
        return AWSResponse(
            request.url,
            200,
            {"Content-Type": "application/x-amz-json-1.0"},
            _Raw(json.dumps(answer).encode()),
        )

    return step


def _watching(watch: CommitWatch, fault: Fault | None) -> Step:
    def step(request: Any) -> Fault | None:
        watch.check_delete(request)
        return fault

    return step


def _sqs(state: StateDB, url: str, **extra: Any) -> tuple[SqsSource, Any]:
    ctx = ctx_for(state)
    opts = check(SQS, {"queue_url": url, "wait_time_seconds": 0, **extra})
    return SqsSource("queue", ctx, **opts), ctx


def test_sqs_throttled_receives_and_failing_deletes_lose_and_duplicate_nothing(
    aws_env: None, state_db: StateDB, faults: Faults
) -> None:
    """Throttled/500 receives, a partly failed and a wholly failed DeleteMessageBatch: nothing
    is deleted before its alerts commit, every failure is alerted once, the queue drains."""
    sqs, url = _queue(visibility=2)
    ids = []
    for i in range(12):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(eventbridge(failure_record(i))))
        ids.append(str(failure_record(i)["eventID"]))
    watch = CommitWatch(faults)
    # One receive call gives up (5 throttles), the next retries past 1 throttle and a 500.
    faults.script("ReceiveMessage", [SQS_THROTTLED] * ATTEMPTS + [SQS_THROTTLED, SQS_500])
    # First delete: 2 entries refused; second: 500s past the retries; then a clean one.
    faults.script(
        "DeleteMessageBatch",
        [_partial_delete(sqs, watch, 2)]
        + [_watching(watch, SQS_500)] * ATTEMPTS
        + [_watching(watch, None)] * 100,
    )
    src, ctx = _sqs(state_db, url, visibility_timeout=2, max_messages=5)
    inner = Committer(state_db)

    def emit(ev: Event) -> bool:
        assert isinstance(ev, FoundFailures)
        ok = inner(ev)
        watch.committed_event(ev)
        return ok

    with capture_logs() as logs:
        src.start(emit)
        try:
            assert _until(lambda: len(inner.event_ids) >= len(ids))
            assert _until(lambda: helpers._counts(sqs, url) == (0, 0) and src.inflight == 0)
        finally:
            src.stop()
            src.join(10)
    assert sorted(str(i) for i in inner.event_ids) == sorted(ids)  # no duplicate alert
    assert watch.early_deletes == []
    assert faults.injected["ReceiveMessage"] == ATTEMPTS + 2
    assert faults.injected["DeleteMessageBatch"] == ATTEMPTS
    assert ctx.stats["sqs_receive_errors"] == 1
    assert watch.refused and ctx.stats["sqs_delete_failed"] == len(watch.refused)
    assert ctx.stats["sqs_ack_errors"] == 1
    # The refused deletes reappeared; their eventIDs were dropped as already alerted.
    assert ctx.stats["sqs_duplicate_events"] >= len(watch.refused)
    receive_logs = _warnings(logs, "sqs receive failed; retrying")
    assert len(receive_logs) == 1 and "ThrottlingException" in receive_logs[0]["error"]
    assert "docs/aws-setup.md" in receive_logs[0]["hint"]
    assert len(_warnings(logs, "sqs delete refused")) == len(watch.refused)
    assert len(_warnings(logs, "sqs delete/extend failed; retrying")) == 1


class SlowService:
    """The watch service on its own thread: each event waits for a gate, then commits or not."""

    def __init__(self, state: StateDB, watch: CommitWatch) -> None:
        self.state = state
        self.watch = watch
        self.events: queue.Queue[FoundFailures] = queue.Queue()
        self.alerted: list[str] = []
        self.rolled_back: list[str] = []
        #: Per event (in order): wait for this before committing; roll back if the flag says.
        self.plan: list[tuple[Callable[[], bool], bool]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def emit(self, ev: Event) -> bool:
        assert isinstance(ev, FoundFailures)
        self.events.put(ev)
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ev = self.events.get(timeout=0.05)
            except queue.Empty:
                continue
            gate, roll_back = self.plan.pop(0) if self.plan else ((lambda: True), False)
            _until(gate, timeout=15)
            ids = [str(f.source.event_id) for f in ev.failures]
            try:
                with self.state.transaction() as conn:
                    if ev.mark is not None:
                        ev.mark(conn)
                    if roll_back:
                        raise OSError("database or disk is full")
            except OSError:
                self.rolled_back += ids
                continue
            self.alerted += ids
            self.watch.committed_event(ev)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.mark.parametrize("first_commit_rolls_back", [False, True])
def test_sqs_failing_visibility_extension_with_slow_alerts_loses_and_duplicates_nothing(
    aws_env: None, state_db: StateDB, faults: Faults, first_commit_rolls_back: bool
) -> None:
    """ChangeMessageVisibility fails while the alerts are slow, so the message reappears
    mid-work: it is not deleted before a commit, and its failure is alerted exactly once,
    even when that first commit rolls back."""
    sqs, url = _queue(visibility=2)
    record = failure_record(7)
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(eventbridge(record)))
    watch = CommitWatch(faults)
    faults.script("ChangeMessageVisibilityBatch", [SQS_500] * 200)
    faults.script("DeleteMessageBatch", [_watching(watch, None)] * 100)
    src, ctx = _sqs(state_db, url, visibility_timeout=2)
    service = SlowService(state_db, watch)
    # The first event is held until the message has been received a second time.
    service.plan.append(
        (lambda: ctx.stats.get("sqs_messages_received", 0) >= 2, first_commit_rolls_back)
    )
    src.start(service.emit)
    try:
        assert _until(lambda: service.alerted != [], timeout=20)
        assert _until(lambda: helpers._counts(sqs, url) == (0, 0) and src.inflight == 0)
        # The receiver is still polling afterwards.
        calls = faults.calls["ReceiveMessage"]
        assert _until(lambda: faults.calls["ReceiveMessage"] > calls + 2)
    finally:
        src.stop()
        src.join(10)
        service.stop()
    assert service.alerted == [str(record["eventID"])]
    assert service.rolled_back == ([str(record["eventID"])] if first_commit_rolls_back else [])
    assert watch.early_deletes == []
    assert faults.injected["ChangeMessageVisibilityBatch"] >= 1
    assert ctx.stats["sqs_ack_errors"] >= 1


# -- CloudWatch Logs ------------------------------------------------------------------------


def test_cloudwatch_logs_throttled_mid_pagination_skips_no_event(
    aws_env: None, state_db: StateDB, faults: Faults
) -> None:
    """FilterLogEvents throttled past its retries on the third page: the pass fails, the
    checkpoint does not jump past the unread pages, and every event is alerted once."""
    logs = boto3.client("logs", region_name=REGION)
    group = "/app/payments"
    logs.create_log_group(logGroupName=group)
    base = int(time.time() * 1000) - 60_000
    expected: list[str] = []
    for s, stream in enumerate(("web-1", "web-2")):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        records = [failure_record(s * 100 + i) for i in range(8)]
        expected += [str(r["eventID"]) for r in records]
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[
                {"timestamp": base + 10 * i + s, "message": json.dumps(r)}
                for i, r in enumerate(records)
            ],
        )

    def small_pages(params: dict[str, Any], **_: Any) -> None:
        params["limit"] = 3  # sixteen events over six pages

    ok = None
    faults.script("FilterLogEvents", [ok, ok] + [LOGS_THROTTLED] * ATTEMPTS + [LOGS_THROTTLED])
    ctx = ctx_for(state_db)
    opts = check(
        CLOUDWATCH_LOGS,
        {"log_group": group, "start_at": "beginning", "poll_interval": "50ms", "lookback": "1s"},
    )
    client = aws_common.make_client("logs", aws_common.AwsOptions(REGION))
    client.meta.events.register("provide-client-params.logs.FilterLogEvents", small_pages)
    src = CloudWatchLogsSource("cwl", ctx, clock=lambda: base / 1000, client=client, **opts)
    emit = Committer(state_db)
    with capture_logs() as captured:
        src.start(emit)
        try:
            assert _until(lambda: len(emit.event_ids) >= len(expected))
            calls = faults.calls["FilterLogEvents"]
            assert _until(lambda: faults.calls["FilterLogEvents"] >= calls + 10)
        finally:
            src.stop()
            src.join(5)
    assert sorted(str(i) for i in emit.event_ids) == sorted(expected)
    assert faults.injected["FilterLogEvents"] == ATTEMPTS + 1
    assert ctx.stats["cwl_pass_errors"] == 1
    failed = _warnings(captured, "cloudwatch logs pass failed")
    assert len(failed) == 1 and "ThrottlingException" in failed[0]["error"]
    # A restart reads nothing again: the committed checkpoint covers every event.
    again = CloudWatchLogsSource("cwl", ctx_for(state_db), **opts)
    again.load()
    assert again.poll(Committer(state_db)) == 0


# -- AccessDenied -----------------------------------------------------------------------------


def test_access_denied_on_each_source_logs_the_permission_and_keeps_running(
    aws_env: None, state_db: StateDB, faults: Faults
) -> None:
    """AccessDenied on ListObjectsV2, ReceiveMessage and FilterLogEvents is logged with the
    permission to grant (docs/aws-setup.md); once granted, each source reads its input."""
    s3 = _bucket()
    key = delivery_key(ACCOUNT_A, REGION, "2024-05-01", 1)
    s3.put_object(Bucket=BUCKET, Key=key, Body=delivery([failure_record(1)]))
    sqs, url = _queue()
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(eventbridge(failure_record(2))))
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    logs.put_log_events(
        logGroupName="g",
        logStreamName="s",
        logEvents=[
            {"timestamp": int(time.time() * 1000) - 1000, "message": json.dumps(failure_record(3))}
        ],
    )
    # Denied three calls in a row each (no retry: AccessDenied is not retryable).
    faults.script("ListObjectsV2", [S3_DENIED] * 3)
    faults.script("ReceiveMessage", [SQS_DENIED] * 2)
    faults.script("FilterLogEvents", [LOGS_DENIED] * 3)
    ctx = ctx_for(state_db)
    s3_src = S3Source("trail", ctx, **check(S3, {"bucket": BUCKET, "poll_interval": "50ms"}))
    sqs_src, sqs_ctx = _sqs(state_db, url)
    cwl_src = CloudWatchLogsSource(
        "cwl",
        ctx,
        **check(
            CLOUDWATCH_LOGS, {"log_group": "g", "start_at": "beginning", "poll_interval": "50ms"}
        ),
    )
    emit = Committer(state_db)
    lock = threading.Lock()

    def locked(ev: Event) -> bool:
        with lock:
            return emit(ev)

    sources: list[Any] = [s3_src, sqs_src, cwl_src]
    with capture_logs() as captured:
        for src in sources:
            src.start(locked)
        try:
            assert _until(lambda: len(emit.event_ids) >= 3, timeout=15)
        finally:
            for src in sources:
                src.stop()
            for src in sources:
                src.join(5)
    assert sorted(str(i) for i in emit.event_ids) == sorted(
        str(failure_record(n)["eventID"]) for n in (1, 2, 3)
    )
    assert faults.injected == Counter(ListObjectsV2=3, ReceiveMessage=2, FilterLogEvents=3)
    assert ctx.stats["s3_pass_errors"] == 3 and ctx.stats["cwl_pass_errors"] == 3
    assert sqs_ctx.stats["sqs_receive_errors"] == 2
    s3_logs = _warnings(captured, "s3 pass failed")
    assert len(s3_logs) == 3
    assert all("AccessDenied" in e["error"] for e in s3_logs)
    assert all("s3:ListBucket" in e["hint"] and "docs/aws-setup.md" in e["hint"] for e in s3_logs)
    sqs_logs = _warnings(captured, "sqs receive failed; retrying")
    assert len(sqs_logs) == 2
    assert all("AccessDenied" in e["error"] for e in sqs_logs)
    assert all("sqs:ReceiveMessage" in e["hint"] for e in sqs_logs)
    cwl_logs = _warnings(captured, "cloudwatch logs pass failed")
    assert len(cwl_logs) == 3
    assert all("AccessDenied" in e["error"] for e in cwl_logs)
    assert all("logs:FilterLogEvents" in e["hint"] for e in cwl_logs)


def test_sqs_short_polling_an_empty_queue_does_not_spin(
    aws_env: None, state_db: StateDB, faults: Faults
) -> None:
    """With wait_time_seconds = 0, an empty queue is asked about once per poll interval,
    not in a tight loop of billed ReceiveMessage calls; a new message is still read."""
    sqs, url = _queue()
    src, _ = _sqs(state_db, url)  # ctx_for: poll_interval 0.1 s
    emit = Committer(state_db)
    src.start(emit)
    try:
        assert _until(lambda: faults.calls["ReceiveMessage"] >= 1)
        threading.Event().wait(1.0)  # observe the call rate over one second
        calls = faults.calls["ReceiveMessage"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(eventbridge(failure_record(1))))
        assert _until(lambda: len(emit.event_ids) == 1)
    finally:
        src.stop()
        src.join(5)
    assert 5 <= calls <= 20  # about ten; a spinning receiver makes hundreds
