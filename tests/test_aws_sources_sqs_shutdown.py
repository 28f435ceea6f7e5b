"""The SQS source's two-phase shutdown (SIGTERM, rolling restarts), against moto in-process.

The service calls ``stop()``, drains its queue (committing alerts), then
``join()``; every message committed before ``join()`` must be deleted, and
the ones never committed handed back to the queue for another worker.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import test_aws_sources as helpers
from test_aws_sources import Committer, _counts, _queue, _sqs_source
from test_aws_sources_helpers import eventbridge, failure_record

from diagnostics.sources.base import Event, FoundFailures
from diagnostics.support.state import StateDB

# The moto and state-database fixtures of the source tests, reused by name.
aws_env = helpers.aws
state_db = helpers.state


def _until(pred: Callable[[], bool], timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def test_sqs_commits_landing_between_stop_and_join_are_deleted(
    aws_env: None, state_db: StateDB
) -> None:
    """A message committed before stop() and one committed during the drain (after stop(),
    before join()) are both deleted; one never committed is visible again for other workers
    as soon as join() returns, not after its visibility timeout."""
    sqs, url = _queue(visibility=60)
    for n in (1, 2, 3):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(eventbridge(failure_record(n))))
    src, ctx = _sqs_source(state_db, url, visibility_timeout=60)
    held = Committer(state_db, commit=False)
    lock = threading.Lock()

    def emit(ev: Event) -> bool:
        with lock:
            return held(ev)

    def commit(n: int) -> None:
        ev = next(
            e
            for e in held.events
            if isinstance(e, FoundFailures)
            and e.failures[0].source.event_id == failure_record(n)["eventID"]
        )
        assert ev.mark is not None
        with state_db.transaction() as conn:
            ev.mark(conn)

    src.start(emit)
    try:
        assert _until(lambda: len(held.events) == 3)
        commit(1)
        src.stop()
        # The first delete lands (a tick, or the old stop-time final pass) ...
        assert _until(lambda: ctx.stats.get("sqs_messages_deleted", 0) >= 1)
        # ... then the drain commits another message.
        commit(2)
    finally:
        started = time.monotonic()
        src.join(5)
        joined = time.monotonic() - started
    assert ctx.stats["sqs_messages_deleted"] == 2
    # Once by the final pass; a poll under way at stop() that picked it up again hands
    # it back a second time.
    assert ctx.stats["sqs_released"] in (1, 2)
    assert _counts(sqs, url) == (1, 0)  # only the uncommitted one, visible right away
    assert joined < 5
    left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["detail"]["eventID"] for m in left] == [
        failure_record(3)["eventID"]
    ]
    assert src.inflight == 0


def test_sqs_stop_keeps_deleting_during_the_drain(aws_env: None, state_db: StateDB) -> None:
    """After stop() the source receives nothing more, but a commit during the drain is still
    deleted before join() is called (the acker keeps running until join)."""
    sqs, url = _queue(visibility=60)
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(eventbridge(failure_record(1))))
    src, ctx = _sqs_source(state_db, url, visibility_timeout=60)
    held = Committer(state_db, commit=False)
    src.start(held)
    try:
        assert _until(lambda: len(held.events) == 1)
        src.stop()
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(eventbridge(failure_record(2))))
        mark = held.events[0].mark
        assert mark is not None
        with state_db.transaction() as conn:
            mark(conn)
        assert _until(lambda: ctx.stats.get("sqs_messages_deleted", 0) == 1)
        assert _counts(sqs, url) == (1, 0)  # the one sent after stop() was not received
    finally:
        src.join(5)
    assert len(held.events) == 1


def test_sqs_a_poll_answered_after_stop_hands_its_messages_back(
    aws_env: None, state_db: StateDB
) -> None:
    """A receive that was under way when stop() came (a long poll cannot be cut short) may
    return a message the final pass had just handed back.  It is handed back again at once:
    not emitted, not held in flight, and visible for another worker, not hidden for its
    visibility timeout."""
    sqs, url = _queue(visibility=60)
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(eventbridge(failure_record(1))))
    src, ctx = _sqs_source(state_db, url, visibility_timeout=60)
    held = Committer(state_db, commit=False)
    src.stop()
    # The answer of the poll that was in flight when stop() came.
    assert src.receive_once(held) == 1
    assert held.events == []
    assert src.inflight == 0
    assert ctx.stats["sqs_released"] == 1
    assert _counts(sqs, url) == (1, 0)
    src.join(5)
