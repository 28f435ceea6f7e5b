"""Greedy socket clients: per-uid caps, idle and lifetime cut-offs, `send`'s acknowledgement."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_faults_loop import METRICS, wait_lines_read
from test_watch_daemon import Daemon, line, watch_argv, write_config
from test_watch_inputs import TERRAFORM

from diagnostics.commands.send import send
from diagnostics.errors import ConfigError
from diagnostics.service.config import parse_config
from diagnostics.sources.socket_guard import ConnectionSlots, RefusalLog

NOBODY = 65534


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory another uid can traverse (pytest's tmp_path is 0700 root)."""
    path = Path(tempfile.mkdtemp(prefix="authz-sock-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _daemon(tmp_path: Path, sock: Path, limits: str = "", metrics: str = "") -> Daemon:
    src = f'[[source]]\ntype = "socket"\npath = "{sock}"\n'
    d = Daemon(tmp_path, write_config(tmp_path, src, extra=f"{metrics}[limits]\n{limits}"))
    d.wait_ready()
    return d


def _wait_slot_free(sock: Path) -> None:
    """Wait until this uid's only slot (``socket_connections_per_uid = 1``) is free again.

    A probe is refused at once while the slot is taken; once accepted, it sends
    nothing and is itself cut at the idle timeout, which is the answer.
    """
    deadline = time.monotonic() + 60  # a bound for a hang
    while time.monotonic() < deadline:
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(60)
        try:
            probe.connect(str(sock))
            reply = probe.recv(200)
        finally:
            probe.close()
        if b"(idle_timeout)" in reply:
            return
        assert b"too many connections" in reply, reply
        time.sleep(0.05)  # polling pace
    raise AssertionError("the slot was never freed")


def _send_as(uid: int, sock: Path, data: bytes) -> tuple[int, str]:
    """Run `send` in a forked child that has dropped to ``uid``; (exit status, its error)."""
    data_r, data_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, send, report
        status = 1
        try:
            os.close(data_w)
            os.close(err_r)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            sent = send(data_r, sock)
            status = 0 if sent == len(data) else 1
        except BaseException as exc:  # the parent reads it
            os.write(err_w, f"{type(exc).__name__}: {exc}".encode())
        finally:
            os._exit(status)
    os.close(data_r)
    os.close(err_w)
    os.write(data_w, data)
    os.close(data_w)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(err_r, "rb") as f:
        err = f.read().decode(errors="replace")
    return os.waitstatus_to_exitcode(status), err


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to send as another uid")
def test_a_thousand_idle_connections_do_not_lock_out_another_user(
    tmp_path: Path, shared_dir: Path
) -> None:
    """1,000 idle or trickling connections from one uid leave another uid's `send` alerted."""
    sock = shared_dir / "in.sock"
    d = _daemon(tmp_path, sock)
    hogs: list[socket.socket] = []
    try:
        os.chown(sock, -1, NOBODY)  # the group the operator grants write access to
        for _ in range(1000):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(str(sock))
            hogs.append(c)
        for c in hogs[::2]:  # half of them trickle a byte now and then
            with contextlib.suppress(OSError):  # refused and closed already
                c.send(b"x")
        status, err = _send_as(NOBODY, sock, TERRAFORM.encode())
        assert status == 0, err
        d.wait_for(lambda: len(d.alerts) >= 1, what="the other user's alert")
        for c in hogs:
            c.close()
    finally:
        for c in hogs:
            c.close()
        assert d.stop() == 0
    assert d.alerts[0]["diagnoses"][0]["principal_arn"] == "arn:aws:iam::123456789012:user/ci"
    refusals = [r for r in d.logs() if r.get("event") == "socket.connections_refused"]
    assert 1 <= len(refusals) <= 3, "hundreds of refusals are summarised, not logged one by one"
    assert sum(int(r["refused"]) for r in refusals) >= 900
    assert all(p["uid"] == os.getuid() for r in refusals for p in r["by_peer"])


@pytest.mark.slow
def test_send_is_told_when_it_was_refused(tmp_path: Path) -> None:
    """A `send` over the per-uid cap exits 2 saying there were too many connections."""
    sock = tmp_path / "in.sock"
    d = _daemon(tmp_path, sock, "socket_connections_per_uid = 1\n", METRICS)
    held = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        held.connect(str(sock))
        held.sendall(b"first\n")
        wait_lines_read(d, "socket-1", 1)  # the first connection is being served
        proc = subprocess.run(
            [*watch_argv(), "send", "--socket", str(sock)],
            input=line(1).encode(),
            capture_output=True,
            timeout=60,
            check=False,
        )
    finally:
        held.close()
        assert d.stop() == 0
    assert proc.returncode == 2, proc.stderr
    assert b"too many connections from your user" in proc.stderr


@pytest.mark.slow
def test_send_is_told_when_an_idle_connection_is_cut(tmp_path: Path) -> None:
    """A sender quiet past socket_idle_timeout is cut off: `send` exits 2, what it sent alerts."""
    sock = tmp_path / "in.sock"
    d = _daemon(tmp_path, sock, 'socket_idle_timeout = "1s"\nsocket_connections_per_uid = 1\n')
    try:
        proc = subprocess.Popen(
            [*watch_argv(), "send", "--socket", str(sock)],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.write(line(2).encode())
        proc.stdin.flush()
        d.wait_for(lambda: len(d.alerts) >= 1, what="the alert for the bytes sent before the cut")
        _wait_slot_free(sock)  # the daemon cut the quiet `send` connection
        try:
            proc.stdin.write(line(3).encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        err = proc.stderr.read()
        assert proc.wait(60) == 2, err
    finally:
        assert d.stop() == 0
    assert b"idle_timeout" in err
    assert d.alerts[0]["diagnoses"][0]["resource"] == "arn:aws:s3:::bucket/obj-2"


@pytest.mark.slow
def test_a_trickling_connection_is_cut_at_its_maximum_lifetime(tmp_path: Path) -> None:
    """A writer that sends a byte every 0.2 s is closed at socket_max_lifetime and told why."""
    sock = tmp_path / "in.sock"
    d = _daemon(tmp_path, sock, 'socket_max_lifetime = "1s"\n')
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        c.connect(str(sock))
        start = time.monotonic()
        # The writer never gives up on its own (60 s is a bound for a hang):
        # only the daemon's cut ends the loop.
        with contextlib.suppress(OSError):  # the daemon closes it under us
            while time.monotonic() - start < 60:
                c.send(b"x")
                time.sleep(0.2)  # the trickle itself, not a wait for anything
        c.settimeout(60)
        reply = c.recv(200)
        took = time.monotonic() - start
    finally:
        c.close()
        assert d.stop() == 0
    assert reply.startswith(b"ERR connection closed by the daemon (max_lifetime)"), reply
    assert took < 30, "cut at the configured lifetime, not at the writer's 60 s bound"


@pytest.mark.slow
def test_send_exits_non_zero_when_nobody_reads_its_data(tmp_path: Path) -> None:
    """A socket that accepts but never answers (an old daemon) makes `send` exit 2."""
    path = tmp_path / "mute.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    try:
        proc = subprocess.Popen(
            [*watch_argv(), "send", "--socket", str(path)],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        conn, _ = listener.accept()
        assert proc.stdin is not None
        proc.stdin.write(b"hello\n")
        proc.stdin.close()
        assert conn.recv(100) == b"hello\n"
        conn.close()  # closed without reading more or replying
        assert proc.wait(60) == 2
        assert proc.stderr is not None
        assert b"without acknowledging the 6 bytes" in proc.stderr.read()
    finally:
        listener.close()


def test_an_old_client_that_never_reads_still_gets_its_data_alerted(tmp_path: Path) -> None:
    """A writer that sends and closes at once (nc -U, older `send`) is still diagnosed."""
    sock = tmp_path / "in.sock"
    d = _daemon(tmp_path, sock)
    try:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(str(sock))
        c.sendall(line(4).encode())
        c.close()
        d.wait_for(lambda: len(d.alerts) >= 1, what="the old client's alert")
    finally:
        assert d.stop() == 0
    assert d.alerts[0]["diagnoses"][0]["resource"] == "arn:aws:s3:::bucket/obj-4"


def test_refusal_storm_is_logged_once_per_interval() -> None:
    """93,000 refusals within 5 s write one log line plus counts, not 93,000 lines."""
    now = [0.0]
    refusals = RefusalLog("sock", {}, interval=10.0, clock=lambda: now[0])
    for i in range(93_000):
        now[0] = i * 5.0 / 93_000
        refusals.refused("per_uid", 1000)
    assert refusals.lines == 1
    now[0] = 11.0
    refusals.refused("total", 1001)
    assert refusals.lines == 2
    assert refusals.total == 93_001


def test_per_uid_slots_leave_room_for_other_users() -> None:
    """One uid that fills its share is refused while another uid still gets a slot."""
    slots = ConnectionSlots(total=4, per_uid=2)
    assert [slots.acquire(0) for _ in range(3)] == [None, None, "per_uid"]
    assert slots.acquire(NOBODY) is None
    assert slots.acquire(NOBODY) is None
    assert slots.acquire(7) == "total"
    slots.release(0)
    assert slots.acquire(7) is None


def test_socket_limits_are_checked_with_file_and_key(tmp_path: Path) -> None:
    """A per-uid cap above the total, or a zero idle timeout, is a config error naming the key."""
    base = {
        "source": [{"type": "stdin"}],
        "sink": [{"type": "stdout"}],
    }
    cfg = parse_config(base, tmp_path / "w.toml")
    assert cfg.limits.socket_connections_per_uid == 16
    assert cfg.limits.socket_idle_timeout == 600.0
    with pytest.raises(ConfigError, match=r"w\.toml \[limits\].*socket_connections_per_uid"):
        parse_config(
            {**base, "limits": {"socket_connections": 4, "socket_connections_per_uid": 8}},
            tmp_path / "w.toml",
        )
    with pytest.raises(ConfigError, match="socket_idle_timeout"):
        parse_config({**base, "limits": {"socket_idle_timeout": "0s"}}, tmp_path / "w.toml")
