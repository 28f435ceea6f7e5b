"""Where a tailed file is: the line number at a byte offset, the name it has now.

Alerts name ``path:line``.  A tail that resumes from a checkpoint starts its
extractor mid-file, so the line number at the resume offset must come from
somewhere: the checkpoint stores it, and when it does not (a row written
before line numbers were kept, or a first start at the end of a file) the
newlines before the offset are counted, up to a bound so a start never
stalls on a huge file.  Past the bound the line is unknown and labels say so.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Bytes counted at most to find a line number: about 0.8 s of start-up from the page
#: cache (BENCHMARKS.md, "Watch start"), more from a cold disk.
COUNT_LIMIT = 1 << 30
_CHUNK = 1 << 20


def line_at(fd: int, offset: int, *, limit: int | None = None) -> int | None:
    """The 1-based number of the line starting at ``offset`` of ``fd``, or None.

    ``None`` when ``offset`` is past ``limit`` (default ``COUNT_LIMIT``) or the
    file cannot be read; the caller then labels failures by byte offset.
    """
    bound = COUNT_LIMIT if limit is None else limit
    if offset > bound:
        return None
    newlines = 0
    pos = 0
    try:
        while pos < offset:
            data = os.pread(fd, min(_CHUNK, offset - pos), pos)
            if not data:
                return None  # shorter than the checkpoint: no honest line number
            newlines += data.count(b"\n")
            pos += len(data)
    except OSError:
        return None
    return newlines + 1


def current_name(fd: int) -> str | None:
    """The name an open file has now (after a rename), or None if deleted or unknown.

    Linux keeps it at /proc/self/fd/N; elsewhere a renamed file keeps its old
    label, as before.
    """
    try:
        target = str(Path(f"/proc/self/fd/{fd}").readlink())
    except OSError:
        return None
    if target.endswith(" (deleted)") or not target.startswith("/"):
        return None
    return target
