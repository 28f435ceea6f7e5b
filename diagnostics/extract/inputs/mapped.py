"""A regular file read through ``mmap``: its marker lines found ahead, in big windows.

The chunked path searches every 1 MiB chunk it reads for the markers.  A
regular file can instead be mapped and searched in a few big windows (one
compiled pass each; ``marker_backends.py``), without copying it through
``read``; the extractor then takes its candidate lines from that list
rather than searching its buffer again.  The lines are exactly the ones
``markers.marker_lines`` finds in the buffer: a line counts when its first
marker hit ends within the line's first ``max_line`` bytes and within what
the buffer holds.  Memory stays bounded: only one window's lines are kept
ahead of the extractor.
"""

from __future__ import annotations

import mmap
import os
import stat
import time
from typing import BinaryIO

from diagnostics.extract.inputs.marker_backends import compiled, find_in
from diagnostics.extract.inputs.markers import MARKERS

#: Bytes searched per compiled pass; bounds the lines kept ahead (a log of
#: nothing but marker lines holds about 150,000 per window).
WINDOW = 8 << 20


#: A file written to this recently is read in chunks, not mapped: a map of a
#: file that is truncated meanwhile (logrotate's copytruncate) faults with
#: SIGBUS, which kills the process, where a read just returns less.
QUIET_SECONDS = 300.0


def mapped(stream: BinaryIO, *, now: float | None = None) -> mmap.mmap | None:
    """A read-only map of ``stream`` when it is a non-empty regular file at rest, else None."""
    try:
        fd = stream.fileno()
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size == 0:
            return None
        if (time.time() if now is None else now) - info.st_mtime < QUIET_SECONDS:
            return None
        return mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError, AttributeError):
        return None  # not a file descriptor, or a file system that cannot map


class KnownLines:
    """The candidate lines of a mapped file, as absolute line-start offsets."""

    def __init__(
        self,
        mm: mmap.mmap,
        max_line: int,
        markers: tuple[bytes, ...] = MARKERS,
        window: int | None = None,
        *,
        start: int = 0,
        end: int | None = None,
    ) -> None:
        """Lines of ``mm[start:end]``; ``start`` is a line start, ``end`` one or the end."""
        self._mm = mm
        self._size = len(mm) if end is None else end
        self._max_line = max_line
        self._find = compiled(markers).find
        self._overlap = max(len(m) for m in markers) - 1  # a marker across a window's edge
        self._window = window or WINDOW
        self._scanned = start  # windows searched up to here (hit starts)
        self._line_end = start  # end of the last line already decided
        self._starts: list[int] = []
        self._stops: list[int] = []  # where each line's first hit ends
        self._head = 0  # entries before this index are behind the extractor

    @property
    def usable(self) -> bool:
        """A compiled matcher is installed (else the chunked search is as good)."""
        return self._find is not None

    def between(self, lo: int, hi: int) -> list[int]:
        """Line starts in ``[lo, hi)`` whose first hit ends by ``hi``, ascending."""
        while self._scanned < min(hi, self._size):
            self._scan_window()
        starts, stops = self._starts, self._stops
        head = self._head
        while head < len(starts) and starts[head] < lo:
            head += 1
        if head > 4096:
            del starts[:head], stops[:head]
            head = 0
        self._head = head
        out: list[int] = []
        for i in range(head, len(starts)):
            if starts[i] >= hi:
                break
            if stops[i] <= hi:
                out.append(starts[i])
        return out

    def _scan_window(self) -> None:
        find = self._find
        assert find is not None
        mm = self._mm
        w0 = self._scanned
        w1 = min(w0 + self._window, self._size)
        hits = find_in(find, mm, w0, min(w1 + self._overlap, self._size))
        self._scanned = w1
        line_end = self._line_end
        for _index, start, stop in hits:
            pos = w0 + start
            if pos >= w1 or pos < line_end:
                continue  # the next window's, or the line is already decided
            line_start = mm.rfind(b"\n", 0, pos) + 1
            nl = mm.find(b"\n", pos)
            line_end = self._size if nl == -1 else nl + 1
            if w0 + stop - line_start <= self._max_line:
                self._starts.append(line_start)
                self._stops.append(w0 + stop)
        self._line_end = line_end
