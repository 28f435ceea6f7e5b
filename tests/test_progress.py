"""Tests for the scan progress line: shown on a terminal only."""

from __future__ import annotations

import io
import time

from diagnostics.model import InputStats
from diagnostics.progress import Progress


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_silent_when_stderr_is_not_a_terminal() -> None:
    """Piped stderr gets no status line at all."""
    stream = io.StringIO()
    with Progress(InputStats(bytes_read=10), stream, interval=0.01):
        time.sleep(0.05)
    assert stream.getvalue() == ""


def test_progress_shows_bytes_files_and_failures_on_a_terminal() -> None:
    """A terminal sees the counters, and the line is erased at the end."""
    stream = FakeTTY()
    stats = InputStats(bytes_read=3 * 1024 * 1024, files=2, failures=5)
    with Progress(stats, stream, interval=0.01):
        time.sleep(0.1)
    out = stream.getvalue()
    assert "3.0 MiB in 2 file(s), 5 failure(s)" in out
    assert out.endswith("\r\x1b[2K")
