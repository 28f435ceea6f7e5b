"""``authz-diag send [--socket PATH]``: copy stdin into the watch daemon's socket.

``terraform apply 2>&1 | authz-diag send`` — the job's output goes to the
daemon, which diagnoses and alerts.  With ``--tee`` the input is also copied
to stdout, so the job's output stays visible in the terminal or CI log.

After its input ends, ``send`` waits for the daemon's reply line (see
``sources/unix_socket.py``): ``OK <bytes>`` once the daemon has diagnosed and
committed every byte, else ``ERR <reason>``.  It exits 0 only on an ``OK``
that counts every byte it sent; refused, cut off or unanswered, it exits 2
with the reason.  The daemon must be this version or later (an older one
closes without a reply, which ``send`` reports).
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
    p.add_argument("--tee", action="store_true", help="also copy the input to stdout")
    p.set_defaults(run=run)


def send(source_fd: int, path: Path, *, tee_fd: int | None = None) -> int:
    """Copy ``source_fd`` to the socket at ``path`` until EOF; return bytes sent."""
    import socket  # here: every other command would pay for it at start-up

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except OSError as exc:
        sock.close()
        raise InputError(
            f"cannot connect to {path}: {exc.strerror}; is `authz-diag watch` running with a "
            "socket source (or authz-diagnostics.socket enabled), and are you in its group?"
        ) from None
    sent = 0
    with sock:
        try:
            while True:
                data = os.read(source_fd, CHUNK)
                if not data:
                    break
                if tee_fd is not None:
                    _write_all(tee_fd, data)
                sock.sendall(data)
                sent += len(data)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            # The daemon closed on us; its reply line (if any) says why.
            raise InputError(_failure(_reply(sock), path, sent)) from None
        reply = _reply(sock)
    if not reply.startswith("OK "):
        raise InputError(_failure(reply, path, sent))
    acked = reply[3:].strip()
    if acked != str(sent):
        raise InputError(
            f"the daemon at {path} acknowledged {acked} of the {sent} bytes sent; "
            "the rest were not processed, send them again"
        )
    return sent


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
