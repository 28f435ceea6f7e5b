"""S3, SQS and CloudWatch Logs sources against moto (in-process), with a real state database.

The ``Committer`` below plays the watch service's part: it runs each event's
``mark`` inside a state transaction, as the service does with the alerts.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from test_aws_sources_helpers import (
    ACCOUNT_A,
    ACCOUNT_B,
    delivery,
    delivery_key,
    eventbridge,
    failure_record,
    ok_record,
    s3_notification,
    sns_wrap,
)

from diagnostics.errors import ConfigError
from diagnostics.service.config import ConfigTable, LimitsConfig
from diagnostics.sources.base import Event, FoundFailures, SourceContext
from diagnostics.sources.cloudwatch_logs import CLOUDWATCH_LOGS, CloudWatchLogsSource
from diagnostics.sources.registry import source_types
from diagnostics.sources.s3 import S3Source
from diagnostics.sources.s3_config import S3
from diagnostics.sources.sqs import SQS, SqsSource
from diagnostics.support.state import StateDB

BUCKET = "org-trail"
REGION = "us-east-1"


class Committer:
    """Collects events and commits each mark in its own transaction, like the service."""

    def __init__(self, state: StateDB, *, commit: bool = True) -> None:
        self.state = state
        self.commit = commit
        self.events: list[FoundFailures] = []

    def __call__(self, ev: Event) -> bool:
        assert isinstance(ev, FoundFailures)
        self.events.append(ev)
        if self.commit and ev.mark is not None:
            with self.state.transaction() as conn:
                ev.mark(conn)
        return True

    @property
    def event_ids(self) -> list[str | None]:
        return [f.source.event_id for ev in self.events for f in ev.failures]


@pytest.fixture
def aws() -> Iterator[None]:
    """moto for every AWS call in this process, with dummy credentials."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        with mock_aws():
            yield


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateDB]:
    db = StateDB.in_dir(tmp_path / "state")
    yield db
    db.close()


def ctx_for(state: StateDB) -> SourceContext:
    return SourceContext(state=state, limits=LimitsConfig(), poll_interval=0.1)


def check(kind: Any, table: dict[str, Any]) -> Any:
    t = ConfigTable(table, "watch.toml [[source]] #1")
    opts = kind.check(t)
    t.finish()
    return opts


# -- S3 ---------------------------------------------------------------------------------


def _bucket() -> Any:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    return s3


def test_s3_reads_each_selected_delivery_once_across_restarts(aws: None, state: StateDB) -> None:
    """Deliveries of the chosen accounts and regions are read once, even after a restart."""
    s3 = _bucket()
    wanted = [
        delivery_key(ACCOUNT_A, "us-east-1", "2024-05-01", 1),
        delivery_key(ACCOUNT_A, "us-east-1", "2024-05-02", 2),
        delivery_key(ACCOUNT_B, "us-east-1", "2024-05-01", 3, org=None),
    ]
    skipped = [
        delivery_key(ACCOUNT_A, "eu-west-1", "2024-05-01", 4),  # region not chosen
        delivery_key("333333333333", "us-east-1", "2024-05-01", 5),  # account not chosen
    ]
    for n, key in enumerate(wanted + skipped):
        s3.put_object(Bucket=BUCKET, Key=key, Body=delivery([failure_record(n), ok_record(n)]))
    s3.put_object(
        Bucket=BUCKET, Key="AWSLogs/o-abcdefghij/111111111111/CloudTrail-Digest/x", Body=b"{}"
    )
    opts = check(
        S3,
        {"bucket": BUCKET, "accounts": [ACCOUNT_A, ACCOUNT_B], "regions": ["us-east-1"]},
    )
    src = S3Source("trail", ctx_for(state), **opts)
    src.load()
    emit = Committer(state)
    assert src.poll(emit) == 3
    assert sorted(e.origin for e in emit.events) == sorted(f"s3://{BUCKET}/{k}" for k in wanted)
    assert len(emit.event_ids) == 3  # one failure per delivery; the ok records are not failures

    again = S3Source("trail", ctx_for(state), **opts)
    again.load()
    emit2 = Committer(state)
    assert again.poll(emit2) == 0
    new = delivery_key(ACCOUNT_A, "us-east-1", "2024-05-02", 9)
    s3.put_object(Bucket=BUCKET, Key=new, Body=delivery([failure_record(99)]))
    assert again.poll(emit2) == 1
    assert [e.origin for e in emit2.events] == [f"s3://{BUCKET}/{new}"]


def test_s3_uncommitted_objects_are_read_again_after_a_restart(aws: None, state: StateDB) -> None:
    """An object whose alerts never committed (a crash) is read again by the next start."""
    s3 = _bucket()
    key = delivery_key(ACCOUNT_A, REGION, "2024-05-01", 1)
    s3.put_object(Bucket=BUCKET, Key=key, Body=delivery([failure_record(1)]))
    opts = check(S3, {"bucket": BUCKET})
    first = S3Source("trail", ctx_for(state), **opts)
    first.load()
    assert first.poll(Committer(state, commit=False)) == 1
    second = S3Source("trail", ctx_for(state), **opts)
    second.load()
    emit = Committer(state)
    assert second.poll(emit) == 1 and len(emit.event_ids) == 1


def test_s3_since_and_lookback_bound_the_listing(aws: None, state: StateDB) -> None:
    """Days before ``since`` are never read; a late delivery within the look-back day is."""
    s3 = _bucket()
    old = delivery_key(ACCOUNT_A, REGION, "2024-04-20", 1)
    day1 = delivery_key(ACCOUNT_A, REGION, "2024-05-01", 2)
    day2 = delivery_key(ACCOUNT_A, REGION, "2024-05-02", 3)
    for n, key in enumerate((old, day1, day2)):
        s3.put_object(Bucket=BUCKET, Key=key, Body=delivery([failure_record(n)]))
    src = S3Source("trail", ctx_for(state), **check(S3, {"bucket": BUCKET, "since": "2024-05-01"}))
    src.load()
    emit = Committer(state)
    assert src.poll(emit) == 2
    late = delivery_key(ACCOUNT_A, REGION, "2024-05-01", 7)  # lands after day 2's file
    s3.put_object(Bucket=BUCKET, Key=late, Body=delivery([failure_record(7)]))
    assert src.poll(emit) == 1
    assert emit.events[-1].origin.endswith(late)


def test_s3_rejects_bombs_and_garbage_but_goes_on(aws: None, state: StateDB) -> None:
    """An over-cap gzip and a non-JSON object are counted and skipped; the next delivery is read."""
    s3 = _bucket()
    bomb = delivery_key(ACCOUNT_A, REGION, "2024-05-01", 1)
    junk = delivery_key(ACCOUNT_A, REGION, "2024-05-01", 2)
    good = delivery_key(ACCOUNT_A, REGION, "2024-05-01", 3)
    s3.put_object(Bucket=BUCKET, Key=bomb, Body=gzip.compress(b" " * (4 << 20)))
    s3.put_object(Bucket=BUCKET, Key=junk, Body=gzip.compress(b"not json at all"))
    s3.put_object(Bucket=BUCKET, Key=good, Body=delivery([failure_record(3)]))
    ctx = ctx_for(state)
    src = S3Source("trail", ctx, **check(S3, {"bucket": BUCKET, "max_object_bytes": 1 << 20}))
    src.load()
    emit = Committer(state)
    assert src.poll(emit) == 3
    assert ctx.stats["s3_objects_rejected"] == 2
    assert len(emit.event_ids) == 1
    assert src.poll(emit) == 0  # rejected objects are recorded as done, not retried forever


def test_s3_object_deleted_between_list_and_get_is_counted_and_skipped(
    aws: None, state: StateDB
) -> None:
    """An object that vanishes after the listing is counted, skipped, and does not stop the pass."""
    s3 = _bucket()
    keys = [delivery_key(ACCOUNT_A, REGION, "2024-05-01", n) for n in (1, 2, 3)]
    for n, key in enumerate(keys):
        s3.put_object(Bucket=BUCKET, Key=key, Body=delivery([failure_record(n)]))
    ctx = ctx_for(state)
    src = S3Source("trail", ctx, **check(S3, {"bucket": BUCKET}))
    src.load()
    inner = Committer(state)

    def emit(ev: Event) -> bool:
        if not inner.events:  # after the list, before the second get
            s3.delete_object(Bucket=BUCKET, Key=keys[1])
        return inner(ev)

    assert src.poll(emit) == 2
    assert ctx.stats["s3_objects_vanished"] == 1
    assert [e.origin for e in inner.events] == [f"s3://{BUCKET}/{k}" for k in (keys[0], keys[2])]


def test_s3_config_errors_name_the_key() -> None:
    """Bad s3 options are refused with the key named and a hint."""
    cases = [
        ({}, "'bucket' is required"),
        ({"bucket": "s3://b/x"}, "bare bucket name"),
        ({"bucket": "b", "accounts": ["123"]}, "not 12 digits"),
        ({"bucket": "b", "regions": ["useast1"]}, "not a region"),
        ({"bucket": "b", "since": "yesterday"}, "'since'"),
        ({"bucket": "b", "poll_interval": "0s"}, "'poll_interval' must be above 0s"),
        ({"bucket": "b", "endpoint_url": "localhost:5000"}, "http://"),
        ({"bucket": "b", "buckt": "x"}, "unknown key 'buckt'"),
    ]
    for table, message in cases:
        with pytest.raises(ConfigError, match=message):
            check(S3, table)


def test_registry_knows_the_aws_source_types() -> None:
    """``type = "s3"``, ``"sqs"`` and ``"cloudwatch_logs"`` are valid source types."""
    types = source_types()
    assert types["s3"] is S3 and types["sqs"] is SQS and types["cloudwatch_logs"] is CLOUDWATCH_LOGS


# -- SQS ----------------------------------------------------------------------------------


def _queue(visibility: int = 30) -> tuple[Any, str]:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="authz", Attributes={"VisibilityTimeout": str(visibility)})[
        "QueueUrl"
    ]
    return sqs, url


def _sqs_source(state: StateDB, url: str, **extra: Any) -> tuple[SqsSource, SourceContext]:
    ctx = ctx_for(state)
    opts = check(SQS, {"queue_url": url, "wait_time_seconds": 0, **extra})
    src = SqsSource("queue", ctx, **opts)
    src.prepare()
    return src, ctx


def _counts(sqs: Any, url: str) -> tuple[int, int]:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def test_sqs_understands_every_envelope_and_leaves_poison(aws: None, state: StateDB) -> None:
    """Direct and SNS-wrapped S3 notices, EventBridge and raw records are read; poison stays."""
    s3 = _bucket()
    k1 = delivery_key(ACCOUNT_A, REGION, "2024-05-01", 1)
    k2 = delivery_key(ACCOUNT_B, REGION, "2024-05-01", 2).replace(".json.gz", " copy.json.gz")
    s3.put_object(Bucket=BUCKET, Key=k1, Body=delivery([failure_record(1), failure_record(2)]))
    s3.put_object(Bucket=BUCKET, Key=k2, Body=delivery([failure_record(3, ACCOUNT_B)]))
    sqs, url = _queue()
    bodies = [
        s3_notification(BUCKET, k1),
        sns_wrap(s3_notification(BUCKET, k2)),
        eventbridge(failure_record(4)),
        failure_record(5),
        {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET},
    ]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    sqs.send_message(QueueUrl=url, MessageBody="this is not json")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"hello": "world"}))
    src, ctx = _sqs_source(state, url)
    emit = Committer(state)
    received = 0
    while received < 7:
        got = src.receive_once(emit)
        assert got, "queue ran dry before every message was received"
        received += got
    assert src.ack_once() == 5
    ids = sorted(i for i in emit.event_ids if i)
    assert ids == sorted(
        failure_record(n, a)["eventID"]
        for n, a in ((1, ACCOUNT_A), (2, ACCOUNT_A), (3, ACCOUNT_B), (4, ACCOUNT_A), (5, ACCOUNT_A))
    )
    assert ctx.stats["sqs_poison_messages"] == 2
    assert _counts(sqs, url) == (0, 2)  # the poison waits, invisible, for the redrive policy
    assert src.inflight == 0


def test_sqs_deletes_only_after_the_alerts_commit(aws: None, state: StateDB) -> None:
    """No delete before the mark's transaction commits; a rolled-back one is not deleted either."""
    sqs, url = _queue(visibility=2)
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(eventbridge(failure_record(1))))
    src, ctx = _sqs_source(state, url, visibility_timeout=2)
    held = Committer(state, commit=False)
    assert src.receive_once(held) == 1
    assert src.ack_once(extend=False) == 0
    assert _counts(sqs, url) == (0, 1)
    mark = held.events[0].mark
    assert mark is not None
    with pytest.raises(RuntimeError), state.transaction() as conn:
        mark(conn)
        raise RuntimeError("disk full while writing the alerts")
    assert src.ack_once(extend=False) == 0
    assert ctx.stats["sqs_rolled_back"] == 1
    assert src.inflight == 0
    # The message comes back after its visibility timeout and is then delivered properly.
    emit = Committer(state)
    deadline = threading.Event()
    for _ in range(40):
        if src.receive_once(emit):
            break
        deadline.wait(0.1)
    assert emit.event_ids == [failure_record(1)["eventID"]]
    assert src.ack_once() == 1
    assert _counts(sqs, url) == (0, 0)


def test_sqs_drops_event_ids_already_alerted_even_after_restart(aws: None, state: StateDB) -> None:
    """A redelivered CloudTrail event (same eventID) is not alerted twice, across a restart."""
    sqs, url = _queue()
    body = json.dumps(eventbridge(failure_record(1)))
    sqs.send_message(QueueUrl=url, MessageBody=body)
    src, _ = _sqs_source(state, url)
    emit = Committer(state)
    assert src.receive_once(emit) == 1 and src.ack_once() == 1
    sqs.send_message(QueueUrl=url, MessageBody=body)
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps([failure_record(1), failure_record(2)]))
    again, ctx = _sqs_source(state, url)
    emit2 = Committer(state)
    while again.receive_once(emit2):
        pass
    assert emit2.event_ids == [failure_record(2)["eventID"]]
    assert ctx.stats["sqs_duplicate_events"] == 2
    assert again.ack_once() == 2  # duplicates are still deleted: they were handled


def test_sqs_extends_visibility_of_slow_work_and_releases_stuck_messages(
    aws: None, state: StateDB
) -> None:
    """Unconfirmed messages get their visibility extended, and are released past the timeout."""
    sqs, url = _queue()
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(failure_record(1)))
    now = [1000.0]
    ctx = ctx_for(state)
    opts = check(
        SQS,
        {"queue_url": url, "wait_time_seconds": 0, "visibility_timeout": 30,
         "processing_timeout": "100s"},
    )  # fmt: skip
    src = SqsSource("queue", ctx, clock=lambda: now[0], **opts)
    src.prepare()
    assert src.receive_once(Committer(state, commit=False)) == 1
    now[0] += 16
    src.ack_once()
    assert ctx.stats["sqs_visibility_extended"] == 1
    now[0] += 100
    src.ack_once()
    assert ctx.stats["sqs_processing_timeouts"] == 1 and src.inflight == 0


def test_sqs_config_errors_name_the_key() -> None:
    """Bad sqs options are refused with the key named and what is allowed."""
    url = "https://sqs.us-east-1.amazonaws.com/111111111111/authz"
    cases = [
        ({}, "'queue_url' is required"),
        ({"queue_url": "authz"}, "get-queue-url"),
        ({"queue_url": url, "wait_time_seconds": 30}, "0 to 20"),
        ({"queue_url": url, "max_messages": 11}, "1 to 10"),
        ({"queue_url": url, "visibility_timeout": 1}, "at least 2"),
        ({"queue_url": url, "waittime": 1}, "unknown key 'waittime'"),
    ]
    for table, message in cases:
        with pytest.raises(ConfigError, match=message):
            check(SQS, table)


# -- CloudWatch Logs ----------------------------------------------------------------------


def test_cloudwatch_logs_checkpoint_survives_a_restart(aws: None, state: StateDB) -> None:
    """Events are read once: a restarted source reads only events put after the checkpoint."""
    logs = boto3.client("logs", region_name=REGION)
    group = "/app/payments"
    logs.create_log_group(logGroupName=group)
    for stream in ("web-1", "batch-1"):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    base = int(time.time() * 1000) - 60_000  # CloudWatch refuses events over 14 days old

    def put(stream: str, t: int, messages: list[str]) -> None:
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": t + i, "message": m} for i, m in enumerate(messages)],
        )

    plain = (
        "ERROR User: arn:aws:iam::111111111111:user/alice is not authorized to perform: "
        "s3:GetObject on resource: arn:aws:s3:::bucket/k{n} because no identity-based "
        "policy allows the s3:GetObject action"
    )
    put("web-1", base, [plain.format(n=1), "INFO all good", json.dumps(failure_record(2))])
    put("batch-1", base + 10, [plain.format(n=3)])
    opts = check(
        CLOUDWATCH_LOGS, {"log_group": group, "stream_prefix": "web-", "start_at": "beginning"}
    )
    src = CloudWatchLogsSource("cwl", ctx_for(state), clock=lambda: base / 1000, **opts)
    src.load()
    emit = Committer(state)
    assert src.poll(emit) >= 2
    resources = sorted(str(f.resource) for ev in emit.events for f in ev.failures)
    assert resources == ["arn:aws:s3:::bucket-111111111111/obj-2", "arn:aws:s3:::bucket/k1"]

    put("web-1", base + 5000, [plain.format(n=4)])
    again = CloudWatchLogsSource("cwl", ctx_for(state), **opts)
    again.load()
    assert again.checkpoint >= base + 2
    emit2 = Committer(state)
    again.poll(emit2)
    assert [str(f.resource) for ev in emit2.events for f in ev.failures] == [
        "arn:aws:s3:::bucket/k4"
    ]
    assert again.poll(emit2) == 0


def test_cloudwatch_logs_starts_at_the_end_by_default(aws: None, state: StateDB) -> None:
    """A first start without start_at reads nothing that was logged before it."""
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    before = int(time.time() * 1000) - 60_000
    logs.put_log_events(
        logGroupName="g",
        logStreamName="s",
        logEvents=[{"timestamp": before, "message": json.dumps(failure_record(1))}],
    )
    opts = check(CLOUDWATCH_LOGS, {"log_group": "g", "lookback": "1s"})
    src = CloudWatchLogsSource("cwl", ctx_for(state), **opts)
    src.load()
    emit = Committer(state)
    assert src.poll(emit) == 0 and emit.events == []


def test_cloudwatch_logs_config_errors_name_the_key() -> None:
    """Bad cloudwatch_logs options are refused with the key named."""
    cases = [
        ({}, "'log_group' is required"),
        ({"log_group": "arn:aws:logs:us-east-1:1:log-group:g"}, "not its ARN"),
        ({"log_group": "g", "start_at": "now"}, "'start_at'"),
        ({"log_group": "g", "poll_interval": "0s"}, "above 0s"),
        ({"log_group": "g", "pattern": "x"}, "unknown key 'pattern'"),
    ]
    for table, message in cases:
        with pytest.raises(ConfigError, match=message):
            check(CLOUDWATCH_LOGS, table)
