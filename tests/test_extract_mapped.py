"""A regular file read through ``mmap`` gives exactly what the chunked read gives.

``extract_path`` maps a regular file and takes its marker lines from a few
big compiled passes (diagnostics/extract/inputs/mapped.py); a stream is read in
chunks and searched chunk by chunk.  Failures (every field), line numbers,
offsets, counters and warnings must be the same, however the windows fall.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import orjson
import pytest

from diagnostics.extract.inputs import files, mapped
from diagnostics.extract.inputs.files import extract_path, extract_stream
from diagnostics.model import InputStats

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
sys.path.insert(0, str(ROOT / "bench"))


@pytest.fixture(autouse=True)
def _map_fresh_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """These files were just written (or cloned); map them anyway."""
    monkeypatch.setattr(mapped, "QUIET_SECONDS", 0.0)


def test_a_file_written_just_now_is_read_in_chunks(tmp_path: Path) -> None:
    """A log still being written is not mapped: a copytruncate under a map would kill scan."""
    log = tmp_path / "live.log"
    log.write_bytes(b"hello\n")
    mapped.QUIET_SECONDS = 300.0
    with log.open("rb") as stream:
        assert mapped.mapped(stream) is None
        assert mapped.mapped(stream, now=log.stat().st_mtime + 301) is not None


def _both(path: Path, max_line: int = 1 << 20) -> tuple[bytes, bytes]:
    """(mapped, streamed) results: failures and the counters, as JSON."""
    out = []
    for read in (
        lambda s: extract_path(path, s, max_line_bytes=max_line),
        lambda s: extract_stream(
            io.BytesIO(path.read_bytes()), str(path), s, max_line_bytes=max_line
        ),
    ):
        stats = InputStats()
        failures = list(read(stats))
        stats.files = 0  # only extract_path counts the file itself
        out.append(orjson.dumps([failures, stats]))
    return out[0], out[1]


def test_every_fixture_reads_the_same_mapped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every fixture file gives the same failures and counters mapped as streamed."""
    monkeypatch.setattr(mapped, "WINDOW", 4096)  # many windows, markers across their edges
    paths = sorted(
        p
        for p in FIXTURES.rglob("*")
        if p.is_file() and not p.name.endswith((".gz", ".expected.json", ".expect.json"))
    )
    assert len(paths) > 400
    for path in paths:
        got, want = _both(path)
        assert got == want, path


@pytest.mark.parametrize("window", [64, 1000, 1 << 20])
def test_generated_log_reads_the_same_mapped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    """A generated application log reads the same mapped, with any window and chunk size."""
    from generate import ensure_applog  # type: ignore[import-not-found]

    log = tmp_path / "app.log"
    ensure_applog(log, 600_000, 7, 300.0)
    monkeypatch.setattr(mapped, "WINDOW", window)
    monkeypatch.setattr(files, "CHUNK", 8192)
    got, want = _both(log)
    assert got == want


def test_long_lines_and_markers_past_the_bound_read_the_same(tmp_path: Path) -> None:
    """Over-long lines (a marker inside and past the searched prefix) read the same mapped."""
    sentence = (
        b"User: arn:aws:iam::111122223333:user/a is not authorized to perform: s3:GetObject "
        b"on resource: arn:aws:s3:::b because no identity-based policy allows the s3:GetObject "
        b"action"
    )
    log = tmp_path / "long.log"
    log.write_bytes(
        b"x" * 3000 + sentence + b"\n"  # the marker lies past a 1024-byte bound
        + sentence + b"y" * 5000 + b"\n"  # the marker inside the bound, the line too long
        + b"noise\n" * 50
        + sentence + b"\n"
        + b"z" * 2500  # an unterminated over-long last line
    )  # fmt: skip
    got, want = _both(log, max_line=1024)
    assert got == want
    assert b"longer than 1024 bytes" in got


def test_a_regular_file_is_read_through_the_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scanning a regular file searches it through the map, not chunk by chunk."""
    searched: list[int] = []
    real = mapped.KnownLines.between

    def between(self: mapped.KnownLines, lo: int, hi: int) -> list[int]:
        searched.append(hi - lo)
        return real(self, lo, hi)

    monkeypatch.setattr(mapped.KnownLines, "between", between)
    log = tmp_path / "a.log"
    log.write_bytes(b"noise\n" * 10 + b"An error occurred (AccessDenied) when calling x\n")
    list(extract_path(log, InputStats()))
    assert searched
