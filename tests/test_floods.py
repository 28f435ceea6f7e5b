"""Floods and storms: a bounded state database, storm alerts, a spool that keeps new problems."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from diagnostics.alerts import Alert, AlertManager, AlertSettings
from diagnostics.model import Diagnosis, Failure, SourceRef
from diagnostics.sinks import SlackSink, build_payload
from diagnostics.sinks.spool import FIRST, REPEAT, Spool
from diagnostics.sinks.text import render_text
from diagnostics.state import StateDB
from diagnostics.testing.slack_receiver import SlackReceiver, check_payload


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Collect:
    """A sink that keeps what it is sent."""

    name = "collect"

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alerts: list[Alert]) -> None:
        self.alerts.extend(alerts)

    def close(self, timeout: float) -> None:
        pass

    def reopen(self) -> None:
        pass


def denial(i: int, *, account: str | None = None, principal: str | None = None,
           action: str = "s3:GetObject") -> Diagnosis:  # fmt: skip
    """A plain implicit denial; unique per ``i`` unless account and principal are given."""
    acct = account or f"{100000000000 + i}"
    who = principal or f"arn:aws:iam::{acct}:user/u{i}"
    return Diagnosis(
        failure=Failure(
            kind="plain",
            source=SourceRef("/var/log/app.log", i + 1, i * 100),
            principal_arn=who,
            account_id=acct,
            action=action,
            resource=f"arn:aws:s3:::bucket/key-{i}",
            policy_type="identity",
            explicit_deny=False,
        )
    )


def test_state_db_stays_under_max_groups(tmp_path: Path) -> None:
    """5,000 distinct failures keep at most max_groups live groups; every eviction is counted."""
    state = StateDB.in_dir(tmp_path)
    sink = Collect()
    clock = Clock()
    settings = AlertSettings(group_wait=0, max_groups=200, storm_threshold=0)
    mgr = AlertManager(settings, state, [sink], clock=clock)
    for i in range(5000):
        clock.now += 0.01
        mgr.add(denial(i))
        if i % 100 == 99:
            mgr.tick()
    stats = mgr.stats()
    assert stats["groups"] <= 200
    assert stats["evicted_groups"] >= 4800
    assert stats.get("evicted_unsent", 0) == 0, "notified groups go before unsent ones"
    assert len(sink.alerts) >= 4900, "groups evicted after their alert went out"
    state.close()


def test_an_unsent_alert_outlives_quiet_groups(tmp_path: Path) -> None:
    """A full table evicts delivered, quiet groups before a group whose alert is not out yet."""
    state = StateDB.in_dir(tmp_path)
    sink = Collect()
    clock = Clock()
    mgr = AlertManager(AlertSettings(group_wait=0, max_groups=100, storm_threshold=0),
                       state, [sink], clock=clock)  # fmt: skip
    for i in range(100):
        mgr.add(denial(i))
    mgr.tick()  # all 100 delivered: quiet now
    mgr.settings = AlertSettings(group_wait=3600, max_groups=100, storm_threshold=0)
    real = denial(0, account="222222222222", principal="arn:aws:iam::222222222222:role/real")
    mgr.add(real)
    for i in range(100, 150):
        clock.now += 1
        mgr.add(denial(i))
    mgr.flush()
    names = [a.diagnosis.failure.principal_arn for a in sink.alerts[100:]]
    assert "arn:aws:iam::222222222222:role/real" in names
    assert mgr.stats().get("evicted_unsent", 0) == 0
    state.close()


def test_a_storm_of_new_groups_is_one_alert_with_top_actions() -> None:
    """500 new failures for one principal within the window make one storm alert, with counts."""
    sink = Collect()
    clock = Clock()
    mgr = AlertManager(AlertSettings(group_wait=30, storm_threshold=10, storm_window=300),
                       None, [sink], clock=clock)  # fmt: skip
    attacker = "arn:aws:iam::333333333333:user/prober"
    actions = ["iam:ListUsers"] * 3 + ["s3:ListBucket"] * 2 + ["ec2:DescribeVpcs"]
    for i in range(500):
        clock.now += 0.1
        mgr.add(denial(i, account="333333333333", principal=attacker, action=actions[i % 6]))
    mgr.add(denial(9, account="444444444444", principal="arn:aws:iam::444444444444:user/ok"))
    clock.now += 31
    mgr.tick()
    storms = [a for a in sink.alerts if a.storm]
    others = [a for a in sink.alerts if not a.storm]
    assert len(storms) == 1 and len(others) == 1, "not 500 alerts"
    storm = storms[0].storm
    assert storm is not None
    assert storm["scope"] == "principal" and storm["value"] == attacker
    assert storm["groups"] == 500
    assert storm["top_actions"][0] == {"action": "iam:listusers", "groups": 251}
    assert storms[0].count == 500
    text = render_text(storms[0])
    assert "storm     500 distinct failures collapsed for principal" in text
    assert "storm of 500 distinct denials, 500 times" in text.splitlines()[0]
    payload = build_payload(storms[0])
    assert "storm of 500 distinct denials" in payload["blocks"][0]["text"]["text"]
    assert any("Storm:" in str(b) and "iam:listusers (251)" in str(b) for b in payload["blocks"])
    assert orjson.loads(orjson.dumps(storms[0].to_json()))["storm"]["groups"] == 500


def test_storm_ends_when_the_window_passes() -> None:
    """After a quiet storm_window a new failure for the stormy principal gets its own alert."""
    sink = Collect()
    clock = Clock()
    mgr = AlertManager(AlertSettings(group_wait=0, storm_threshold=3, storm_window=60),
                       None, [sink], clock=clock)  # fmt: skip
    who = "arn:aws:iam::333333333333:user/p"
    for i in range(10):
        mgr.add(denial(i, account="333333333333", principal=who))
    clock.now += 120
    mgr.add(denial(99, account="333333333333", principal=who))
    mgr.tick()
    last = sink.alerts[-1]
    assert last.storm is None and last.diagnosis.failure.resource == "arn:aws:s3:::bucket/key-99"


def test_full_spool_drops_repeats_before_first_alerts(tmp_path: Path) -> None:
    """A spool of 3 full of one first alert keeps it while 10 repeats arrive; drops are counted."""
    db = StateDB.in_dir(tmp_path)
    spool = Spool(db, "slack:x", 3)
    spool.push([b"first"], 1.0, [FIRST])
    for n in range(10):
        spool.push([f"repeat-{n}".encode()], 2.0, [REPEAT])
    item = spool.peek()
    assert item is not None and item[1] == b"first"
    assert spool.dropped() == 8 and spool.unreported() == 8
    spool.reported(8)
    assert spool.unreported() == 0
    db.close()


@pytest.mark.slow
def test_real_denial_during_a_slack_outage_survives_1500_noise_failures(tmp_path: Path) -> None:
    """A real denial sent while Slack fails, amid 1,500 noise failures, is posted after recovery."""
    state = StateDB.in_dir(tmp_path)
    with SlackReceiver() as rx:
        rx.fail(500, for_seconds=3600)
        sink = SlackSink("slack", rx.url, spool_max=100, max_per_second=100, state=state,
                         backoff_base=0.05, backoff_cap=0.2, timeout=5)  # fmt: skip
        mgr = AlertManager(AlertSettings(group_wait=0, group_interval=0, storm_threshold=50),
                           state, [sink])  # fmt: skip
        mgr.add(denial(0, account="555555555555",
                       principal="arn:aws:iam::555555555555:role/real-deployer"))  # fmt: skip
        mgr.tick()
        for i in range(1500):  # forged lines: one account, a new principal each
            mgr.add(denial(i, account="666666666666"))
            if i % 10 == 9:
                mgr.tick()
        mgr.flush()
        time.sleep(0.3)
        assert not rx.accepted, "Slack was failing"
        rx.heal()
        deadline = time.monotonic() + 30
        while sink.spooled() and time.monotonic() < deadline:
            time.sleep(0.05)
        sink.close(5)
        bodies = [p.body for p in rx.accepted]
    state.close()
    assert any(b"real-deployer" in b for b in bodies), "the real alert was delivered"
    assert any(b"storm" in b for b in bodies), "the noise came as a storm alert"
    assert len(bodies) <= 100
    assert sink.dropped > 0, "the spool overflowed (with storm updates, not first alerts)"
    assert b"were dropped while Slack was unreachable" in bodies[0]


def test_a_storm_for_a_hostile_principal_renders_inert() -> None:
    """A storm named after a principal full of controls and markup prints and posts inert."""
    sink = Collect()
    clock = Clock()
    mgr = AlertManager(AlertSettings(group_wait=0, storm_threshold=2), None, [sink], clock=clock)
    who = "arn:aws:iam::333333333333:user/\x1b[31mx\u202e<!here>*b* https://evil.example"
    for i in range(5):
        mgr.add(denial(i, account="333333333333", principal=who, action=f"s3:Get{i}\x07"))
    mgr.tick()
    (storm,) = [a for a in sink.alerts if a.storm]
    text = render_text(storm)
    assert not any(c in text for c in "\x1b\x07\u202e")
    assert check_payload(build_payload(storm)) == []


def test_a_spool_written_by_an_older_version_is_upgraded(tmp_path: Path) -> None:
    """A state database whose spool predates ranks keeps its messages and gains the new columns."""
    db = StateDB.in_dir(tmp_path)
    with db.transaction() as conn:
        conn.execute(
            "CREATE TABLE sink_spool (id INTEGER PRIMARY KEY AUTOINCREMENT, sink TEXT NOT NULL, "
            "created REAL NOT NULL, payload BLOB NOT NULL)"
        )
        conn.execute(
            "CREATE TABLE sink_spool_stats (sink TEXT PRIMARY KEY, "
            "dropped INTEGER NOT NULL DEFAULT 0)"
        )
        conn.execute("INSERT INTO sink_spool (sink, created, payload) VALUES ('s', 1, x'6f6c64')")
    spool = Spool(db, "s", 2)
    spool.push([b"r1", b"r2"], 2.0, [REPEAT, REPEAT])
    item = spool.peek()
    assert item is not None and item[1] == b"old", "the old message ranks as a first alert"
    assert spool.unreported() == 1
    db.close()


def test_metrics_show_live_groups_evictions_and_suppressed_failures() -> None:
    """/metrics exposes the live groups, evicted groups and failures not alerted, by reason."""
    import dataclasses

    from prometheus_client import generate_latest

    from diagnostics.service.metrics import LiveView, ServiceMetrics

    clock = Clock()
    mgr = AlertManager(
        AlertSettings(group_wait=0, max_groups=100, storm_threshold=0,
                      accounts=frozenset({"100000000000"})),
        None, [Collect()], clock=clock,
    )  # fmt: skip
    for i in range(150):
        clock.now += 1
        d = denial(i, account="100000000000", principal=f"arn:aws:iam::100000000000:user/u{i}")
        mgr.add(d)
        mgr.tick()
    forged = denial(1)
    mgr.add(dataclasses.replace(forged, failure=dataclasses.replace(forged.failure, embedded=True)))
    mgr.add(denial(2, account="999999999999"))
    metrics = ServiceMetrics(
        LiveView(sinks=list, sources=list, last_checkpoint=lambda: 0.0, alert_stats=mgr.stats)
    )
    text = generate_latest(metrics.registry).decode()
    assert "authz_diag_alert_groups 100.0" in text
    assert 'authz_diag_alert_groups_evicted_total{unsent="false"} 50.0' in text
    assert 'authz_diag_failures_suppressed_total{reason="embedded"} 1.0' in text
    assert 'authz_diag_failures_suppressed_total{reason="account"} 1.0' in text
