"""An SQS message is deleted only once its alerts are delivered, not when they are stored.

A worker on an ephemeral host (a pod, an ECS task, a scaled-in instance) that
dies for good never delivers what it had only written to its own state, so
the queue must keep the message until every sink has the alert.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import test_aws_sources as helpers
from test_aws_sources import _counts, _queue, _sqs_source
from test_aws_sources_helpers import eventbridge, failure_record

from diagnostics.alerts import Alert, AlertManager, AlertSettings
from diagnostics.errors import SinkError
from diagnostics.model import Owed
from diagnostics.sinks import SlackSink
from diagnostics.sources.base import Event, FoundFailures
from diagnostics.support.state import StateDB
from diagnostics.testing.alert_examples import run_instances_implicit_deny
from diagnostics.testing.slack_receiver import SlackReceiver

aws_env = helpers.aws
state_db = helpers.state


def _until(pred: Callable[[], bool], timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


class Gate:
    """Stands in for the alert manager: the notifications owed are out once ``open``."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.asked: list[tuple[Owed, ...]] = []

    def __call__(self, owed: tuple[Owed, ...]) -> bool:
        self.asked.append(owed)
        return self.open.is_set()


def _committing(state: StateDB, owed: tuple[Owed, ...]) -> tuple[list[FoundFailures], Callable]:
    """An emit that commits each message like the service, telling it what it waits on."""
    events: list[FoundFailures] = []

    def emit(ev: Event) -> bool:
        assert isinstance(ev, FoundFailures)
        events.append(ev)
        with state.transaction() as conn:
            if ev.awaits is not None:
                ev.awaits(owed)
            if ev.mark is not None:
                ev.mark(conn)
        return True

    return events, emit


def test_a_committed_message_waits_for_delivery_then_is_deleted(
    aws_env: None, state_db: StateDB
) -> None:
    """Committed but undelivered: kept invisible past its visibility timeout; delivered: deleted."""
    sqs, url = _queue(visibility=2)
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(eventbridge(failure_record(1))))
    src, ctx = _sqs_source(state_db, url, visibility_timeout=2)
    gate = Gate()
    ctx.delivered = gate
    events, emit = _committing(state_db, (Owed("group-1", 1),))
    src.start(emit)
    try:
        assert _until(lambda: len(events) == 1)
        # Twice past half its visibility timeout: extended, not deleted, not back in the queue.
        assert _until(lambda: ctx.stats.get("sqs_visibility_extended", 0) >= 2)
        assert ctx.stats.get("sqs_messages_deleted", 0) == 0
        assert _counts(sqs, url) == (0, 1)
        assert (Owed("group-1", 1),) in gate.asked
        gate.open.set()
        assert _until(lambda: ctx.stats.get("sqs_messages_deleted", 0) == 1)
    finally:
        src.join(5)
    assert _counts(sqs, url) == (0, 0)
    assert src.inflight == 0


def test_stopping_hands_back_what_was_committed_but_not_delivered(
    aws_env: None, state_db: StateDB
) -> None:
    """At shutdown an undelivered message goes back to the queue at once, for another worker."""
    sqs, url = _queue(visibility=60)
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(eventbridge(failure_record(2))))
    src, ctx = _sqs_source(state_db, url, visibility_timeout=60)
    ctx.delivered = Gate()
    events, emit = _committing(state_db, (Owed("group-2", 1),))
    src.start(emit)
    try:
        assert _until(lambda: len(events) == 1)
        assert _until(lambda: src.inflight == 1 and ctx.stats.get("sqs_messages_deleted", 0) == 0)
    finally:
        src.join(5)
    assert ctx.stats.get("sqs_messages_deleted", 0) == 0
    assert ctx.stats["sqs_released"] == 1
    assert _counts(sqs, url) == (1, 0)


def test_a_message_owing_nothing_is_deleted_at_once(aws_env: None, state_db: StateDB) -> None:
    """Repeats of alerts already sent owe nothing: the message is deleted after its commit."""
    sqs, url = _queue(visibility=60)
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(eventbridge(failure_record(3))))
    src, ctx = _sqs_source(state_db, url, visibility_timeout=60)
    gate = Gate()  # closed: anything owed would wait
    ctx.delivered = gate
    _events, emit = _committing(state_db, ())
    src.start(emit)
    try:
        assert _until(lambda: ctx.stats.get("sqs_messages_deleted", 0) == 1)
    finally:
        src.join(5)
    assert _counts(sqs, url) == (0, 0)


def test_waiting_messages_do_not_stop_reading(aws_env: None, state_db: StateDB) -> None:
    """While Slack is down, more messages than max_inflight are still read and committed."""
    sqs, url = _queue(visibility=60)
    for n in range(6):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(eventbridge(failure_record(n))))
    src, ctx = _sqs_source(state_db, url, visibility_timeout=60, max_inflight=2)
    gate = Gate()
    ctx.delivered = gate
    events, emit = _committing(state_db, (Owed("g", 1),))
    src.start(emit)
    try:
        assert _until(lambda: len(events) == 6)
        assert ctx.stats.get("sqs_messages_deleted", 0) == 0
        gate.open.set()
        assert _until(lambda: ctx.stats.get("sqs_messages_deleted", 0) == 6)
    finally:
        src.join(5)


class Recorder:
    """A sink that records what it accepted, and fails while told to."""

    detail = "full"

    def __init__(self) -> None:
        self.name = "rec"
        self.alerts: list[Alert] = []
        self.fail = False

    def send(self, alerts: Sequence[Alert]) -> None:
        if self.fail:
            raise SinkError("recorder told to fail")
        self.alerts.extend(alerts)

    def close(self, timeout: float) -> None:
        pass

    def reopen(self) -> None:
        pass


@pytest.fixture
def manager(tmp_path: Path) -> tuple[AlertManager, Recorder]:
    sink = Recorder()
    state = StateDB.in_dir(tmp_path / "state")
    mgr = AlertManager(
        AlertSettings(group_wait=0, group_interval=300, repeat_interval=3600, storm_threshold=0),
        state,
        [sink],
    )
    return mgr, sink


def test_the_manager_owes_a_new_group_until_its_sink_accepts(
    manager: tuple[AlertManager, Recorder],
) -> None:
    """A new group's first alert is owed until sent; a failing sink keeps it owed."""
    mgr, sink = manager
    owed = mgr.add(run_instances_implicit_deny())
    assert owed is not None and owed.seq == 1
    assert not mgr.delivered((owed,))
    sink.fail = True
    mgr.tick()
    assert not mgr.delivered((owed,))
    sink.fail = False
    mgr.flush()
    assert len(sink.alerts) == 1
    assert mgr.delivered((owed,))


def test_a_repeat_of_a_sent_alert_owes_nothing_but_a_new_variant_does(
    manager: tuple[AlertManager, Recorder],
) -> None:
    """The same failure again is covered by the alert already out; a new blob is not."""
    mgr, _sink = manager
    first = run_instances_implicit_deny()
    mgr.add(first)
    mgr.tick()
    assert mgr.add(first) is None
    other = dataclasses.replace(
        first,
        failure=dataclasses.replace(
            first.failure, resource="arn:aws:ec2:us-east-1:123456789012:instance/i-other"
        ),
    )
    owed = mgr.add(other)
    if owed is not None:  # same group, a new distinct failure: the update is owed
        assert not mgr.delivered((owed,))
        mgr.flush()
        assert mgr.delivered((owed,))


def test_a_group_folded_into_a_storm_is_owed_the_storms_alert(tmp_path: Path) -> None:
    """A failure whose group becomes part of a storm waits for the storm alert."""
    sink = Recorder()
    mgr = AlertManager(
        AlertSettings(group_wait=60, storm_threshold=3, storm_window=300),
        StateDB.in_dir(tmp_path / "state"),
        [sink],
    )
    base = run_instances_implicit_deny()
    owed = []
    for n in range(5):
        d = dataclasses.replace(
            base,
            failure=dataclasses.replace(base.failure, action=f"ec2:RunInstances{n}"),
        )
        o = mgr.add(d)
        assert o is not None
        owed.append(o)
    assert not mgr.delivered(tuple(owed))
    mgr.flush()
    assert len(sink.alerts) == 1 and sink.alerts[0].storm is not None
    assert mgr.delivered(tuple(owed))


def test_a_slack_alert_is_owed_until_posted_not_when_spooled(tmp_path: Path) -> None:
    """Spooled for a Slack that answers 500 is not delivered; posted after it heals is."""
    clock = _Clock()
    state = StateDB.in_dir(tmp_path / "state")
    with SlackReceiver(clock=clock) as rx:
        slack = SlackSink("slack", rx.url, clock=clock, start=False, timeout=5, state=state)
        mgr = AlertManager(
            AlertSettings(group_wait=0, storm_threshold=0), state, [slack], clock=clock
        )
        owed = mgr.add(run_instances_implicit_deny())
        assert owed is not None
        rx.fail(500, count=1)
        mgr.tick()  # the manager has handed it over: it sits in the spool
        assert slack.spooled() == 1
        assert not mgr.delivered((owed,))
        slack.step()  # answered 500: still spooled
        assert not mgr.delivered((owed,))
        clock.now += 60
        slack.step()
        assert [p.status for p in rx.posts] == [500, 200]
        assert mgr.delivered((owed,))


class _Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now
