"""``type = "stdin"``: read standard input until EOF, then let the service finish.

A writer that goes quiet without closing the pipe (a CI job still running
after its last error) gets its held records decided after ``IDLE_FLUSH``
seconds, like a socket connection; at SIGTERM the service finishes the stream.
"""

from __future__ import annotations

import os
import select
import sys
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from diagnostics.sources.base import (
    IDLE_FLUSH,
    Emit,
    SourceContext,
    SourceFinished,
    StreamClosed,
    StreamData,
    StreamIdle,
    StreamOpened,
)
from diagnostics.support.logconfig import get_logger

if TYPE_CHECKING:
    from diagnostics.config.table import ConfigTable
    from diagnostics.sources.settings import SourceConfig

log = get_logger()

#: How often a quiet stdin is looked at (and stop() noticed).
POLL = 0.25


class StdinSource:
    finite = True

    def __init__(self, name: str, ctx: SourceContext, fd: int | None = None) -> None:
        self.name = name
        self._ctx = ctx
        self._fd = sys.stdin.fileno() if fd is None else fd
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, emit: Emit) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(emit,), name=f"source-{self.name}", daemon=True
        )
        self._thread.start()

    def _run(self, emit: Emit) -> None:
        stream = f"{self.name}:-"
        if not emit(StreamOpened(stream=stream, path="-", source=self.name)):
            return
        chunk = self._ctx.limits.read_chunk_bytes
        last_data: float | None = None  # None: nothing unflushed since the last idle
        while not self._stop.is_set():
            try:
                readable, _, _ = select.select([self._fd], [], [], POLL)
                if not readable:
                    if last_data is not None and time.monotonic() - last_data >= IDLE_FLUSH:
                        last_data = None
                        if not emit(StreamIdle(stream=stream)):
                            return
                    continue
                data = os.read(self._fd, chunk)
            except OSError as exc:
                log.error("stdin read failed", source=self.name, error=str(exc))
                break
            if not data:
                break
            self._ctx.count("bytes_read", len(data))
            last_data = time.monotonic()
            if not emit(StreamData(stream=stream, data=data)):
                return
        emit(StreamClosed(stream=stream))
        emit(SourceFinished(source=self.name))

    def is_ready(self) -> bool:
        return self._thread is not None

    def stop(self) -> None:
        # The reader polls with select(), so it notices within POLL seconds.
        self._stop.set()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


class _StdinType:
    def check(self, table: ConfigTable) -> Mapping[str, Any]:
        return {}

    def create(self, config: SourceConfig, ctx: SourceContext) -> StdinSource:
        return StdinSource(config.name, ctx)


STDIN = _StdinType()
