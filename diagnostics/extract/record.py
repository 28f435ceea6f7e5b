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

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from diagnostics.extract.cloudtrail import failure_from_record, iter_records, looks_like_cloudtrail
from diagnostics.extract.decoded import looks_like_decoded_key_line, pretty_json_starts
from diagnostics.extract.encoded import (
    MAX_BLOB,
    leading_blob_run,
    looks_like_blob_piece,
    open_blob_at_end,
)
from diagnostics.extract.normalize import (
    common_prefix,
    has_json_escapes,
    normalize_line,
    packer_prefix,
    strip_known_prefix,
    unescape_json,
)
from diagnostics.extract.text import analyse_text, excerpt_of
from diagnostics.model import Failure, SourceRef

MAX_RECORD_LINES = 400
MAX_RECORD_BYTES = 256 * 1024
#: How many earlier lines a record may borrow as context, and how long each may be.
BACK_LINES = 12
BACK_LINE_BYTES = 4096

_CLOSERS = frozenset("\"'`.,;:)]}\\")
_TERMINATORS = frozenset(" \t\"'`.,;:)]}\\")

#: Phrases of the messages we parse.  A line that ends with the start of one
#: may have been wrapped inside it; the join that completes it wins.
KEY_PHRASES = (
    "Encoded authorization failure message",
    "You are not authorized to perform this operation",
    "is not authorized to perform",
    "Not authorized to perform",
    "An error occurred",
    "when calling the",
    "operation:",
    "on resource:",
    "on this resource",
    "because no",
    "with an explicit deny in",
    "policy allows the",
    "transitively through",
    "api error",
    "operation error",
    "status code",
)
#: Words that can only continue a plain sentence (at the start of a soft-wrapped line).
_EXTENSIONS = (
    "on resource",
    "on this resource",
    "because no",
    "because the",
    "with an explicit deny",
    "due to an explicit deny",
    "transitively through",
    "is not authorized",
    "Encoded authorization failure message",
    "allows the",
    "action",
)
#: Phrases inside a line that continues a sentence cut mid-token.
_GRAMMAR = (
    " on resource",
    " on this resource",
    " because no",
    " because the",
    " with an explicit deny",
    " due to an explicit deny",
    " is not authorized to perform",
    "Encoded authorization failure message",
    " allows the ",
)
_OPEN_ENDINGS = (
    "User:",
    " perform:",
    " on resource:",
    " operation:",
    " message:",
    " explicit deny in a",
    " explicit deny in an",
    " explicit deny in the",
)
_GO_CODES = ("AccessDenied", "Unauthorized", "Authoriz", "Forbidden")
# Linear: a literal then one bounded class run, anchored at the end of a bounded tail.
_PRINCIPAL_AT_END = re.compile(r"User: (?:arn:)?[^\s]{0,2048}$")
_JSON_LINE_KEYS = (b'"errorCode"', b"CloudTrailEvent", b'"logEvents"')
_WORD_START = " \t(:\"'"


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
    """Builds records; one instance per input, reused for every candidate line."""

    def __init__(self, path: str, buf: bytes | bytearray, line_at: LineAt, prev_lines: Callable[[int], list[bytes]]):
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

    def _need(self, start: int | None) -> Line | None:
        if start is None:
            return None
        line = self.line_at(start)
        return line

    def build(self, first: Line, line_no: int, base_offset: int) -> RecordResult:
        """The record starting at ``first`` (raises ``NeedMore``)."""
        self._bad_utf8 = []
        raw = bytes(self.buf[first.start : first.end])
        source = SourceRef(self.path, line_no, base_offset + first.start)
        if not first.long and raw.lstrip()[:1] in (b"{", b"[") and any(k in raw for k in _JSON_LINE_KEYS):
            done = self._json_line(raw, source)
            if done is not None:
                return RecordResult(done[0], first.next, done[1])
        lines: list[Line] = [first]
        first_text = self._norm(first, 0)
        if looks_like_decoded_key_line(first_text):
            result = self._pretty_json(first, first_text, source, line_no, base_offset)
            if result is not None:
                return result
        acc = _Text()
        stripped_first = strip_known_prefix(first_text).lstrip()
        if stripped_first.startswith(_BACKWARD_STARTS):
            prev = self.prev_lines(1)
            if prev:
                before, _bad = normalize_line(prev[-1])
                if before.strip():
                    acc.add(unescape_json(before.rstrip()) + " ", 0)
        first_line = first_text.rstrip(" \t")
        explicit = first_line.endswith("\\")
        acc.add(_unescaped(first_line.removesuffix("\\").rstrip(" \t") if explicit else first_line), 0)
        width = len(first_text.rstrip(" \t"))
        blob_lines = 0
        total = first.end - first.start
        cur = first
        prev_visible = first_text
        while len(lines) < MAX_RECORD_LINES and total < MAX_RECORD_BYTES:
            if cur.long or cur.next is None:
                break
            text = acc.text()
            mode = _wants_next(text)
            if mode is None:
                break
            nxt = self.line_at(cur.next)  # may raise NeedMore
            if nxt is None or nxt.long:
                break
            ntext = self._norm(nxt, len(lines))
            joined = _join(mode, text, ntext, prev_visible, explicit, width, blob_lines, first_text)
            if joined is None:
                self._bad_utf8 = [i for i in self._bad_utf8 if i < len(lines)]
                break
            sep, piece, line_explicit = joined
            acc.add(sep + piece, len(lines))
            lines.append(nxt)
            total += nxt.end - nxt.start
            blob_lines = blob_lines + 1 if mode == "blob" else 0
            explicit = line_explicit
            prev_visible = ntext
            cur = nxt
        text = acc.text()
        cut = cur.unterminated or cur.long
        found, problems = analyse_text(text, cut_at_end=cut)
        failures: list[Failure] = []
        for f in found:
            rel = acc.line_of(f.start)
            line = lines[rel]
            src = SourceRef(self.path, line_no + rel, base_offset + line.start)
            failures.append(f.to_failure(src, excerpt_of(text, f.start, f.end)))
        return RecordResult(
            failures,
            cur.next,
            [(line_no, p) for p in problems],
            [line_no + i for i in sorted(set(self._bad_utf8))],
        )

    def _json_line(self, raw: bytes, source: SourceRef) -> tuple[list[Failure], list[tuple[int, str]]] | None:
        """A line that is a CloudTrail record or envelope: parsed whole, never as text."""
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if "recursion" in str(exc).lower():
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
        self, first: Line, first_text: str, source: SourceRef, line_no: int, base_offset: int
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
            body.append(text)
            depth += text.count("{") - text.count("}")
            total += nxt.end - nxt.start
            count += 1
            cur = nxt
        if depth > 0:
            return None
        text = "\n".join(body)
        found, problems = analyse_text(text)
        failures = [
            f.to_failure(source, excerpt_of(text, f.start, f.end)) for f in found if f.kind == "decoded"
        ]
        if not failures:
            return None
        return RecordResult(failures, cur.next, [(line_no, p) for p in problems])


def _unescaped(text: str) -> str:
    return unescape_json(text) if has_json_escapes(text) else text


def _wants_next(text: str) -> str | None:
    """Whether (and why) the record may continue on the next line."""
    if open_blob_at_end(text) is not None:
        return "blob"
    tail = text[-600:].rstrip()
    if tail.endswith(_SOFT_ENDINGS) or _PRINCIPAL_AT_END.search(tail[-2100:]):
        return "soft-open"
    if "not authorized" in tail or "Not authorized" in tail:
        return "soft"
    if ": " in tail and any(code in tail for code in _GO_CODES):
        return "status"
    return None


def _content(line: str, first_text: str) -> str:
    """A continuation line without the prefix the first line also carries."""
    s = strip_known_prefix(line)
    prefix = packer_prefix(first_text)
    if prefix and s.startswith(prefix):
        s = s[len(prefix) :]
    else:
        shared = common_prefix(strip_known_prefix(first_text), s)
        if shared.strip():
            s = s[len(shared) :]
    return s.strip(" \t")


def _join(
    mode: str,
    text: str,
    ntext: str,
    prev_visible: str,
    explicit: bool,
    width: int,
    blob_lines: int,
    first_text: str,
) -> tuple[str, str, bool] | None:
    """How the next line joins the record: (separator, piece, ends with ``\\``) or None."""
    content = _content(ntext, first_text)
    if not content:
        return None
    line_explicit = content.endswith("\\")
    body = content.removesuffix("\\").rstrip(" \t") if line_explicit else content
    if mode == "blob":
        ob = open_blob_at_end(text)
        assert ob is not None
        run = leading_blob_run(body)
        if run == 0 or ob.length + run > MAX_BLOB:
            return None
        piece, rest = body[:run], body[run:].strip()
        fixed = blob_lines >= 1 and len(prev_visible.rstrip(" \t")) == width
        whole = all(ch in _CLOSERS for ch in rest)
        if explicit or ob.quote or fixed:
            return "", _unescaped(body), line_explicit
        if looks_like_blob_piece(piece) and (whole or body[run] in _TERMINATORS):
            return "", _unescaped(body), line_explicit
        return None
    lowered = body
    if mode == "soft-open":
        return " ", _unescaped(lowered), line_explicit
    if mode == "soft" and lowered.startswith(_EXTENSIONS):
        return " ", _unescaped(lowered), line_explicit
    if lowered.startswith(("status code:", "Status Code:")):
        return " ", lowered, line_explicit
    return None
