"""Slack failing: 429 storms, 5xx bursts and hanging connections, in the sink and the daemon."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from test_slack_sink import Clock, alert_for, counts
from test_watch_daemon import Daemon, append, file_source, line, write_config

from diagnostics.sinks.slack import SlackSink
from diagnostics.support.state import StateDB
from diagnostics.testing.alert_examples import run_instances_implicit_deny
from diagnostics.testing.slack_receiver import SlackReceiver


def test_mixed_storm_loses_nothing_keeps_order_and_the_rate(tmp_path: Path) -> None:
    """Ten simulated minutes of 429 storms (Retry-After 30 s), 500 bursts and hanging posts,
    with an alert every 4 s: all 150 arrive once, in order, never faster than 1/s, and
    never sooner than a Retry-After asked."""
    clock = Clock()
    state = StateDB.in_dir(tmp_path)
    with SlackReceiver(clock=clock) as rx:
        sink = SlackSink(
            "slack", rx.url, clock=clock, start=False, state=state, timeout=0.2, spool_max=1000
        )
        schedule = {  # simulated second -> fault scripted then
            0: lambda: rx.rate_limit(retry_after=30, count=5),
            100: lambda: rx.fail(500, count=6),
            200: lambda: rx.hang(seconds=0.5, count=3),
            300: lambda: rx.rate_limit(retry_after=30, for_seconds=120),
            450: lambda: rx.fail(503, for_seconds=100),
        }
        start = clock.now
        made, next_alert, wake = 0, clock.now, clock.now
        while made < 150 or sink.spooled():
            clock.now = min(next_alert, wake) if made < 150 else wake
            for at in [t for t in schedule if clock.now - start >= t]:
                schedule.pop(at)()
            if made < 150 and clock.now >= next_alert:
                sink.send([alert_for(run_instances_implicit_deny(), made)])
                made += 1
                next_alert += 4
            if clock.now >= wake:
                w = sink.step()
                wake = clock.now + (w if w is not None else 4)
            assert clock.now - start < 3600, "never drained"
        posts = rx.posts
    assert counts(rx) == list(range(1, 151))
    assert sink.dropped == 0 and sink.rejected == 0
    # A hung post is recorded when the receiver gives up on it, not when it came in.
    answered = [p for p in posts if p.status != 0]
    close = [
        (a.status, b.status, b.time - a.time)
        for a, b in pairwise(answered)
        if b.time - a.time < 1.0 - 1e-9
    ]
    assert close == [], "posts closer than max_per_second allows"
    for before, after in pairwise(posts):
        if before.status == 429:
            assert after.time - before.time >= 30 - 1e-9
    assert {p.status for p in posts} >= {200, 429, 500, 503, 0}


def test_spool_bound_drops_the_newest_of_one_account_and_counts_them(tmp_path: Path) -> None:
    """Slack down longer than the spool holds: one account's newest first alerts are dropped and
    counted, its oldest spool_max arrive once Slack is back."""
    clock = Clock()
    with SlackReceiver(clock=clock) as rx:
        rx.fail(500, for_seconds=10_000)
        sink = SlackSink(
            "slack", rx.url, clock=clock, start=False, state=StateDB.in_dir(tmp_path), spool_max=20
        )
        for i in range(50):
            sink.send([alert_for(run_instances_implicit_deny(), i)])
        assert sink.spooled() == 20 and sink.dropped == 30
        rx.heal()
        clock.now += 10_000
        while sink.spooled():
            w = sink.step()
            clock.now += w or 0.0
    assert counts(rx) == list(range(1, 21))


@pytest.mark.slow
def test_daemon_stopped_while_slack_is_down_delivers_on_the_next_start(tmp_path: Path) -> None:
    """Slack answering 500: SIGTERM cannot deliver, the spool keeps the alerts in the state
    database, and the next start delivers each exactly once."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    with SlackReceiver() as rx:
        rx.fail(500, for_seconds=3600)  # until healed
        cfg = write_config(tmp_path, file_source(logdir))
        cfg.write_text(
            cfg.read_text() + '[[sink]]\ntype = "slack"\nname = "slack"\n'
            'webhook_url_env = "HOOK"\nmax_per_second = 20\n'
        )
        env = {"HOOK": rx.url}
        d = Daemon(tmp_path, cfg, env=env)
        try:
            d.wait_ready()
            append(logdir / "app.log", "".join(line(i, "down") for i in range(5)))
            d.wait_resources(5)  # stdout got them; Slack refused
            d.wait_for(lambda: len(rx.posts) >= 1, 60, "a Slack attempt")
        finally:
            assert d.stop() == 0
        assert rx.accepted == []
        rx.heal()
        d2 = Daemon(tmp_path, cfg, env=env)
        try:
            d2.wait_ready()
            assert rx.wait_for(5, timeout=30)
        finally:
            assert d2.stop() == 0
        bodies = [p.body for p in rx.accepted]
    assert len(bodies) == 5 and len(set(bodies)) == 5
    assert d2.resources() == []  # nothing re-alerted to stdout either
