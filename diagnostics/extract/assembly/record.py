"""Assemble one logical record from the physical lines around a marker hit.

A record starts at a candidate line (one holding a marker) and takes in the
following lines that continue it:

- a blob hard-wrapped by a terminal or a tool (joined with no separator):
  after a ``\\`` continuation, inside an unclosed quote, at a fixed column
  (each piece as wide as the first), or when the next line is a run of
  base64url that no English word looks like; Terraform's ``│`` border, CI
  timestamps, Packer's builder prefix and indentation are removed first;
- a plain sentence soft-wrapped at a blank (joined with a space), as
  documentation and narrow terminals print it;
- a terminal's hard wrap (rows cut at one column, 60 or wider): read on to
  its last row even after a finished sentence (the trailing SDK frame or ID
  suffix), and back to its first row when the hit is on a later one, but
  never into a row that opens a denial of its own;
- a Go SDK ``status code: 403`` line after an error code;
- a pretty-printed decoded message (``{`` ... ``}``, jq's output).

The assembler never looks further than ``MAX_RECORD_LINES`` lines or
``MAX_RECORD_BYTES`` bytes, so the streaming extractor can hold back a record
until its lines have arrived and still decide exactly as a one-shot pass does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from itertools import pairwise

import orjson

from diagnostics.extract.assembly.cheap import cheap_line
from diagnostics.extract.assembly.cheap_blob import cheap_blob_line
from diagnostics.extract.assembly.code_above import bodies_in_text, with_code_above, with_code_below
from diagnostics.extract.assembly.found import Found
from diagnostics.extract.assembly.joins import (
    ends_on_arn,
    join,
    opens_denial,
    starts_own_sentence,
    terminal_row,
    unescaped,
    wants_next,
)
from diagnostics.extract.assembly.normalize import normalize_line, strip_known_prefix
from diagnostics.extract.assembly.provenance import mark_embedded
from diagnostics.extract.assembly.text import analyse_text, excerpt_of
from diagnostics.extract.cloudtrail.pretty import (
    depth_change,
    gutter_width,
    lenient_loads,
    ungutter,
)
from diagnostics.extract.cloudtrail.records import (
    failure_from_record,
    iter_records,
    looks_like_cloudtrail,
)
from diagnostics.extract.inputs.markers import MARKERS
from diagnostics.extract.parsers.decoded import (
    json_continuation,
    looks_like_decoded_key_line,
    pretty_json_starts,
)
from diagnostics.extract.parsers.eks_auth import MARKER as EKS_MARKER
from diagnostics.extract.parsers.encoded import open_blob_at_end
from diagnostics.extract.parsers.plain import find_plain
from diagnostics.extract.parsers.tool_operations import with_call_above, with_stack_below
from diagnostics.extract.parsers.wordings import ASSUME_MARKER
from diagnostics.model import Failure, SourceRef

MAX_RECORD_LINES = 400
MAX_RECORD_BYTES = 256 * 1024
#: How many earlier lines a record may borrow as context, and how long each may be.
BACK_LINES = 12
BACK_LINE_BYTES = 4096
#: .NET Core's inner exception, on its own line under the SDK's class and its message.
_DOTNET_INNER = "---> Amazon.Runtime.Internal.HttpErrorResponseException: "
#: Rows above and below a hit read as cells of one table column, and the least
#: indentation a last column has (columns before it hold the resource's status).
COLUMN_ROWS = 12
_MIN_COLUMN = 40
#: How far above its ``"errorCode"`` a pretty-printed CloudTrail record may open.
PRETTY_BACK_LINES = 120
#: Lines the scanner keeps from before a held record (the longest look back above).
REMEMBER_LINES = max(BACK_LINES, PRETTY_BACK_LINES)
#: Earlier lines read (not joined) as evidence for a sentence alone on its line.
CONTEXT_LINES = 4
#: Lines after a bare denial searched for the stack frame naming its call (a
#: Java v1 stack prints the client's ``executeOp`` about a dozen frames down).
STACK_LINES = 16

_JSON_LINE_KEYS = (b'"errorCode"', b"CloudTrailEvent", b'"logEvents"')


@dataclass(frozen=True, slots=True)
class Line:
    """One physical line in the scanner's buffer."""

    start: int  # buffer index of the first byte
    end: int  # buffer index after the last byte kept (bounded, no newline)
    next: int | None  # buffer index of the following line, None when nothing follows
    long: bool  # longer than max_line_bytes; only [start, end) is kept
    unterminated: bool  # the last line of the input, with no newline


class NeedMore(Exception):
    """The record may continue on a line that has not arrived yet."""


@dataclass(slots=True)
class RecordResult:
    failures: list[Failure]
    next: int | None  # buffer index after the record's last line
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line number, message)
    invalid_utf8_lines: list[int] = field(default_factory=list)


LineAt = Callable[[int], "Line | None"]


@dataclass(slots=True)
class _Text:
    """The joined text, and which line each piece came from."""

    parts: list[str] = field(default_factory=list)
    segs: list[tuple[int, int]] = field(default_factory=list)  # (text position, line index)
    length: int = 0

    def prepend(self, piece: str, line_index: int) -> None:
        if not piece:
            return
        self.segs = [(0, line_index)] + [(pos + len(piece), idx) for pos, idx in self.segs]
        self.parts.insert(0, piece)
        self.length += len(piece)

    def add(self, piece: str, line_index: int) -> None:
        self.segs.append((self.length, line_index))
        self.parts.append(piece)
        self.length += len(piece)

    def text(self) -> str:
        return "".join(self.parts)

    def line_of(self, pos: int) -> int:
        idx = 0
        for start, line_index in self.segs:
            if start > pos:
                break
            idx = line_index
        return idx


_PHRASE = "not authorized to perform"


def _phrase_tail(body: str) -> bool:
    """``body`` starts with the end of the phrase (its first letters on the row above)."""
    return any(body.startswith(_PHRASE[k:]) for k in range(1, len(_PHRASE) - 6))


def _unprefixed(line: str) -> str:
    """``line`` without the "," a paste of a CSV-like table put before some rows."""
    return line[1:] if line.startswith(",") else line


def _column_of(line: str) -> int:
    """Where the only cell of a row of one table column starts (0: not such a row)."""
    row = _unprefixed(line)
    stripped = row.lstrip(" ")
    return len(row) - len(stripped) if stripped else 0


def _cell(line: str, col: int) -> str | None:
    """The cell at ``col`` of a row blank before it, or None."""
    row = _unprefixed(line)
    if len(row) <= col or row[:col].strip(" ") or row[col] == " ":
        return None
    return row[col:].rstrip(" ")


def _lacks_operation(found: list[Found]) -> bool:
    return not found or any(f.operation is None for f in found)


def _prefix_helps(prefix: str, unread: bool, more: list[Found], found: list[Found]) -> bool:
    """Rows joined before a record read more of it, and are no failure of their own:
    no row was read as one (``unread``: none holds a marker), or they hold none."""
    read_more = len(more) > len(found) or (
        bool(more) and more[0].start < len(prefix) and len(more) == len(found)
    )
    return read_more and (unread or not analyse_text(prefix)[0])


def _row_join(text: str, row: str, prev_visible: str, first_text: str) -> tuple[str, str, bool]:
    """How a terminal's next row joins: (separator, piece, ends with ``\\``)."""
    # Rows of a wrapped Terraform box each carry the border: drop it.
    if first_text.lstrip().startswith("│"):
        row = strip_known_prefix(row)
    # The record's text may have lost the row's trailing blank: keep it.
    blank = prev_visible[len(prev_visible.rstrip(" \t")) :]
    return ("" if text.endswith((" ", "\t")) else blank, unescaped(row), False)


class Assembler:
    """Builds records; one instance per buffer pass, reused for every candidate line."""

    def __init__(
        self,
        path: str,
        buf: bytes | bytearray,
        line_at: LineAt,
        prev_lines: Callable[[int], list[bytes]],
    ):
        self.path = path
        self.buf = buf
        self.line_at = line_at
        self.prev_lines = prev_lines
        self._bad_utf8: list[int] = []

    def _norm(self, line: Line, rel: int) -> str:
        text, bad = normalize_line(bytes(self.buf[line.start : line.end]))
        if bad:
            self._bad_utf8.append(rel)
        return text

    def build(self, first: Line, line_no: int, base_offset: int) -> RecordResult:
        """The record starting at ``first`` (raises ``NeedMore``)."""
        self._bad_utf8 = []
        raw = bytes(self.buf[first.start : first.end])
        source = SourceRef(self.path, line_no, base_offset + first.start)
        if (
            not first.long
            and raw.lstrip()[:1] in (b"{", b"[")
            and any(k in raw for k in _JSON_LINE_KEYS)
        ):
            done = self._json_line(raw, source)
            if done is not None:
                return RecordResult(done[0], first.next, done[1])
        pretty = self._pretty_record(first, source) if b'"errorCode"' in raw else None
        if pretty is not None:
            return pretty
        if not first.long and not first.unterminated:
            cheap = self._cheap(first, raw, line_no, base_offset)
            if cheap is not None:
                return RecordResult(cheap, first.next)
        first_text = self._norm(first, 0)
        if looks_like_decoded_key_line(first_text):
            result = self._pretty_json(first, first_text, source, line_no)
            if result is not None:
                return result
        acc = _Text()
        first_line = first_text.rstrip(" \t")
        explicit = first_line.endswith("\\")
        if explicit:
            first_line = first_line[:-1].rstrip(" \t")
        first_piece = unescaped(strip_known_prefix(first_line))
        before, whole_row = self._backward(first_piece, len(first_text))
        if before:
            acc.add(before, 0)
            first_piece = first_piece.lstrip(" \t")  # the column's indentation is no blank
        acc.add(first_piece, 0)
        lines, first_hard = self._forward(
            acc, first, first_text, explicit=explicit, row_above=whole_row
        )
        cur = lines[-1]
        if first_hard and not before:
            acc.prepend(self._wrapped_before(first_text), 0)
        elif whole_row:
            # The row above was cut at the same column: the rows above it may be too.
            acc.prepend(self._wrapped_before(first_text, skip=1), 0)
        text = acc.text()
        context = self._context(text)
        cut_at_end = cur.unterminated or cur.long
        found, problems = analyse_text(text, cut_at_end=cut_at_end, context=context)
        if not before and not first_hard and _lacks_operation(found):
            found, problems = self._with_wrap_above(acc, first_text, (found, problems), cut_at_end)
            text = acc.text()
        if not found and "\n" in text:
            found = bodies_in_text(text)  # an error body in an escaped string field
        found = (
            found
            or self._outer_exception_above(acc, first_text)
            or self._table_column(acc, first_text, first)
        )
        found = with_code_above(found, first_text, self._lines_above)
        if not found or any(f.error_code is None for f in found):
            # A wrapped message field began on the line above the hit.
            heads = [first_text, *(self._lines_above()[-1:] if before else [])]
            found = with_code_below(found, heads, lambda: self._lines_below(cur))
        found = with_stack_below(found, self._iter_below(cur, STACK_LINES))
        found = with_call_above(found, self._lines_further_above)
        return RecordResult(
            self._failures(found, acc, lines, line_no, base_offset),
            cur.next,
            [(line_no, p) for p in problems],
            [line_no + i for i in sorted(set(self._bad_utf8))],
        )

    def _failures(
        self, found: list[Found], acc: _Text, lines: list[Line], line_no: int, base_offset: int
    ) -> list[Failure]:
        """Each found failure placed on the physical line its text starts on."""
        text = acc.text()
        failures: list[Failure] = []
        for f in found:
            rel = acc.line_of(f.start)
            line = lines[rel]
            src = SourceRef(self.path, line_no + rel, base_offset + line.start)
            failure = f.to_failure(src, excerpt_of(text, f.start, f.end))
            # A client's field (user-agent, request body) is not the record's message.
            failures.append(mark_embedded(failure, self._norm(line, rel), text[f.start : f.end]))
        return failures

    def _cheap(
        self, first: Line, raw: bytes, line_no: int, base_offset: int
    ) -> list[Failure] | None:
        """A clean one-line sentence or EC2 blob line, read without the context assembly."""
        cheap = cheap_line(
            self.path,
            raw,
            line_no=line_no,
            offset=base_offset + first.start,
            next_line=lambda: self._raw_after(first),
            lines_above=self._lines_above,
            lines_below=lambda: self._lines_below(first),
        )
        if cheap is not None:
            return cheap
        return cheap_blob_line(
            self.path,
            raw,
            line_no=line_no,
            offset=base_offset + first.start,
            next_line=lambda: self._raw_after(first),
            lines_above=self._lines_above,
        )

    def _forward(
        self, acc: _Text, first: Line, first_text: str, *, explicit: bool, row_above: bool = False
    ) -> tuple[list[Line], bool]:
        """Join following lines while the record goes on; (lines, first join was hard)."""
        lines: list[Line] = [first]
        total = first.end - first.start
        cur = first
        prev_visible = first_text
        blob_width = 0
        blob_lines = 0
        first_hard = False
        # A terminal's hard wrap: rows exactly as wide as the first, cut anywhere.
        wrap_width = len(first_text)
        # Rows of that width joined so far (0: not a fixed-width wrap); ``row_above``:
        # the row above, as wide as this one, was joined before it.
        wrap_rows = 2 if row_above else 1
        while len(lines) < MAX_RECORD_LINES and total < MAX_RECORD_BYTES:
            if cur.long or cur.next is None:
                break
            text = acc.text()
            mode = wants_next(text)
            if mode is None and wrap_rows >= 2 and len(prev_visible) == wrap_width >= 60:
                # Two rows cut at the same column: a terminal's hard wrap, and the last
                # row is full, so the message goes on (a trailing frame, an ID suffix).
                mode = "wrap"
            if mode is None:
                break
            nxt = self.line_at(cur.next)  # may raise NeedMore
            if nxt is None or nxt.long:
                break
            ntext = self._norm(nxt, len(lines))
            visible = len(prev_visible.rstrip(" \t"))
            if mode == "blob" and blob_lines == 0:
                # The phrase line is the first full-width piece, unless the blob
                # starts on the next line: then that line sets the width.
                started = open_blob_at_end(text)
                blob_width = visible if started and started.length else 0
            elif mode == "blob" and blob_lines == 1 and blob_width != visible:
                # The phrase line was not cut at the wrap column (a tool wrapped
                # only the blob): the first continuation sets the width.
                blob_width = visible
            joined: tuple[str, str, bool] | None
            row_cut = terminal_row(mode, wrap_width, wrap_rows, prev_visible, ntext)
            if row_cut:
                joined = _row_join(text, ntext, prev_visible, first_text)
            else:
                joined = join(
                    mode,
                    text,
                    ntext,
                    prev_visible=prev_visible,
                    explicit=explicit,
                    width=blob_width,
                    blob_lines=blob_lines,
                    first_text=first_text,
                )
            wrap_rows = wrap_rows + 1 if wrap_rows and len(ntext) == wrap_width else 0
            if joined is None:
                self._bad_utf8 = [i for i in self._bad_utf8 if i < len(lines)]
                break
            sep, piece, explicit = joined
            if len(lines) == 1 and row_cut:
                first_hard = True  # a terminal's wrap, even where its cut fell on a blank
            elif len(lines) == 1 and sep == "" and not explicit:
                first_hard = len(first_text) == len(ntext) or mode != "blob"
            acc.add(sep + piece, len(lines))
            lines.append(nxt)
            total += nxt.end - nxt.start
            blob_lines = blob_lines + 1 if mode == "blob" else 0
            prev_visible = ntext
            cur = nxt
        return lines, first_hard

    def _iter_below(self, last: Line, count: int) -> Iterator[str]:
        """Up to ``count`` lines after the record, one at a time, read without consuming them."""
        cur = last
        for _ in range(count):
            if cur.long or cur.next is None:
                return
            nxt = self.line_at(cur.next)  # may raise NeedMore: the record waits for it
            if nxt is None or nxt.long:
                return
            yield normalize_line(bytes(self.buf[nxt.start : nxt.end]))[0]
            cur = nxt

    def _lines_below(self, last: Line) -> list[str]:
        """Up to CONTEXT_LINES lines after the record, read without consuming them."""
        out: list[str] = []
        cur = last
        while len(out) < CONTEXT_LINES and not cur.long and cur.next is not None:
            nxt = self.line_at(cur.next)  # may raise NeedMore: the record waits for them
            if nxt is None or nxt.long:
                break
            out.append(normalize_line(bytes(self.buf[nxt.start : nxt.end]))[0])
            cur = nxt
        return out

    def _raw_after(self, line: Line) -> bytes | None:
        """The line after ``line`` as bytes (None: none follows, or it is over-long)."""
        nxt = self.line_at(line.next) if line.next is not None else None  # may raise NeedMore
        return None if nxt is None or nxt.long else bytes(self.buf[nxt.start : nxt.end])

    def _lines_above(self) -> list[str]:
        return [normalize_line(b)[0] for b in self.prev_lines(CONTEXT_LINES)]

    def _lines_further_above(self) -> list[str]:
        """The lines a record may borrow from above (a debug dump, the call that failed)."""
        return [normalize_line(b)[0] for b in self.prev_lines(BACK_LINES)]

    def _context(self, text: str) -> str:
        """Earlier lines read (not joined) as evidence for what ``text`` holds."""
        if "You are not authorized to " in text:
            # EC2's bare sentence may be confirmed only by the tool's banner above it.
            return "\n".join(normalize_line(b)[0] for b in self.prev_lines(CONTEXT_LINES))
        if EKS_MARKER in text:
            # kubectl's 401 is EKS's only with the identity or cluster printed above it.
            return "\n".join(normalize_line(b)[0] for b in self.prev_lines(BACK_LINES))
        if ASSUME_MARKER in text:
            # AppSync prints the error type on a line above the role it could not assume.
            return "\n".join(normalize_line(b)[0] for b in self.prev_lines(BACK_LINES))
        if '"errorMessage"' in text:
            # A pasted CloudTrail record prints its "errorCode" on the line above.
            return "\n".join(normalize_line(b)[0] for b in self.prev_lines(CONTEXT_LINES))
        return ""

    def _with_wrap_above(
        self, acc: _Text, first_text: str, read: tuple[list[Found], list[str]], cut_at_end: bool
    ) -> tuple[list[Found], list[str]]:
        """``read`` again with the rows above when this line is the last row of a
        terminal's wrap: the frame naming the operation and code ("operation error
        IAM: CreateRole, ...") is up there."""
        prefix, unread = self._wrap_above(first_text)
        if not prefix:
            return read
        text = prefix + acc.text()
        more = analyse_text(text, cut_at_end=cut_at_end, context=self._context(text))
        if not _prefix_helps(prefix, unread, more[0], read[0]):
            return read
        acc.prepend(prefix, 0)
        return more

    def _outer_exception_above(self, acc: _Text, first_text: str) -> list[Found]:
        """The SDK's exception above .NET Core's inner ``HttpErrorResponseException`` line,
        when a terminal's wrap cut its message ("Access Denie" / "d") so that none of its
        rows holds a marker (a row that does was read as its own record)."""
        if not first_text.lstrip().startswith(_DOTNET_INNER):
            return []
        prev = self.prev_lines(BACK_LINES)
        if len(prev) < 2:
            return []
        rows = [normalize_line(raw)[0] for raw in prev]
        width = len(rows[-2])
        if width < 60 or len(rows[-1]) >= width:
            return []
        outer = self._wrapped_before("x" * width, skip=1) + rows[-1]
        n = sum(1 for row in reversed(rows[:-1]) if len(row) == width) if outer else 0
        if any(m in raw for raw in prev[len(prev) - n - 1 :] for m in MARKERS):
            return []
        found, _problems = analyse_text(outer)
        if found:
            acc.prepend(outer + "\n", 0)
        return found

    def _table_column(self, acc: _Text, first_text: str, first: Line) -> list[Found]:
        """A sentence wrapped inside a table's last column (SAM's CloudFormation events
        table): the rows above and below hold cells at the same column, blank before it.
        ``acc`` becomes the column's text when it holds a failure."""
        col = _column_of(first_text)
        if col < _MIN_COLUMN:
            return []
        above: list[str] = []
        for raw in reversed(self.prev_lines(COLUMN_ROWS)):
            cell = _cell(normalize_line(raw)[0], col)
            if cell is None:
                break
            above.append(cell)
        below: list[str] = []
        for row in self._iter_below(first, COLUMN_ROWS):
            cell = _cell(row, col)
            if cell is None:
                break
            below.append(cell)
        cells = [*reversed(above), _cell(first_text, col) or "", *below]
        width = max(len(c) for c in cells)
        text = cells[0]
        for prev, cell in pairwise(cells):
            # textwrap cuts a word longer than the column at its width, and after a hyphen.
            glued = len(prev) == width or prev.endswith("-")
            text += cell if glued else " " + cell
        found, _problems = analyse_text(text, cut_at_end=True)
        if found:
            acc.parts, acc.segs, acc.length = [text], [(0, 0)], len(text)
        return found

    def _wrap_above(self, first_text: str) -> tuple[str, bool]:
        """The rows above when they are a terminal's wrap this line ends: each exactly
        as wide as the one right above (60 columns or more), this line no wider; and
        whether none of them holds a marker (so none was read as a record)."""
        prev = self.prev_lines(BACK_LINES)
        width = len(normalize_line(prev[-1])[0]) if prev else 0
        if width < 60 or len(first_text) > width:
            return "", False
        prefix = self._wrapped_before("x" * width)
        unread = True
        for raw in reversed(prev):
            if len(normalize_line(raw)[0]) != width:
                break
            unread = unread and not any(m in raw for m in MARKERS)
        return prefix, unread

    def _wrapped_before(self, first_text: str, skip: int = 0) -> str:
        """Earlier lines of the same fixed-width wrap (each exactly as wide as this one).

        Only asked when this line is itself cut at the wrap column, so a
        previous line of the very same width is the message's beginning (the
        ``operation error EC2: RunInstances`` of a Terraform box, say).
        """
        width = len(first_text)
        if width < 60:
            return ""
        pieces: list[str] = []
        for raw in list(reversed(self.prev_lines(BACK_LINES)))[skip:]:
            text, _bad = normalize_line(raw)
            if len(text) != width:
                break
            pieces.append(unescaped(strip_known_prefix(text)))
        return "".join(reversed(pieces))

    def _backward(self, first: str, width: int) -> tuple[str, bool]:
        """The previous line, when this one continues a sentence it started, and
        whether all of that line belongs to the record.

        ``User: arn:...:assumed-ro`` / ``le/x is not authorized ...`` (hard wrap)
        or ``User: arn:...`` / ``is not authorized ...`` (soft wrap).
        """
        body = strip_known_prefix(first).lstrip()
        # A column wrap may also cut inside the phrase: "... is not" / "authorized to
        # perform", or inside a word of it: "... is no" / "t authorized to perform".
        if "not authorized to perform" not in first and not _phrase_tail(body):
            return "", False
        prev = self.prev_lines(2)
        if not prev or not prev[-1]:
            return "", False
        prev_text = normalize_line(prev[-1])[0]
        # A row of a terminal's wrap (as wide as the row above) may start anywhere, even
        # where a sentence seems to ("ci-sessi" / "on is not authorized"): the sentence
        # that crosses the two rows, checked below, decides.
        wrap_row = len(prev_text) == width >= 60
        if starts_own_sentence(body) and (not wrap_row or opens_denial(body)):
            return "", False
        before = unescaped(strip_known_prefix(prev_text).rstrip(" \t"))
        if len(prev) == 2 and before and " " not in before.strip() and "User:" not in before:
            # "User: arn:...:user/" / "marymajor" / "is not authorized": a name on its own row.
            above = unescaped(strip_known_prefix(normalize_line(prev[0])[0]).rstrip(" \t"))
            if above.endswith(("/", ":")) and "User:" in above:
                before = above + before.strip()
        if "User:" not in before[-2100:] and "arn:" not in before[-2100:]:
            return "", False
        # A sentence the previous line already completes (it has its reason,
        # or ends in a policy ARN) is that line's own failure: a new message
        # starting here ("An error occurred ...") must not extend it.
        # A sentence that runs to the line's end on a whole resource ARN (the
        # older messages have no reason clause) is finished too.
        own = {h.start for h in find_plain(before) if h.complete or ends_on_arn(h, before)}
        # A row that starts with a blank continues after a word break (an indented
        # column, or a hard wrap that fell on a space): never glue the two words.
        seps = (" ",) if strip_known_prefix(first)[:1] in (" ", "\t") else ("", " ")
        for sep in seps:
            joined = before + sep + body
            if any(
                h.start < len(before) < h.end and h.start not in own for h in find_plain(joined)
            ):
                # Only the part that belongs to the sentence: from "User:" on, unless a
                # terminal cut both rows at the same column (the exception class before
                # "User:" is the same message's).
                if len(prev_text) == width >= 60:
                    return before + sep, True
                cut = before.rfind("User:")
                return (before[cut:] if cut != -1 else before) + sep, False
        return "", False

    def _json_line(
        self, raw: bytes, source: SourceRef
    ) -> tuple[list[Failure], list[tuple[int, str]]] | None:
        """A line that is a CloudTrail record or envelope: parsed whole, never as text."""
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if "depth limit" in str(exc).lower() or "recursion" in str(exc).lower():
                assert source.line is not None
                return [], [(source.line, "JSON nested deeper than 1024 levels was skipped")]
            return None
        if not looks_like_cloudtrail(obj):
            return None
        failures: list[Failure] = []
        for record in iter_records(obj):
            failure = failure_from_record(record, source)
            if failure is not None:
                failures.append(failure)
        return failures, []

    def _pretty_record(self, first: Line, source: SourceRef) -> RecordResult | None:
        """A CloudTrail record pretty-printed over many lines around its ``"errorCode"``
        line (jq's output, a paste site's numbered lines), read as a record even when cut."""
        if first.long:
            return None
        first_text = self._norm(first, 0)
        gutter = gutter_width(first_text) > 0
        body = ungutter(first_text, gutter)
        if body is None or not body.lstrip().startswith('"errorCode"'):
            return None
        # Back to the line that opens the object holding the error code.
        head: list[str] = []
        depth = 0
        for raw in reversed(self.prev_lines(PRETTY_BACK_LINES)):
            row = ungutter(normalize_line(raw)[0], gutter)
            if row is None or not json_continuation(row):
                return None
            depth += depth_change(row)
            head.append(row)
            if depth > 0:
                break
        else:
            return None
        head.reverse()
        opener = head[0].rstrip()
        if not opener.endswith("{"):
            return None
        head[0] = "{"  # the key naming the object in an envelope ("aws": {) is not its own
        rows = [*head, body]
        depth = sum(depth_change(r) for r in rows)
        cur = first
        count = 1
        while depth > 0 and count < MAX_RECORD_LINES and not cur.long and cur.next is not None:
            nxt = self.line_at(cur.next)
            if nxt is None or nxt.long:
                break
            row = ungutter(self._norm(nxt, count), gutter)
            if row is None or not json_continuation(row):
                break  # the paste ends inside the record
            rows.append(row)
            depth += depth_change(row)
            cur = nxt
            count += 1
        parsed = lenient_loads("\n".join(rows))
        if parsed is None:
            return None
        obj, cut = parsed
        failures = []
        for record in iter_records(obj):
            failure = failure_from_record(record, source)
            if failure is not None:
                failures.append(replace(failure, truncated=True) if cut else failure)
        if not failures:
            return None
        return RecordResult(failures, cur.next)

    def _pretty_json(
        self, first: Line, first_text: str, source: SourceRef, line_no: int
    ) -> RecordResult | None:
        """A decoded message pretty-printed over many lines (``aws ... | jq .``)."""
        back = self.prev_lines(BACK_LINES)
        head: list[str] = []
        opened = False
        for raw in reversed(back):
            text, _bad = normalize_line(raw)
            head.append(text)
            if pretty_json_starts(text):
                opened = True
                break
            if not looks_like_decoded_key_line(text):
                break
        if not opened:
            return None
        head.reverse()
        body = [*head, first_text]
        depth = sum(t.count("{") - t.count("}") for t in body)
        cur = first
        total = first.end - first.start
        count = 1
        while depth > 0 and count < MAX_RECORD_LINES and total < MAX_RECORD_BYTES:
            if cur.long or cur.next is None:
                break
            nxt = self.line_at(cur.next)
            if nxt is None or nxt.long:
                break
            text = self._norm(nxt, count)
            if not json_continuation(text):
                break  # a message cut before its closing braces: read what came
            body.append(text)
            depth += text.count("{") - text.count("}")
            total += nxt.end - nxt.start
            count += 1
            cur = nxt
        if first_text.lstrip().startswith('"DecodedMessage"'):
            body = [unescaped(t) for t in body]  # the CLI's escaped string, hard-wrapped
        text = "\n".join(body)
        found, problems = analyse_text(text)
        failures = [
            f.to_failure(source, excerpt_of(text, f.start, f.end))
            for f in found
            if f.kind == "decoded"
        ]
        if not failures:
            return None
        return RecordResult(failures, cur.next, [(line_no, p) for p in problems])
