"""Tests for gzip input: the fast inflater, its zlib fallback, members, padding and CRC errors."""

from __future__ import annotations

import builtins
import gzip
import io
from pathlib import Path
from typing import Any

import pytest

from diagnostics.extract.inputs import files, gunzip
from diagnostics.model import InputStats

LINE = (
    b"An error occurred (AccessDenied) when calling the GetObject operation: User: "
    b"arn:aws:iam::111122223333:user/alice is not authorized to perform: s3:GetObject on "
    b"resource: arn:aws:s3:::bucket-%d/key because no identity-based policy allows the "
    b"s3:GetObject action\n"
)


def _scan(path: Path) -> tuple[list[Any], InputStats]:
    stats = InputStats()
    return list(files.extract_path(path, stats)), stats


def test_concatenated_members_and_zero_padding_are_all_read(tmp_path: Path) -> None:
    """A .gz of two members followed by zero padding (as gzip accepts) gives both failures."""
    path = tmp_path / "two.log.gz"
    path.write_bytes(gzip.compress(LINE % 1) + gzip.compress(LINE % 2) + b"\x00" * 512)
    found, stats = _scan(path)
    assert [f.resource for f in found] == ["arn:aws:s3:::bucket-1/key", "arn:aws:s3:::bucket-2/key"]
    assert stats.rejected == 0 and not stats.warnings


def test_bad_crc_is_reported_and_the_data_before_it_kept(tmp_path: Path) -> None:
    """A member whose CRC does not match warns with the file's name; earlier members still count."""
    bad = bytearray(gzip.compress(LINE % 2))
    bad[-8] ^= 0xFF  # the CRC32 of the trailer
    path = tmp_path / "crc.log.gz"
    path.write_bytes(gzip.compress(LINE % 1) + bytes(bad))
    found, stats = _scan(path)
    assert "arn:aws:s3:::bucket-1/key" in [f.resource for f in found]
    assert stats.rejected == 1
    assert any(str(path) in w and "corrupt compressed data" in w for w in stats.warnings)


def test_zlib_is_used_when_isal_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the isal wheel the same file is read through zlib, with the same result."""
    real_import = builtins.__import__
    before = gunzip.backend_name()

    def no_isal(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "isal" or name.startswith("isal."):
            raise ImportError("no isal here")
        return real_import(name, *args, **kwargs)

    gunzip.backend.cache_clear()
    monkeypatch.setattr(builtins, "__import__", no_isal)
    try:
        assert gunzip.backend_name() == "zlib"
        path = tmp_path / "one.log.gz"
        path.write_bytes(gzip.compress(LINE % 7))
        found, _ = _scan(path)
        assert [f.resource for f in found] == ["arn:aws:s3:::bucket-7/key"]
    finally:
        monkeypatch.undo()
        gunzip.backend.cache_clear()
    assert gunzip.backend_name() == before


def test_a_read_is_one_inflate_step_not_a_join_of_pieces() -> None:
    """A 1 MiB read of a well-compressed stream returns 1 MiB at once (no 64 KiB pieces)."""
    body = b"".join(LINE % n for n in range(20_000))
    reader = gunzip.GunzipReader(io.BytesIO(gzip.compress(body)), 1 << 30, "mem")
    first = reader.read(1 << 20)
    assert len(first) == 1 << 20
    rest = reader.read(len(body))
    assert first + rest == body
    assert reader.read(10) == b""
