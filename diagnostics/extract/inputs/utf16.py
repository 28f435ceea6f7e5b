"""Logs saved as UTF-16, read as the UTF-8 text the rest of the reader expects.

PowerShell's ``>`` and ``Out-File`` (Windows PowerShell 5.1) write UTF-16LE
with a byte-order mark, and some tools write it without one.  Without this,
such a log looks binary (every other byte is NUL) and its denials are lost.
A UTF-16 stream is known by its BOM, or, without one, by ASCII text whose
every other byte is NUL; it is then transcoded chunk by chunk.  Offsets in
the failures it yields count bytes of the transcoded (UTF-8) text.
"""

from __future__ import annotations

import codecs
from typing import BinaryIO, Protocol

#: Code units sniffed for the NUL-interleaved test (a BOM needs none).
_SNIFF_UNITS = 512
#: Fewer sniffed units than this decide nothing.
_MIN_UNITS = 8


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def utf16_encoding(head: bytes) -> str | None:
    """The codec to read ``head``'s stream with, when it is UTF-16; else None."""
    bom = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    sample = head[2 : 2 + 2 * _SNIFF_UNITS] if bom else head[: 2 * _SNIFF_UNITS]
    units = len(sample) // 2
    if units < _MIN_UNITS:
        # Too little to tell by content: the BOM alone decides.
        return "utf-16" if bom and units else None
    even_nul = sample[0 : 2 * units : 2].count(0)
    odd_nul = sample[1 : 2 * units : 2].count(0)
    # A log is mostly ASCII: in UTF-16 one byte of most units is NUL, the other
    # almost never.  With a BOM half will do (a log in another script has fewer).
    share = 5 if bom else 9
    if odd_nul * 10 >= units * share and even_nul * 10 <= units:
        encoding = "utf-16-le"
    elif even_nul * 10 >= units * share and odd_nul * 10 <= units:
        encoding = "utf-16-be"
    elif bom and _has_lines(sample, "utf-16-le" if head[0] == 0xFF else "utf-16-be"):
        encoding = "utf-16"  # a log in another script: fewer NULs, but lines of text
    else:
        # FF FE before bytes that are no UTF-16 text: a broken UTF-8 line, not a BOM.
        return None
    # "utf-16" reads the BOM, picks the byte order and drops it.
    return "utf-16" if bom else encoding


def _has_lines(sample: bytes, encoding: str) -> bool:
    """``sample`` decodes as ``encoding`` with no bad unit and holds a line break."""
    try:
        text = codecs.getincrementaldecoder(encoding)(errors="strict").decode(sample)
    except UnicodeDecodeError:
        return False
    return "\n" in text


class Utf16Reader:
    """A binary stream of UTF-8, read from a UTF-16 stream in ``encoding``."""

    def __init__(self, raw: BinaryIO | _Readable, encoding: str) -> None:
        self._raw = raw
        # A unit that is no character (a lone surrogate) becomes U+FFFD, never an error.
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._done = False

    def read(self, size: int = -1) -> bytes:
        """Up to about ``size`` UTF-8 bytes (more when characters widen); b"" at the end."""
        while not self._done:
            data = self._raw.read(size if size > 0 else -1)
            if not data:
                self._done = True
                return self._decoder.decode(b"", final=True).encode("utf-8")
            text = self._decoder.decode(data)
            if text:
                return text.encode("utf-8")
        return b""
