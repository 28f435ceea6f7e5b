"""S3 and CloudWatch Logs sources under injected faults, and AccessDenied on every source.

The faults come from ``test_faults_aws_inject``: real error responses through
botocore's parsing and standard retries, against moto in-process.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

import boto3
import test_aws_sources as helpers
import test_faults_aws_inject as inject
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
from test_faults_aws_inject import (
    ATTEMPTS,
    LOGS_DENIED,
    LOGS_THROTTLED,
    S3_500,
    S3_DENIED,
    SLOW_DOWN,
    SQS_DENIED,
    Faults,
    until,
    warnings_named,
)
from test_faults_aws_sqs import _sqs

from diagnostics.sources import aws_common
from diagnostics.sources.base import Event
from diagnostics.sources.cloudwatch_logs import CLOUDWATCH_LOGS, CloudWatchLogsSource
from diagnostics.sources.s3 import S3Source
from diagnostics.sources.s3_config import S3
from diagnostics.support.state import StateDB

# The moto, state-database and fault-injector fixtures, reused by name.
aws_env = helpers.aws
state_db = helpers.state
faults = inject.faults

BUCKET = helpers.BUCKET


# -- S3 -------------------------------------------------------------------------------------


def _polling_s3(state_db: StateDB) -> tuple[Any, S3Source, Committer]:
    """An S3 source on the test bucket polling every 50 ms, and where its events land."""
    ctx = ctx_for(state_db)
    src = S3Source("trail", ctx, **check(S3, {"bucket": BUCKET, "poll_interval": "50ms"}))
    return ctx, src, Committer(state_db)


def test_s3_slowdown_storm_and_500s_lose_nothing_and_resume(
    aws_env: None, state_db: StateDB, faults: Faults
) -> None:
    """A SlowDown storm on ListObjectsV2 fails a whole pass, a 500 storm on one GetObject
    fails only that object (the pass goes on); both are counted and logged with a hint,
    and later passes alert every failure exactly once."""
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
    ctx, src, emit = _polling_s3(state_db)
    with capture_logs() as logs:
        src.start(emit)
        try:
            assert until(lambda: len(emit.event_ids) >= len(expected))
            # A few more quiet passes: nothing is read twice.
            passes = faults.calls["ListObjectsV2"]
            assert until(lambda: faults.calls["ListObjectsV2"] >= passes + 10)
        finally:
            src.stop()
            src.join(5)
    assert sorted(str(i) for i in emit.event_ids) == sorted(expected)  # each exactly once
    assert faults.injected["ListObjectsV2"] == ATTEMPTS + 2
    assert faults.injected["GetObject"] == ATTEMPTS + 1
    assert ctx.stats["s3_pass_errors"] == 1
    assert ctx.stats["s3_object_errors"] == 1
    failed = warnings_named(logs, "s3 pass failed")
    assert len(failed) == 1 and "SlowDown" in failed[0]["error"]
    assert "reached max retries: 4" in failed[0]["error"]
    unreadable = warnings_named(logs, "s3 delivery unreadable; other deliveries go on")
    assert len(unreadable) == 1 and "InternalError" in unreadable[0]["error"]
    assert all(
        e["hint"] == "retrying at the next poll" and e["source"] == "trail"
        for e in failed + unreadable
    )
    assert "s3_objects_skipped" not in ctx.stats


def test_s3_one_folder_denied_does_not_hold_back_the_others(
    aws_env: None, state_db: StateDB, faults: Faults
) -> None:
    """A bucket policy denying ListObjectsV2 on one account's folder: the other account's
    deliveries are alerted in that same pass, the denied folder is logged with the permission
    to grant and counted, and its deliveries are alerted once the listing is allowed."""
    from urllib.parse import unquote

    s3 = _bucket()
    expected: dict[str, list[str]] = {ACCOUNT_A: [], ACCOUNT_B: []}
    for n, account in enumerate((ACCOUNT_A, ACCOUNT_B, ACCOUNT_A, ACCOUNT_B), start=1):
        record = failure_record(n, account)
        expected[account].append(str(record["eventID"]))
        key = delivery_key(account, REGION, "2024-05-01", n)
        s3.put_object(Bucket=BUCKET, Key=key, Body=delivery([record]))
    denied = {"left": 2}
    folder_a = f"{ACCOUNT_A}/CloudTrail/{REGION}/"

    def deny_account_a(request: Any) -> Any:
        url = unquote(request.url)
        if folder_a in url and "delimiter" not in url and denied["left"] > 0:
            denied["left"] -= 1
            return S3_DENIED
        return None

    faults.script("ListObjectsV2", [deny_account_a] * 500)
    ctx, src, emit = _polling_s3(state_db)
    with capture_logs() as logs:
        src.start(emit)
        try:
            assert until(lambda: len(emit.event_ids) >= 4)
        finally:
            src.stop()
            src.join(5)
    emitted = [str(i) for i in emit.event_ids]
    assert sorted(emitted) == sorted(expected[ACCOUNT_A] + expected[ACCOUNT_B])
    # Account B came through in the passes that refused account A's folder, not after:
    # the order of emission says so whatever the machine's load (a snapshot would race).
    assert set(emitted[:2]) == set(expected[ACCOUNT_B])
    assert faults.injected["ListObjectsV2"] == 2
    assert ctx.stats["s3_list_errors"] == 2
    assert "s3_pass_errors" not in ctx.stats  # no pass failed: the other folder was listed
    refused = warnings_named(logs, "s3 folder listing failed; other folders go on")
    assert len(refused) == 2
    assert all(e["folder"].endswith(folder_a) and "AccessDenied" in e["error"] for e in refused)
    assert all("s3:ListBucket" in e["hint"] for e in refused)


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
            assert until(lambda: len(emit.event_ids) >= len(expected))
            calls = faults.calls["FilterLogEvents"]
            assert until(lambda: faults.calls["FilterLogEvents"] >= calls + 10)
        finally:
            src.stop()
            src.join(5)
    assert sorted(str(i) for i in emit.event_ids) == sorted(expected)
    assert faults.injected["FilterLogEvents"] == ATTEMPTS + 1
    assert ctx.stats["cwl_pass_errors"] == 1
    failed = warnings_named(captured, "cloudwatch logs pass failed")
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
            assert until(lambda: len(emit.event_ids) >= 3, timeout=60)
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
    s3_logs = warnings_named(captured, "s3 pass failed")
    assert len(s3_logs) == 3
    assert all("AccessDenied" in e["error"] for e in s3_logs)
    assert all("s3:ListBucket" in e["hint"] and "docs/aws-setup.md" in e["hint"] for e in s3_logs)
    sqs_logs = warnings_named(captured, "sqs receive failed; retrying")
    assert len(sqs_logs) == 2
    assert all("AccessDenied" in e["error"] for e in sqs_logs)
    assert all("sqs:ReceiveMessage" in e["hint"] for e in sqs_logs)
    cwl_logs = warnings_named(captured, "cloudwatch logs pass failed")
    assert len(cwl_logs) == 3
    assert all("AccessDenied" in e["error"] for e in cwl_logs)
    assert all("logs:FilterLogEvents" in e["hint"] for e in cwl_logs)
