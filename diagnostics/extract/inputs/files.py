"""Inputs: streams, files and gzip; a JSON document is handed to ``documents``.

Directories are walked in ``walk.py``.

Nothing here raises on bad input.  A file that cannot be read, a corrupt or
oversized gzip, a binary file or a JSON document of the wrong shape adds a
warning naming the input to ``InputStats.warnings`` and bumps a counter; the
rest of the input (and the other inputs) are still processed.
"""

from __future__ import annotations

import mmap
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import orjson

from diagnostics.extract.cloudtrail.documents import try_document
from diagnostics.extract.inputs.gunzip import Bomb, GunzipReader
from diagnostics.extract.inputs.mapped import KnownLines, mapped
from diagnostics.extract.inputs.scanner import Extractor
from diagnostics.extract.inputs.utf16 import Utf16Reader, utf16_encoding
from diagnostics.model import Failure, InputStats

CHUNK = 1 << 20
#: Largest JSON document parsed whole (CloudTrail delivery files are far smaller).
MAX_DOCUMENT_BYTES = 256 << 20
#: Decompressed bytes read from one gzip file before it is called a bomb.
MAX_DECOMPRESSED_BYTES = 1 << 30
GZIP_MAGIC = b"\x1f\x8b"
#: A mapped file's pages behind the extractor are let go in steps this big.
DROP_EVERY = 8 << 20
_DONTNEED: int | None = getattr(mmap, "MADV_DONTNEED", None)
#: This much content (after NUL runs) tells a binary file from text.
BINARY_SNIFF = 8192
#: How far into the stream to look for that content.
BINARY_LOOK = 1 << 20
#: A run of NULs at least this long is a hole, not content.
_NUL_HOLE = b"\x00" * 16
#: Bytes no text log holds (tab, newlines, form feed and ESC are text).
_CONTROL_BYTES = bytes(c for c in range(32) if c not in (9, 10, 12, 13, 27))


def _is_json_start(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")


def _read(stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes, without waiting for more than one read from a pipe.

    ``read1`` returns what a pipe has now, so ``terraform apply | authz-diag
    scan -`` reports as the log arrives; plain files still give full chunks.
    """
    read1 = getattr(stream, "read1", None)
    data = read1(size) if read1 is not None else stream.read(size)
    return data if data else b""


def _read_head(stream: BinaryIO) -> bytes:
    """The start of the stream: at least its first line (or a chunk, or all of it).

    A gzip reader asks for a bigger head (``head_size``): a whole CloudTrail
    delivery then arrives as one bytes object, parsed without being joined.
    """
    want = max(CHUNK, getattr(stream, "head_size", CHUNK))
    parts = [_read(stream, want)]
    size = len(parts[0])
    while parts[-1] and b"\n" not in parts[-1] and size < want:
        parts.append(_read(stream, want - size))
        size += len(parts[-1])
    return b"".join(parts)


def _first_line_is_json(head: bytes) -> bool:
    """JSON lines: the first line is a whole JSON value by itself (a document's is not)."""
    nl = head.find(b"\n")
    if nl == -1:
        return False
    try:
        orjson.loads(head[:nl])
    except orjson.JSONDecodeError:
        return False
    return True


def extract_stream(
    stream: BinaryIO,
    path: str,
    stats: InputStats,
    *,
    max_line_bytes: int = 1 << 20,
    max_document_bytes: int = MAX_DOCUMENT_BYTES,
    map_file: bool = False,
) -> Iterator[Failure]:
    """Failures in a byte stream: a CloudTrail JSON document, or log lines.

    A stream that starts with ``{`` or ``[`` and whose first line is not a JSON
    value by itself is read whole (up to ``max_document_bytes``) and tried as
    one JSON document (a Records file, an array of records, a single record,
    an EventBridge or CloudWatch Logs envelope).  Anything else, including
    JSON lines and JSON that is not CloudTrail, streams through the line
    extractor (``map_file``: a regular file is read through ``mmap`` instead).
    A read error (a corrupt or truncated gzip, a bomb) ends the
    stream with a warning; what was read before it is still searched.
    """
    pending: list[bytes] = []
    extractor: Extractor | None = None
    try:
        first = _read_head(stream)
        if first.startswith(GZIP_MAGIC) and not isinstance(stream, GunzipReader):
            # `cat x.json.gz | authz-diag scan -`: gzip is known by its magic, not a name.
            yield from _extract_gzip(_Prefixed(first, stream), path, stats, max_line_bytes)
            return
        encoding = None if isinstance(stream, Utf16Reader) else utf16_encoding(first)
        if encoding is not None:
            # PowerShell's `>` writes UTF-16: read as text, not skipped as binary.
            reader = Utf16Reader(_Prefixed(first, stream), encoding)
            yield from extract_stream(
                reader,  # type: ignore[arg-type]
                path,
                stats,
                max_line_bytes=max_line_bytes,
                max_document_bytes=max_document_bytes,
            )
            return
        if not first or _binary(first, path, stats):
            return
        pending.append(first)
        if _is_json_start(first):
            document = _read_document(stream, pending, max_document_bytes)
            if document is not None:
                pending = [document]
                done = yield from try_document(document, path, stats)
                if done:
                    return
        mm = mapped(stream) if map_file else None
        if mm is not None:
            # A regular file: read through the map from its start (the head included).
            with mm:
                known = KnownLines(mm, max_line_bytes)
                if known.usable:
                    extractor = Extractor(
                        path, stats=stats, max_line_bytes=max_line_bytes, known=known
                    )
                    yield from _feed_mapped(extractor, mm)
                    yield from extractor.finish()
                    return
        extractor = Extractor(path, stats=stats, max_line_bytes=max_line_bytes)
        for data in pending:
            yield from extractor.feed(data)
        pending = []
        while data := _read(stream, CHUNK):
            yield from extractor.feed(data)
    except (OSError, EOFError, zlib.error, Bomb) as exc:
        stats.rejected += 1
        reason = str(exc) if isinstance(exc, Bomb) else f"read failed ({describe_error(exc)})"
        stats.warnings.append(f"{path}: {reason}; what was read before it was still searched")
        if extractor is None:
            extractor = Extractor(path, stats=stats, max_line_bytes=max_line_bytes)
        for data in pending:
            yield from extractor.feed(data)
    if extractor is not None:
        yield from extractor.finish()


def read_as_lines(stream: BinaryIO) -> bool:
    """``extract_stream(..., map_file=True)`` reads this stream as lines through a map.

    Not gzip, UTF-16, binary or a JSON document; a regular file at rest
    (``mapped``).  The stream is left at its start.
    """
    first = _read_head(stream)
    stream.seek(0)
    if not first or first.startswith(GZIP_MAGIC) or utf16_encoding(first) is not None:
        return False
    if _binary(first, "", InputStats()):
        return False
    if _is_json_start(first):
        # JSON lines stream through the line extractor; anything else may be a document.
        nl = first.find(b"\n")
        if not _first_line_is_json(first) or not first[nl + 1 :].strip():
            return False
    mm = mapped(stream)
    if mm is None:
        return False
    mm.close()
    return True


def _feed_mapped(
    extractor: Extractor,
    mm: mmap.mmap,
    begin: int = 0,
    end: int | None = None,
    drop_every: int = DROP_EVERY,
) -> Iterator[Failure]:
    """The map (or ``mm[begin:end]``), in the chunks a read would give (slices, not copies)."""
    view = memoryview(mm)
    stop = len(mm) if end is None else end
    dropped = begin - begin % mmap.PAGESIZE
    try:
        for start in range(begin, stop, CHUNK):
            part = view[start : min(start + CHUNK, stop)]
            try:
                found = extractor.feed(part)
            finally:
                part.release()  # the map must have no exported slice when it closes
            if start - dropped >= drop_every and _DONTNEED is not None:
                # The extractor copied what it keeps: pages behind it would only count
                # toward the peak RSS (they stay in the page cache).
                cut = start - start % mmap.PAGESIZE
                mm.madvise(_DONTNEED, dropped, cut - dropped)
                dropped = cut
            yield from found
    finally:
        view.release()


class _Prefixed:
    """``head`` (already read to sniff the stream) followed by the rest of ``stream``."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self.head = head
        self.stream = stream

    def read(self, size: int = -1) -> bytes:
        if self.head:
            out, self.head = (self.head, b"") if size < 0 else (self.head[:size], self.head[size:])
            return out
        return self.stream.read(size)


def _extract_gzip(
    raw: BinaryIO | _Prefixed,
    name: str,
    stats: InputStats,
    max_line_bytes: int,
    max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES,
) -> Iterator[Failure]:
    """A gzip stream, decompressed under the bomb cap, then read like any other stream."""
    reader = GunzipReader(raw, max_decompressed_bytes, name)  # type: ignore[arg-type]
    yield from extract_stream(reader, name, stats, max_line_bytes=max_line_bytes)  # type: ignore[arg-type]


def _binary(head: bytes, path: str, stats: InputStats) -> bool:
    """A binary file by its content, skipped with a warning.

    Runs of NUL bytes are not content: a copytruncate hole or a preallocated
    log starts or ends with them, and the text after them is still read.
    What is left must be free of NULs and mostly printable.
    """
    sample = head[:BINARY_LOOK]
    if b"\x00" not in sample:
        return False
    content = _without_holes(sample)[:BINARY_SNIFF]
    if not content.strip():
        return False  # nothing but NULs so far: text may follow
    controls = sum(content.count(bytes([c])) for c in _CONTROL_BYTES)
    if b"\x00" not in content and controls * 10 <= len(content):
        return False
    stats.rejected += 1
    stats.bytes_read += len(head)
    stats.warnings.append(
        f"{path}: binary file (NUL or control bytes mixed into its text); skipped"
    )
    return True


def _without_holes(data: bytes, want: int = BINARY_SNIFF) -> bytes:
    """The first ``want`` bytes of ``data`` outside its runs of 16 or more NULs."""
    parts: list[bytes] = []
    size = pos = 0
    n = len(data)
    while size < want and (i := data.find(_NUL_HOLE, pos)) != -1:
        parts.append(data[pos:i])
        size += i - pos
        pos = i + len(_NUL_HOLE)
        while pos < n and data[pos] == 0:
            pos += 1
    parts.append(data[pos : pos + want])
    return b"".join(parts)[:want]


def _read_document(stream: BinaryIO, pending: list[bytes], cap: int) -> bytes | None:
    """The whole stream when it may be one JSON document, else None (JSON lines, too big).

    Everything read is appended to ``pending`` so the line extractor sees it too.
    """
    first = pending[0]
    if _first_line_is_json(first):
        # JSON lines stream through the line extractor (it parses CloudTrail
        # lines whole); only a file of one line is still a whole document.
        more = bool(first[first.find(b"\n") + 1 :].strip())
        while not more and (data := _read(stream, CHUNK)):
            pending.append(data)
            more = bool(data.strip())
        return None if more else b"".join(pending)
    size = len(first)
    while size <= cap and (data := _read(stream, CHUNK)):
        pending.append(data)
        size += len(data)
    return b"".join(pending) if size <= cap else None


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "the gzip data ends early (truncated file?)"
    if isinstance(exc, zlib.error):
        return f"corrupt compressed data: {exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def extract_path(
    path: Path,
    stats: InputStats,
    *,
    max_line_bytes: int = 1 << 20,
    max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES,
) -> Iterator[Failure]:
    """Failures in one file (plain or gzip); problems become warnings, never exceptions."""
    name = str(path)
    try:
        fh = path.open("rb")
    except OSError as exc:
        stats.rejected += 1
        stats.warnings.append(f"{name}: cannot open ({describe_error(exc)}); skipped")
        return
    stats.files += 1
    with fh:
        try:
            magic = fh.read(2)
            fh.seek(0)
        except OSError as exc:
            stats.rejected += 1
            stats.warnings.append(f"{name}: cannot read ({describe_error(exc)}); skipped")
            return
        if magic == GZIP_MAGIC:
            yield from _extract_gzip(fh, name, stats, max_line_bytes, max_decompressed_bytes)
        else:
            yield from extract_stream(fh, name, stats, max_line_bytes=max_line_bytes, map_file=True)
