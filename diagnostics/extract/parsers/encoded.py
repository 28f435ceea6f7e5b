"""Find ``Encoded authorization failure message: <blob>`` and the blob itself.

A blob is base64url text (``A-Z a-z 0-9 - _``, no padding) of 1 to 10,240
characters as STS accepts it; real ones run from about 500 to 3,000.  This
module finds blobs in already joined text and answers the question the line
joiner asks: does the text end inside a blob that may go on on the next line?
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: STS DecodeAuthorizationMessage accepts at most this many characters.
MAX_BLOB = 10_240
#: Shorter runs after the phrase are placeholders in documentation (``FR4gBD...``).
MIN_BLOB = 20
#: No whole blob is this short (STS's smallest run to about 500 characters): a
#: shorter one was cut by a tool, a page or a person, and is never sent to STS.
MIN_WHOLE_BLOB = 64

BLOB_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

# Linear: a literal phrase (case-insensitive), then bounded runs of disjoint classes.
_PHRASE = re.compile(r"encoded authorization failure message", re.IGNORECASE)
_LOWER_PHRASE = "encoded authorization failure message"
_PHRASE_SPELLINGS = (
    "uthorization failure message",
    "uthorization Failure Message",
    "UTHORIZATION FAILURE MESSAGE",
)
# Linear: anchored; optional colon, bounded blanks, optional quote, one bounded class run.
_AFTER_PHRASE = re.compile(
    r"""[ \t]{0,8}:?[ \t\n]{0,8}(?P<q>["'`]?)(?P<blob>[A-Za-z0-9_-]{0,20000})"""
)

# Linear: one character class, matched once from the start (BLOB_CHARS, ASCII only).
_BLOB_RUN = re.compile(r"[A-Za-z0-9_-]*")

_ELLIPSES = ("...", "…", "[...]", "[truncated]", "(truncated)")


@dataclass(frozen=True, slots=True)
class EncodedHit:
    """One encoded failure message found in a text."""

    start: int  # where the phrase starts
    end: int  # just after the blob (and its "..." marker, if any)
    blob: str
    truncated: bool
    #: Fewer than ``MIN_BLOB`` characters (empty, cut, or a placeholder): kept
    #: only when a refusal sentence or error code beside it confirms it.
    short: bool = False


def find_encoded(text: str, *, cut_at_end: bool = False) -> list[EncodedHit]:
    """Every encoded failure message in ``text``, in order.

    ``cut_at_end`` says the input ended here without a line end: a blob that
    runs to the end of the text was cut off and is reported truncated.
    """
    hits: list[EncodedHit] = []
    for m in _PHRASE.finditer(text):
        a = _AFTER_PHRASE.match(text, m.end())
        if a is None:  # pragma: no cover - the pattern matches the empty string
            continue
        blob = a.group("blob")
        end = a.end()
        short = len(blob) < MIN_BLOB
        truncated = len(blob) < MIN_WHOLE_BLOB
        rest = text[end : end + 16]
        for mark in _ELLIPSES:
            if rest.startswith(mark):
                truncated = True
                end += len(mark)
                break
        if len(blob) > MAX_BLOB:
            blob = blob[:MAX_BLOB]
            truncated = True
        if cut_at_end and a.end() >= len(text.rstrip(" \t")):
            truncated = True
        hits.append(EncodedHit(m.start(), end, blob, truncated, short))
    return hits


@dataclass(frozen=True, slots=True)
class OpenBlob:
    """The text ends inside (or right before) a blob."""

    length: int  # blob characters so far
    quote: str  # the quote that opened it, or ''


def open_blob_at_end(text: str) -> OpenBlob | None:
    """Whether the last encoded phrase's blob runs to the end of ``text``."""
    end = len(text)
    # Only the tail can hold a blob still open: bound the search.
    window_start = max(0, end - MAX_BLOB - 200)
    # Most texts asked about hold no phrase at all: C-speed tests first, for
    # the spellings tools print (AWS's own, title case, upper case).
    if all(text.find(spelling, window_start) == -1 for spelling in _PHRASE_SPELLINGS):
        return None
    phrase_end = _last_phrase_end(text, window_start)
    if phrase_end == -1:
        return None
    a = _AFTER_PHRASE.match(text, phrase_end)
    if a is None or a.end() != end:
        return None
    blob_len = len(a.group("blob"))
    if blob_len >= MAX_BLOB:
        return None
    return OpenBlob(blob_len, a.group("q"))


def _last_phrase_end(text: str, start: int) -> int:
    """Where the last phrase a left-to-right search from ``start`` finds ends, or -1.

    The case-insensitive regex scan of a 10 KB tail was the largest cost of
    reading wrapped blobs (it runs once per joined line).  An ASCII tail is
    lower-cased and searched from the right instead, which finds the same
    phrase unless two occurrences overlap (they can share one "e"); then, and
    for non-ASCII text (where the long s, U+017F, matches ``s``), the regex decides.
    """
    tail = text[start:]
    if tail.isascii():
        lowered = tail.lower()
        at = lowered.rfind(_LOWER_PHRASE)
        if at == -1:
            return -1
        n = len(_LOWER_PHRASE)
        if lowered.find(_LOWER_PHRASE, max(0, at - n + 1), at + n) == at:
            return start + at + n
    last: re.Match[str] | None = None
    for m in _PHRASE.finditer(text, start):
        last = m
    return -1 if last is None else last.end()


def holds_phrase(text: str) -> bool:
    """``text`` names an encoded message of its own (so it starts a new one)."""
    return _PHRASE.search(text) is not None


def leading_blob_run(text: str) -> int:
    """Length of the run of blob characters at the start of ``text``."""
    m = _BLOB_RUN.match(text)
    return m.end() if m else 0


def looks_like_blob_piece(run: str) -> bool:
    """A wrapped blob piece, not an English word: mixed case, digits, ``-`` or ``_``."""
    if len(run) < 8:
        return False
    if any(ch.isdigit() or ch in "-_" for ch in run):
        return True
    # Words are lower case, Capitalised or UPPER; base64 mixes case inside.
    inner_upper = any(ch.isupper() for ch in run[1:])
    return inner_upper and any(ch.islower() for ch in run)
