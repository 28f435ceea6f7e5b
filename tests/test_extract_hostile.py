"""Hostile input: every nasty file gives a clear warning naming it, and the rest still works.

Nothing here may raise; each case checks the counter, the warning text a user
sees, and that failures elsewhere in the same input are still found.
"""

from __future__ import annotations

import gzip
import os
import tracemalloc
from pathlib import Path

import pytest

from diagnostics.extract import Extractor, extract_path, extract_stream, iter_input_files
from diagnostics.model import InputStats

FAILURE_LINE = (
    b"An error occurred (AccessDenied) when calling the ListBuckets operation: User: "
    b"arn:aws:iam::123456789012:user/deploy is not authorized to perform: s3:ListAllMyBuckets "
    b"because no identity-based policy allows the s3:ListAllMyBuckets action\n"
)
RECORD = (
    b'{"eventVersion":"1.09","eventSource":"s3.amazonaws.com","eventName":"ListBuckets",'
    b'"awsRegion":"us-east-1","eventID":"e1","errorCode":"AccessDenied",'
    b'"errorMessage":"Access Denied",'
    b'"userIdentity":{"arn":"arn:aws:iam::123456789012:user/deploy"},"eventTime":"2024-01-01T00:00:00Z"}'
)


def _scan(path: Path, **kwargs: int) -> tuple[list[object], InputStats]:
    stats = InputStats()
    return list(extract_path(path, stats, **kwargs)), stats


def test_invalid_utf8_is_counted_and_the_failure_still_found(tmp_path: Path) -> None:
    """Invalid UTF-8 on a failure's line is replaced, counted and reported with path and line."""
    path = tmp_path / "latin1.log"
    path.write_bytes(b"ok\n\xff\xfe caf\xe9 " + FAILURE_LINE + b"tail \xc3\n")
    found, stats = _scan(path)
    assert len(found) == 1
    assert stats.invalid_utf8 >= 1
    assert any(w.startswith(f"{path}:2:") and "UTF-8" in w for w in stats.warnings)


def test_ten_megabyte_line_is_bounded_counted_and_skipped(tmp_path: Path) -> None:
    """A 10 MB line is counted as long, named in a warning, and the next line's failure is found."""
    path = tmp_path / "minified.log"
    path.write_bytes(b"start\n" + b"x" * (10 << 20) + b"\n" + FAILURE_LINE)
    found, stats = _scan(path)
    assert [f.source.line for f in found] == [3]  # type: ignore[attr-defined]
    assert stats.long_lines == 1
    assert any(w.startswith(f"{path}:2:") and "longer than" in w for w in stats.warnings)


def test_long_line_memory_stays_bounded() -> None:
    """Feeding a 10 MB line in 64 KiB chunks never holds the whole line in memory."""
    ext = Extractor("big.log", max_line_bytes=1 << 20)
    chunk = b"y" * (64 << 10)
    tracemalloc.start()
    try:
        found = []
        for _ in range(160):
            found.extend(ext.feed(chunk))
        found.extend(ext.feed(b"\n" + FAILURE_LINE))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    found.extend(ext.finish())
    assert [f.source.line for f in found] == [2]
    assert peak < 4 << 20
    assert ext.stats.long_lines == 1


def test_binary_file_is_skipped_with_a_warning(tmp_path: Path) -> None:
    """A file with NUL bytes in its first block is skipped, counted and named."""
    path = tmp_path / "core.dump"
    path.write_bytes(b"\x7fELF\x00\x00\x00" + FAILURE_LINE * 3)
    found, stats = _scan(path)
    assert found == []
    assert stats.rejected == 1
    assert any(str(path) in w and "binary" in w for w in stats.warnings)


def test_truncated_gzip_keeps_what_was_read(tmp_path: Path) -> None:
    """A .json.gz cut in the middle warns that it ends early; failures before the cut are found."""
    body = FAILURE_LINE + os.urandom(200_000).hex().encode() + b"\n" + FAILURE_LINE
    packed = gzip.compress(body, mtime=0)
    path = tmp_path / "cut.log.gz"
    path.write_bytes(packed[: len(packed) // 2])
    found, stats = _scan(path)
    assert len(found) == 1
    assert stats.rejected == 1
    assert any(str(path) in w and "truncated" in w for w in stats.warnings)


def test_corrupt_gzip_warns_and_continues(tmp_path: Path) -> None:
    """Garbage after a gzip header gives a warning naming the file and no exception."""
    path = tmp_path / "bad.json.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + os.urandom(4096))
    found, stats = _scan(path)
    assert found == []
    assert stats.rejected == 1
    assert any(str(path) in w for w in stats.warnings)


def test_gzip_bomb_stops_at_the_cap(tmp_path: Path) -> None:
    """A small gzip that expands past the cap is stopped, reported, and its head still searched."""
    path = tmp_path / "bomb.log.gz"
    with gzip.open(path, "wb") as gz:
        gz.write(FAILURE_LINE)
        block = b"a" * 1023 + b"\n"
        for _ in range(64 << 10):  # 64 MiB of text
            gz.write(block)
    assert path.stat().st_size < 1 << 20
    found, stats = _scan(path, max_decompressed_bytes=8 << 20)
    assert len(found) == 1
    assert stats.rejected == 1
    assert any(str(path) in w and "gzip bomb" in w for w in stats.warnings)
    assert stats.bytes_read <= (8 << 20) + (1 << 20)


def test_json_nested_100000_deep_does_not_crash(tmp_path: Path) -> None:
    """A JSON document nested 100,000 levels deep gives a warning naming the file."""
    path = tmp_path / "deep.json"
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    found, stats = _scan(path)
    assert found == []
    assert any(str(path) in w and "nested" in w for w in stats.warnings)


def test_deeply_nested_json_line_beside_a_record(tmp_path: Path) -> None:
    """A JSON line nested too deep is skipped with a warning; the record on the next line counts."""
    path = tmp_path / "events.jsonl"
    deep = b'{"errorCode":"AccessDenied","x":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    path.write_bytes(b"plain text first\n" + deep + b"\n" + RECORD + b"\n")
    found, stats = _scan(path)
    assert [f.source.line for f in found] == [3]  # type: ignore[attr-defined]
    assert any(w.startswith(f"{path}:2:") and "nested" in w for w in stats.warnings)


def test_wrong_shaped_cloudtrail_document(tmp_path: Path) -> None:
    """Records that is not a list of objects is reported; the good records are still read."""
    odd = tmp_path / "odd.json"
    odd.write_bytes(b'{"Records": [1, "two", ' + RECORD + b"]}")
    found, stats = _scan(odd)
    assert len(found) == 1
    assert any(str(odd) in w and "Records" in w for w in stats.warnings)
    wrong = tmp_path / "wrong.json"
    wrong.write_bytes(b'{"Records": "not a list"}')
    found, stats = _scan(wrong)
    assert found == []
    assert any(str(wrong) in w and "Records" in w for w in stats.warnings)


def test_missing_file_is_a_warning(tmp_path: Path) -> None:
    """A file that vanished between listing and opening gives a warning, not an exception."""
    path = tmp_path / "rotated.log"
    found, stats = _scan(path)
    assert found == []
    assert any(str(path) in w and "cannot open" in w for w in stats.warnings)


def test_walk_skips_fifo_and_escaping_symlink(tmp_path: Path) -> None:
    """Directory walks list regular files in order, skip FIFOs and symlinks leaving the tree."""
    root = tmp_path / "logs"
    (root / "b").mkdir(parents=True)
    (root / "b" / "2.log").write_bytes(FAILURE_LINE)
    (root / "a.log").write_bytes(FAILURE_LINE)
    outside = tmp_path / "secret.txt"
    outside.write_bytes(b"outside\n")
    (root / "link.log").symlink_to(outside)
    (root / "inside-link.log").symlink_to(root / "a.log")
    os.mkfifo(root / "pipe")
    stats = InputStats()
    files = [p.relative_to(root).as_posix() for p in iter_input_files(root, stats)]
    assert files == ["a.log", "b/2.log", "inside-link.log"]
    assert any("link.log" in w and "outside" in w for w in stats.warnings)
    assert any("pipe" in w and "FIFO" in w for w in stats.warnings)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file_is_skipped(tmp_path: Path) -> None:
    """A file without read permission is skipped with a warning naming it."""
    path = tmp_path / "private.log"
    path.write_bytes(FAILURE_LINE)
    path.chmod(0)
    stats = InputStats()
    assert list(iter_input_files(tmp_path, stats)) == []
    assert any(str(path) in w and "permission" in w for w in stats.warnings)


def test_arbitrary_bytes_never_raise() -> None:
    """Random bytes with markers sprinkled in never raise from the stream extractor."""
    import io
    import random

    rng = random.Random(7)
    markers = [b"errorCode", b"AccessDenied", b"not authorized to perform", b"{", b"\n", b"\\"]
    for _ in range(30):
        parts = [rng.randbytes(rng.randint(0, 200)).replace(b"\x00", b"") for _ in range(20)]
        data = b"".join(p + rng.choice(markers) for p in parts)
        stats = InputStats()
        list(extract_stream(io.BytesIO(data), "fuzz", stats))
