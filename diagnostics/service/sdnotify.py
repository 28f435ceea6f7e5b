"""sd_notify(3) over ``$NOTIFY_SOCKET`` with the stdlib.

The protocol is one datagram of ``KEY=VALUE`` lines to an AF_UNIX socket; a
leading ``@`` names the abstract namespace (a NUL byte).  Without
``NOTIFY_SOCKET`` every call is a no-op, so the same code runs outside systemd.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping

from diagnostics.support.logconfig import get_logger

log = get_logger()


class Notifier:
    """Sends READY/STATUS/WATCHDOG/STOPPING; failures are logged once, never raised."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        env = os.environ if env is None else env
        self._clock = clock
        self._address: str | bytes | None = None
        addr = env.get("NOTIFY_SOCKET", "")
        if addr.startswith("@"):
            self._address = b"\0" + addr[1:].encode()
        elif addr.startswith("/"):
            self._address = addr
        self.watchdog_interval: float | None = None
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            # Half the timeout, as sd_watchdog_enabled(3) recommends.
            self.watchdog_interval = int(usec) / 1e6 / 2
        self._last_ping = float("-inf")
        self._sock: socket.socket | None = None
        self._warned = False

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def send(self, *lines: str) -> bool:
        if self._address is None:
            return False
        payload = "\n".join(lines).encode()
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(payload, self._address)
        except OSError as exc:
            if not self._warned:
                log.warning("sd_notify failed", error=str(exc))
                self._warned = True
            return False
        return True

    def ready(self, status: str = "") -> None:
        self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> None:
        self.send(f"STATUS={text}")

    def reloading(self) -> None:
        self.send("RELOADING=1")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def watchdog_due(self) -> float | None:
        """Seconds until the next WATCHDOG=1 is due; None when no watchdog is set."""
        if self.watchdog_interval is None:
            return None
        return max(0.0, self._last_ping + self.watchdog_interval - self._clock())

    def ping(self) -> None:
        """Send WATCHDOG=1 if due; call it from the main loop only."""
        due = self.watchdog_due()
        if due is not None and due <= 0:
            self.send("WATCHDOG=1")
            self._last_ping = self._clock()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
