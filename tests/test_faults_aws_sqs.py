"""SQS source under injected faults (throttled receives, failing deletes and extensions).

The faults come from ``test_faults_aws_inject``: real error responses through
botocore's parsing and standard retries, against moto in-process.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from typing import Any

import pytest
import test_aws_sources as helpers
import test_faults_aws_inject as inject
from structlog.testing import capture_logs
from test_aws_sources import Committer, _queue, check, ctx_for
from test_aws_sources_helpers import (
    eventbridge,
    failure_record,
)
from test_faults_aws_inject import (
    ATTEMPTS,
    SQS_500,
    SQS_THROTTLED,
    Fault,
    Faults,
    RawBody,
    Step,
    until,
    warnings_named,
)

from diagnostics.sources.base import Event, FoundFailures
from diagnostics.sources.sqs import SQS, SqsSource
from diagnostics.support.state import StateDB

# The moto, state-database and fault-injector fixtures, reused by name.
aws_env = helpers.aws
state_db = helpers.state
faults = inject.faults


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
            RawBody(json.dumps(answer).encode()),
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
            assert until(lambda: len(inner.event_ids) >= len(ids))
            assert until(lambda: helpers._counts(sqs, url) == (0, 0) and src.inflight == 0)
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
    receive_logs = warnings_named(logs, "sqs receive failed; retrying")
    assert len(receive_logs) == 1 and "ThrottlingException" in receive_logs[0]["error"]
    # A throttle is not a permission problem: the hint says so, by error code.
    assert "throttling" in receive_logs[0]["hint"]
    assert "sqs:ReceiveMessage" not in receive_logs[0]["hint"]
    assert len(warnings_named(logs, "sqs delete refused")) == len(watch.refused)
    assert len(warnings_named(logs, "sqs delete/extend failed; retrying")) == 1


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
            until(gate, timeout=60)
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
        assert until(lambda: service.alerted != [], timeout=20)
        assert until(lambda: helpers._counts(sqs, url) == (0, 0) and src.inflight == 0)
        # The receiver is still polling afterwards.
        calls = faults.calls["ReceiveMessage"]
        assert until(lambda: faults.calls["ReceiveMessage"] > calls + 2)
    finally:
        src.stop()
        src.join(10)
        service.stop()
    assert service.alerted == [str(record["eventID"])]
    assert service.rolled_back == ([str(record["eventID"])] if first_commit_rolls_back else [])
    assert watch.early_deletes == []
    assert faults.injected["ChangeMessageVisibilityBatch"] >= 1
    assert ctx.stats["sqs_ack_errors"] >= 1


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
        assert until(lambda: faults.calls["ReceiveMessage"] >= 1)
        threading.Event().wait(1.0)  # observe the call rate over one second
        calls = faults.calls["ReceiveMessage"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(eventbridge(failure_record(1))))
        assert until(lambda: len(emit.event_ids) == 1)
    finally:
        src.stop()
        src.join(5)
    assert 5 <= calls <= 20  # about ten; a spinning receiver makes hundreds
