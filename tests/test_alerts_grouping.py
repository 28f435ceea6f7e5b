"""Alert grouping and Alertmanager timers, driven by an injected clock."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from diagnostics.alerts import (
    Alert,
    AlertManager,
    AlertSettings,
    group_key,
    parse_duration,
)
from diagnostics.errors import ConfigError, SinkError
from diagnostics.model import Finding, Fix, Risk, Verification
from diagnostics.support.state import StateDB
from diagnostics.testing.alert_examples import run_instances_implicit_deny, s3_explicit_deny_scp
from diagnostics.troubleshooter.details import parse_details


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A sink that records every batch (and can be told to fail)."""

    detail = "full"

    def __init__(self, name: str = "rec") -> None:
        self.name = name
        self.batches: list[list[Alert]] = []
        self.fail = False
        self.closed = False

    def send(self, alerts: Sequence[Alert]) -> None:
        if self.fail:
            raise SinkError("recorder told to fail")
        self.batches.append(list(alerts))

    @property
    def alerts(self) -> list[Alert]:
        return [a for b in self.batches for a in b]

    def close(self, timeout: float) -> None:
        self.closed = True

    def reopen(self) -> None:
        pass


SETTINGS = AlertSettings(group_wait=30, group_interval=300, repeat_interval=3600)


def new_fix_variant() -> object:
    d = run_instances_implicit_deny()
    other = Fix("identity", d.findings[0].fixes[0].applies_to, ({"Effect": "Allow"},))
    finding = dataclasses.replace(d.findings[0], fixes=(other,))
    return dataclasses.replace(d, findings=(finding,))


def test_parse_duration_accepts_config_forms() -> None:
    """Durations in the config ("30s", "5m", "4h", "1h30m", "0s") become seconds."""
    assert parse_duration("30s") == 30
    assert parse_duration("5m") == 300
    assert parse_duration("4h") == 14400
    assert parse_duration("1h30m") == 5400
    assert parse_duration("0s") == 0


@pytest.mark.parametrize("bad", ["", "30", "5 minutes", "-1s", "1h 30m", "m5"])
def test_parse_duration_rejects_bad_input_with_hint(bad: str) -> None:
    """A malformed duration is a ConfigError that names the key and shows valid forms."""
    with pytest.raises(ConfigError, match=r"alerts\.group_wait.*\"1h30m\""):
        parse_duration(bad, where="alerts.group_wait")


def test_group_key_ignores_blob_and_session_name() -> None:
    """Different blobs and session names for the same role and denial share one group."""
    a = run_instances_implicit_deny(blob="AAAA")
    b = run_instances_implicit_deny(blob="BBBB")
    failure = dataclasses.replace(
        b.failure,
        principal_arn="arn:aws:sts::123456789012:assumed-role/ci-deployer/other-session",
        action="EC2:runinstances",
    )
    b = dataclasses.replace(b, failure=failure)
    assert group_key(a) == group_key(b)
    assert group_key(a).principal == "arn:aws:iam::123456789012:role/ci-deployer"
    assert "AAAA" not in str(group_key(a).to_json())
    assert group_key(a).id == group_key(b).id
    assert len(group_key(a).id) == 32


def test_group_key_separates_decisions() -> None:
    """An explicit deny and an implicit deny of the same call are different groups."""
    a = run_instances_implicit_deny()
    b = dataclasses.replace(a, failure=dataclasses.replace(a.failure, explicit_deny=True))
    assert group_key(a).id != group_key(b).id
    assert group_key(b).decision == "explicit_deny"


def test_group_wait_then_one_notification_for_many_blobs() -> None:
    """Ten denials with different blobs inside group_wait produce one alert with count 10."""
    clock, sink = Clock(), Recorder()
    m = AlertManager(SETTINGS, None, [sink], clock=clock)
    for i in range(10):
        m.add(run_instances_implicit_deny(blob=f"blob{i}", line=i + 1), sample=f"line {i}")
        clock.now += 1
    m.tick()
    assert sink.alerts == []
    assert m.next_due() == pytest.approx(20)
    clock.now += 20
    m.tick()
    [alert] = sink.alerts
    assert alert.status == "new"
    assert alert.count == 10
    assert alert.new_count == 10
    assert alert.samples == ("line 0", "line 1", "line 2")
    assert alert.sources[-1] == "/var/log/ci/terraform.log:10"
    assert alert.last_seen - alert.first_seen == 9


def test_group_wait_zero_sends_on_next_tick() -> None:
    """With group_wait 0s a diagnosis is sent at the very next tick."""
    clock, sink = Clock(), Recorder()
    m = AlertManager(dataclasses.replace(SETTINGS, group_wait=0), None, [sink], clock=clock)
    m.add(s3_explicit_deny_scp())
    assert m.next_due() == 0
    m.tick()
    assert [a.status for a in sink.alerts] == ["new"]


def test_repeat_within_repeat_interval_only_counts() -> None:
    """More of the same failure after the first alert is not sent before repeat_interval."""
    clock, sink = Clock(), Recorder()
    m = AlertManager(SETTINGS, None, [sink], clock=clock)
    m.add(run_instances_implicit_deny())
    clock.now += 30
    m.tick()
    for _ in range(5):
        clock.now += 60
        m.add(run_instances_implicit_deny(blob="again"))
        m.tick()
    assert len(sink.alerts) == 1
    clock.now = sink.alerts[0].first_seen + 30 + 3600
    m.tick()
    assert [a.status for a in sink.alerts] == ["new", "repeat"]
    assert sink.alerts[1].count == 6
    assert sink.alerts[1].new_count == 5


def test_quiet_group_is_not_repeated() -> None:
    """A group with no new occurrence is not re-notified after repeat_interval."""
    clock, sink = Clock(), Recorder()
    m = AlertManager(SETTINGS, None, [sink], clock=clock)
    m.add(run_instances_implicit_deny())
    clock.now += 30
    m.tick()
    clock.now += 5 * 3600
    m.tick()
    assert len(sink.alerts) == 1
    assert m.next_due() is None


def test_a_denial_that_returns_after_its_group_was_forgotten_is_alerted_again() -> None:
    """Quiet past repeat_interval, the group is forgotten; a recurrence is a new alert, not lost."""
    clock, sink = Clock(), Recorder()
    m = AlertManager(SETTINGS, None, [sink], clock=clock)
    m.add(run_instances_implicit_deny())
    clock.now += 30
    m.tick()
    clock.now += 2 * 3600  # quiet for longer than repeat_interval: forgotten at this tick
    m.tick()
    m.add(run_instances_implicit_deny(blob="back"))
    clock.now += 30
    m.tick()
    assert [a.status for a in sink.alerts] == ["new", "new"]


def test_new_distinct_failure_goes_out_at_next_group_interval() -> None:
    """A new fix in an already-notified group is sent group_interval after the last alert."""
    clock, sink = Clock(), Recorder()
    m = AlertManager(SETTINGS, None, [sink], clock=clock)
    m.add(run_instances_implicit_deny())
    clock.now += 30
    m.tick()
    sent_at = clock.now
    clock.now += 10
    m.add(new_fix_variant())  # type: ignore[arg-type]
    m.tick()
    assert len(sink.alerts) == 1
    assert m.next_due() == pytest.approx(290)
    clock.now = sent_at + 300
    m.tick()
    assert [a.status for a in sink.alerts] == ["new", "updated"]
    updated = sink.alerts[1]
    assert updated.distinct_total == 2
    assert len(updated.diagnoses) == 2


def test_flush_sends_pending_groups_now() -> None:
    """flush() sends groups still inside group_wait (stdin EOF, SIGTERM)."""
    clock, sink = Clock(), Recorder()
    m = AlertManager(SETTINGS, None, [sink], clock=clock)
    m.add(run_instances_implicit_deny())
    m.add(s3_explicit_deny_scp())
    m.flush()
    assert sorted(a.diagnosis.failure.action or "" for a in sink.alerts) == [
        "ec2:RunInstances",
        "s3:PutObject",
    ]
    m.flush()
    assert len(sink.alerts) == 2


def test_restart_on_same_state_does_not_resend(tmp_path: Path) -> None:
    """A new AlertManager on the same state database neither resends nor forgets counts."""
    clock, sink = Clock(), Recorder()
    db = StateDB.in_dir(tmp_path)
    m = AlertManager(SETTINGS, db, [sink], clock=clock)
    m.add(run_instances_implicit_deny())
    clock.now += 30
    m.tick()
    m.add(run_instances_implicit_deny(blob="later"))
    db.close()

    db2 = StateDB.in_dir(tmp_path)
    sink2 = Recorder()
    m2 = AlertManager(SETTINGS, db2, [sink2], clock=clock)
    clock.now += 100
    m2.tick()
    m2.add(run_instances_implicit_deny(blob="after-restart"))
    m2.tick()
    assert sink2.alerts == []
    clock.now += 3600
    m2.tick()
    [repeat] = sink2.alerts
    assert repeat.status == "repeat"
    assert repeat.count == 3
    assert repeat.diagnosis.findings[0].fixes[0].statements[0]["Sid"] == "AllowRunInstances"


def test_add_joins_outer_transaction_and_rolls_back_with_it(tmp_path: Path) -> None:
    """An add inside the watcher's transaction is undone when that transaction fails."""
    clock, sink = Clock(), Recorder()
    db = StateDB.in_dir(tmp_path)
    m = AlertManager(SETTINGS, db, [sink], clock=clock)
    with pytest.raises(RuntimeError), db.transaction():
        m.add(run_instances_implicit_deny())
        raise RuntimeError("checkpoint write failed")
    assert m.next_due() is None
    m.flush()
    assert sink.alerts == []


def test_failed_sink_is_retried_without_resending_to_others() -> None:
    """A failing sink gets the alert at a later tick; the healthy sink gets it once."""
    clock = Clock()
    good, bad = Recorder("good"), Recorder("bad")
    bad.fail = True
    m = AlertManager(SETTINGS, None, [bad, good], clock=clock)
    m.add(run_instances_implicit_deny())
    clock.now += 30
    m.tick()
    assert len(good.alerts) == 1
    assert bad.alerts == []
    assert m.next_due() == pytest.approx(SETTINGS.retry_delay)
    clock.now += SETTINGS.retry_delay
    m.tick()
    assert bad.alerts == []
    bad.fail = False
    clock.now += SETTINGS.retry_delay
    m.tick()
    assert len(bad.alerts) == 1
    assert len(good.alerts) == 1
    assert m.next_due() is None or m.next_due() > 60  # type: ignore[operator]


def test_notification_cut_before_crash_is_sent_after_restart(tmp_path: Path) -> None:
    """A notification whose sink failed is still owed after a restart (at-least-once)."""
    clock = Clock()
    bad = Recorder("out")
    bad.fail = True
    db = StateDB.in_dir(tmp_path)
    m = AlertManager(SETTINGS, db, [bad], clock=clock)
    m.add(s3_explicit_deny_scp())
    clock.now += 30
    m.tick()
    db.close()
    good = Recorder("out")
    m2 = AlertManager(SETTINGS, StateDB.in_dir(tmp_path), [good], clock=clock)
    clock.now += 10
    m2.tick()
    assert [a.status for a in good.alerts] == ["new"]


def test_duplicate_sink_names_are_rejected() -> None:
    """Two sinks with one name are a config error that says to name them."""
    with pytest.raises(ConfigError, match="name ="):
        AlertManager(SETTINGS, None, [Recorder("x"), Recorder("x")])


def test_close_closes_every_sink() -> None:
    """close() closes all sinks."""
    sinks = [Recorder("a"), Recorder("b")]
    AlertManager(SETTINGS, None, sinks).close(1.0)
    assert all(s.closed for s in sinks)


def test_findings_without_fix_group_with_different_rule_as_distinct() -> None:
    """A diagnosis that gains a different rule's finding counts as a distinct failure."""
    clock, sink = Clock(), Recorder()
    m = AlertManager(dataclasses.replace(SETTINGS, group_wait=0), None, [sink], clock=clock)
    d = s3_explicit_deny_scp()
    m.add(d)
    m.add(dataclasses.replace(d, findings=(Finding("other", "t", "low", "e"),)))
    m.tick()
    assert sink.alerts[0].distinct_total == 2


def test_a_stored_diagnosis_keeps_its_request_context_and_proofs() -> None:
    """A diagnosis read back from the state DB keeps request_context and verification."""
    from diagnostics.alerts.codec import diagnosis_from_json

    d = run_instances_implicit_deny()
    failure = dataclasses.replace(d.failure, conditions=(("aws:SourceIp", ("203.0.113.7",)),))
    proof = Verification("r", "identity", None, "evaluator", "allows", "m")
    original = dataclasses.replace(d, failure=failure, verification=(proof,))
    back = diagnosis_from_json(original.to_json())
    assert back.failure.conditions == failure.conditions
    assert back.verification == (proof,)
    assert back.to_json() == original.to_json()


def test_a_stored_diagnosis_keeps_the_reader_and_troubleshooter_fields() -> None:
    """principal_text, parse_notes, the authorization ID and details, embedded,
    occurrences and fix risk all survive the state DB round trip."""
    from diagnostics.alerts.codec import diagnosis_from_json
    from diagnostics.model import Fix, SourceRef

    d = run_instances_implicit_deny()
    failure = dataclasses.replace(
        d.failure,
        principal_arn=None,
        principal_text="[REDACTED]",
        parse_notes=("principal is not an ARN",),
        authorization_id="a1b2c3",
        embedded=True,
    )
    risk = Risk("iam-attach-user-policy", "high", "m")
    finding = dataclasses.replace(
        d.findings[0],
        fixes=(Fix("identity", None, ({"Effect": "Allow"},), risk=(risk,)),),
    )
    original = dataclasses.replace(
        d,
        failure=failure,
        findings=(finding,),
        occurrences=37,
        last_source=SourceRef(path="app.log", line=9881, offset=12),
        authorization_details=parse_details({"evaluations": []}),
        authorization_error=None,
    )
    back = diagnosis_from_json(original.to_json())
    assert back.occurrences == 37
    assert back.failure.embedded is True
    assert back.findings[0].fixes[0].risk == (risk,)
    assert back.to_json() == original.to_json()


class FillingDisk(StateDB):
    """A state database whose writes fail with SQLite's disk-full error while ``full``
    (reads still work, as on a real full disk)."""

    full = False

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with super().transaction() as conn:
            before = conn.total_changes
            yield conn
            if self.full and conn.total_changes != before:
                raise sqlite3.OperationalError("database or disk is full")


class FillsDiskOnSend(Recorder):
    """A sink that accepts the alert, and the state disk fills while it does."""

    def __init__(self, db: FillingDisk) -> None:
        super().__init__()
        self.db = db

    def send(self, alerts: Sequence[Alert]) -> None:
        super().send(alerts)
        self.db.full = True


def test_a_send_that_cannot_be_written_down_is_not_sent_again(tmp_path: Path) -> None:
    """The sink accepted the alert but the disk filled before the delivery was recorded:
    later ticks neither resend it nor spin, and the record is written once there is room."""
    clock = Clock()
    db = FillingDisk(tmp_path / "state.db")
    sink = FillsDiskOnSend(db)
    m = AlertManager(SETTINGS, db, [sink], clock=clock)
    m.add(run_instances_implicit_deny())
    clock.now += 30
    with pytest.raises(sqlite3.OperationalError):
        m.tick()
    assert len(sink.alerts) == 1
    # No tight loop on the error: the next try waits retry_delay.
    assert m.next_due() == pytest.approx(SETTINGS.retry_delay)
    for _ in range(3):
        clock.now += SETTINGS.retry_delay
        with pytest.raises(sqlite3.OperationalError):
            m.tick()
    db.full = False
    clock.now += SETTINGS.retry_delay
    m.tick()
    m.flush()
    assert len(sink.alerts) == 1, "the accepted alert was sent again"
    assert m.next_due() is None or m.next_due() > 60  # type: ignore[operator]
    db.close()
    # The delivery reached the disk: a restart does not send it either.
    again = Recorder()
    m2 = AlertManager(SETTINGS, StateDB(tmp_path / "state.db"), [again], clock=clock)
    m2.flush()
    assert again.alerts == []
