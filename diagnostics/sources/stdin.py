"""``type = "stdin"``: read standard input until EOF, then let the service finish."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import structlog

from diagnostics.sources.base import (
    Emit,
    SourceContext,
    SourceFinished,
    StreamClosed,
    StreamData,
    StreamOpened,
)

if TYPE_CHECKING:
    from diagnostics.service.config import ConfigTable, SourceConfig

log = structlog.get_logger()


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
        if not emit(StreamOpened(stream=stream, path="-")):
            return
        chunk = self._ctx.limits.read_chunk_bytes
        while not self._stop.is_set():
            try:
                data = os.read(self._fd, chunk)
            except OSError as exc:
                log.error("stdin read failed", source=self.name, error=str(exc))
                break
            if not data:
                break
            self._ctx.count("bytes_read", len(data))
            if not emit(StreamData(stream=stream, data=data)):
                return
        emit(StreamClosed(stream=stream))
        emit(SourceFinished(source=self.name))

    def is_ready(self) -> bool:
        return self._thread is not None

    def stop(self) -> None:
        # A blocked read cannot be interrupted portably; the thread is a daemon
        # and the service does not wait for it beyond the drain timeout.
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
