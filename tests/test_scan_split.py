"""``scan --jobs``: one big file cut into ranges writes exactly what one process writes."""

from __future__ import annotations

import gzip
import io
import itertools
import mmap
import os
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from diagnostics.extract.assembly.record import BACK_LINES, MAX_RECORD_LINES, STACK_LINES
from diagnostics.extract.inputs import ranges, split
from diagnostics.extract.inputs.markers import MARKERS
from diagnostics.model import InputStats
from diagnostics.rules import load_with_bundled
from diagnostics.run import scan_plan, scan_workers
from diagnostics.run.scan import run_scan

REPO = Path(__file__).resolve().parents[1]
FORMATS = REPO / "tests" / "fixtures" / "formats"
REAL = REPO / "tests" / "fixtures" / "real"
#: Multi-line records: blobs wrapped over many rows, Terraform boxes, a traceback.
WRAPPED = (
    "terminal_hard_wrap_80_modern_ec2.log",
    "terminal_hard_wrap_140_modern_ec2.log",
    "terraform_box_wrapped.log",
    "terraform_box_blob.log",
    "terraform_wrapped_blob.txt",
    "boto3_clienterror_traceback.log",
    "wrapped_terminal_80.log",
    "wrapped_backslash_continuation.log",
    "wrapped_indented.log",
    "authz_id_wrapped.txt",
    "authz_id_terraform_box.txt",
    "phrase_soft_wrapped_docs_style.log",
)
#: Lines between two marker lines that leave room for exactly one safe cut.
ROOM = split.AFTER_MARKER + split.BEFORE_MARKER


@pytest.fixture(scope="module")
def rules() -> object:
    return load_with_bundled(None)


def _noise(rng: random.Random, count: int) -> str:
    return "".join(
        f"2024-05-01T12:{i % 60:02d}:{rng.randrange(60):02d}Z INFO worker-{rng.randrange(9)} "
        f"handled request {rng.randrange(10**9):09d} in {rng.randrange(900)} ms\n"
        for i in range(count)
    )


def _records() -> list[str]:
    texts = [(FORMATS / name).read_text(encoding="utf-8") for name in WRAPPED]
    return [t if t.endswith("\n") else t + "\n" for t in texts]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    # Only a file at rest is mapped (mapped.QUIET_SECONDS), and only a mapped one is cut.
    old = time.time() - 3600
    os.utime(path, (old, old))
    return path


def _scan(path: Path, fmt: str, jobs: int, rules: object) -> tuple[bytes, str, int]:
    out = io.BytesIO()
    err = io.StringIO()
    result, _ = run_scan(
        [str(path)],
        ruleset=rules,  # type: ignore[arg-type]
        decoder=None,
        fmt=fmt,
        out=out,
        err=err,
        jobs=jobs,
    )
    return out.getvalue(), err.getvalue(), result.exit_status


threading_count = threading.active_count


@pytest.fixture
def cuts(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """Small files are cut (a range per 64 KiB); the bounds each scan used are recorded."""
    monkeypatch.setattr(scan_plan, "MAX_TASK_BYTES", 64 << 10)
    monkeypatch.setattr(scan_plan, "SPLIT_MIN_BYTES", 128 << 10)
    seen: list[list[int]] = []
    real: Callable[[Path, int], list[int] | None] = ranges.file_ranges

    def spy(path: Path, parts: int) -> list[int] | None:
        bounds = real(path, parts)
        seen.append(bounds or [])
        return bounds

    monkeypatch.setattr(scan_workers, "file_ranges", spy)
    # scan forks workers only while no other thread runs. Earlier tests in this
    # process leave idle threads behind (loopback servers, watchers): the guard is
    # told about the threads started from here on, as a fresh `authz-diag` would be.
    leftover = threading.active_count() - 1
    monkeypatch.setattr(
        scan_workers.threading, "active_count", lambda: threading_count() - leftover
    )
    return seen


def _marker_lines(data: bytes) -> list[int]:
    """0-based numbers of the lines holding a marker."""
    return [n for n, line in enumerate(data.split(b"\n")) if any(m in line for m in MARKERS)]


def _close_records(tmp_path: Path, seed: int) -> Path:
    """Multi-line records whose gaps are at most a few lines longer than a cut needs."""
    rng = random.Random(seed)
    records = _records()
    parts = []
    for n in range(60):
        text = records[n % len(records)]
        if n % 2:
            # Invalid UTF-8 on a marker line: over 20 such warnings, capped for the whole file.
            text = "2024-05-01T12:00:00Z ERROR caf\udce9: AccessDenied\n" + text
        parts.append(text)
        parts.append(_noise(rng, ROOM + rng.randrange(-20, 12)))
    data = "".join(parts).encode("utf-8", errors="surrogateescape")
    return _write(tmp_path / f"close-{seed}.log", data.rstrip(b"\n"))  # no newline at the end


def test_cut_rule_leaves_every_record_its_reach(tmp_path: Path) -> None:
    """Every cut has no marker line in the lines a record before or after it may read."""
    assert split.AFTER_MARKER > MAX_RECORD_LINES + STACK_LINES
    assert split.BEFORE_MARKER > BACK_LINES
    path = _close_records(tmp_path, 1)
    data = path.read_bytes()
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        bounds = split.safe_cuts(mm, 16)
    assert 4 < len(bounds) <= 17 and bounds == sorted(set(bounds))
    markers = _marker_lines(data)
    for cut in bounds[1:-1]:
        assert data[cut - 1 : cut] == b"\n"
        line = data.count(b"\n", 0, cut)
        before = max((m for m in markers if m < line), default=-(10**9))
        after = min((m for m in markers if m >= line), default=10**9)
        assert line - before >= split.AFTER_MARKER
        assert after - line >= split.BEFORE_MARKER
        # Near a record: the gaps leave little room, so cuts sit at its edge.
        assert line - before <= ROOM + 12


@pytest.mark.parametrize("fmt", ["json", "text"])
@pytest.mark.parametrize("seed", [1, 2])
def test_cut_file_writes_what_one_process_writes(
    tmp_path: Path, cuts: list[list[int]], rules: object, fmt: str, seed: int
) -> None:
    """Wrapped blobs, boxes and tracebacks next to every cut: same output, warnings and status."""
    path = _close_records(tmp_path, seed)
    one = _scan(path, fmt, 1, rules)
    two = _scan(path, fmt, 2, rules)
    assert len(cuts) == 1 and len(cuts[0]) > 4, cuts  # the file was really cut
    assert two == one
    assert one[2] == 1 and "more utf-8 problems" in one[1]


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_real_corpus_repeated_folds_across_ranges(
    tmp_path: Path, cuts: list[list[int]], rules: object, fmt: str
) -> None:
    """The real pastes four times over: repeats in later ranges fold into the first ones."""
    rng = random.Random(7)
    texts = sorted(REAL.glob("*.txt"))
    parts = []
    for _copy in range(4):
        for n, text in enumerate(texts):
            body = text.read_text(encoding="utf-8", errors="surrogateescape")
            parts.append(body if body.endswith("\n") else body + "\n")
            if n % 40 == 39:
                parts.append(_noise(rng, ROOM + 5))
    data = "".join(parts).encode("utf-8", errors="surrogateescape")
    path = _write(tmp_path / "real-x4.log", data)
    one = _scan(path, fmt, 1, rules)
    two = _scan(path, fmt, 2, rules)
    assert len(cuts) == 1 and len(cuts[0]) > 8, cuts
    assert two == one
    assert (b'"occurrences":4' if fmt == "json" else b"seen 4 times") in one[0]


def _tight(tmp_path: Path) -> Path:
    """Multi-line records a few lines apart: nowhere a cut could go."""
    rng = random.Random(3)
    records = _records()
    parts = []
    for n in range(400):
        parts.append(records[n % len(records)])
        parts.append(_noise(rng, rng.randrange(2, 8)))
    return _write(tmp_path / "tight.log", "".join(parts).encode())


def test_no_safe_cut_reads_the_file_whole(
    tmp_path: Path, cuts: list[list[int]], rules: object
) -> None:
    """Records end to end: the file is not cut, and the output is that of one process."""
    path = _tight(tmp_path)
    one = _scan(path, "json", 1, rules)
    two = _scan(path, "json", 2, rules)
    assert cuts == [[]]
    assert two == one and one[0]


def test_unsafe_cuts_would_change_the_output(
    tmp_path: Path, cuts: list[list[int]], rules: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rule with no clearance cuts through records, and the comparison above sees it."""
    monkeypatch.setattr(split, "AFTER_MARKER", 1)
    monkeypatch.setattr(split, "BEFORE_MARKER", 0)
    path = _tight(tmp_path)
    one = _scan(path, "json", 1, rules)
    two = _scan(path, "json", 2, rules)
    assert len(cuts[0]) > 4
    assert two[0] != one[0]


def test_ranges_cover_the_file_once(tmp_path: Path) -> None:
    """Consecutive ranges read every byte once: counters add up to one pass's."""
    path = _close_records(tmp_path, 4)
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        bounds = split.safe_cuts(mm, 8)
    lines = bytes_read = 0
    for start, end in itertools.pairwise(bounds):
        stats = InputStats()
        list(ranges.extract_range(path, start, end, stats, ranges.Recorded()))
        lines += stats.lines
        bytes_read += stats.bytes_read
    data = path.read_bytes()
    assert bytes_read == len(data)
    assert lines == data.count(b"\n") + 1  # the last line has no newline


def test_progress_moves_through_a_cut_file(tmp_path: Path, cuts: list[list[int]]) -> None:
    """The bytes read grow range by range, so the progress bar moves through one big file."""
    path = _close_records(tmp_path, 5)
    size = path.stat().st_size
    workers = scan_workers.ScanWorkers.start(2, None)
    assert workers is not None
    stats = InputStats()
    seen: list[int] = []
    try:
        for _path, failures, file_stats in workers.files([path], stats):
            assert failures is not None and file_stats is None
            seen.extend(stats.bytes_read for _failure in failures)
    finally:
        workers.close()
    assert any(0 < read < size for read in seen)
    assert stats.bytes_read == size and stats.files == 1


@pytest.mark.parametrize("kind", ["gzip", "json document", "written just now", "binary"])
def test_files_read_in_order_are_not_cut(tmp_path: Path, kind: str) -> None:
    """Gzip, a JSON document, a file still being written and a binary file are read whole."""
    body = _close_records(tmp_path, 6).read_bytes()
    assert ranges.file_ranges(tmp_path / "close-6.log", 8) is not None  # the text alone is cut
    if kind == "gzip":
        data = gzip.compress(body)
    elif kind == "json document":
        data = b'{"Records": [\n' + body.replace(b'"', b"'") + b"\n]}\n"
    elif kind == "binary":
        data = b"\x00\x01\x02\x03" * 300 + body
    else:
        data = body
    path = _write(tmp_path / "input", data)
    if kind == "written just now":
        os.utime(path, None)
    assert ranges.file_ranges(path, 8) is None


def test_a_directory_of_one_big_file_is_cut(
    tmp_path: Path, cuts: list[list[int]], rules: object
) -> None:
    """A directory holding one big log is cut as the log named alone would be."""
    folder = tmp_path / "logs"
    folder.mkdir()
    body = _close_records(tmp_path, 8).read_bytes()
    _write(folder / "app.log", body)
    one = _scan(folder, "json", 1, rules)
    two = _scan(folder, "json", 2, rules)
    assert len(cuts) == 1 and len(cuts[0]) > 4, cuts
    assert two == one
