"""Lines longer than ``max_line_bytes`` in a stream fed in chunks, for the socket's reply.

The extractor searches only the first ``max_line_bytes`` of such a line and
logs it in the daemon's journal; the sender, who can split the line, would
never know.  The socket source feeds each connection's bytes here and tells
the sender the first long line's number (``sources/unix_socket.py``).  Line
numbers and the bound are the extractor's: a line is long when more than
``limit`` bytes come before its newline (or the end of the stream).
"""

from __future__ import annotations


class LongLines:
    """Counts lines over ``limit`` bytes; ``first`` is the 1-based number of the first one."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.first: int | None = None
        self.count = 0
        #: Number of the line being read, and its bytes so far.
        self._line = 1
        self._length = 0
        self._counted = False  # the current line is already counted

    def feed(self, data: bytes) -> None:
        pos, n = 0, len(data)
        while pos < n:
            room = max(0, self.limit - self._length)  # a long line may go on across chunks
            if n - pos <= room:
                # Nothing left here can overflow: count newlines in one call (no loop per line).
                self._newlines(data, pos, n)
                return
            # A newline within room+1 bytes ends the current line in time; jump past
            # the last one in that window (lines inside it are shorter still).
            last = data.rfind(b"\n", pos, pos + room + 1)
            if last != -1:
                self._line += data.count(b"\n", pos, last + 1)
                self._length = 0
                self._counted = False
                pos = last + 1
                continue
            self._long()
            nl = data.find(b"\n", pos + room + 1)
            if nl == -1:
                self._length += n - pos
                return
            self._line += 1
            self._length = 0
            self._counted = False
            pos = nl + 1

    def _newlines(self, data: bytes, start: int, end: int) -> None:
        last = data.rfind(b"\n", start, end)
        if last == -1:
            self._length += end - start
            return
        self._line += data.count(b"\n", start, last + 1)
        self._length = end - last - 1
        self._counted = False

    def _long(self) -> None:
        if self._counted:
            return
        self._counted = True
        self.count += 1
        if self.first is None:
            self.first = self._line

    def reply(self) -> str | None:
        """The sender's error line (without ``ERR``), or None when no line was too long."""
        if self.first is None:
            return None
        more = f" ({self.count - 1} more)" if self.count > 1 else ""
        return (
            f"line {self.first}{more} is longer than max_line_bytes ({self.limit}); only the "
            f"first {self.limit} bytes of such a line are searched: split long lines, or raise "
            "[limits] max_line_bytes in the daemon's config"
        )
