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
- a Go SDK ``status code: 403`` line after an error code;
- a pretty-printed decoded message (``{`` ... ``}``, jq's output).

The assembler never looks further than ``MAX_RECORD_LINES`` lines or
``MAX_RECORD_BYTES`` bytes, so the streaming extractor can hold back a record
until its lines have arrived and still decide exactly as a one-shot pass does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from diagnostics.extract.cheap import cheap_line
from diagnostics.extract.cheap_blob import cheap_blob_line
from diagnostics.extract.cloudtrail import failure_from_record, iter_records, looks_like_cloudtrail
from diagnostics.extract.code_above import with_code_above, with_code_below
from diagnostics.extract.decoded import (
    json_continuation,
    looks_like_decoded_key_line,
    pretty_json_starts,
)
from diagnostics.extract.eks_auth import MARKER as EKS_MARKER
from diagnostics.extract.encoded import open_blob_at_end
from diagnostics.extract.joins import (
    ends_on_arn,
    join,
    starts_own_sentence,
    terminal_row,
    unescaped,
    wants_next,
)
from diagnostics.extract.normalize import normalize_line, strip_known_prefix
from diagnostics.extract.plain import find_plain
from diagnostics.extract.provenance import mark_embedded
from diagnostics.extract.text import analyse_text, excerpt_of
from diagnostics.model import Failure, SourceRef

MAX_RECORD_LINES = 400
MAX_RECORD_BYTES = 256 * 1024
#: How many earlier lines a record may borrow as context, and how long each may be.
BACK_LINES = 12
BACK_LINE_BYTES = 4096
#: Earlier lines read (not joined) as evidence for a sentence alone on its line.
CONTEXT_LINES = 4

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
        if not first.long and not first.unterminated:
            # A clean one-line sentence skips the context assembly (cheap.py says when).
            cheap = cheap_line(
                self.path,
                raw,
                line_no=line_no,
                offset=base_offset + first.start,
                next_line=lambda: self._raw_after(first),
                lines_above=self._lines_above,
                lines_below=lambda: self._lines_below(first),
            )
            if cheap is None:
                cheap = cheap_blob_line(
                    self.path,
                    raw,
                    line_no=line_no,
                    offset=base_offset + first.start,
                    next_line=lambda: self._raw_after(first),
                    lines_above=self._lines_above,
                )
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
        before = self._backward(first_piece)
        if before:
            acc.add(before, 0)
            first_piece = first_piece.lstrip(" \t")  # the column's indentation is no blank
        acc.add(first_piece, 0)
        lines, first_hard = self._forward(acc, first, first_text, explicit=explicit)
        cur = lines[-1]
        if first_hard and not before:
            acc.prepend(self._wrapped_before(first_text), 0)
        text = acc.text()
        context = ""
        if "You are not authorized to " in text:
            # EC2's bare sentence may be confirmed only by the tool's banner above it.
            context = "\n".join(normalize_line(b)[0] for b in self.prev_lines(CONTEXT_LINES))
        elif EKS_MARKER in text:
            # kubectl's 401 is EKS's only with the identity or cluster printed above it.
            context = "\n".join(normalize_line(b)[0] for b in self.prev_lines(BACK_LINES))
        found, problems = analyse_text(
            text, cut_at_end=cur.unterminated or cur.long, context=context
        )
        found = with_code_above(found, first_text, self._lines_above)
        if not found or any(f.error_code is None for f in found):
            # A wrapped message field began on the line above the hit.
            heads = [first_text, *(self._lines_above()[-1:] if before else [])]
            found = with_code_below(found, heads, lambda: self._lines_below(cur))
        failures: list[Failure] = []
        for f in found:
            rel = acc.line_of(f.start)
            line = lines[rel]
            src = SourceRef(self.path, line_no + rel, base_offset + line.start)
            failure = f.to_failure(src, excerpt_of(text, f.start, f.end))
            # A client's field (user-agent, request body) is not the record's message.
            failures.append(mark_embedded(failure, self._norm(line, rel), text[f.start : f.end]))
        return RecordResult(
            failures,
            cur.next,
            [(line_no, p) for p in problems],
            [line_no + i for i in sorted(set(self._bad_utf8))],
        )

    def _forward(
        self, acc: _Text, first: Line, first_text: str, *, explicit: bool
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
        wrap_rows = 1  # rows of that width joined so far (0: not a fixed-width wrap)
        while len(lines) < MAX_RECORD_LINES and total < MAX_RECORD_BYTES:
            if cur.long or cur.next is None:
                break
            text = acc.text()
            mode = wants_next(text)
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
            if terminal_row(mode, wrap_width, wrap_rows, prev_visible, ntext):
                # Rows of a wrapped Terraform box each carry the border: drop it.
                row = strip_known_prefix(ntext) if first_text.lstrip().startswith("│") else ntext
                # The record's text may have lost the row's trailing blank: keep it.
                blank = prev_visible[len(prev_visible.rstrip(" \t")) :]
                joined = ("" if text.endswith((" ", "\t")) else blank, unescaped(row), False)
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
            if len(lines) == 1 and sep == "" and not explicit:
                first_hard = len(first_text) == len(ntext) or mode != "blob"
            acc.add(sep + piece, len(lines))
            lines.append(nxt)
            total += nxt.end - nxt.start
            blob_lines = blob_lines + 1 if mode == "blob" else 0
            prev_visible = ntext
            cur = nxt
        return lines, first_hard

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

    def _wrapped_before(self, first_text: str) -> str:
        """Earlier lines of the same fixed-width wrap (each exactly as wide as this one).

        Only asked when this line is itself cut at the wrap column, so a
        previous line of the very same width is the message's beginning (the
        ``operation error EC2: RunInstances`` of a Terraform box, say).
        """
        width = len(first_text)
        if width < 60:
            return ""
        pieces: list[str] = []
        for raw in reversed(self.prev_lines(BACK_LINES)):
            text, _bad = normalize_line(raw)
            if len(text) != width:
                break
            pieces.append(unescaped(strip_known_prefix(text)))
        return "".join(reversed(pieces))

    def _backward(self, first: str) -> str:
        """The previous line, when this one continues a sentence it started.

        ``User: arn:...:assumed-ro`` / ``le/x is not authorized ...`` (hard wrap)
        or ``User: arn:...`` / ``is not authorized ...`` (soft wrap).
        """
        body = strip_known_prefix(first).lstrip()
        # A column wrap may also cut inside the phrase: "... is not" / "authorized to perform".
        if "not authorized to perform" not in first and not body.startswith(
            "authorized to perform"
        ):
            return ""
        if starts_own_sentence(body):
            return ""
        prev = self.prev_lines(2)
        if not prev or not prev[-1]:
            return ""
        before = unescaped(strip_known_prefix(normalize_line(prev[-1])[0]).rstrip(" \t"))
        if len(prev) == 2 and before and " " not in before.strip() and "User:" not in before:
            # "User: arn:...:user/" / "marymajor" / "is not authorized": a name on its own row.
            above = unescaped(strip_known_prefix(normalize_line(prev[0])[0]).rstrip(" \t"))
            if above.endswith(("/", ":")) and "User:" in above:
                before = above + before.strip()
        if "User:" not in before[-2100:] and "arn:" not in before[-2100:]:
            return ""
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
                # Only the part that belongs to the sentence: from "User:" on.
                cut = before.rfind("User:")
                return (before[cut:] if cut != -1 else before) + sep
        return ""

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
