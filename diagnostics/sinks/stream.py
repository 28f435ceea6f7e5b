"""The stdout and file sinks: text summaries or JSON lines."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Literal

import orjson

from diagnostics.alerts.alert import Alert
from diagnostics.alerts.sink import Detail
from diagnostics.errors import SinkError
from diagnostics.sinks.readback import SeenIds, read_tail
from diagnostics.sinks.render import alert_json
from diagnostics.sinks.text import render_text
from diagnostics.support.logconfig import get_logger
from diagnostics.text.safe import json_bytes

Format = Literal["text", "json"]

log = get_logger()


def write_all(out: IO[bytes], data: bytes) -> None:
    """Write every byte of ``data``, then flush.

    A signal (SIGTERM, SIGHUP) that arrives while a large write blocks on a
    full pipe makes ``BufferedWriter.write`` return after a partial write, and
    the rest would be silently dropped: the journal would lose alerts the
    alert store records as delivered.
    """
    view = memoryview(data)
    while view:
        written = out.write(view)
        view = view[len(view) if written is None else written :]
    out.flush()


def encode(
    alerts: Sequence[Alert],
    fmt: Format,
    detail: Detail,
    *,
    color: bool = False,
    with_id: bool = False,
) -> bytes:
    if fmt == "json":
        return b"".join(json_bytes(orjson.dumps(alert_json(a, detail))) + b"\n" for a in alerts)
    return "".join(render_text(a, color=color, with_id=with_id) + "\n" for a in alerts).encode()


class StdoutSink:
    """Writes to stdout (the journal under systemd); colour only on a terminal."""

    def __init__(
        self,
        name: str = "stdout",
        *,
        format: Format = "text",
        detail: Detail = "full",
        stream: IO[bytes] | None = None,
        color: bool | None = None,
    ) -> None:
        self.name = name
        self.detail: Detail = detail
        self.format: Format = format
        self._stream = stream
        self._color = color
        self._lock = threading.Lock()

    def _out(self) -> IO[bytes]:
        # Looked up at send time so tests and the CLI can swap sys.stdout.
        return self._stream if self._stream is not None else sys.stdout.buffer

    def send(self, alerts: Sequence[Alert]) -> None:
        out = self._out()
        color = self._color
        if color is None:
            isatty = getattr(out, "isatty", None)
            color = bool(isatty()) if isatty else False
        data = encode(alerts, self.format, self.detail, color=color and self.format == "text")
        with self._lock:
            try:
                write_all(out, data)
            except (OSError, ValueError) as exc:
                raise SinkError(f"cannot write alerts to stdout: {exc}") from exc

    def close(self, timeout: float) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._out().flush()

    def reopen(self) -> None:
        """Nothing to reopen: stdout is the journal's pipe."""


class FileSink:
    """Appends JSON lines (or text) to ``path``; ``reopen`` follows logrotate.

    Exactly once across ``kill -9``: every alert carries its notification id,
    and when it opens the file the sink reads back the ids at its end
    (``readback``) and never writes one of them again, nor one it already
    wrote in this process.
    """

    def __init__(
        self,
        name: str,
        path: Path,
        *,
        format: Format = "json",
        detail: Detail = "full",
    ) -> None:
        self.name = name
        self.path = path
        self.detail: Detail = detail
        self.format: Format = format
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self.seen = SeenIds()
        self._torn = False

    def _open(self) -> IO[bytes]:
        if self._file is None:
            try:
                self._torn = read_tail(self.path, self.seen)
                # Alerts can hold decoded request contexts: a new file is 0600
                # whatever the umask; an existing file keeps the mode it was given.
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                self._file = os.fdopen(fd, "ab")
            except OSError as exc:
                raise SinkError(
                    f"cannot open the alert file {self.path}: {exc.strerror}; "
                    "check that its directory exists and is writable by this user"
                ) from exc
        return self._file

    def send(self, alerts: Sequence[Alert]) -> None:
        with self._lock:
            out = self._open()
            fresh = [
                a for a in alerts if not a.notification_id or a.notification_id not in self.seen
            ]
            if len(fresh) < len(alerts):
                log.info(
                    "alert.already_in_file",
                    sink=self.name,
                    skipped=len(alerts) - len(fresh),
                    path=str(self.path),
                )
            if not fresh:
                return
            data = encode(fresh, self.format, self.detail, with_id=True)
            if self._torn:
                # A write cut by a crash: start on a line of our own.
                data = b"\n" + data
            try:
                write_all(out, data)
            except OSError as exc:
                # Reopen next time: the disk may come back, the file may be new.
                self._close_file()
                raise SinkError(f"cannot write alerts to {self.path}: {exc.strerror}") from exc
            self._torn = False
            for a in fresh:
                if a.notification_id:
                    self.seen.add(a.notification_id)

    def _close_file(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    def reopen(self) -> None:
        """Close the current file; the next alert opens ``path`` afresh (after logrotate)."""
        with self._lock:
            self._close_file()

    def close(self, timeout: float) -> None:
        with self._lock:
            self._close_file()
