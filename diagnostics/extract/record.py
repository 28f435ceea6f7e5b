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

import functools
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
from diagnostics.extract.plain import find_plain
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
        first_piece = _unescaped(strip_known_prefix(first_line))
        before = self._backward(first_piece)
        if before:
            acc.add(before, 0)
        acc.add(first_piece, 0)
        lines, first_hard = self._forward(acc, first, first_text, explicit=explicit)
        cur = lines[-1]
        if first_hard and not before:
            acc.prepend(self._wrapped_before(first_text), 0)
        text = acc.text()
        found, problems = analyse_text(text, cut_at_end=cur.unterminated or cur.long)
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
            joined = _join(
                mode,
                text,
                ntext,
                prev_visible=prev_visible,
                explicit=explicit,
                width=blob_width,
                blob_lines=blob_lines,
                first_text=first_text,
            )
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
            pieces.append(_unescaped(strip_known_prefix(text)))
        return "".join(reversed(pieces))

    def _backward(self, first: str) -> str:
        """The previous line, when this one continues a sentence it started.

        ``User: arn:...:assumed-ro`` / ``le/x is not authorized ...`` (hard wrap)
        or ``User: arn:...`` / ``is not authorized ...`` (soft wrap).
        """
        if "not authorized to perform" not in first:
            return ""
        body = strip_known_prefix(first).lstrip()
        if any(h.start < 40 for h in find_plain(body)):
            return ""  # the sentence starts on this line
        prev = self.prev_lines(1)
        if not prev or not prev[-1]:
            return ""
        before = _unescaped(strip_known_prefix(normalize_line(prev[-1])[0]).rstrip(" \t"))
        if "User:" not in before[-2100:] and "arn:" not in before[-2100:]:
            return ""
        # A sentence the previous line already completes (it has its reason,
        # or ends in a policy ARN) is that line's own failure: a new message
        # starting here ("An error occurred ...") must not extend it.
        own = {h.start for h in find_plain(before) if h.complete}
        for sep in ("", " "):
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
            f.to_failure(source, excerpt_of(text, f.start, f.end))
            for f in found
            if f.kind == "decoded"
        ]
        if not failures:
            return None
        return RecordResult(failures, cur.next, [(line_no, p) for p in problems])


def _unescaped(text: str) -> str:
    return unescape_json(text) if has_json_escapes(text) else text


@functools.cache
def _phrase_starts() -> dict[str, tuple[str, ...]]:
    """Every proper start (two characters or more) of a key phrase, by its last two characters."""
    index: dict[str, list[str]] = {}
    for phrase in KEY_PHRASES:
        for k in range(2, len(phrase)):
            index.setdefault(phrase[k - 2 : k], []).append(phrase[:k])
    return {key: tuple(starts) for key, starts in index.items()}


def _ends_inside_phrase(tail: str) -> bool:
    """The text ends with the start (two characters or more) of a key phrase."""
    for start in _phrase_starts().get(tail[-2:], ()):
        if tail.endswith(start):
            at = len(tail) - len(start)
            if at == 0 or tail[at - 1] in _WORD_START:
                return True
    return False


def _sentence_open(tail: str) -> bool:
    """A plain sentence runs to the end without its reason, or one is cut before its action."""
    for i in _all(tail, "not authorized to perform"):
        if tail[max(0, i - 8) : i] == "You are ":
            continue
        hits = [h for h in find_plain(tail) if h.start <= i < h.end]
        if not hits:
            return True
        h = hits[-1]
        rest = tail[h.end :]
        if not h.complete and len(rest) < 300 and ". " not in rest and '"' not in rest:
            return True
    return False


def _all(text: str, needle: str) -> list[int]:
    out: list[int] = []
    i = text.find(needle)
    while i != -1:
        out.append(i)
        i = text.find(needle, i + 1)
    return out


def _wants_next(text: str) -> str | None:
    """Whether (and why) the record may continue on the next line."""
    if open_blob_at_end(text) is not None:
        return "blob"
    tail = text[-2200:].rstrip()
    end = tail[-64:]
    if end.endswith(_OPEN_ENDINGS) or _PRINCIPAL_AT_END.search(tail[-2100:]):
        return "open"
    if _ends_inside_phrase(end):
        return "phrase"
    if end.endswith(("perform this operation.", "perform this operation")):
        return "legacy"  # EC2 puts the plain sentence or the blob after it
    if "uthoriz" in tail and _sentence_open(tail):
        return "sentence"
    if ": " in tail and "status code" not in tail and any(code in tail for code in _GO_CODES):
        return "status"
    return None


def _content(line: str, first_text: str, *, shared_prefix: bool) -> str:
    """A continuation line without the prefix the first line also carries.

    ``shared_prefix`` (for blob pieces only) also removes a prefix both lines
    share, such as docker compose's ``web_1  | ``.
    """
    s = strip_known_prefix(line)
    prefix = packer_prefix(first_text)
    if prefix and s.startswith(prefix):
        s = s[len(prefix) :]
    elif shared_prefix:
        shared = common_prefix(strip_known_prefix(first_text), s)
        if shared.strip():
            s = s[len(shared) :]
    return s.strip(" \t")


def _completes_phrase(text: str, content: str) -> str | None:
    """The separator ("" for a hard wrap, " " for a soft one) that completes a key phrase."""
    a = text[-64:]
    b = content[:64]
    for sep in ("", " "):
        joined = a + sep + b
        edge = len(a)
        for phrase in KEY_PHRASES:
            i = joined.find(phrase, max(0, edge - len(phrase) + 1))
            if i != -1 and i < edge < i + len(phrase):
                return sep
    return None


def _join(
    mode: str,
    text: str,
    ntext: str,
    *,
    prev_visible: str,
    explicit: bool,
    width: int,
    blob_lines: int,
    first_text: str,
) -> tuple[str, str, bool] | None:
    """How the next line joins the record: (separator, piece, ends with ``\\``) or None."""
    content = _content(ntext, first_text, shared_prefix=mode == "blob")
    if not content:
        return None
    line_explicit = content.endswith("\\")
    body = content[:-1].rstrip(" \t") if line_explicit else content
    if mode == "blob":
        ob = open_blob_at_end(text)
        assert ob is not None
        run = leading_blob_run(body)
        if run == 0 or ob.length + run > MAX_BLOB:
            return None
        if explicit or ob.quote:
            return "", _unescaped(body), line_explicit
        if blob_lines >= 1:
            # Wrapped at a fixed column: every piece but the last is full width,
            # and a piece is a whole line of blob or looks like one.
            full = len(prev_visible.rstrip(" \t")) == width
            piece, rest = body[:run], body[run:].strip()
            plausible = all(ch in _CLOSERS for ch in rest) or looks_like_blob_piece(piece)
            return ("", _unescaped(body), line_explicit) if full and plausible else None
        piece, rest = body[:run], body[run:].strip()
        whole = all(ch in _CLOSERS for ch in rest)
        if looks_like_blob_piece(piece) and (whole or body[run] in _TERMINATORS):
            return "", _unescaped(body), line_explicit
        return None
    sep = _completes_phrase(text, body)
    if sep is not None:
        return sep, _unescaped(body), line_explicit
    if mode == "open":
        return " ", _unescaped(body), line_explicit
    if mode == "legacy":
        if body.startswith(("Encoded authorization failure message", "User: ")):
            return " ", _unescaped(body), line_explicit
        return None
    if mode == "sentence":
        if body.startswith(_EXTENSIONS):
            return " ", _unescaped(body), line_explicit
        # A line that opens a sentence of its own is not a continuation.
        fresh = "User:" in body or "not authorized to perform" in body
        hard = not fresh and not text[-1:].isspace() and any(g in body for g in _GRAMMAR)
        return ("", _unescaped(body), line_explicit) if hard else None
    if body.lower().startswith("status code:"):
        return " ", body, line_explicit
    return None
