"""The scan progress bar: on a terminal only, on stderr only, with percent and ETA."""

from __future__ import annotations

import gzip
import io
import threading
import time
from pathlib import Path

from diagnostics.model import InputStats
from diagnostics.run.progress import Progress
from diagnostics.run.scan import Position, planned_bytes, run_scan

REPO = Path(__file__).resolve().parents[1]


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def _wait_frames(stream: io.StringIO, n: int) -> None:
    """Wait until the bar's thread has drawn ``n`` frames (60 s is a bound for a hang)."""
    deadline = time.monotonic() + 60
    while stream.getvalue().count("\rscanning") + stream.getvalue().count("\r[") < n:
        assert time.monotonic() < deadline, f"fewer than {n} frames: {stream.getvalue()!r}"
        time.sleep(0.01)


class FakeTTYBytes(io.BytesIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_silent_when_stderr_is_not_a_terminal() -> None:
    """Piped stderr gets no status line at all."""
    stream = io.StringIO()
    with Progress(InputStats(bytes_read=10), stream, interval=0.01):
        # No drawing thread at all, so nothing can be written later either.
        assert not any(t.name == "progress" for t in threading.enumerate())
    assert stream.getvalue() == ""


def test_progress_without_a_total_shows_bytes_files_rate_and_failures() -> None:
    """stdin (no known size): what was read, the rate and the failures, no percent."""
    stream = FakeTTY()
    stats = InputStats(bytes_read=3 * 1024 * 1024, files=2, failures=5)
    with Progress(stats, stream, interval=0.01):
        _wait_frames(stream, 1)
    out = stream.getvalue()
    assert "scanning 3.0 MiB in 2 file(s)" in out
    assert "5 failure(s)" in out and "/s" in out
    assert "%" not in out
    assert out.endswith("\r\x1b[K")


def test_progress_with_a_total_shows_percent_of_total_and_eta() -> None:
    """Known sizes: a bar with percent, bytes done of total, rate, ETA and failures."""
    stats = InputStats(failures=3)
    done = [256 * 1024]
    p = Progress(stats, FakeTTY(), total=1024 * 1024, done=lambda: done[0])
    line = p.line()
    assert "[#####---------------]  25% 256.0 KiB of 1.0 MiB" in line
    assert "ETA " in line and "3 failure(s)" in line


def test_frames_never_blank_the_line_first() -> None:
    """Each frame writes the new text, then erases the rest: no blank line between frames."""
    stream = FakeTTY()
    with Progress(InputStats(bytes_read=1), stream, interval=0.01):
        _wait_frames(stream, 2)
    frames = [f for f in stream.getvalue().split("\r") if f]
    assert len(frames) >= 2
    assert all(f.startswith("scanning") for f in frames[:-1])


def test_output_to_a_file_never_touches_the_bar(tmp_path: Path) -> None:
    """With stdout redirected, diagnoses cost the bar nothing: no erase per diagnosis."""
    log = tmp_path / "many.log"
    line = (REPO / "examples" / "aws-cli.txt").read_text()
    log.write_text(line * 200)
    err = FakeTTY()
    result, _ = run_scan(
        [str(log)], ruleset=None, decoder=None, fmt="json", out=io.BytesIO(), err=err
    )
    assert result.diagnoses > 0
    # At most the closing erase (and frames, if the tick fired): never one per diagnosis.
    assert err.getvalue().count("\r") < result.diagnoses


def test_output_to_the_same_terminal_steps_around_the_bar() -> None:
    """stdout on the bar's terminal: the bar is erased before output and redrawn after it."""
    err = FakeTTY()
    p = Progress(InputStats(bytes_read=1), err, interval=60, shares_terminal_with=FakeTTYBytes())
    with p:
        p._draw()
        p.hold()
        assert err.getvalue().endswith("\r\x1b[K")
        p.release()
        assert err.getvalue().endswith("\x1b[K") and "scanning" in err.getvalue().split("\r")[-1]


def test_gzip_inputs_count_by_their_size_and_never_pass_100_percent(tmp_path: Path) -> None:
    """A gzip file's decompressed bytes do not push the bar past its on-disk size."""
    gz = tmp_path / "a.log.gz"
    gz.write_bytes(gzip.compress(b"nothing to see here\n" * 50_000))
    total = planned_bytes([str(tmp_path)])
    assert total == gz.stat().st_size
    stats = InputStats()
    pos = Position(stats)
    pos.begin(gz)
    stats.bytes_read += 1_000_000  # decompressed
    assert pos.done() == total
    pos.end()
    assert pos.done() == total
    assert planned_bytes(["-"]) is None
