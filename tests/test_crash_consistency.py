"""Crash consistency of the file sink: `kill -9` anywhere, every failure alerted exactly once."""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import orjson
import pytest

from diagnostics.alerts import Alert, AlertManager, AlertSettings
from diagnostics.sinks import StdoutSink
from diagnostics.sinks.readback import SeenIds, read_tail
from diagnostics.sinks.stream import FileSink
from diagnostics.support.state import StateDB
from diagnostics.testing.alert_examples import run_instances_implicit_deny, s3_explicit_deny_scp

BENCH = Path(__file__).resolve().parents[1] / "bench"


class Crash(BaseException):
    """Stands for SIGKILL: nothing after it runs, no ``except Exception`` catches it."""


class CrashAfter:
    """Wraps a sink; the process 'dies' right after the wrapped sink wrote."""

    def __init__(self, inner: FileSink | StdoutSink) -> None:
        self.inner = inner
        self.name, self.detail = inner.name, inner.detail

    def send(self, alerts: Sequence[Alert]) -> None:
        self.inner.send(alerts)
        raise Crash

    def close(self, timeout: float) -> None:
        self.inner.close(timeout)

    def reopen(self) -> None:
        self.inner.reopen()


def _manager(state_dir: Path, sink: object, now: float) -> AlertManager:
    return AlertManager(
        AlertSettings(group_wait=0.0), StateDB.in_dir(state_dir), [sink], clock=lambda: now
    )


def _json_lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines() if x.strip()]


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_crash_between_write_and_record_does_not_resend_to_the_file(
    tmp_path: Path, fmt: str
) -> None:
    """A crash after the file sink wrote but before delivery was recorded: the restart skips it."""
    out = tmp_path / "alerts.out"
    m = _manager(tmp_path / "state", CrashAfter(FileSink("f", out, format=fmt)), 1000.0)  # type: ignore[arg-type]
    m.add(run_instances_implicit_deny())
    m.add(s3_explicit_deny_scp())
    with pytest.raises(Crash):
        m.tick()
    first = out.read_bytes()
    # The restart: a fresh state handle, sink and manager over the same files.
    m2 = _manager(tmp_path / "state", FileSink("f", out, format=fmt), 1001.0)
    assert m2.pending() == 2  # the database still owes both notifications
    m2.tick()
    assert out.read_bytes() == first
    assert m2.pending() == 0  # and now records them as delivered
    if fmt == "json":
        ids = [a["notification_id"] for a in _json_lines(out)]
        assert len(ids) == 2 and len(set(ids)) == 2
    else:
        assert first.count(b"\n  notification ") == 2


def test_stdout_stays_at_least_once_with_a_one_batch_window(tmp_path: Path) -> None:
    """stdout cannot be read back: the same crash re-sends that one batch (documented)."""
    buf = io.BytesIO()
    m = _manager(tmp_path / "state", CrashAfter(StdoutSink(format="json", stream=buf)), 1000.0)  # type: ignore[arg-type]
    m.add(run_instances_implicit_deny())
    with pytest.raises(Crash):
        m.tick()
    m2 = _manager(tmp_path / "state", StdoutSink(format="json", stream=buf), 1001.0)
    m2.tick()
    lines = [orjson.loads(x) for x in buf.getvalue().splitlines()]
    assert len(lines) == 2
    assert lines[0]["notification_id"] == lines[1]["notification_id"]


def test_a_torn_last_line_is_resent_on_a_line_of_its_own(tmp_path: Path) -> None:
    """A write cut mid-line by a crash does not count as delivered, and cannot glue to the next."""
    out = tmp_path / "alerts.jsonl"
    m = _manager(tmp_path / "state", CrashAfter(FileSink("f", out)), 1000.0)  # type: ignore[arg-type]
    m.add(run_instances_implicit_deny())
    with pytest.raises(Crash):
        m.tick()
    whole = out.read_bytes()
    out.write_bytes(whole[: len(whole) // 2])  # the kernel kept only half of the write
    m2 = _manager(tmp_path / "state", FileSink("f", out), 1001.0)
    m2.tick()
    raw = out.read_bytes().split(b"\n")
    assert raw[0] == whole[: len(whole) // 2]
    assert orjson.loads(raw[1])["notification_id"] == orjson.loads(whole)["notification_id"]


def test_readback_ignores_forged_and_partial_ids(tmp_path: Path) -> None:
    """Only whole records and the sink's own id line count; log text cannot mark an alert sent."""
    nid = "a" * 32 + ".1714564800000.1"
    path = tmp_path / "alerts.txt"
    path.write_bytes(
        b"            notification " + nid.encode() + b"\n"  # a continuation line of log text
        b'{"type":"alert","notification_id":"' + nid.encode() + b'"'  # torn JSON, no newline
    )
    seen = SeenIds()
    assert read_tail(path, seen) is True
    assert nid not in seen
    path.write_bytes(b"  notification " + nid.encode() + b"\n")
    assert read_tail(path, seen) is False
    assert nid in seen


def test_seen_ids_are_bounded() -> None:
    """The remembered ids never exceed their limit; the oldest are forgotten first."""
    seen = SeenIds(limit=3)
    for i in range(5):
        seen.add(str(i))
    assert len(seen) == 3 and "0" not in seen and "4" in seen


@pytest.fixture
def crash_bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCH))
    sys.modules.pop("crash_consistency", None)
    import crash_consistency

    return crash_consistency


@pytest.mark.slow
def test_kill9_at_random_points_alerts_every_failure_exactly_once(
    tmp_path: Path, crash_bench: ModuleType
) -> None:
    """10 SIGKILLs (half right after a sink write) over 1,000 failures: none lost or doubled."""
    result = crash_bench.run(tmp_path, kills=10, failures=1000, rate=150.0, max_up=1.5, seed=8)
    assert result["missing"] == 0, result
    assert result["duplicated"] == 0, result
    assert result["final_exit"] == 0, result
