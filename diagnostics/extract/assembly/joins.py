"""How a record's next physical line joins it: the wrapping heuristics.

A terminal or tool may have cut the message anywhere: inside a blob (joined
with no separator), inside a key phrase, inside a token of a plain sentence,
or at a blank (joined with a space).  ``wants_next`` says whether the text so
far may go on; ``join`` decides for one following line and returns the
separator and the piece.  Everything here looks at bounded tails of the text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from diagnostics.extract.assembly.normalize import (
    common_prefix,
    has_json_escapes,
    packer_prefix,
    strip_known_prefix,
    strip_markup,
    unescape_json,
)
from diagnostics.extract.parsers.authorization_id import SuffixMode, continues_suffix, suffix_mode
from diagnostics.extract.parsers.encoded import (
    MAX_BLOB,
    holds_phrase,
    leading_blob_run,
    looks_like_blob_piece,
    open_blob_at_end,
)
from diagnostics.extract.parsers.plain import PlainHit, find_plain

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
    # The policy type before the policy ARN (a wrap between them lost the ARN).
    "identity-based policy",
    "resource-based policy",
    "control policy",
    "endpoint policy",
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
    # The reason clause wrapped between its words ("because no" / "identity-based policy").
    "identity-based",
    "resource-based",
    "service control",
    "control polic",
    "resource control",
    "permissions boundary",
    "boundary",
    "session polic",
    "role trust",
    "trust polic",
    "VPC endpoint",
    "vpc endpoint",
    "endpoint polic",
    "policy",
    "policies",
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
    # "... in an identity-based policy:" wrapped before its ARN.
    " policy:",
)
#: The labels AWS puts before the principal of a plain sentence.
_LABELS = ("User:", "Principal:", "user:")
_GO_CODES = ("AccessDenied", "Unauthorized", "Authoriz", "Forbidden")
# Linear: a literal then one bounded class run, anchored at the end of a bounded tail.
_PRINCIPAL_AT_END = re.compile(r"User: (?:arn:)?[^\s]{0,2048}$")
_WORD_START = " \t(:\"'>"  # ">": a message right after its XML tag
# Linear: a literal, one bounded class, anchored at the end of a bounded tail.
_CLI_OP_AT_END = re.compile(r"when calling the [A-Za-z0-9]{1,100}$")


def unescaped(text: str) -> str:
    """A piece of a record with JSON escapes, HTML entities and Markdown bold undone."""
    return strip_markup(unescape_json(text) if has_json_escapes(text) else text)


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


#: Why a record may go on to the next line, which decides how that line joins:
#: ``blob`` inside an encoded message; ``open`` after a label or a cut ARN;
#: ``phrase`` inside a key phrase; ``cli`` inside the CLI's "when calling the
#: X operation" frame; ``legacy`` after EC2's old first sentence; ``sentence``
#: a denial sentence without its end; ``frame`` inside an SDK frame; ``status``
#: before Go's "status code:" line; ``wrap`` a terminal's fixed-width rows
#: (set by the record, not by ``wants_next``); and the authorization-ID suffix's two.
JoinMode = (
    Literal["blob", "open", "phrase", "cli", "legacy", "sentence", "frame", "status", "wrap"]
    | SuffixMode
)


def wants_next(text: str) -> JoinMode | None:
    """Whether (and why) the record may continue on the next line."""
    if open_blob_at_end(text) is not None:
        return "blob"
    tail = text[-2200:].rstrip()
    end = tail[-64:]
    if end.endswith(_OPEN_ENDINGS) or _PRINCIPAL_AT_END.search(tail[-2100:]):
        return "open"
    if _ends_inside_phrase(end):
        return "phrase"
    if _CLI_OP_AT_END.search(end):
        return "cli"  # "when calling the GetObject" / "operation: ..." (wrapped CLI frame)
    if end.endswith(("perform this operation.", "perform this operation")):
        return "legacy"  # EC2 puts the plain sentence or the blob after it
    if "uthoriz" in tail and _sentence_open(tail):
        return "sentence"
    if _frame_open(tail[-400:]):
        return "frame"
    # The authorization-ID suffix names an API ("GetRequestAuthorizationDetails"),
    # not an error code.
    codes = tail.replace("GetRequestAuthorizationDetails", "")
    if ": " in tail and "status code" not in tail and any(code in codes for code in _GO_CODES):
        return "status"
    # "Go to https://...#/authorization-details/ID ..." may follow.
    return suffix_mode(tail, _sentence_ended(tail))


#: SDK frames that run to a closing mark: Java's "(Service: ...)" list, and Go v2's
#: "operation error S3: Op, https response error ... api error Code:" chain.
_FRAME_OPENERS = (
    ("(Service: ", ")"),
    ("operation error ", "api error "),
    # PHP: Guzzle's summary of the body follows on the next line.
    ('Error executing "', " (client): "),
    # Ruby's uncaught exception: "message (Aws::S3::Errors::AccessDenied)".
    ("(Aws::", ")"),
)


def _php_open(text: str) -> bool:
    """The text ends inside a PHP SDK exception, before Guzzle's ``Code (client):`` summary."""
    i = text.rfind('Error executing "', max(0, len(text) - 4000))
    return i != -1 and text.find(" (client): ", i) == -1 and "AWS HTTP error:" in text[i:]


def _frame_open(tail: str) -> bool:
    """The text ends inside an SDK frame a terminal wrapped (its closing mark not yet seen)."""
    for opener, closer in _FRAME_OPENERS:
        if opener.startswith("(") and any(tail.endswith(opener[:k]) for k in range(1, 10)):
            return True  # cut inside the opener ("(" / "Service: "), or its blank trimmed
        i = tail.rfind(opener)
        if i != -1 and tail.find(closer, i + len(opener)) == -1:
            return True
    return False


_FAILURE_STARTS = (
    "not authorized to perform",
    "An error occurred (",
    "operation error ",
    "ncoded authorization failure message",
    "(Service: ",
)


def _starts_failure(body: str) -> bool:
    return any(marker in body for marker in _FAILURE_STARTS)


def _sentence_ended(tail: str) -> bool:
    """The text ends right after a denial sentence (the authorization-ID suffix may follow)."""
    if "uthorized to perform" not in tail:  # find_plain's two middles, cheaply first
        return False
    hits = find_plain(tail)
    return bool(hits) and not tail[hits[-1].end :].strip(" \t.\"'")


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
    """The separator ("" for a hard wrap, " " for a soft one) that completes a key phrase.

    A phrase crosses the edge when the text ends with a proper start of it
    and the separator plus the next line begin with the rest.
    """
    a = text[-64:]
    cuts = _phrase_cuts()
    candidates = cuts.get(a[-2:], ()) + cuts.get(a[-1:], ()) if a else ()
    if not candidates:
        return None
    b = content[:64]
    for sep in ("", " "):
        rest = sep + b
        for start, remainder in candidates:
            if a.endswith(start) and rest.startswith(remainder):
                return sep
    return None


@functools.cache
def _phrase_cuts() -> dict[str, tuple[tuple[str, str], ...]]:
    """Each key phrase cut in two (start, rest), by the start's last two characters
    (its only character, for a one-character start)."""
    index: dict[str, list[tuple[str, str]]] = {}
    for phrase in KEY_PHRASES:
        for k in range(1, len(phrase)):
            index.setdefault(phrase[max(0, k - 2) : k], []).append((phrase[:k], phrase[k:]))
    return {key: tuple(cuts) for key, cuts in index.items()}


@dataclass(frozen=True, slots=True)
class _Next:
    """The next line as a join sees it, beside the record read so far."""

    text: str  # the record so far
    ntext: str  # the next line, normalised
    body: str  # the next line without its known prefix and trailing backslash
    prev_visible: str  # the last line joined
    explicit: bool  # the record so far ends with a backslash continuation
    width: int  # a wrapped blob's column (0: not known yet)
    blob_lines: int  # blob pieces joined so far
    first_text: str  # the record's first line

    def piece(self, sep: str) -> tuple[str, str]:
        return sep, unescaped(self.body)


#: (separator, piece): "" joins a hard wrap, " " a soft one.
_Joined = tuple[str, str]


def join(
    mode: JoinMode,
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
    if mode == "blob" and holds_phrase(ntext):
        # A line with a blob phrase of its own is the next denial (a retry, another
        # request), never more of this blob: a prefix both lines share must not hide it.
        return None
    content = _content(ntext, first_text, shared_prefix=mode == "blob")
    if not content:
        return None
    line_explicit = content.endswith("\\")
    body = content[:-1].rstrip(" \t") if line_explicit else content
    nxt = _Next(text, ntext, body, prev_visible, explicit, width, blob_lines, first_text)
    joined: _Joined | None
    if (mode != "blob" or body.startswith("Go to https://")) and continues_suffix(text, body):
        joined = nxt.piece(" ")
    elif mode == "blob":
        joined = _join_blob(nxt)
    elif (sep := _completes_phrase(text, body)) is not None:
        joined = nxt.piece(sep)
    else:
        joined = _BY_MODE.get(mode, _join_status)(nxt)
    return None if joined is None else (*joined, line_explicit)


def _join_blob(nxt: _Next) -> _Joined | None:
    """More of an encoded message: its pieces join with no separator."""
    text, body = nxt.text, nxt.body
    ob = open_blob_at_end(text)
    assert ob is not None
    run = leading_blob_run(body)
    if ob.length == 0 and run == 0 and body.startswith(":") and not text.endswith(":"):
        # Wrapped right after "message": the colon and the blob start this line.
        after = body[1:].lstrip(" \t").lstrip("\"'`")
        return nxt.piece("") if looks_like_blob_piece(after[: leading_blob_run(after)]) else None
    if run == 0 or ob.length + run > MAX_BLOB:
        return None
    if nxt.explicit or ob.quote:
        return nxt.piece("")
    piece, rest = body[:run], body[run:].strip()
    if nxt.blob_lines >= 1:
        # Wrapped at a fixed column: every piece but the last is full width,
        # and a piece is a whole line of blob or looks like one.
        full = len(nxt.prev_visible.rstrip(" \t")) == nxt.width
        # The last piece may end at the XML body's closing tag ("...Fg</Message>").
        closed = all(ch in _CLOSERS for ch in rest) or rest.startswith("</")
        plausible = closed or looks_like_blob_piece(piece)
        return nxt.piece("") if full and plausible else None
    whole = all(ch in _CLOSERS for ch in rest)
    if looks_like_blob_piece(piece) and (whole or body[run] in _TERMINATORS):
        return nxt.piece("")
    return None


def _join_phrase(nxt: _Next) -> _Joined | None:
    """A key phrase ended the line; the sentence may go on with its reason."""
    if nxt.body.startswith(_EXTENSIONS) and _sentence_open(nxt.text[-2200:]):
        # "... on this resource" (also the start of "resource-based") and the reason
        # clause on the next line: the sentence goes on.
        return nxt.piece(" ")
    return _join_status(nxt)


def _join_open(nxt: _Next) -> _Joined | None:
    """After a label or inside an ARN: the line goes on, glued when an ARN was cut."""
    text, body, prev_visible = nxt.text, nxt.body, nxt.prev_visible
    # An ARN cut right after one of its separators ("arn:aws:iam::123456:" / "user/x")
    # goes on with no blank: ARNs hold none.
    last = text.rstrip(" \t").rsplit(None, 1)[-1] if text.strip() else ""
    # A terminal cuts a long row anywhere, even inside a role name
    # ("assumed-role/app-ro" / "le/session is not ..."): no blank was lost.
    cut = len(prev_visible) >= 60 and not prev_visible.endswith((" ", "\t"))
    glue = (
        last.startswith("arn:")
        and (last.endswith((":", "/")) or (cut and not body.startswith("is ")))
        and body[:1].isalnum()
    )
    return nxt.piece("" if glue else " ")


def _join_cli(nxt: _Next) -> _Joined | None:
    """Inside the CLI's "when calling the X operation" frame."""
    body, prev_visible = nxt.body, nxt.prev_visible
    if body.startswith("operation"):
        return nxt.piece(" ")
    # A terminal cut inside the operation's name ("the Create" / "Role operation:").
    head = body.split(" ", 1)[0]
    cut = len(prev_visible) >= 60 and not prev_visible.endswith((" ", "\t"))
    if cut and head.isalnum() and body[len(head) :].startswith(" operation"):
        return nxt.piece("")
    return None


def _join_legacy(nxt: _Next) -> _Joined | None:
    """After EC2's "not authorized to perform this operation": its sentence or blob."""
    if nxt.body.startswith(("Encoded authorization failure message", "User: ")):
        return nxt.piece(" ")
    return None


def _join_sentence(nxt: _Next) -> _Joined | None:
    """A denial sentence without its end: its clauses, or a hard wrap inside a word."""
    text, body = nxt.text, nxt.body
    if body.startswith(_EXTENSIONS) or body.lower().startswith("status code:"):
        return nxt.piece(" ")
    # A line that opens a sentence of its own is not a continuation.
    fresh = "User:" in body or "not authorized to perform" in body
    hard = not fresh and not text[-1:].isspace() and any(g in body for g in _GRAMMAR)
    return nxt.piece("") if hard else None


def _join_frame(nxt: _Next) -> _Joined | None:
    """Inside an SDK frame: it goes on only as its SDK or a terminal breaks it.

    PHP's own line breaks, a wrap at a blank, or a fixed-width wrap (rows as
    wide as the first, cut anywhere); never into a line that starts a failure
    of its own.
    """
    text, body, prev_visible = nxt.text, nxt.body, nxt.prev_visible
    if _php_open(text) and (body.startswith("<") or " (client): " in body[:200]):
        # PHP's exception goes on with Guzzle's summary and the XML body it quotes.
        return nxt.piece(" ")
    if _starts_failure(body):
        return None
    if prev_visible.endswith(" ") and len(prev_visible) >= 40:
        return nxt.piece(" ")  # wrapped at a blank
    width = len(nxt.first_text)
    if width < 60 or len(prev_visible) != width:
        return None
    # The cut fell on a blank: the row starts with it ("Error Code:" / " AccessDenied").
    return nxt.piece(" " if strip_known_prefix(nxt.ntext)[:1] in (" ", "\t") else "")


def _join_status(nxt: _Next) -> _Joined | None:
    """Any other mode: only Go's "status code: 403, request id: ..." line joins."""
    # Taken as printed: the status line carries no escapes worth undoing.
    return (" ", nxt.body) if nxt.body.lower().startswith("status code:") else None


_BY_MODE: dict[JoinMode, Callable[[_Next], _Joined | None]] = {
    "phrase": _join_phrase,
    "open": _join_open,
    "cli": _join_cli,
    "legacy": _join_legacy,
    "sentence": _join_sentence,
    "frame": _join_frame,
}


def starts_own_sentence(body: str) -> bool:
    """This line holds the start of its own sentence, so it borrows nothing from the last.

    Either the sentence starts near the line's beginning, or the line holds a
    whole ``User: <ARN> is not authorized`` (however long the CLI's ``An error
    occurred (X) when calling the Y operation:`` frame before it), or that
    frame starts before the sentence.
    """
    # A fragment ("is not authorized ..." with no principal slot) starts nothing.
    hits = [h for h in find_plain(body) if h.principal_arn or h.principal_text is not None]
    if any(h.start < 40 for h in hits):
        return True
    if any(h.principal_arn and body.startswith(_LABELS, h.start) for h in hits):
        return True
    frame = body.find("An error occurred (")
    return frame != -1 and frame < body.find("not authorized to perform")


def ends_on_arn(hit: PlainHit, text: str) -> bool:
    """The sentence ends the text right after an ARN resource (no reason clause follows)."""
    resource = hit.resource or ""
    return (
        hit.end == len(text.rstrip(" \t"))
        and resource.startswith("arn:")
        and resource.count(":") >= 5
    )


def terminal_row(mode: JoinMode, width: int, rows: int, prev: str, row: str) -> bool:
    """The next row continues a message a terminal hard-wrapped at ``width`` columns.

    Two rows of exactly the same width establish the wrap (a chance match of
    one row is common, of two rare); then each further row, the last one
    shorter, joins with no separator while the message is still open.
    """
    if mode == "blob" or width < 60 or not rows or len(prev) != width or not row:
        return False
    if mode in ("suffix", "wrap"):
        # A finished sentence: only a wrap two full rows have shown goes on after it,
        # and never into a row that starts a denial of its own (the next log line
        # that happens to be as wide: a retry, another request).
        return rows >= 2 and len(row) <= width and not _starts_own_failure(row)
    if opens_denial(row):
        return False  # the next log line, by chance as wide: it opens its own denial
    if rows == 1:
        return len(row) == width
    return len(row) <= width


#: Where a denial's own text begins (an SDK frame after a sentence does not).
_OWN_STARTS = ("not authorized to perform", "An error occurred (", "operation error ")


def opens_denial(row: str) -> bool:
    """``row`` holds a denial's beginning: a CLI or Go v2 frame, or a sentence with its
    ``User:`` label (a wrap row starts mid-token: "-session is not authorized ...", or
    right after the label: ": arn:... is not authorized ...")."""
    if "An error occurred (" in row or "operation error " in row:
        return True
    if "not authorized to perform" not in row:
        return False
    return any(row.startswith(_LABELS, h.start) for h in find_plain(row))


def _starts_own_failure(row: str) -> bool:
    return any(marker in row for marker in _OWN_STARTS) or holds_phrase(row)
