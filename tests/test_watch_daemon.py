"""`authz-diag watch` as a real subprocess over real files: tailing, rotation, restarts, signals.

Also the harness the other watch tests import (``Daemon``, ``line``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

ACCOUNT = "123456789012"


def line(i: int, tag: str = "obj") -> str:
    """One log line holding one plain failure whose resource is unique to ``i``."""
    return (
        f"2024-05-01T12:00:00Z app ERROR User: arn:aws:iam::{ACCOUNT}:user/alice is not "
        f"authorized to perform: s3:GetObject on resource: arn:aws:s3:::bucket/{tag}-{i} "
        "because no identity-based policy allows the s3:GetObject action\n"
    )


def watch_argv() -> list[str]:
    exe = shutil.which("authz-diag", path=str(Path(sys.executable).parent)) or shutil.which(
        "authz-diag"
    )
    return [exe] if exe else [sys.executable, "-m", "diagnostics"]


def write_config(tmp: Path, sources: str, *, extra: str = "") -> Path:
    cfg = tmp / "watch.toml"
    cfg.write_text(
        f'state_dir = "{tmp / "state"}"\n'
        'drain_timeout = "5s"\n'
        'poll_interval = "200ms"\n'
        f"{extra}\n"
        "[decode]\nenabled = false\n"
        '[alerts]\ngroup_wait = "0s"\ngroup_interval = "1h"\nrepeat_interval = "4h"\n'
        # One alert per distinct line is what these count: no storm folding.
        "storm_threshold = 0\n"
        f"{sources}\n"
        '[[sink]]\ntype = "stdout"\nformat = "json"\n'
    )
    return cfg


class Daemon:
    """A running `authz-diag watch`, its JSON alerts on stdout and sd_notify messages."""

    def __init__(
        self,
        tmp: Path,
        config: Path,
        *,
        watchdog_usec: int | None = None,
        stdin: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.tmp = tmp
        self.alerts: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self._lock = threading.Lock()
        self.notify_path = tmp / f"notify-{time.monotonic_ns()}"
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(self.notify_path))
        self.notify.settimeout(0.2)
        full_env = {**os.environ, "NOTIFY_SOCKET": str(self.notify_path), **(env or {})}
        if watchdog_usec is not None:
            full_env["WATCHDOG_USEC"] = str(watchdog_usec)
        self.stderr_path = tmp / f"stderr-{time.monotonic_ns()}.log"
        self._stderr = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            [*watch_argv(), "watch", "--config", str(config)],
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=full_env,
        )
        self._threads = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_notify, daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            with self._lock:
                self.alerts.append(obj)

    def _read_notify(self) -> None:
        while True:
            try:
                data = self.notify.recv(4096)
            except TimeoutError:
                if self.proc.poll() is not None:
                    return
                continue
            except OSError:
                return
            with self._lock:
                self.notes.extend(data.decode().split("\n"))

    def wait_for(self, pred: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
        """Wait for ``pred``; ``timeout`` bounds a hang (a loaded machine is slow, not wrong)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        if pred():
            return
        raise AssertionError(f"timed out waiting for {what}; stderr:\n{self.stderr()[-3000:]}")

    def wait_ready(self) -> None:
        self.wait_for(lambda: "READY=1" in self.notes, what="READY=1")

    def resources(self) -> list[str]:
        """Every diagnosis resource alerted so far, one entry per new alert."""
        with self._lock:
            return [
                d["resource"]
                for a in self.alerts
                if a.get("status") == "new"
                for d in a["diagnoses"][:1]
            ]

    def wait_resources(self, n: int, timeout: float = 60.0) -> None:
        self.wait_for(lambda: len(set(self.resources())) >= n, timeout, f"{n} alerts")

    def followed(self) -> int:
        """How many files the daemon has started to follow."""
        # Polled every 20 ms while stderr grows: parse only the lines that can match.
        lines = (raw for raw in self.stderr().splitlines() if "following file" in raw)
        return sum(1 for e in _json_lines(lines) if e.get("event") == "following file")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def logs(self) -> list[dict[str, Any]]:
        return _json_lines(self.stderr().splitlines())

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            for t in self._threads:
                t.join(2)
            self.notify.close()
            self._stderr.close()
        return rc

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait()
        for t in self._threads:
            t.join(2)
        self.notify.close()
        self._stderr.close()


def _json_lines(lines: Iterable[str]) -> list[dict[str, Any]]:
    """The JSON objects among ``lines``; anything else (a traceback, a cut line) is skipped."""
    out = []
    for raw in lines:
        try:
            out.append(json.loads(raw))
        except ValueError:
            continue
    return out


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    d = tmp_path / "logs"
    d.mkdir()
    return d


def file_source(logdir: Path, start_at: str = "end") -> str:
    return f'[[source]]\ntype = "file"\npaths = ["{logdir}/*.log"]\nstart_at = "{start_at}"\n'


def append(path: Path, text: str) -> None:
    with path.open("a") as fh:
        fh.write(text)


def test_appended_lines_and_new_files_produce_alerts(tmp_path: Path, logdir: Path) -> None:
    """Lines appended to a tailed file and to a file created later each produce one alert."""
    old = logdir / "app.log"
    old.write_text(line(0, "before-start"))
    d = Daemon(tmp_path, write_config(tmp_path, file_source(logdir)))
    try:
        d.wait_ready()
        append(old, line(1) + "an unrelated line\n" + line(2))
        d.wait_resources(2)
        (logdir / "new.log").write_text(line(3))
        d.wait_resources(3)
    finally:
        assert d.stop() == 0
    got = d.resources()
    assert sorted(got) == [f"arn:aws:s3:::bucket/obj-{i}" for i in (1, 2, 3)]
    # start_at = "end": what was in the file before the first start is not alerted.
    assert not any("before-start" in r for r in got)


def test_start_at_beginning_reads_existing_content(tmp_path: Path, logdir: Path) -> None:
    """With start_at = "beginning" a file present at first start is read from byte 0."""
    (logdir / "app.log").write_text(line(0) + line(1))
    d = Daemon(tmp_path, write_config(tmp_path, file_source(logdir, "beginning")))
    try:
        d.wait_resources(2)
    finally:
        assert d.stop() == 0


def test_truncation_is_detected(tmp_path: Path, logdir: Path) -> None:
    """A file truncated below the read offset is read again from the start, and it is logged."""
    log = logdir / "app.log"
    log.write_text("")
    d = Daemon(tmp_path, write_config(tmp_path, file_source(logdir)))
    try:
        d.wait_ready()
        append(log, line(1) + line(2) + line(3))
        d.wait_resources(3)
        with log.open("w") as fh:  # copytruncate does this
            fh.write(line(4))
        d.wait_resources(4)
    finally:
        assert d.stop() == 0
    assert any(e.get("event", "").startswith("file truncated") for e in d.logs())


@pytest.mark.slow
def test_rotation_100_times_under_load_loses_no_line(tmp_path: Path, logdir: Path) -> None:
    """Renaming the log away and creating a new one 100 times while writing loses no line."""
    log = logdir / "app.log"
    log.write_text("")
    d = Daemon(tmp_path, write_config(tmp_path, file_source(logdir)))
    total = 0
    try:
        d.wait_ready()
        fh = log.open("a")
        for rot in range(100):
            for _ in range(20):
                fh.write(line(total))
                total += 1
            fh.flush()
            # Like logrotate without copytruncate: rename, then the writer reopens.
            log.rename(logdir / f"app.log.{rot}")
            fh.write(line(total))  # a late write to the renamed file must still be read
            total += 1
            fh.close()
            fh = log.open("a")
            for _ in range(5):
                fh.write(line(total))
                total += 1
            fh.flush()
            # A file created and rotated away before the daemon ever looks is
            # invisible to it; logrotate runs far less often than the poll.
            d.wait_for(lambda rot=rot: d.followed() >= rot + 2, 60, "the new file")
        fh.write(line(total))
        total += 1
        fh.close()
        d.wait_resources(total, timeout=60)
    finally:
        assert d.stop() == 0
    got = d.resources()
    assert len(got) == len(set(got)) == total


def _nothing_owed(state_dir: Path) -> bool:
    """True when every notification cut so far is recorded as delivered to its sink."""
    import sqlite3

    conn = sqlite3.connect(f"file:{state_dir / 'state.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        (owed,) = conn.execute(
            "SELECT COUNT(*) FROM alert_groups g WHERE g.seq > 0 AND NOT EXISTS "
            "(SELECT 1 FROM alert_deliveries d WHERE d.group_id = g.id AND d.seq >= g.seq)"
        ).fetchone()
    finally:
        conn.close()
    return int(owed) == 0


@pytest.mark.slow
def test_kill9_then_restart_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, logdir: Path
) -> None:
    """Lines in flight at a kill -9 are alerted after the restart, each exactly once."""
    log = logdir / "app.log"
    log.write_text("")
    config = write_config(tmp_path, file_source(logdir))
    seen: list[str] = []
    written = 0
    for _round in range(3):
        d = Daemon(tmp_path, config)
        d.wait_ready()
        with log.open("a") as fh:
            for _ in range(100):
                fh.write(line(written))
                written += 1
        target = written
        d.wait_for(lambda d=d, t=target: len(set(seen) | set(d.resources())) >= t, what="delivered")
        # Wait for the delivery records: a kill between a sink's write and that
        # record re-sends the notification (at-least-once, docs/guarantees.md).
        d.wait_for(lambda: _nothing_owed(tmp_path / "state"), 60, "delivery records")
        with log.open("a") as fh:  # in flight when it dies: unread or uncommitted
            for _ in range(100):
                fh.write(line(written))
                written += 1
        d.kill9()
        seen.extend(d.resources())
        with log.open("a") as fh:  # written while it is down
            for _ in range(50):
                fh.write(line(written))
                written += 1
    d = Daemon(tmp_path, config)
    try:
        d.wait_ready()
        # The file is read in order from the checkpoint, so a re-read line comes
        # before the last new one; stop() then delivers whatever is still due.
        d.wait_for(lambda: len(set(seen) | set(d.resources())) >= written, 60, "all lines")
    finally:
        assert d.stop() == 0
    seen.extend(d.resources())
    assert len(set(seen)) == written, "a line was lost"
    dupes = sorted({r for r in seen if seen.count(r) > 1})
    assert not dupes, f"alerted twice: {dupes[:5]}"


def test_sighup_with_broken_config_keeps_running_on_the_old_one(
    tmp_path: Path, logdir: Path
) -> None:
    """SIGHUP after the config was broken logs why, keeps the old config and keeps alerting."""
    config = write_config(tmp_path, file_source(logdir))
    good = config.read_text()
    log = logdir / "app.log"
    log.write_text("")
    d = Daemon(tmp_path, config)
    try:
        d.wait_ready()
        config.write_text(good + "\nnot_a_key = 1\n")
        d.signal(signal.SIGHUP)
        d.wait_for(
            lambda: any("reload failed" in e.get("event", "") for e in d.logs()), what="reload log"
        )
        append(log, line(1))
        d.wait_resources(1)
        assert d.proc.poll() is None
        failed = next(e for e in d.logs() if "reload failed" in e.get("event", ""))
        assert "not_a_key" in failed["error"] and failed["level"] == "error"
        # A good config afterwards is taken.
        config.write_text(good)
        d.signal(signal.SIGHUP)
        d.wait_for(
            lambda: any(e.get("event") == "configuration reloaded" for e in d.logs()),
            what="reloaded",
        )
        append(log, line(2))
        d.wait_resources(2)
    finally:
        assert d.stop() == 0


def test_sigterm_drains_within_the_timeout(tmp_path: Path, logdir: Path) -> None:
    """SIGTERM right after a burst still delivers it, writes checkpoints and exits 0 in time."""
    log = logdir / "app.log"
    log.write_text("")
    config = write_config(tmp_path, file_source(logdir))
    d = Daemon(tmp_path, config)
    d.wait_ready()
    append(log, "".join(line(i) for i in range(200)))
    d.wait_for(lambda: len(d.resources()) >= 1, what="the burst to start")
    started = time.monotonic()
    rc = d.stop(timeout=15)
    elapsed = time.monotonic() - started
    assert rc == 0
    assert elapsed < 5 + 2, f"took {elapsed:.1f}s with drain_timeout 5s"
    assert "STOPPING=1" in d.notes
    # What was not drained before exit is read after restart; nothing is missing.
    d2 = Daemon(tmp_path, config)
    try:
        d2.wait_ready()
        d2.wait_for(lambda: len(set(d.resources()) | set(d2.resources())) >= 200, 20, "all 200")
    finally:
        assert d2.stop() == 0
    both = d.resources() + d2.resources()
    assert len(both) == len(set(both)) == 200


def test_sd_notify_ready_watchdog_stopping(tmp_path: Path, logdir: Path) -> None:
    """Under WATCHDOG_USEC the daemon sends READY=1, repeated WATCHDOG=1, STATUS= and STOPPING=1."""
    d = Daemon(tmp_path, write_config(tmp_path, file_source(logdir)), watchdog_usec=400_000)
    try:
        d.wait_ready()
        d.wait_for(lambda: d.notes.count("WATCHDOG=1") >= 3, 30, "three watchdog pings")
        assert any(n.startswith("STATUS=") for n in d.notes)
    finally:
        assert d.stop() == 0
    assert d.notes.index("READY=1") < len(d.notes) - 1
    assert d.notes[-1] == "STOPPING=1" or "STOPPING=1" in d.notes


def test_logs_are_json_with_levels(tmp_path: Path, logdir: Path) -> None:
    """Every stderr line is a JSON object with a level and an event, for journald."""
    d = Daemon(tmp_path, write_config(tmp_path, file_source(logdir)))
    d.wait_ready()
    assert d.stop() == 0
    lines = [x for x in d.stderr().splitlines() if x.strip()]
    assert lines
    for raw in lines:
        obj = json.loads(raw)
        assert obj["level"] in {"debug", "info", "warning", "error", "critical"}
        assert obj["event"]
