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


Segment = tuple[re.Pattern[str], int]  # a fixed-width piece between stars, its width


@functools.lru_cache(maxsize=8192)
def _segments(tokens: tuple[Token, ...], ignore_case: bool) -> tuple[Segment, ...]:
    """The pattern split at each ``*`` into fixed-width regexes (``?`` is ``.``).

    A segment has no quantifier, so each search is linear in the value; the
    stars are handled by greedy leftmost placement below, never by regex
    backtracking (``*a*a*c`` against a long ARN would otherwise be polynomial).
    """
    flags = (re.IGNORECASE if ignore_case else 0) | re.DOTALL
    pieces: list[list[Token]] = [[]]
    for kind, text in tokens:
        if kind == "any":
            pieces.append([])
        else:
            pieces[-1].append((kind, text))
    out: list[Segment] = []
    for piece in pieces:
        body = "".join(re.escape(text) if kind == "lit" else "." for kind, text in piece)
        width = sum(len(text) if kind == "lit" else 1 for kind, text in piece)
        out.append((re.compile(body, flags), width))
    return tuple(out)


def match_tokens(tokens: tuple[Token, ...], value: str, *, ignore_case: bool = False) -> bool:
    """True when ``value`` matches the tokenized pattern as a whole."""
    segments = _segments(tokens, ignore_case)
    if len(segments) == 1:
        return segments[0][0].fullmatch(value) is not None
    (first, first_w), *middle, (last, last_w) = segments
    if first.match(value) is None:
        return False
    pos = first_w
    end = len(value) - last_w
    if end < pos or last.fullmatch(value, end) is None:
        return False
    # Leftmost placement of each middle segment is optimal for '*'-separated globs.
    for rx, _ in middle:
        m = rx.search(value, pos, end)
        if m is None:
            return False
        pos = m.end()
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
    tokens = tokenize(pattern, variables)
    pattern_parts = _split_tokens(tokens)
    value_parts = arn.split(":", 5)
    if len(pattern_parts) != 6 or len(value_parts) != 6:
        return match_tokens(tokens, arn)
    return all(match_tokens(p, v) for p, v in zip(pattern_parts, value_parts, strict=True))
