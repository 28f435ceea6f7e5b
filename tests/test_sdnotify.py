"""sd_notify over $NOTIFY_SOCKET: datagrams, abstract sockets, the watchdog cadence."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from diagnostics.service.sdnotify import Notifier


def test_sends_datagrams_to_a_path_socket(tmp_path: Path) -> None:
    """READY=1 and STATUS= arrive as one datagram on the socket NOTIFY_SOCKET names."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as rx:
        rx.bind(str(path))
        n = Notifier({"NOTIFY_SOCKET": str(path)})
        n.ready("failures=0")
        assert rx.recv(4096) == b"READY=1\nSTATUS=failures=0"
        n.stopping()
        assert rx.recv(4096) == b"STOPPING=1"
        n.close()


def test_abstract_namespace_socket() -> None:
    """A NOTIFY_SOCKET starting with @ reaches the abstract-namespace socket."""
    name = f"authz-diag-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as rx:
        rx.bind(b"\0" + name.encode())
        Notifier({"NOTIFY_SOCKET": "@" + name}).status("hello")
        assert rx.recv(4096) == b"STATUS=hello"


def test_watchdog_pings_at_half_the_timeout(tmp_path: Path) -> None:
    """WATCHDOG=1 goes out at once, then not again until half of WATCHDOG_USEC has passed."""
    now = [100.0]
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as rx:
        rx.bind(str(path))
        rx.settimeout(0.05)
        n = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "4000000"}, clock=lambda: now[0])
        assert n.watchdog_interval == 2.0
        n.ping()
        assert rx.recv(64) == b"WATCHDOG=1"
        now[0] += 1.9
        n.ping()
        assert n.watchdog_due() is not None and n.watchdog_due() > 0
        now[0] += 0.2
        n.ping()
        assert rx.recv(64) == b"WATCHDOG=1"


def test_watchdog_for_another_pid_is_ignored() -> None:
    """WATCHDOG_PID naming another process disables the watchdog for this one."""
    n = Notifier({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getpid() + 1)})
    assert n.watchdog_due() is None


def test_without_notify_socket_nothing_is_sent() -> None:
    """Outside systemd every call is a harmless no-op."""
    n = Notifier({})
    assert not n.enabled
    assert n.send("READY=1") is False


def test_unreachable_socket_does_not_raise(tmp_path: Path) -> None:
    """A NOTIFY_SOCKET that nobody listens on is logged, never raised."""
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert n.send("READY=1") is False
