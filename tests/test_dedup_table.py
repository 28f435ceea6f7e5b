"""The shared DynamoDB dedup table (moto, in-process) and the DedupSink between alert managers."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from diagnostics.alerts import Alert, AlertManager, AlertSettings
from diagnostics.dedup import DedupSink, DedupTable, create_table, notification_key
from diagnostics.errors import ConfigError, SinkError
from diagnostics.service.config import parse_config
from diagnostics.support.state import StateDB
from diagnostics.testing.alert_examples import run_instances_implicit_deny, s3_explicit_deny_scp

TABLE = "authz-dedup"


class Recorder:
    """A sink that keeps what it was sent and can be told to fail."""

    detail = "full"

    def __init__(self, name: str = "stdout") -> None:
        self.name = name
        self.sent: list[Alert] = []
        self.fail = False

    def send(self, alerts: Sequence[Alert]) -> None:
        if self.fail:
            raise SinkError("receiver down")
        self.sent.extend(alerts)

    def close(self, timeout: float) -> None:
        pass

    def reopen(self) -> None:
        pass


@pytest.fixture
def ddb() -> Iterator[Any]:
    """A moto DynamoDB with the dedup table created the documented way."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            create_table(client, TABLE)
            yield client


def table(
    client: Any, owner: str, now: list[float], window: float = 3600.0, lease: float = 60.0
) -> DedupTable:
    return DedupTable(
        TABLE, window=window, lease=lease, owner=owner, client=client, clock=lambda: now[0]
    )


def test_one_claim_wins_until_the_window_ends(ddb: Any) -> None:
    """The first claimer sends; others see busy, then sent; after the window anyone may send."""
    now = [1000.0]
    a, b = table(ddb, "a", now), table(ddb, "b", now)
    assert a.claim("k") == "mine"
    assert b.claim("k") == "busy"
    assert a.claim("k") == "mine"  # a's own retry after its sink failed
    a.confirm("k")
    assert b.claim("k") == "sent" and a.claim("k") == "sent"
    now[0] += 3601
    assert b.claim("k") == "mine"
    item = ddb.get_item(TableName=TABLE, Key={"pk": {"S": "k"}})["Item"]
    assert item["owner"]["S"] == "b" and int(item["expires"]["N"]) > now[0] + 3600


def test_a_dead_claimers_lease_runs_out(ddb: Any) -> None:
    """A process that claimed and died blocks others only for the lease, never for good."""
    now = [1000.0]
    a, b = table(ddb, "a", now), table(ddb, "b", now)
    assert a.claim("k") == "mine"
    now[0] += 59
    assert b.claim("k") == "busy"
    now[0] += 2
    assert b.claim("k") == "mine"


def test_release_lets_another_process_send(ddb: Any) -> None:
    """An unsent claim given back (sink refused) can be taken at once by another process."""
    now = [1000.0]
    a, b = table(ddb, "a", now), table(ddb, "b", now)
    assert a.claim("k") == "mine"
    b.release("k")  # not b's claim: nothing happens
    assert b.claim("k") == "busy"
    a.release("k")
    assert b.claim("k") == "mine"


def test_table_name_is_required() -> None:
    """An empty dedup_table is refused with an example."""
    with pytest.raises(ConfigError, match="dedup_table"):
        DedupTable("", window=1.0)


def test_notification_key_ignores_counts_and_times_but_not_failures() -> None:
    """Two hosts' alerts for the same failures share a key; a different failure does not."""
    d1 = run_instances_implicit_deny(blob="blob-one")
    d2 = run_instances_implicit_deny(blob="blob-two", line=7)  # same denial, another blob
    base = Alert(
        key=_key(d1), status="new", count=1, first_seen=1.0, last_seen=1.0, sources=(),
        samples=(), diagnosis=d1, diagnoses=(d1,),
    )  # fmt: skip
    other_host = dataclasses.replace(base, count=9, first_seen=50.0, diagnosis=d2, diagnoses=(d2,))
    assert notification_key("stdout", base) == notification_key("stdout", other_host)
    assert notification_key("stdout", base) != notification_key("slack", base)
    d3 = s3_explicit_deny_scp()
    different = dataclasses.replace(base, key=_key(d3), diagnosis=d3, diagnoses=(d3,))
    assert notification_key("stdout", base) != notification_key("stdout", different)


def _key(d: Any) -> Any:
    from diagnostics.alerts import group_key

    return group_key(d)


def _manager(tmp: Path, name: str, sink: Any) -> tuple[AlertManager, StateDB]:
    state = StateDB.in_dir(tmp / name)
    settings = AlertSettings(group_wait=0.0, retry_delay=0.0)
    return AlertManager(settings, state, [sink]), state


def test_two_alert_managers_send_one_alert(ddb: Any, tmp_path: Path) -> None:
    """Two daemons that diagnose the same failure notify it once between them."""
    now = [1000.0]
    sink_a, sink_b = Recorder(), Recorder()
    mgr_a, st_a = _manager(tmp_path, "a", DedupSink(sink_a, table(ddb, "a", now)))
    mgr_b, st_b = _manager(tmp_path, "b", DedupSink(sink_b, table(ddb, "b", now)))
    diagnosis = run_instances_implicit_deny()
    mgr_a.add(diagnosis)
    mgr_a.tick()
    mgr_b.add(run_instances_implicit_deny(blob="redelivered"))
    mgr_b.tick()
    assert len(sink_a.sent) == 1 and sink_b.sent == []
    assert mgr_b.pending() == 0  # the suppressed notification counts as delivered
    other = s3_explicit_deny_scp()
    mgr_b.add(other)
    mgr_b.tick()
    assert [a.id for a in sink_b.sent] == [_key(other).id]
    st_a.close()
    st_b.close()


def test_busy_claim_is_retried_and_sent_when_the_owner_fails(ddb: Any, tmp_path: Path) -> None:
    """An alert another instance is sending waits; if that send fails, it goes out here."""
    now = [1000.0]
    sink_a, sink_b = Recorder(), Recorder()
    sink_a.fail = True
    mgr_a, st_a = _manager(tmp_path, "a", DedupSink(sink_a, table(ddb, "a", now)))
    owner_b = DedupSink(sink_b, table(ddb, "b", now))
    _mgr_b, st_b = _manager(tmp_path, "b", owner_b)
    d = run_instances_implicit_deny()
    # b claims first, as if it were inside its own send right now.
    key = notification_key("stdout", _alert(d))
    assert owner_b.table.claim(key) == "mine"
    mgr_a.add(d)
    mgr_a.tick()
    assert sink_a.sent == [] and mgr_a.pending() == 1
    owner_b.table.release(key)  # b's sink refused it
    sink_a.fail = False
    mgr_a.tick()
    assert len(sink_a.sent) == 1 and mgr_a.pending() == 0
    st_a.close()
    st_b.close()


def _alert(d: Any) -> Alert:
    return Alert(
        key=_key(d), status="new", count=1, first_seen=1.0, last_seen=1.0, sources=(),
        samples=(), diagnosis=d, diagnoses=(d,),
    )  # fmt: skip


def test_unreachable_table_sends_anyway() -> None:
    """When DynamoDB cannot be reached the alert is still sent: a duplicate beats a loss."""
    sink = Recorder()
    dead = DedupTable(
        TABLE, window=60.0, region="us-east-1", endpoint_url="http://127.0.0.1:9"
    )  # port 9 (discard) is closed on loopback
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        DedupSink(sink, dead).send([_alert(run_instances_implicit_deny())])
    assert len(sink.sent) == 1


def test_config_dedup_table_wraps_every_sink(tmp_path: Path) -> None:
    """``[alerts] dedup_table`` is accepted and puts a DedupSink in front of each sink."""
    from diagnostics.service.runtime import build_sinks

    cfg = parse_config(
        {
            "state_dir": str(tmp_path),
            "alerts": {"dedup_table": TABLE, "repeat_interval": "2h"},
            "source": [{"type": "stdin"}],
            "sink": [{"type": "stdout", "format": "json"}],
        },
        tmp_path / "watch.toml",
    )
    assert cfg.alerts.dedup_table == TABLE
    sinks = build_sinks(cfg, None)
    assert [type(s).__name__ for s in sinks] == ["DedupSink"]
    assert sinks[0].table.window == 7200.0 and sinks[0].name == "stdout"
    assert sinks[0].table.lease == 60.0  # the default lease


def test_config_dedup_lease_sets_how_long_a_claim_holds(tmp_path: Path) -> None:
    """``[alerts] dedup_lease`` reaches the table; a dead claimer then blocks others that long."""
    from diagnostics.service.runtime import build_sinks

    def config(lease: object) -> Any:
        return parse_config(
            {
                "state_dir": str(tmp_path),
                "alerts": {"dedup_table": TABLE, "dedup_lease": lease},
                "source": [{"type": "stdin"}],
                "sink": [{"type": "stdout", "format": "json"}],
            },
            tmp_path / "watch.toml",
        )

    assert build_sinks(config("7s"), None)[0].table.lease == 7.0
    with pytest.raises(ConfigError, match=r"dedup_lease.*above 0s"):
        config("0s")


def test_a_short_lease_frees_a_dead_claim_sooner(ddb: Any) -> None:
    """With a 5 s lease a dead claimer's key is free after 5 s, not after the 60 s default."""
    now = [1000.0]
    dead, live = table(ddb, "dead", now, lease=5.0), table(ddb, "live", now, lease=5.0)
    assert dead.claim("k") == "mine"
    now[0] += 4.0
    assert live.claim("k") == "busy"
    now[0] += 2.0
    assert live.claim("k") == "mine"
