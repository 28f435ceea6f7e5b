"""``authz-diag send [--socket PATH]``: copy stdin into the watch daemon's socket.

``terraform apply 2>&1 | authz-diag send`` — the job's output goes to the
daemon, which diagnoses and alerts.  With ``--tee`` the input is also copied
to stdout, so the job's output stays visible in the terminal or CI log.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path
from typing import Any

from diagnostics.errors import InputError

CHUNK = 64 * 1024


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
        while True:
            data = os.read(source_fd, CHUNK)
            if not data:
                break
            if tee_fd is not None:
                _write_all(tee_fd, data)
            sock.sendall(data)
            sent += len(data)
        sock.shutdown(socket.SHUT_WR)
    return sent


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def run(args: argparse.Namespace) -> int:
    from diagnostics.sources.unix_socket import default_socket_path

    path = args.socket or default_socket_path()
    send(sys.stdin.fileno(), path, tee_fd=sys.stdout.fileno() if args.tee else None)
    return 0
