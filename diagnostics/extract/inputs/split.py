"""Cut one big mapped file into byte ranges that can be read apart.

A record starts on a marker line and reads only a bounded number of lines
around it (``assembly/record.py``): from its first line on, at most
``MAX_RECORD_LINES`` lines joined plus ``STACK_LINES`` looked at below them;
before it, at most ``REMEMBER_LINES``.  So a line start is a safe cut when no
marker line lies in the ``AFTER_MARKER`` lines before it, nor in the
``BEFORE_MARKER`` lines from it on: no record started before the cut reads
a line at or after it, and every record after it finds its earlier lines in
its own range.  Each range then gives exactly the failures one pass gives
there (with line numbers counted from the range's start).

Cut points are looked for near equal offsets, within ``RADIUS`` bytes of
each; where no safe line start is found there, the file is not cut (a log of
marker lines end to end stays one range).  Any marker hit counts, even one
the reader would pass over (past ``max_line_bytes``): that only makes a cut
less likely, never unsafe.
"""

from __future__ import annotations

import itertools
import mmap

from diagnostics.extract.assembly.record import MAX_RECORD_LINES, REMEMBER_LINES, STACK_LINES
from diagnostics.extract.inputs.marker_backends import Hits, Matcher, compiled, find_in
from diagnostics.extract.inputs.markers import MARKERS

#: Lines after a marker line before a cut may fall: what its record may read, plus a margin.
AFTER_MARKER = MAX_RECORD_LINES + STACK_LINES + 8
#: Lines between a cut and the next marker line: the longest look back a record
#: makes (a pretty-printed CloudTrail record's opening brace), plus a margin.
BEFORE_MARKER = REMEMBER_LINES + 4
#: How far from each equal offset a cut is looked for, at most and at first.
RADIUS = 2 << 20
FIRST_RADIUS = 128 << 10
_DONTNEED: int | None = getattr(mmap, "MADV_DONTNEED", None)


def safe_cuts(mm: mmap.mmap, parts: int, *, radius: int = RADIUS) -> list[int]:
    """Range bounds ``[0, c1, ..., len(mm)]`` for up to ``parts`` ranges, each cut safe.

    ``[0, len(mm)]`` when no compiled matcher is installed or no safe cut is found.
    """
    size = len(mm)
    bounds = [0]
    find = compiled(MARKERS).find
    if find is None or parts < 2 or size == 0:
        return [0, size]
    for k in range(1, parts):
        target = size * k // parts
        cut = None
        # A small window first: a log with room between its failures has a cut near.
        reach = min(FIRST_RADIUS, radius)
        while cut is None:
            lo = max(bounds[-1] + 1, target - reach)
            hi = min(size, target + reach)
            cut = _cut_near(mm, find, target, lo, hi) if lo < hi else None
            if reach >= radius:
                break
            reach = min(reach * 4, radius)
        if cut is not None and bounds[-1] < cut < size:
            bounds.append(cut)
    bounds.append(size)
    return bounds


def _line_start(mm: mmap.mmap, pos: int) -> int:
    """Start of the line holding byte ``pos``."""
    return mm.rfind(b"\n", 0, pos) + 1


def _cut_near(mm: mmap.mmap, find: Matcher, target: int, lo: int, hi: int) -> int | None:
    """The safe line start in ``[lo, hi)`` nearest ``target``, or None.

    The lines holding ``lo`` and ``hi`` count as marker lines: what lies
    beyond the window is not looked at.
    """
    hits = find_in(find, mm, lo, hi)
    try:
        return _nearest(mm, hits, target, lo, hi)
    finally:
        if _DONTNEED is not None:
            # The pages searched would count toward the parent's peak RSS; they stay cached.
            first = lo - lo % mmap.PAGESIZE
            mm.madvise(_DONTNEED, first, hi - first)


def _nearest(mm: mmap.mmap, hits: Hits, target: int, lo: int, hi: int) -> int | None:
    walls = [_line_start(mm, lo)]
    for _index, start, _stop in hits:
        line = _line_start(mm, lo + start)
        if line != walls[-1]:
            walls.append(line)
    end = _line_start(mm, hi)
    if end != walls[-1]:
        walls.append(end)
    want = _line_start(mm, target)
    gaps = sorted(itertools.pairwise(walls), key=lambda g: _distance(g, target))
    best: int | None = None
    for after, before in gaps:
        if best is not None and _distance((after, before), target) >= abs(best - target):
            break  # gaps nearest first: none further on can do better
        earliest = _lines_on(mm, after, AFTER_MARKER, before)
        if earliest is None:
            continue
        latest = _lines_back(mm, before, BEFORE_MARKER, earliest)
        if latest is None:
            continue
        cut = min(max(want, earliest), latest)
        if best is None or abs(cut - target) < abs(best - target):
            best = cut
    return best


def _distance(gap: tuple[int, int], target: int) -> int:
    """How far ``target`` is from the bytes of ``gap`` (0 inside it)."""
    return max(gap[0] - target, target - gap[1], 0)


def _lines_on(mm: mmap.mmap, start: int, count: int, limit: int) -> int | None:
    """Start of the line ``count`` lines after the one at ``start``, if before ``limit``."""
    pos = start
    for _ in range(count):
        nl = mm.find(b"\n", pos, limit)
        if nl == -1:
            return None
        pos = nl + 1
    return pos if pos < limit else None


def _lines_back(mm: mmap.mmap, start: int, count: int, floor: int) -> int | None:
    """Start of the line ``count`` lines before the one at ``start``, if at or after ``floor``."""
    pos = start
    for _ in range(count):
        if pos <= floor:
            return None
        pos = mm.rfind(b"\n", 0, pos - 1) + 1
    return pos if pos >= floor else None
