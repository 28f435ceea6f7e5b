"""A one-line progress display on stderr for long scans, only on a terminal.

It runs on its own thread and only reads the scan's counters, so the hot loop
pays nothing for it; piped or redirected stderr gets no progress at all.
"""

from __future__ import annotations

import threading
import time
from typing import TextIO

from diagnostics.model import InputStats


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} GiB"


class Progress:
    """``with Progress(stats, sys.stderr):`` redraws one status line every ``interval`` s."""

    def __init__(self, stats: InputStats, stream: TextIO, interval: float = 0.25) -> None:
        self.stats = stats
        self.stream = stream
        self.interval = interval
        self.enabled = stream.isatty()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._drawn = False
        self._thread: threading.Thread | None = None
        self._start = time.monotonic()

    def line(self) -> str:
        s = self.stats
        elapsed = max(time.monotonic() - self._start, 1e-6)
        rate = _size(s.bytes_read / elapsed)
        return (
            f"scanning: {_size(s.bytes_read)} in {s.files} file(s), "
            f"{s.failures} failure(s), {rate}/s"
        )

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                self.stream.write("\r\x1b[2K" + self.line())
                self.stream.flush()
                self._drawn = True

    def clear(self) -> None:
        """Erase the status line before other output reaches the same terminal."""
        if self._drawn:
            with self._lock:
                self.stream.write("\r\x1b[2K")
                self.stream.flush()
                self._drawn = False

    def __enter__(self) -> Progress:
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._drawn = True
            self.clear()
