"""``authz-diag send [--socket PATH] [--tee]``: copy stdin into the watch daemon's socket.

``terraform apply 2>&1 | authz-diag send`` — the job's output goes to the
daemon, which diagnoses and alerts.  With ``--tee`` the input is also copied
to stdout, so the job's output stays visible in the terminal or CI log.

With ``--tee`` stdout comes first: every byte read is written there at once,
whatever the daemon does.  Down, refusing, missing, closing mid-stream or too
slow to read (its unread bytes wait in memory, up to ``MAX_PENDING``), the
input still reaches stdout to its end, and ``send`` exits 2 afterwards with
the reason.  Without ``--tee`` it stops at the first failure.

After its input ends, ``send`` waits for the daemon's reply line (see
``sources/unix_socket.py``): ``OK <bytes>`` once the daemon has diagnosed and
committed every byte, else ``ERR <reason>`` (``ERR line <n> ...`` for a line
longer than the daemon's ``max_line_bytes``, whose end was never searched).
It exits 0 only on an ``OK`` that counts every byte it sent; refused, cut off,
unanswered or with an over-long line, it exits 2 with the reason.  The daemon
must be this version or later (an older one closes without a reply, which
``send`` reports, and does not report long lines).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diagnostics.errors import InputError

if TYPE_CHECKING:
    import socket

CHUNK = 64 * 1024
#: Longest ``send`` waits for the reply after its input ended.
ACK_TIMEOUT = 120.0
#: Longest reply line read from the daemon.
MAX_REPLY = 512
#: Bytes ``--tee`` holds for a daemon that does not read them before it gives
#: up on that daemon (stdout never waits for it).
MAX_PENDING = 64 << 20


def register(sub: Any) -> None:
    p = sub.add_parser(
        "send",
        help="send stdin to the watch daemon's socket "
        "(e.g. terraform apply 2>&1 | authz-diag send)",
        description="Copy standard input into the Unix socket of `authz-diag watch`.",
    )
    p.add_argument(
        "--socket",
        type=Path,
        default=None,
        metavar="PATH",
        help="socket path (default: $AUTHZ_DIAG_SOCKET, "
        "else /run/authz-diagnostics/authz-diagnostics.sock)",
    )
    p.add_argument(
        "--tee",
        action="store_true",
        help="also copy the input to stdout, all of it even when the daemon is down or "
        "refuses (then exit 2 at the end)",
    )
    p.set_defaults(run=run)


def send(source_fd: int, path: Path, *, tee_fd: int | None = None) -> int:
    """Copy ``source_fd`` to the socket at ``path`` until EOF; return bytes acknowledged.

    With ``tee_fd`` every byte read is written there first and the copy goes
    on to EOF whatever happens to the daemon; the failure is raised at the end.
    """
    link = _Link(path)
    try:
        if tee_fd is None and link.failure is not None:
            raise InputError(link.failure)
        _pump(source_fd, link, tee_fd)
        return link.finish()
    finally:
        link.close()


def _pump(source_fd: int, link: _Link, tee_fd: int | None) -> None:
    """Read to EOF: to ``tee_fd`` at once, to the daemon as fast as it takes the bytes."""
    import select

    while True:
        if tee_fd is None and link.failure is not None:
            raise InputError(link.failure)
        waiting = [link.sock] if link.sock is not None and link.pending else []
        # Without --tee nobody watches the output: read no further ahead than
        # the daemon takes (the pipe's writer waits).  With it, never wait on the daemon.
        read = [source_fd] if tee_fd is not None or not waiting else []
        readable, writable, _ = select.select(read, waiting, [])
        if writable:
            link.flush()
        if readable:
            data = os.read(source_fd, CHUNK)
            if not data:
                return
            if tee_fd is not None:
                _write_all(tee_fd, data)
            link.queue(data)
            link.flush()


class _Link:
    """The connection to the daemon; ``failure`` says why it is gone (None while it is not)."""

    def __init__(self, path: Path) -> None:
        import socket  # here: every other command would pay for it at start-up

        self.path = path
        self.sock: socket.socket | None = None
        self.failure: str | None = None
        self.pending = bytearray()
        self.sent = 0
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(path))
        except OSError as exc:
            sock.close()
            self.failure = (
                f"cannot connect to {path}: {exc.strerror}; is `authz-diag watch` running with "
                "a socket source (or authz-diagnostics.socket enabled), and are you in its group?"
            )
            return
        sock.setblocking(False)
        self.sock = sock

    def queue(self, data: bytes) -> None:
        if self.sock is None:
            return
        self.pending += data
        if len(self.pending) > MAX_PENDING:
            # A daemon stopped or stuck: the output goes on, the memory stops growing.
            self._fail(
                f"the daemon at {self.path} stopped reading ({len(self.pending)} bytes were "
                "waiting for it); the rest of the input was not sent: check its log, then "
                "send again"
            )

    def flush(self) -> None:
        """Send what the socket takes now, without blocking."""
        while self.sock is not None and self.pending:
            try:
                n = self.sock.send(self.pending)
            except BlockingIOError:
                return
            except OSError:
                self._closed()
                return
            del self.pending[:n]
            self.sent += n

    def finish(self) -> int:
        """After EOF: send the rest, wait for the reply; the bytes acknowledged or InputError."""
        import socket

        if self.sock is not None:
            self.sock.settimeout(ACK_TIMEOUT)
            try:
                self.sock.sendall(self.pending)
                self.sent += len(self.pending)
                self.pending.clear()
                self.sock.shutdown(socket.SHUT_WR)
            except TimeoutError:
                self._fail(_failure("TIMEOUT", self.path, self.sent))
            except OSError:
                self._closed()
        if self.sock is None:
            raise InputError(self.failure or f"the connection to {self.path} was lost")
        reply = _reply(self.sock)
        if reply.startswith("ERR line "):
            # Committed, but a failure past the bound in that line was missed.
            raise InputError(
                f"the daemon at {self.path} searched only part of the input: {reply[4:]}"
            )
        if not reply.startswith("OK "):
            raise InputError(_failure(reply, self.path, self.sent))
        acked = reply[3:].strip()
        if acked != str(self.sent):
            raise InputError(
                f"the daemon at {self.path} acknowledged {acked} of the {self.sent} bytes sent; "
                "the rest were not processed, send them again"
            )
        return self.sent

    def _closed(self) -> None:
        # The daemon closed on us; its reply line (if any) says why.
        assert self.sock is not None
        self._fail(_failure(_reply(self.sock), self.path, self.sent))

    def _fail(self, why: str) -> None:
        self.failure = why
        self.pending = bytearray()
        self.close()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _reply(sock: socket.socket) -> str:
    """The daemon's reply line, printable ASCII only; "" when it closed without one."""
    sock.settimeout(ACK_TIMEOUT)
    buf = b""
    try:
        while b"\n" not in buf and len(buf) < MAX_REPLY:
            part = sock.recv(MAX_REPLY - len(buf))
            if not part:
                break
            buf += part
    except TimeoutError:
        return "TIMEOUT"
    except OSError:
        pass
    line = buf.split(b"\n", 1)[0].decode("ascii", "replace")
    return "".join(c if " " <= c <= "~" else "?" for c in line)


def _failure(reply: str, path: Path, sent: int) -> str:
    if reply.startswith("ERR "):
        return f"the daemon at {path} did not take the data ({reply[4:]}); {sent} bytes were sent"
    if reply == "TIMEOUT":
        return (
            f"the daemon at {path} did not acknowledge the data within {ACK_TIMEOUT:.0f}s; "
            "it may be overloaded or its decoder stuck: check its log, then send again"
        )
    return (
        f"the daemon at {path} closed the connection without acknowledging the {sent} bytes "
        "sent; it may have stopped, or be older than this client (update both): check its "
        "log, then send again"
    )


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def run(args: argparse.Namespace) -> int:
    from diagnostics.sources.unix_socket import default_socket_path

    path = args.socket or default_socket_path()
    send(sys.stdin.fileno(), path, tee_fd=sys.stdout.fileno() if args.tee else None)
    return 0
