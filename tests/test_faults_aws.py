"""AWS sources failing underneath: an SQS queue that vanishes and comes back (moto)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import test_aws_sources as helpers
from test_aws_sources import Committer, _queue, _sqs_source
from test_aws_sources_helpers import eventbridge, failure_record

from diagnostics.support.state import StateDB

# The moto and state-database fixtures of the source tests, reused by name.
aws_env = helpers.aws
state_db = helpers.state


def _until(pred: Callable[[], bool], timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_sqs_queue_that_vanishes_and_comes_back(aws_env: None, state_db: StateDB) -> None:
    """The queue is deleted under a running source: receive errors are counted and retried,
    the source does not die, and once the queue is recreated its messages are read."""
    sqs, url = _queue()
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(eventbridge(failure_record(1))))
    src, ctx = _sqs_source(state_db, url, wait_time_seconds=1)
    emit = Committer(state_db)
    src.start(emit)
    try:
        assert _until(lambda: len(emit.event_ids) == 1)
        sqs.delete_queue(QueueUrl=url)
        assert _until(lambda: ctx.stats.get("sqs_receive_errors", 0) >= 1)
        sqs2, url2 = _queue()
        assert url2 == url  # same name, same URL: the config still points at it
        sqs2.send_message(QueueUrl=url2, MessageBody=json.dumps(eventbridge(failure_record(2))))
        assert _until(lambda: len(emit.event_ids) == 2, timeout=30)
    finally:
        src.stop()
        src.join(10)
    assert emit.event_ids == [failure_record(1)["eventID"], failure_record(2)["eventID"]]
