"""IAM pattern matching: wildcards, ARNs segment by segment, policy variables.

Rules from the IAM User Guide: "IAM JSON policy elements: Resource" (each of
the six colon-separated ARN parts is matched on its own; ``*`` and ``?`` work
inside a part), "IAM JSON policy elements: Action" (actions are
case-insensitive) and "IAM policy elements: Variables and tags" (``${key}``,
``${key, 'default'}``, and the escapes ``${*}``, ``${?}``, ``${$}``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

#: A parsed pattern: literal text, or ``*`` / ``?`` wildcards.
Token = tuple[str, str]  # ("lit", text) | ("any", "") | ("one", "")

# [^{}]* cannot run past another "${", so each position is scanned once: linear.
_VARIABLE = re.compile(r"\$\{([^{}]*)\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


class UnresolvedVariable(LookupError):
    """A policy variable has no value in the request; the element does not match."""


def _lex_plain(text: str, out: list[Token]) -> None:
    buf: list[str] = []
    for ch in text:
        if ch in "*?":
            if buf:
                out.append(("lit", "".join(buf)))
                buf = []
            out.append(("any", "") if ch == "*" else ("one", ""))
        else:
            buf.append(ch)
    if buf:
        out.append(("lit", "".join(buf)))


def _variable_value(body: str, variables: Mapping[str, str]) -> str:
    name, sep, default = body.partition(",")
    key = name.strip()
    if key in _ESCAPES:
        return _ESCAPES[key]
    value = variables.get(key.lower())
    if value is not None:
        return value
    if sep:
        return default.strip().strip("'")
    raise UnresolvedVariable(key)


@functools.lru_cache(maxsize=8192)
def _tokens_plain(text: str) -> tuple[Token, ...]:
    out: list[Token] = []
    _lex_plain(text, out)
    return tuple(out)


def tokenize(text: str, variables: Mapping[str, str] | None = None) -> tuple[Token, ...]:
    """Split a policy string into literals and wildcards, substituting variables.

    Variable values are always literal: a user name never acts as a wildcard.
    Raises ``UnresolvedVariable`` when a variable has no value and no default.
    """
    if "${" not in text:
        return _tokens_plain(text)
    out: list[Token] = []
    pos = 0
    for m in _VARIABLE.finditer(text):
        _lex_plain(text[pos : m.start()], out)
        out.append(("lit", _variable_value(m.group(1), variables or {})))
        pos = m.end()
    _lex_plain(text[pos:], out)
    return tuple(out)


#: A fixed-width piece between stars: its literal text (None when it holds a
#: ``?``), a regex for it, and its width.
Segment = tuple[str | None, re.Pattern[str] | None, int]


def _segment(piece: list[Token], flags: int) -> Segment:
    width = sum(len(text) if kind == "lit" else 1 for kind, text in piece)
    if all(kind == "lit" for kind, _ in piece):
        return ("".join(text for _, text in piece), None, width)
    body = "".join(re.escape(text) if kind == "lit" else "." for kind, text in piece)
    return (None, re.compile(body, flags), width)


@functools.lru_cache(maxsize=8192)
def _segments(tokens: tuple[Token, ...], ignore_case: bool) -> tuple[Segment, ...]:
    """The pattern split at each ``*`` into fixed-width pieces (``?`` is ``.``).

    A piece has no quantifier, so each search is linear in the value; the
    stars are handled by greedy leftmost placement below, never by regex
    backtracking (``*a*a*c`` against a long ARN would otherwise be polynomial).
    Pieces without ``?`` stay plain strings: no regex is compiled per ARN.
    """
    flags = (re.IGNORECASE if ignore_case else 0) | re.DOTALL
    pieces: list[list[Token]] = [[]]
    for kind, text in tokens:
        if kind == "any":
            pieces.append([])
        else:
            pieces[-1].append((kind, text))
    if ignore_case:
        pieces = [[(k, t.lower()) for k, t in piece] for piece in pieces]
    return tuple(_segment(piece, flags) for piece in pieces)


def _at(seg: Segment, value: str, pos: int) -> bool:
    text, rx, width = seg
    if text is not None:
        return value.startswith(text, pos)
    assert rx is not None
    return rx.match(value, pos, pos + width) is not None


def _find(seg: Segment, value: str, pos: int, end: int) -> int:
    """End of the leftmost placement of ``seg`` in ``value[pos:end]``, or -1."""
    text, rx, width = seg
    if text is not None:
        i = value.find(text, pos, end)
        return -1 if i < 0 else i + width
    assert rx is not None
    m = rx.search(value, pos, end)
    return -1 if m is None else m.end()


def match_tokens(tokens: tuple[Token, ...], value: str, *, ignore_case: bool = False) -> bool:
    """True when ``value`` matches the tokenized pattern as a whole."""
    if ignore_case:
        # IAM names are ASCII; for anything else lower() is close enough, and
        # it keeps the match linear where a case-insensitive regex would not be.
        value = value.lower()
    segments = _segments(tokens, ignore_case)
    if len(segments) == 1:
        return segments[0][2] == len(value) and _at(segments[0], value, 0)
    first, *middle, last = segments
    end = len(value) - last[2]
    if end < first[2] or not _at(first, value, 0) or not _at(last, value, end):
        return False
    pos = first[2]
    # Leftmost placement of each middle piece is optimal for '*'-separated globs.
    for seg in middle:
        pos = _find(seg, value, pos, end)
        if pos < 0:
            return False
    return True


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's ``*``/``?`` match of a whole string (no variables)."""
    return match_tokens(_tokens_plain(pattern), value, ignore_case=ignore_case)


def action_matches(pattern: str, action: str) -> bool:
    """An Action pattern (``s3:Get*``, ``*``) against an action, case-insensitively."""
    return pattern == "*" or wildcard_match(pattern, action, ignore_case=True)


def _split_tokens(tokens: tuple[Token, ...]) -> list[tuple[Token, ...]]:
    """Split on literal colons into at most six ARN parts (the last keeps its colons)."""
    parts: list[list[Token]] = [[]]
    for kind, text in tokens:
        if kind != "lit":
            parts[-1].append((kind, text))
            continue
        pieces = text.split(":")
        for i, piece in enumerate(pieces):
            if i:
                if len(parts) < 6:
                    parts.append([])
                else:
                    parts[-1].append(("lit", ":"))
            if piece:
                parts[-1].append(("lit", piece))
    return [tuple(p) for p in parts]


def arn_matches(pattern: str, arn: str, variables: Mapping[str, str] | None = None) -> bool:
    """An ARN pattern against an ARN, per segment, case-sensitively.

    ``*`` alone matches anything.  A pattern or value that is not a six-part
    ARN is compared as a whole string.  Raises ``UnresolvedVariable``.
    """
    if pattern == "*":
        return True
    if "*" not in pattern and "?" not in pattern and "$" not in pattern:
        # No wildcard and no variable: every part is literal, so the parts match
        # exactly when the strings are equal (fixes mostly name the exact ARN).
        return pattern == arn
    tokens = tokenize(pattern, variables)
    pattern_parts = _split_tokens(tokens)
    value_parts = arn.split(":", 5)
    if len(pattern_parts) != 6 or len(value_parts) != 6:
        return match_tokens(tokens, arn)
    return all(match_tokens(p, v) for p, v in zip(pattern_parts, value_parts, strict=True))
