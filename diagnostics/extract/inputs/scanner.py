"""The incremental extractor: chunked marker search with exact line recovery.

The hot loop never looks at lines one by one.  It searches the buffered bytes
for a few fixed markers (``markers.py``: one compiled pass or ``bytes.find``,
big chunks either way), recovers
only the lines holding a hit, and hands each to the record assembler.  Line
numbers come from ``bytes.count`` between hits.  Lines longer than
``max_line_bytes`` are found by stepping through the buffer a whole bound at
a time, so even they cost no per-line Python work.

Chunks may end anywhere.  Only complete lines are processed; a record whose
blob or sentence may go on past the data seen so far is held back (with its
bytes) until the next chunk or ``finish()``.  ``safe_offset`` is the count of
input bytes that are fully processed.
"""

from __future__ import annotations

from collections.abc import Callable

from diagnostics.extract.assembly.record import (
    BACK_LINE_BYTES,
    REMEMBER_LINES,
    Assembler,
    Line,
    NeedMore,
)
from diagnostics.extract.inputs.mapped import KnownLines
from diagnostics.extract.inputs.markers import MARKERS, marker_lines
from diagnostics.model import Failure, InputStats

#: At most this many warnings of one kind per input; the counters keep counting.
MAX_WARNINGS_PER_KIND = 20

#: Takes (kind, line number, message) of one input problem.
Warn = Callable[[str, "int | None", str], None]


class Warned:
    """An input's warnings, at most ``MAX_WARNINGS_PER_KIND`` of each kind, into ``stats``."""

    def __init__(self, path: str, stats: InputStats) -> None:
        self.path = path
        self.stats = stats
        self.counts: dict[str, int] = {}

    def __call__(self, kind: str, line: int | None, message: str) -> None:
        count = self.counts.get(kind, 0) + 1
        self.counts[kind] = count
        where = f"{self.path}:{line}" if line is not None else self.path
        if count <= MAX_WARNINGS_PER_KIND:
            self.stats.warnings.append(f"{where}: {message}")
        elif count == MAX_WARNINGS_PER_KIND + 1:
            self.stats.warnings.append(
                f"{self.path}: more {kind} problems; further ones are counted, not listed"
            )


class Extractor:
    """Finds failures in a byte stream fed in chunks of any size."""

    def __init__(
        self,
        path: str,
        *,
        stats: InputStats | None = None,
        max_line_bytes: int = 1 << 20,
        known: KnownLines | None = None,
        base: int = 0,
        warn: Warn | None = None,
    ):
        if max_line_bytes < 1024:
            raise ValueError("max_line_bytes must be at least 1024")
        self.path = path
        self.stats = stats if stats is not None else InputStats()
        self.max_line_bytes = max_line_bytes
        self._buf = bytearray()
        self._base = base  # absolute offset of _buf[0]
        self._line_no = 1  # line number of _buf[0]
        self._discarding = False  # inside a long line whose prefix was processed
        self._skip_to = base  # absolute offset before which candidates are done
        self._back: list[bytes] = []  # the last REMEMBER_LINES processed lines (bounded)
        # One range of a split file (``base`` > 0) numbers its lines from 1 and
        # hands its warnings to ``warn``: the scan fixes both up in order.
        self._warn: Warn = warn if warn is not None else Warned(path, self.stats)
        self._long_checked = base  # absolute offset up to which long lines were counted
        self._cur_start = 0  # buffer index of the candidate being assembled
        self._finished = False
        # A mapped file's marker lines, found ahead (mapped.py); None: search the buffer.
        self._known = known

    @property
    def safe_offset(self) -> int:
        """Input bytes fully processed: no unreturned failure starts before this."""
        return self._base

    @property
    def safe_line(self) -> int:
        """The 1-based number of the line that starts at ``safe_offset``."""
        return self._line_no

    # -- public API ----------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> list[Failure]:
        """Process a chunk; returns the failures it completed."""
        if self._finished:
            raise RuntimeError("feed() after finish()")
        if not data:
            return []
        self.stats.bytes_read += len(data)
        if isinstance(data, memoryview) and self._discarding:
            data = data.tobytes()  # a mapped file's slice: appended below without a copy
        if self._discarding:
            assert not isinstance(data, memoryview)
            nl = data.find(b"\n")
            if nl == -1:
                self._base += len(data)
                return []
            self._base += nl + 1
            self._line_no += 1
            self.stats.lines += 1
            self._discarding = False
            data = data[nl + 1 :]
        self._buf += data
        return self._process(final=False)

    def flush(self) -> list[Failure]:
        """Decide held-back records now, as if no further line followed.

        For a tailer at idle: a record held because its blob or sentence might
        go on (the last complete line ends inside one) is reported without
        waiting; nothing is marked truncated, and an unterminated last line
        stays buffered.  Lines that arrive later are read as new records.
        """
        if self._finished or self._discarding:
            return []
        return self._process(final=False, flush=True)

    def finish(self) -> list[Failure]:
        """Flush at end of input: held records are decided, a cut blob is truncated."""
        if self._finished:
            return []
        self._finished = True
        if self._discarding:
            self._discarding = False
            self._buf.clear()
            return []
        unterminated = bool(self._buf) and self._buf[-1:] != b"\n"
        out = self._process(final=True)
        if unterminated:
            self.stats.lines += 1
        self._base += len(self._buf)
        self._buf.clear()
        return out

    # -- internals -----------------------------------------------------------

    def _line_at(self, start: int, final: bool, flush: bool = False) -> Line | None:
        buf = self._buf
        n = len(buf)
        limit = self.max_line_bytes
        if start >= n:
            if final or flush:
                return None
            raise NeedMore
        nl = buf.find(b"\n", start, start + limit + 1)
        if nl == -1:
            if n - start > limit:
                return Line(start, start + limit, None, True, False)
            if final:
                return Line(start, n, None, False, True)
            if flush:
                return None
            raise NeedMore
        if nl - start > limit:
            return Line(start, start + limit, nl + 1, True, False)
        return Line(start, nl, nl + 1, False, False)

    def _prev_lines(self, start: int, count: int) -> list[bytes]:
        """Up to ``count`` lines before buffer index ``start``, oldest first, bounded."""
        out: list[bytes] = []
        pos = start
        while len(out) < count and pos > 0:
            prev_start = self._buf.rfind(b"\n", 0, pos - 1) + 1
            line = (
                bytes(self._buf[prev_start : pos - 1])
                if pos - 1 - prev_start <= BACK_LINE_BYTES
                else b""
            )
            out.append(line)
            pos = prev_start
        if len(out) < count:
            need = count - len(out)
            out.extend(reversed(self._back[-need:]))
        out.reverse()
        return out

    def _remember(self, start: int, end: int) -> None:
        """Keep the last lines of ``buf[start:end]`` as backward context."""
        lines: list[bytes] = []
        pos = end
        while len(lines) < REMEMBER_LINES and pos > start:
            prev_start = self._buf.rfind(b"\n", start, pos - 1) + 1
            if prev_start == 0 and start > 0:
                prev_start = start
            lines.append(
                bytes(self._buf[prev_start : pos - 1])
                if pos - 1 - prev_start <= BACK_LINE_BYTES
                else b""
            )
            pos = prev_start
        lines.reverse()
        self._back = (self._back + lines)[-REMEMBER_LINES:]

    def _count_long_lines(self, start: int, end: int, line_no: int) -> None:
        """Count lines longer than the bound in ``buf[start:end]`` (complete lines)."""
        buf = self._buf
        limit = self.max_line_bytes
        pos = start
        while end - pos > limit:
            last_nl = buf.rfind(b"\n", pos, pos + limit + 1)
            if last_nl == -1:
                nl = buf.find(b"\n", pos + limit, end)
                line = line_no + buf.count(b"\n", start, pos)
                self._long_line(line)
                if nl == -1:
                    return
                pos = nl + 1
            else:
                pos = last_nl + 1

    def _long_line(self, line: int) -> None:
        self.stats.long_lines += 1
        self._warn(
            "long-line",
            line,
            f"line longer than {self.max_line_bytes} bytes; only its first {self.max_line_bytes} "
            "bytes were searched (split the log or raise the bound if failures hide there)",
        )

    def _process(self, *, final: bool, flush: bool = False) -> list[Failure]:
        buf = self._buf
        n = len(buf)
        complete = buf.rfind(b"\n") + 1
        tail_long = not final and n - complete > self.max_line_bytes
        limit = n if final else complete
        scan_end = complete + self.max_line_bytes if tail_long else limit
        out: list[Failure] = []
        if scan_end == 0:
            return out
        checked = max(0, self._long_checked - self._base)
        if checked < limit:
            self._count_long_lines(checked, limit, self._line_no + buf.count(b"\n", 0, checked))
            self._long_checked = self._base + limit
        starts = self._candidates(scan_end)
        assembler = Assembler(
            self.path,
            buf,
            lambda s: self._line_at(s, final, flush),
            lambda c: self._prev_lines(self._cur_start, c),
        )
        cnt_pos, cnt_line = 0, self._line_no
        hold: int | None = None
        for start in starts:
            if self._base + start < self._skip_to:
                continue
            line = self._line_at(start, final)
            assert line is not None
            cnt_line += buf.count(b"\n", cnt_pos, start)
            cnt_pos = start
            self._cur_start = start
            try:
                result = assembler.build(line, cnt_line, self._base)
            except NeedMore:
                hold = start
                break
            out.extend(result.failures)
            for line_number, problem in result.problems:
                self.stats.rejected += 1
                self._warn("json", line_number, problem)
            for line_number in result.invalid_utf8_lines:
                self.stats.invalid_utf8 += 1
                self._warn(
                    "utf-8",
                    line_number,
                    "invalid UTF-8 replaced with U+FFFD (is this a binary or a non-UTF-8 log?)",
                )
            self._skip_to = self._base + (result.next if result.next is not None else scan_end)
        if hold is not None:
            self._trim(hold, cnt_pos, cnt_line)
        elif tail_long:
            self._trim(complete, cnt_pos, cnt_line)
            self._long_line(self._line_no)
            self._back = [*self._back, b""][-REMEMBER_LINES:]
            self._base += len(self._buf)
            self._buf.clear()
            self._discarding = True
        else:
            self._trim(limit, cnt_pos, cnt_line)
        return out

    def _candidates(self, end: int) -> list[int]:
        """Start indexes of lines holding a marker, within ``buf[:end]``."""
        if self._known is not None:
            base = self._base
            return [s - base for s in self._known.between(base, base + end)]
        return marker_lines(self._buf, end, self.max_line_bytes, MARKERS)

    def _trim(self, upto: int, counted_to: int, line_at_counted: int) -> None:
        """Drop ``buf[:upto]`` (fully processed), keeping counts and context.

        Newlines in ``buf[:counted_to]`` were already counted while numbering
        candidates (``line_at_counted`` is the line at ``counted_to``), so each
        byte is counted once.
        """
        if upto <= 0:
            return
        self._remember(0, upto)
        if counted_to <= upto:
            line = line_at_counted + self._buf.count(b"\n", counted_to, upto)
        else:
            line = line_at_counted - self._buf.count(b"\n", upto, counted_to)
        newlines = line - self._line_no
        self.stats.lines += newlines
        self._line_no = line
        self._base += upto
        del self._buf[:upto]
