"""`send --tee` copies every byte to stdout whatever the daemon does; long lines are errors."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from test_watch_daemon import Daemon, watch_argv, write_config
from test_watch_inputs import TERRAFORM

from diagnostics.commands import send as send_module
from diagnostics.errors import InputError

#: Far more than a Unix socket's buffer (~200 KiB): a daemon that does not read blocks a
#: sender that writes to it before it copies on.
BIG = 4 << 20


def big_input(size: int = BIG) -> bytes:
    """``size`` bytes of lines of arbitrary bytes (not UTF-8, escapes, NULs), then a denial."""
    rng = random.Random(22)
    parts: list[bytes] = []
    total = 0
    while total < size:
        chunk = rng.randbytes(rng.randrange(300)).replace(b"\n", b"") + b"\n"
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts) + TERRAFORM.encode() + b"a last line without a newline"


class Send:
    """`authz-diag send` as a subprocess; stdin fed and stdout/stderr read by threads."""

    def __init__(self, sock: Path, *, tee: bool = True) -> None:
        argv = [*watch_argv(), "send", "--socket", str(sock), *(["--tee"] if tee else [])]
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.out = bytearray()
        self.err = bytearray()
        self._grew = threading.Condition()
        self._threads = [
            threading.Thread(target=self._drain, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._drain, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _drain(self, pipe: object, into: bytearray) -> None:
        while data := pipe.read1(1 << 16):  # type: ignore[attr-defined]
            with self._grew:
                into += data
                self._grew.notify_all()

    def feed(self, data: bytes, *, close: bool = True) -> threading.Thread:
        """Write ``data`` to its stdin from a thread (a blocked sender must not block the test)."""
        stdin = self.proc.stdin
        assert stdin is not None

        def write() -> None:
            try:
                stdin.write(data)
                stdin.flush()
                if close:
                    stdin.close()
            except (BrokenPipeError, ValueError):
                pass  # send already exited: the comparison of stdout says what was lost

        t = threading.Thread(target=write, daemon=True)
        t.start()
        return t

    def wait_stdout(self, n: int, timeout: float = 60.0) -> None:
        with self._grew:
            ok = self._grew.wait_for(lambda: len(self.out) >= n, timeout)
        assert ok, f"stdout stopped at {len(self.out)} of {n} bytes; stderr: {bytes(self.err)!r}"

    def finish(self, timeout: float = 150.0) -> int:
        rc = self.proc.wait(timeout)
        for t in self._threads:
            t.join(10)
        return rc


def _daemon(tmp_path: Path, sock: Path, limits: str = "") -> Daemon:
    src = f'[[source]]\ntype = "socket"\npath = "{sock}"\n'
    d = Daemon(tmp_path, write_config(tmp_path, src, extra=f"[limits]\n{limits}"))
    d.wait_ready()
    return d


def _stale_socket(tmp_path: Path) -> Path:
    """A socket file nobody listens on any more (a daemon that died): connect is refused."""
    path = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.close()
    return path


@pytest.mark.parametrize("where", ["missing", "stale"])
def test_tee_without_a_daemon_still_copies_every_byte(tmp_path: Path, where: str) -> None:
    """With no daemon (no socket, or a dead one's) `send --tee` copies all its input to stdout
    unchanged, then exits 2 saying it could not connect."""
    sock = tmp_path / "none.sock" if where == "missing" else _stale_socket(tmp_path)
    data = big_input()
    s = Send(sock)
    s.feed(data)
    rc = s.finish()
    assert bytes(s.out) == data
    assert rc == 2
    assert b"cannot connect to" in s.err and b"is `authz-diag watch` running" in s.err


@pytest.mark.slow
def test_tee_through_a_daemon_copies_every_byte_and_is_acknowledged(tmp_path: Path) -> None:
    """Through a running daemon `send --tee` copies all its input and exits 0; the denial alerts."""
    sock = tmp_path / "in.sock"
    d = _daemon(tmp_path, sock)
    data = big_input()
    try:
        s = Send(sock)
        s.feed(data)
        rc = s.finish()
        d.wait_for(lambda: len(d.alerts) >= 1, what="the terraform alert")
    finally:
        assert d.stop() == 0
    assert bytes(s.out) == data
    assert rc == 0, bytes(s.err)
    assert d.alerts[0]["diagnoses"][0]["action"] == "ec2:RunInstances"


@pytest.mark.slow
def test_tee_copies_every_byte_when_the_daemon_refuses(tmp_path: Path) -> None:
    """A daemon refusing the connection (too many from this user) loses nothing of the output;
    `send --tee` exits 2 with the daemon's reason."""
    sock = tmp_path / "in.sock"
    d = _daemon(tmp_path, sock, "socket_connections_per_uid = 1\n")
    held = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    data = big_input()
    try:
        held.connect(str(sock))  # accepted first: it holds this uid's only slot
        s = Send(sock)
        s.feed(data)
        rc = s.finish()
    finally:
        held.close()
        assert d.stop() == 0
    assert bytes(s.out) == data
    assert rc == 2
    assert b"too many connections from your user" in s.err


@pytest.mark.slow
def test_tee_copies_every_byte_when_the_daemon_stops_mid_stream(tmp_path: Path) -> None:
    """A daemon that stops while `send --tee` streams: the rest still reaches stdout, exit 2."""
    sock = tmp_path / "in.sock"
    d = _daemon(tmp_path, sock)
    data = big_input()
    half = len(data) // 2
    try:
        s = Send(sock)
        s.feed(data[:half], close=False).join()
        s.wait_stdout(half)
    finally:
        assert d.stop() == 0
    s.feed(data[half:])
    rc = s.finish()
    assert bytes(s.out) == data
    assert rc == 2
    assert b"authz-diag send:" in s.err


@pytest.mark.slow
def test_tee_output_does_not_wait_for_a_stalled_daemon(tmp_path: Path) -> None:
    """While the daemon reads nothing (stopped with SIGSTOP) all of the input still reaches
    stdout; once it runs again it takes the data and `send --tee` exits 0."""
    sock = tmp_path / "in.sock"
    d = _daemon(tmp_path, sock)
    data = big_input()
    d.signal(signal.SIGSTOP)
    try:
        s = Send(sock)
        s.feed(data)
        s.wait_stdout(len(data))
    finally:
        d.signal(signal.SIGCONT)
    try:
        rc = s.finish()
        d.wait_for(lambda: len(d.alerts) >= 1, what="the terraform alert")
    finally:
        assert d.stop() == 0
    assert bytes(s.out) == data
    assert rc == 0, bytes(s.err)


@pytest.mark.slow
@pytest.mark.parametrize("tee", [True, False])
def test_a_line_longer_than_max_line_bytes_is_an_error(tmp_path: Path, tee: bool) -> None:
    """A line over the daemon's max_line_bytes makes `send` exit 2 naming the line number, the
    limit and what to do; with --tee its bytes still reach stdout."""
    sock = tmp_path / "in.sock"
    d = _daemon(tmp_path, sock, "max_line_bytes = 1024\n")
    data = b"first\nsecond\n" + b"x" * 5000 + b"\n" + TERRAFORM.encode()
    try:
        s = Send(sock, tee=tee)
        s.feed(data)
        rc = s.finish()
        d.wait_for(lambda: len(d.alerts) >= 1, what="the denial after the long line")
    finally:
        assert d.stop() == 0
    assert bytes(s.out) == (data if tee else b"")
    assert rc == 2
    err = bytes(s.err).decode()
    assert "line 3" in err and "1024" in err and "max_line_bytes" in err, err
    assert "split" in err, "the message says what to do"


def test_tee_gives_up_on_a_daemon_that_never_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A socket that accepts but never reads gets at most MAX_PENDING bytes held for it; the
    whole input still reaches stdout and `send` fails saying the daemon stopped reading."""
    monkeypatch.setattr(send_module, "MAX_PENDING", 1 << 20, raising=False)
    path = tmp_path / "mute.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    data = big_input()
    src_r, src_w = os.pipe()
    out_r, out_w = os.pipe()
    result: list[BaseException | int] = []

    def run() -> None:
        try:
            result.append(send_module.send(src_r, path, tee_fd=out_w))
        except BaseException as exc:  # the test reads it
            result.append(exc)
        finally:
            os.close(out_w)

    def feed() -> None:
        with os.fdopen(src_w, "wb") as fh:
            fh.write(data)

    out = bytearray()

    def read() -> None:
        with os.fdopen(out_r, "rb") as fh:
            while chunk := fh.read1(1 << 16):
                out.extend(chunk)

    threads = [threading.Thread(target=f, daemon=True) for f in (run, feed, read)]
    for t in threads:
        t.start()
    try:
        threads[0].join(60)  # a sender blocked on the socket never returns
        threads[2].join(10)
    finally:
        listener.close()
    assert not threads[0].is_alive(), f"send blocked after {len(out)} of {len(data)} bytes"
    assert bytes(out) == data
    assert len(result) == 1 and isinstance(result[0], InputError), result
    assert "stopped reading" in str(result[0])
