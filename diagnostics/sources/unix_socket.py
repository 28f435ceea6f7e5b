"""``type = "socket"``: a Unix stream socket other processes pipe their errors into.

Each connection is its own stream with its own Extractor, so two jobs writing
at once never mix their lines.  With systemd socket activation
(``authz-diagnostics.socket``) the listening socket arrives as fd 3
(``LISTEN_FDS``/``LISTEN_PID``, sd_listen_fds(3)); otherwise the source binds
``path`` itself with ``mode`` (0660 by default) and removes it on stop.

Connections are capped in total and per peer uid (``socket_guard``), closed
when idle for ``socket_idle_timeout`` or older than ``socket_max_lifetime``.
The reply protocol (what ``authz-diag send`` waits for): after the sender
shuts down its write side, the daemon writes one line, ``OK <bytes>`` once
every byte is diagnosed and committed, or ``ERR <reason>`` when the
connection was refused, cut off or failed, or when a line was longer than
``max_line_bytes`` (``ERR line <n> ...``: the rest of that line was not
searched, so the sender must split it or the bound be raised).  A sender that never reads (an
older client, ``nc -U``) is unaffected: the reply is best effort.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import threading
import time
from collections.abc import Mapping
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diagnostics.errors import ConfigError, InputError
from diagnostics.sources.base import (
    IDLE_FLUSH,
    Emit,
    SourceContext,
    StreamClosed,
    StreamData,
    StreamIdle,
    StreamOpened,
)
from diagnostics.sources.long_lines import LongLines
from diagnostics.sources.peer import connection_label
from diagnostics.sources.socket_guard import ConnectionSlots, RefusalLog, peer_uid
from diagnostics.support.logconfig import get_logger

if TYPE_CHECKING:
    from diagnostics.config.table import ConfigTable
    from diagnostics.sources.settings import SourceConfig

log = get_logger()

#: First fd systemd passes (SD_LISTEN_FDS_START).
LISTEN_FDS_START = 3
#: How often a quiet connection is looked at.
RECV_TIMEOUT = 0.25
#: Longest a closed connection waits for its records to be committed before
#: the sender is told they were not (STS's batch_deadline is 20 s by default).
ACK_TIMEOUT = 60.0
#: Pending connections the kernel queues before connect() blocks.
BACKLOG = 128


def default_socket_path() -> Path:
    """``$AUTHZ_DIAG_SOCKET``, else the path ``authz-diagnostics.socket`` listens on."""
    env = os.environ.get("AUTHZ_DIAG_SOCKET")
    return Path(env) if env else Path("/run/authz-diagnostics/authz-diagnostics.sock")


def activated_socket() -> socket.socket | None:
    """The socket systemd passed us, if this process was socket-activated."""
    try:
        pid = int(os.environ.get("LISTEN_PID", "0"))
        fds = int(os.environ.get("LISTEN_FDS", "0"))
    except ValueError:
        return None
    if pid != os.getpid() or fds < 1:
        return None
    # Unset so child processes do not believe they were activated too.
    for key in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(key, None)
    return socket.socket(fileno=LISTEN_FDS_START)


class SocketSource:
    finite = False

    def __init__(self, name: str, ctx: SourceContext, path: Path, mode: int) -> None:
        self.name = name
        self._ctx = ctx
        self.path = path
        self._mode = mode
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._owned = False
        self._threads: list[threading.Thread] = []
        limits = ctx.limits
        self._slots = ConnectionSlots(limits.socket_connections, limits.socket_connections_per_uid)
        self._idle_timeout = limits.socket_idle_timeout
        self._max_lifetime = limits.socket_max_lifetime
        self.refusals = RefusalLog(
            name,
            {
                "socket_connections": limits.socket_connections,
                "socket_connections_per_uid": limits.socket_connections_per_uid,
            },
        )
        self._ids = count(1)

    def start(self, emit: Emit) -> None:
        sock = activated_socket()
        if sock is None:
            sock = self._bind()
            self._owned = True
        else:
            log.info("using the socket passed by systemd", source=self.name)
        sock.settimeout(0.2)  # so accept() notices stop() promptly
        self._listener = sock
        t = threading.Thread(target=self._accept, args=(emit,), name=f"source-{self.name}")
        t.daemon = True
        t.start()
        self._threads.append(t)

    def _bind(self) -> socket.socket:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists() or self.path.is_symlink():
                if not stat.S_ISSOCK(self.path.lstat().st_mode):
                    raise InputError(
                        f"socket source {self.name}: {self.path} exists and is not a socket; "
                        "remove it or choose another path"
                    )
                self.path.unlink()  # a stale socket from an earlier run
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            # Bind under a restrictive umask so the path never exists with wider access.
            old = os.umask(0o177)
            try:
                sock.bind(str(self.path))
            finally:
                os.umask(old)
            self.path.chmod(self._mode)
            sock.listen(BACKLOG)
        except OSError as exc:
            raise InputError(
                f"socket source {self.name}: cannot listen on {self.path}: {exc.strerror}; "
                "check the directory exists and is writable"
            ) from None
        return sock

    def _accept(self, emit: Emit) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                if not self._stop.is_set():
                    log.error("socket accept failed", source=self.name, error=str(exc))
                break
            uid = peer_uid(conn)
            refused = self._slots.acquire(uid)
            if refused is not None:
                self._refuse(conn, refused, uid)
                continue
            t = threading.Thread(target=self._serve, args=(conn, uid, emit), daemon=True)
            t.start()
            self._threads = [x for x in self._threads if x.is_alive()]
            self._threads.append(t)

    def _refuse(self, conn: socket.socket, reason: str, uid: int | None) -> None:
        self._ctx.count("connections_refused")
        self.refusals.refused(reason, uid)
        what = "from your user" if reason == "per_uid" else "in total"
        _reply(conn, f"ERR too many connections {what}; try again later")
        conn.close()

    def _serve(self, conn: socket.socket, uid: int | None, emit: Emit) -> None:
        number = next(self._ids)
        stream = f"{self.name}:conn-{number}"
        try:
            label = connection_label(self.path, number, conn)  # alerts tell senders apart
            if not emit(StreamOpened(stream=stream, path=label, source=self.name)):
                return
            self._ctx.count("connections")
            long_lines = LongLines(self._ctx.limits.max_line_bytes)
            got = self._read(conn, stream, emit, long_lines)
            if got is not None:
                self._finish(conn, stream, emit, *got, long_lines=long_lines)
        finally:
            conn.close()
            self._slots.release(uid)

    def _read(
        self, conn: socket.socket, stream: str, emit: Emit, long_lines: LongLines
    ) -> tuple[int, str | None] | None:
        """Feed the connection to the service; (bytes, why it was cut or None at EOF).

        None when the service is stopping and took no more events.
        """
        chunk = self._ctx.limits.read_chunk_bytes
        conn.settimeout(RECV_TIMEOUT)
        opened = last_recv = time.monotonic()
        last_data: float | None = None  # None: nothing unflushed since the last idle
        received = 0
        while not self._stop.is_set():
            if time.monotonic() - opened >= self._max_lifetime:
                return received, "max_lifetime"
            try:
                data = conn.recv(chunk)
            except TimeoutError:
                now = time.monotonic()
                if now - last_recv >= self._idle_timeout:
                    return received, "idle_timeout"
                if last_data is not None and now - last_data >= IDLE_FLUSH:
                    last_data = None
                    if not emit(StreamIdle(stream=stream)):
                        return None
                continue
            except OSError as exc:
                log.warning("socket connection failed", source=self.name, error=str(exc))
                return received, "error"
            if not data:
                return received, None
            self._ctx.count("bytes_read", len(data))
            received += len(data)
            long_lines.feed(data)
            last_recv = last_data = time.monotonic()
            if not emit(StreamData(stream=stream, data=data)):
                return None
        return received, "stopping"

    def _finish(
        self,
        conn: socket.socket,
        stream: str,
        emit: Emit,
        received: int,
        cut: str | None,
        *,
        long_lines: LongLines,
    ) -> None:
        """Close the stream and tell the sender whether its bytes were committed."""
        if cut is not None:
            # What arrived is still diagnosed; the sender learns it was cut off.
            self._ctx.count(f"connections_{cut}")
            emit(StreamClosed(stream=stream, reason=cut))
            _reply(conn, f"ERR connection closed by the daemon ({cut}) after {received} bytes")
            return
        done = threading.Event()
        ok: list[bool] = []

        def ack(success: bool) -> None:
            ok.append(success)
            done.set()

        if not emit(StreamClosed(stream=stream, ack=ack)):
            _reply(conn, "ERR the daemon is stopping; send again later")
        elif done.wait(ACK_TIMEOUT) and ok and ok[0]:
            too_long = long_lines.reply()
            if too_long is not None:
                # Committed, but part of a line was never searched: not an OK.
                self._ctx.count("connections_long_lines")
                _reply(conn, f"ERR {too_long}")
            else:
                _reply(conn, f"OK {received}")
        else:
            _reply(conn, "ERR the daemon could not process the data; see its log")

    def is_ready(self) -> bool:
        return self._listener is not None

    def stop(self) -> None:
        self._stop.set()
        self.refusals.flush()

    def join(self, timeout: float) -> None:
        for t in list(self._threads):
            t.join(timeout)
        if self._listener is not None:
            self._listener.close()
        if self._owned:
            with contextlib.suppress(OSError):
                self.path.unlink()


def _reply(conn: socket.socket, line: str) -> None:
    """Best effort: a sender that already closed, or never reads, is not an error."""
    with contextlib.suppress(OSError):
        conn.settimeout(1.0)
        conn.sendall(line.encode("ascii", "replace") + b"\n")


class _SocketType:
    def check(self, table: ConfigTable) -> Mapping[str, Any]:
        path = table.text("path")
        mode_text = table.text("mode", "0660") or "0660"
        try:
            mode = int(mode_text, 8)
        except ValueError:
            raise ConfigError(
                f"{table.where}: key 'mode' must be an octal string like \"0660\""
            ) from None
        if mode & 0o007:
            raise ConfigError(
                f"{table.where}: key 'mode' {mode_text} lets every local user write alerts; "
                'use "0660" and the group to grant access'
            )
        return {"path": Path(path) if path else default_socket_path(), "mode": mode}

    def create(self, config: SourceConfig, ctx: SourceContext) -> SocketSource:
        return SocketSource(config.name, ctx, config.options["path"], config.options["mode"])


SOCKET = _SocketType()
