"""Reading back the notification ids an alert file already holds.

A ``kill -9`` between the file sink's write and the alert manager's delivery
record would otherwise send that notification again after the restart.  The
file is the one sink whose output we can read, so at start the sink reads the
end of it and skips notifications already there: exactly once for the file.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from pathlib import Path

import orjson

from diagnostics.sinks.text import NOTIFICATION_LABEL

#: How much of the end of the file is read at start.  The window to close is
#: one notification batch; 8 MiB holds thousands of full-detail alerts.
READBACK_BYTES = 8 << 20
#: How many ids are remembered (read back, and written by this process).
MAX_IDS = 100_000

# ``<32 hex>.<digits>.<digits>``: fixed character classes, no nesting, linear.
_ID = re.compile(rb"[0-9a-f]{32}\.[0-9]{1,20}\.[0-9]{1,12}")
_JSON_MARK = b'"notification_id":"'


class SeenIds:
    """A bounded insertion-ordered set of notification ids."""

    def __init__(self, limit: int = MAX_IDS) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._limit = limit

    def add(self, nid: str) -> None:
        self._ids[nid] = None
        self._ids.move_to_end(nid)
        while len(self._ids) > self._limit:
            self._ids.popitem(last=False)

    def __contains__(self, nid: object) -> bool:
        return nid in self._ids

    def __len__(self) -> int:
        return len(self._ids)


def _ids_in_line(line: bytes) -> list[str]:
    if line.startswith(b"{"):
        # Only a whole JSON record counts: a line cut by a crash is not delivered.
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            return []
        nid = obj.get("notification_id") if isinstance(obj, dict) else None
        return [nid] if isinstance(nid, str) and _ID.fullmatch(nid.encode()) else []
    label = NOTIFICATION_LABEL.encode()
    if line.startswith(label):
        m = _ID.fullmatch(line[len(label) :].rstrip(b"\r"))
        return [m.group(0).decode()] if m else []
    return []


def read_tail(path: Path, seen: SeenIds, limit: int = READBACK_BYTES) -> bool:
    """Add the ids found in the last ``limit`` bytes of ``path`` to ``seen``.

    Returns True when the file ends in the middle of a line (a write cut by a
    crash), so the next write must start on a new line.  A missing file holds
    nothing; other read errors propagate as ``OSError``.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return False
    try:
        size = os.fstat(fd).st_size
        start = max(0, size - limit)
        os.lseek(fd, start, os.SEEK_SET)
        chunks: list[bytes] = []
        left = size - start
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if not data:
        return False
    lines = data.split(b"\n")
    if start > 0:
        lines = lines[1:]  # the first line was cut by the window
    torn = not data.endswith(b"\n")
    if torn:
        lines = lines[:-1]
    for raw in lines:
        if _JSON_MARK in raw or raw.startswith(NOTIFICATION_LABEL.encode()):
            for nid in _ids_in_line(raw):
                seen.add(nid)
    return torn
