"""Baseline for P1: the Python floor, a 1 MiB-chunk ``bytes.find`` loop for grep's two markers.

    python bench/find_floor.py FILE

Counts the lines holding either marker, like ``grep -c``: no line numbers,
no parsing, no output beyond the count.  Whatever ``scan`` does beyond
this is the price of its features; what this costs over grep is the price
of Python.  A marker cut by a chunk boundary is found by keeping the last
``len(marker) - 1`` bytes of each chunk.
"""

from __future__ import annotations

import sys
from pathlib import Path

MARKERS = (b"Encoded authorization failure message", b"is not authorized to perform")
CHUNK = 1 << 20


def count_lines(path: str) -> int:
    keep = max(len(m) for m in MARKERS) - 1
    counted: set[int] = set()  # absolute offset of the newline before each counted line
    hits = 0
    base = 0
    last_nl = -1  # absolute offset of the last newline seen in earlier chunks
    tail = b""
    with Path(path).open("rb", buffering=0) as fh:
        while chunk := fh.read(CHUNK):
            starts: set[int] = set()
            for marker in MARKERS:
                pos = chunk.find(marker)
                while pos != -1:
                    nl = chunk.rfind(b"\n", 0, pos)
                    starts.add(base + nl if nl != -1 else last_nl)
                    pos = chunk.find(marker, pos + 1)
                # A marker cut in two by the chunk boundary.
                seam = tail + chunk[:keep]
                at = seam.find(marker)
                if 0 <= at < len(tail) and at + len(marker) > len(tail):
                    starts.add(last_nl)
            hits += len(starts - counted)
            counted = starts
            nl = chunk.rfind(b"\n")
            if nl != -1:
                last_nl = base + nl
            tail = chunk[-keep:]
            base += len(chunk)
    return hits


if __name__ == "__main__":
    print(count_lines(sys.argv[1]))
