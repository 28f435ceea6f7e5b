"""A progress bar on stderr for long scans, drawn only when stderr is a terminal.

It runs on its own thread and only reads the scan's counters, so the hot loop
pays one attribute test per diagnosis for it; piped or redirected stderr gets
nothing at all.  When stdout goes to the same terminal the bar steps aside
for each diagnosis and comes back at once; when stdout is a file or a pipe
the bar is never touched by output, so it neither flickers nor costs time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TextIO

from diagnostics.model import InputStats

BAR_WIDTH = 20
#: Erase from the cursor to the end of the line: written after the new text,
#: so the line is never blank between two frames (no flicker).
_TO_EOL = "\x1b[K"


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} GiB"


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except ValueError:  # a closed stream
        return False


class Progress:
    """``with Progress(stats, sys.stderr, total=N, done=f):`` redraws one bar every ``interval`` s.

    ``total`` is the bytes the scan will read when known (file sizes), and
    ``done`` says how many of them are read so far; without them the bar shows
    what was read and the rate, with no percentage or ETA (stdin).
    """

    def __init__(
        self,
        stats: InputStats,
        stream: TextIO,
        interval: float = 0.25,
        *,
        total: int | None = None,
        done: Callable[[], int] | None = None,
        shares_terminal_with: object = None,
    ) -> None:
        self.stats = stats
        self.stream = stream
        self.interval = interval
        self.total = total or None
        self.done = done if done is not None else (lambda: stats.bytes_read)
        self.enabled = _isatty(stream)
        # Only output to the same terminal has to step around the bar.
        self.shares_terminal = self.enabled and _isatty(shares_terminal_with)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._drawn = False
        self._thread: threading.Thread | None = None
        self._start = time.monotonic()

    def line(self) -> str:
        s = self.stats
        elapsed = max(time.monotonic() - self._start, 1e-6)
        done = self.done()
        rate = done / elapsed
        failures = f"{s.failures} failure(s)"
        if self.total is None:
            return f"scanning {_size(done)} in {s.files} file(s), {_size(rate)}/s, {failures}"
        fraction = min(done / self.total, 1.0)
        filled = round(fraction * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        eta = _clock((self.total - done) / rate) if rate > 0 and done < self.total else "0:00"
        return (
            f"[{bar}] {fraction:4.0%} {_size(done)} of {_size(self.total)}, "
            f"{_size(rate)}/s, ETA {eta}, {failures}"
        )

    def _draw(self) -> None:
        self.stream.write("\r" + self.line() + _TO_EOL)
        self.stream.flush()
        self._drawn = True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                self._draw()

    def hold(self) -> None:
        """Before output to the bar's terminal: erase the bar (and keep it off)."""
        if self.shares_terminal:
            self._lock.acquire()
            if self._drawn:
                self.stream.write("\r" + _TO_EOL)
                self.stream.flush()
                self._drawn = False

    def release(self) -> None:
        """After that output: draw the bar again at once, below it."""
        if self.shares_terminal:
            try:
                if self._thread is not None:
                    self._draw()
            finally:
                self._lock.release()

    def __enter__(self) -> Progress:
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            if self._drawn:
                self.stream.write("\r" + _TO_EOL)
                self.stream.flush()
                self._drawn = False
