"""Who may hold the socket source's connections, and how refusals are logged.

One local user must not be able to lock every other writer out: connections
are capped per peer uid (read from ``SO_PEERCRED``, which the kernel fills in
at ``connect`` and a client cannot forge) as well as in total.  A reconnect
loop must not flood the journal either, so refusals are logged at most once
per interval, with how many there were since the last line.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from diagnostics.sources.peer import peer_credentials
from diagnostics.support.logconfig import get_logger

log = get_logger()

#: Seconds between two "connections refused" log lines.
REFUSAL_LOG_INTERVAL = 10.0


def peer_uid(conn: socket.socket) -> int | None:
    """The uid of the process that connected ``conn``; None where the OS cannot say."""
    cred = peer_credentials(conn)
    return cred[1] if cred is not None else None


class ConnectionSlots:
    """At most ``total`` connections, and at most ``per_uid`` from one uid.  Thread-safe."""

    def __init__(self, total: int, per_uid: int) -> None:
        self.total = total
        self.per_uid = per_uid
        self._lock = threading.Lock()
        self._by_uid: dict[int | None, int] = {}
        self._held = 0

    def acquire(self, uid: int | None) -> str | None:
        """Take a slot for ``uid``; None on success, else why it was refused."""
        with self._lock:
            if self._by_uid.get(uid, 0) >= self.per_uid:
                return "per_uid"
            if self._held >= self.total:
                return "total"
            self._by_uid[uid] = self._by_uid.get(uid, 0) + 1
            self._held += 1
            return None

    def release(self, uid: int | None) -> None:
        with self._lock:
            left = self._by_uid.get(uid, 0) - 1
            if left > 0:
                self._by_uid[uid] = left
            else:
                self._by_uid.pop(uid, None)
            self._held = max(0, self._held - 1)

    def held(self, uid: int | None = None) -> int:
        with self._lock:
            return self._held if uid is None else self._by_uid.get(uid, 0)


class RefusalLog:
    """Logs refused connections at most once per ``interval`` seconds, with counts.

    The first refusal is logged at once (an operator sees the problem start);
    later ones are summed per reason and uid and written with the next line.
    """

    def __init__(
        self,
        source: str,
        limits: dict[str, int],
        *,
        interval: float = REFUSAL_LOG_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self._limits = limits
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, int | None], int] = {}
        self._last: float | None = None
        self.total = 0
        self.lines = 0

    def refused(self, reason: str, uid: int | None) -> None:
        with self._lock:
            self.total += 1
            key = (reason, uid)
            self._pending[key] = self._pending.get(key, 0) + 1
            now = self._clock()
            if self._last is not None and now - self._last < self._interval:
                return
            self._emit(now)

    def flush(self) -> None:
        """Write what was counted since the last line (at stop)."""
        with self._lock:
            if self._pending:
                self._emit(self._clock())

    def _emit(self, now: float) -> None:
        counts = [
            {"reason": reason, "uid": uid, "refused": n}
            for (reason, uid), n in sorted(self._pending.items(), key=lambda kv: -kv[1])
        ]
        self._pending.clear()
        self._last = now
        self.lines += 1
        log.warning(
            "socket.connections_refused",
            source=self.source,
            refused=sum(c["refused"] for c in counts if isinstance(c["refused"], int)),
            refused_total=self.total,
            by_peer=counts[:5],
            **self._limits,
            hint="a local process holds many connections or reconnects in a loop; "
            "raise [limits] socket_connections_per_uid only if that writer is legitimate",
        )
