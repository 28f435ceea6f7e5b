"""Gzip input through the fastest inflater installed: isal's igzip, else zlib.

isal (PyPI ``isal``, manylinux wheels) inflates CloudTrail deliveries about
twice as fast as zlib on this project's benchmark (bench/p2_cloudtrail.py);
zlib-ng was measured too and landed between the two.  Without the wheel,
Python's zlib does the same job.

``GunzipReader`` replaces ``gzip.GzipFile`` for reading: it inflates in
large steps bounded by the caller's read size (so a read is usually one
inflate call and one bytes object, never a join of small pieces), handles
concatenated members and zero padding as gzip does, checks each member's
CRC (the inflater does, in gzip mode), stops a bomb at the cap, and raises
``EOFError`` for a file that ends early, holding every error back until the
data read before it has been returned.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable
from typing import Any, BinaryIO, cast

#: Compressed bytes read from the file per step.
PIECE = 256 << 10
#: Decompressed bytes of the first read: CloudTrail deliveries are far smaller,
#: so one arrives whole, in one bytes object.
HEAD_SIZE = 16 << 20
#: wbits for gzip framing only (16 + 15): the magic bytes were already checked.
_GZIP_WBITS = 31


class Bomb(Exception):
    """A compressed input expanded past the configured cap."""


@functools.lru_cache(maxsize=1)
def backend() -> tuple[str, Callable[[], Any], tuple[type[BaseException], ...]]:
    """(name, decompressobj factory, the errors it raises) of the inflater in use."""
    try:
        from isal import isal_zlib
    except ImportError:
        return "zlib", lambda: zlib.decompressobj(_GZIP_WBITS), (zlib.error,)
    isal_error = cast("type[BaseException]", isal_zlib.error)  # typed as an instance in its stubs
    return "isal", lambda: isal_zlib.decompressobj(_GZIP_WBITS), (isal_error, zlib.error)


def backend_name() -> str:
    return backend()[0]


def available() -> str:
    """The inflater a gzip input would use, without importing it (for ``--version``)."""
    import importlib.util

    return "isal" if importlib.util.find_spec("isal") is not None else "zlib"


class GunzipReader:
    """A binary reader of the decompressed bytes of a gzip file, capped at ``cap`` bytes."""

    head_size = HEAD_SIZE

    def __init__(self, raw: BinaryIO, cap: int, path: str) -> None:
        self.raw = raw
        self.cap = cap
        self.path = path
        self.total = 0
        self.error: BaseException | None = None
        _, self._new, self._errors = backend()
        self._d = self._new()
        self._feed = b""

    def _inflate(self, limit: int) -> bytes:
        """The next decompressed bytes, at most ``limit``; b"" at the end of the input."""
        while True:
            d = self._d
            if d.eof:
                # Another member may follow, or zero padding, as gzip allows.
                pending = d.unused_data.lstrip(b"\x00")
                while not pending:
                    more = self.raw.read(PIECE)
                    if not more:
                        return b""
                    pending = more.lstrip(b"\x00")
                self._d = d = self._new()
                self._feed = pending
            if d.unconsumed_tail:
                src = d.unconsumed_tail
            elif self._feed:
                src, self._feed = self._feed, b""
            else:
                src = self.raw.read(PIECE)
                if not src:
                    raise EOFError("compressed file ended before the end-of-stream marker")
            try:
                out: bytes = d.decompress(src, limit)
            except self._errors as exc:
                raise zlib.error(str(exc)) from None
            if out:
                return out

    def read(self, size: int = -1) -> bytes:
        if self.error is not None:
            raise self.error
        want = size if size > 0 else 1 << 20
        parts: list[bytes] = []
        got = 0
        while got < want:
            # Never inflate far past the cap: what lies below it is still returned.
            limit = min(want - got, self.cap - self.total) if self.total < self.cap else 1
            try:
                data = self._inflate(limit)
            except (OSError, EOFError, zlib.error) as exc:
                if not parts:
                    raise
                self.error = exc
                break
            if not data:
                break
            self.total += len(data)
            if self.total > self.cap:
                self.error = Bomb(
                    f"decompressed size passed {self.cap} bytes (a gzip bomb?); the rest was "
                    "skipped. Raise the cap if this file is genuine"
                )
                if not parts:
                    raise self.error
                break
            parts.append(data)
            got += len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    read1 = read
