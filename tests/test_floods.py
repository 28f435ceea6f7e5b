"""Floods and storms: a bounded state database, storm alerts, a spool that keeps new problems."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import orjson
import pytest

from diagnostics.alerts import Alert, AlertManager, AlertSettings
from diagnostics.model import Diagnosis, Failure, SourceRef
from diagnostics.sinks import SlackSink, build_payload
from diagnostics.sinks.spool import FIRST, REPEAT, STORM, Dropped, Spool
from diagnostics.sinks.text import render_text
from diagnostics.support.state import StateDB
from diagnostics.testing.slack_receiver import SlackReceiver, check_payload

REAL = "arn:aws:iam::555555555555:role/real-deployer"


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
           action: str = "s3:GetObject", path: str = "/var/log/app.log") -> Diagnosis:  # fmt: skip
    """A plain implicit denial; unique per ``i`` unless account and principal are given."""
    acct = account or f"{100000000000 + i}"
    who = principal or f"arn:aws:iam::{acct}:user/u{i}"
    return Diagnosis(
        failure=Failure(
            kind="plain",
            source=SourceRef(path, i + 1, i * 100),
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
    assert spool.dropped() == 8 and spool.unreported() == Dropped(repeat=8)
    spool.reported(Dropped(repeat=8))
    assert spool.unreported() == Dropped()
    db.close()


def _drain(spool: Spool) -> list[bytes]:
    out = []
    while (item := spool.peek()) is not None:
        out.append(item[1])
        spool.remove(item[0])
    return out


def test_full_spool_keeps_the_oldest_first_alert_of_every_account(tmp_path: Path) -> None:
    """A spool full of first alerts drops the newest of the most crowded account, never an
    account's only alert, and storm summaries and repeats before any first alert."""
    db = StateDB.in_dir(tmp_path)
    spool = Spool(db, "slack:x", 4)
    spool.push([b"real"], 1.0, [FIRST], ["555555555555"])
    spool.push([b"storm", b"update"], 1.5, [STORM, REPEAT], [None, "666666666666"])
    for n in range(5):
        spool.push([f"noise-{n}".encode()], 2.0, [FIRST], ["666666666666"])
    spool.push([b"other"], 3.0, [FIRST], ["777777777777"])
    assert _drain(spool) == [b"real", b"noise-0", b"noise-1", b"other"]
    assert spool.unreported() == Dropped(first=3, storm=1, repeat=1)
    assert spool.dropped() == 5
    db.close()


def test_full_spool_of_lone_first_alerts_keeps_the_oldest(tmp_path: Path) -> None:
    """When every account has one first alert and there is no room, the newest go: the real
    denial that came before a flood of one-per-account forgeries stays."""
    db = StateDB.in_dir(tmp_path)
    spool = Spool(db, "slack:x", 3)
    spool.push([b"real"], 1.0, [FIRST], ["555555555555"])
    for n in range(10):
        spool.push([f"noise-{n}".encode()], 2.0, [FIRST], [f"{100000000000 + n}"])
    assert _drain(spool) == [b"real", b"noise-0", b"noise-1"]
    assert spool.unreported() == Dropped(first=8)
    db.close()


def test_drop_notice_and_log_line_say_what_was_dropped(tmp_path: Path) -> None:
    """The next delivered Slack message and the slack.spool_full line name the kinds dropped."""
    from structlog.testing import capture_logs

    clock = Clock()
    with SlackReceiver(clock=clock) as rx:
        rx.fail(500, for_seconds=60)
        sink = SlackSink("slack", rx.url, clock=clock, start=False, spool_max=2, timeout=5)
        alerts = [_alert(denial(i)) for i in range(4)]
        with capture_logs() as logs:
            sink.send(alerts[:1])
            sink.send([dataclasses.replace(alerts[0], status="repeat")])
            sink.send(alerts[1:])
        full = [e for e in logs if e["event"] == "slack.spool_full"]
        assert sum(e["dropped"] for e in full) == 3
        assert sum(e["dropped_first"] for e in full) == 2
        assert sum(e["dropped_repeat"] for e in full) == 1
        assert "2 first alerts" in full[-1]["hint"] and "oldest repeats" not in full[-1]["hint"]
        rx.heal()
        clock.now += 120
        while (w := sink.step()) is not None:
            clock.now += w
    note = rx.accepted[0].json["text"]
    assert note.startswith("3 earlier alert(s) were dropped while Slack was unreachable")
    assert "2 first alerts" in note and "1 repeat or update" in note
    assert "storm" not in note
    assert "were dropped" not in rx.accepted[1].json["text"], "reported once"


def _alert(d: Diagnosis) -> Alert:
    from diagnostics.alerts import group_key

    return Alert(key=group_key(d), status="new", count=1, first_seen=1.0, last_seen=1.0,
                 sources=(), samples=(), diagnosis=d, diagnoses=(d,))  # fmt: skip


def test_noise_over_1100_accounts_in_one_file_becomes_a_source_storm() -> None:
    """1,100 new failures from one log file, each naming another account, make one storm alert
    with top actions and accounts; the real denial before them keeps its own alert."""
    sink = Collect()
    clock = Clock()
    mgr = AlertManager(AlertSettings(group_wait=30), None, [sink], clock=clock)
    mgr.add(denial(0, account="555555555555", principal=REAL))
    clock.now += 31
    mgr.tick()
    for i in range(1, 1101):
        clock.now += 0.01
        mgr.add(denial(i, action="kms:Decrypt" if i % 3 else "s3:GetObject"))
    clock.now += 31
    mgr.tick()
    storms = [a for a in sink.alerts if a.storm]
    firsts = [a for a in sink.alerts if not a.storm]
    assert len(storms) == 1, "one storm alert, not 1,100 first alerts"
    assert firsts[0].diagnosis.failure.principal_arn == REAL
    # The 100 groups that opened before the threshold was crossed keep their alerts
    # (the real one among them); everything from the crossing on is one storm.
    assert len(firsts) == 100
    storm = storms[0].storm
    assert storm is not None
    assert (storm["scope"], storm["value"]) == ("source", "/var/log/app.log")
    assert storm["groups"] == 1001 and storms[0].count == 1001
    assert storm["top_actions"][0] == {"action": "kms:decrypt", "groups": 668}
    assert len(storm["top_accounts"]) == 5 and storm["top_accounts"][0]["groups"] == 1
    text = render_text(storms[0])
    assert "collapsed for source /var/log/app.log" in text and "top accounts" in text


def test_noise_over_1100_accounts_and_files_becomes_a_global_storm() -> None:
    """New failures each naming another account in another file collapse into one storm over
    every source once more than storm_global_threshold open within the window."""
    sink = Collect()
    clock = Clock()
    settings = AlertSettings(group_wait=30, storm_global_threshold=50)
    mgr = AlertManager(settings, None, [sink], clock=clock)
    for i in range(1100):
        clock.now += 0.01
        mgr.add(denial(i, path=f"/var/log/app/{i}.log"))
    clock.now += 31
    mgr.tick()
    storms = [a for a in sink.alerts if a.storm]
    assert len(storms) == 1 and len(sink.alerts) == 51
    assert storms[0].storm is not None
    assert storms[0].storm["scope"] == "global" and storms[0].storm["groups"] == 1050
    assert "collapsed across all sources" in render_text(storms[0])


def test_storm_threshold_zero_turns_every_storm_scope_off() -> None:
    """storm_threshold = 0 keeps one alert per distinct failure, whatever the source or global
    thresholds say (configs that turned storms off stay off)."""
    sink = Collect()
    clock = Clock()
    settings = AlertSettings(group_wait=0, storm_threshold=0, storm_source_threshold=5,
                             storm_global_threshold=5)  # fmt: skip
    mgr = AlertManager(settings, None, [sink], clock=clock)
    for i in range(50):
        mgr.add(denial(i))
    mgr.tick()
    assert len(sink.alerts) == 50 and not any(a.storm for a in sink.alerts)


def test_source_and_global_storm_thresholds_are_read_from_alerts(tmp_path: Path) -> None:
    """[alerts] storm_source_threshold and storm_global_threshold reach the alert manager;
    a negative one is refused with the key's name."""
    from diagnostics.errors import ConfigError
    from diagnostics.service.config import parse_config
    from diagnostics.service.runtime import build_runtime

    raw = {
        "state_dir": str(tmp_path / "state"),
        "decode": {"enabled": False},
        "alerts": {"storm_source_threshold": 7, "storm_global_threshold": 0},
        "sink": [{"type": "stdout"}],
        "source": [{"type": "stdin"}],
    }
    cfg = parse_config(raw, tmp_path / "watch.toml")
    defaults = parse_config({**raw, "alerts": {}}, tmp_path / "watch.toml").alerts
    assert (defaults.storm_source_threshold, defaults.storm_global_threshold) == (100, 300)
    state = StateDB.in_dir(tmp_path / "state")
    rt = build_runtime(cfg, state)
    assert rt.alerts.settings.storm_source_threshold == 7
    assert rt.alerts.settings.storm_global_threshold == 0
    rt.alerts.close(1.0)
    state.close()
    with pytest.raises(ConfigError, match="storm_source_threshold"):
        parse_config({**raw, "alerts": {"storm_source_threshold": -1}}, tmp_path / "watch.toml")


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
        assert not rx.accepted, "Slack was failing"
        waiting = sink.spooled()
        rx.heal()
        assert rx.wait_for(waiting, timeout=120), "the spool drained after the outage"
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
    assert spool.unreported() == Dropped(repeat=1)
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


def _kind(payload: dict[str, object]) -> str:
    """What a posted Slack message is: a group's first alert, a storm's first, or a later one."""
    text = orjson.dumps(payload["blocks"]).decode()
    if "*NEW*" not in text:
        return "repeat"
    return "storm" if "*Storm:*" in text else "first"


@pytest.mark.slow
@pytest.mark.parametrize("spool_max", [150, 50])
def test_real_denial_survives_an_outage_amid_noise_over_1000_accounts(
    tmp_path: Path, spool_max: int
) -> None:
    """A real denial, then noise naming 1,000 accounts while Slack fails: after recovery the real
    alert and a storm alert are posted, and the first message says truly what was dropped."""
    from structlog.testing import capture_logs

    state = StateDB.in_dir(tmp_path)
    sent: dict[str, int] = {"first": 0, "storm": 0, "repeat": 0}

    def count_sent(sink: str, alerts: object, ok: bool) -> None:
        for a in alerts:  # type: ignore[attr-defined]
            kind = "repeat" if a.status != "new" else ("storm" if a.storm else "first")
            sent[kind] += 1

    with SlackReceiver() as rx, capture_logs() as logs:
        rx.fail(500, for_seconds=3600)
        sink = SlackSink("slack", rx.url, spool_max=spool_max, max_per_second=100, state=state,
                         backoff_base=0.05, backoff_cap=0.2, timeout=5)  # fmt: skip
        mgr = AlertManager(AlertSettings(group_wait=0, group_interval=0), state, [sink],
                           on_delivery=count_sent)  # fmt: skip
        mgr.add(denial(0, account="555555555555", principal=REAL))
        mgr.tick()
        for i in range(1, 1001):  # forged lines in one log file, each naming another account
            mgr.add(denial(i))
            if i % 10 == 0:
                mgr.tick()
        mgr.flush()
        assert not rx.accepted, "Slack was failing"
        waiting = sink.spooled()
        rx.heal()
        assert rx.wait_for(waiting, timeout=120), "the spool drained after the outage"
        bodies = [p.json for p in rx.accepted]
        spooled = dict(sent)  # what went into the spool during the outage
        # The noise keeps coming after the outage: the ongoing storm is posted again.
        mgr.add(denial(1001))
        mgr.tick()
        assert rx.wait_for(waiting + 1, timeout=120)
        last = rx.accepted[-1].json
        sink.close(5)
    state.close()
    assert REAL.encode() in orjson.dumps(bodies[0]), "the real alert is the first one posted"
    storm_posts = [b for b in [*bodies, last] if "*Storm:*" in orjson.dumps(b["blocks"]).decode()]
    assert storm_posts, "the noise was collapsed into a storm alert"
    storm_text = orjson.dumps(storm_posts[-1]).decode()
    assert "collapsed for source /var/log/app.log" in storm_text
    assert "top accounts" in storm_text
    assert sum(1 for b in bodies if _kind(b) == "first") <= 100, "not 1,000 first alerts"
    posted = {k: sum(1 for b in bodies if _kind(b) == k) for k in sent}
    lost = {k: spooled[k] - posted[k] for k in sent}
    total = sum(lost.values())
    assert total == sink.dropped > 0
    assert "were dropped while Slack was unreachable" in bodies[0]["text"]
    # Each note says what was dropped by the time its message was sent; a drop that
    # lands while the first post is on its way is told by the next message.
    notes = [b["text"] for b in bodies if "were dropped while Slack" in b["text"]]
    told = sum(int(m) for n in notes for m in re.findall(r"(\d+) earlier alert", n))
    assert told == total, notes
    words = {"first": "first alert", "storm": "storm summar", "repeat": "repeat"}
    for kind, word in words.items():
        said = sum(int(m) for n in notes for m in re.findall(rf"(\d+) {word}", n))
        assert said == lost[kind], (kind, lost, notes)
    if spool_max < 100:
        assert lost["first"] > 0, "more first alerts than the spool holds"
    full = [e for e in logs if e["event"] == "slack.spool_full"]
    assert sum(e["dropped"] for e in full) == total
    for kind in sent:
        assert sum(e[f"dropped_{kind}"] for e in full) == lost[kind]
    if lost["first"]:
        assert all("oldest repeats" not in e["hint"] for e in full)
