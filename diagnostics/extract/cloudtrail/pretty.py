"""A CloudTrail record pretty-printed inside other text (``jq`` output, a console's JSON
view, a paste site's numbered lines), possibly cut before its end.

The record assembler finds the record's ``"errorCode"`` line; this module takes the
lines around it, drops a paste site's line-number gutter (``  17.   "errorCode": ...``),
and parses the object, closing what a cut left open (a string, its braces).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from diagnostics.extract.parsers.json_brackets import BracketWalk

# Linear: anchored; bounded blanks and digits, then one literal separator.
_GUTTER = re.compile(r"[ \t]{0,8}[0-9]{1,6}(?:\.|[ \t]{0,2}[|│])[ \t]?")
_CLOSERS = {"{": "}", "[": "]"}


def gutter_width(line: str) -> int:
    """Length of a line-number gutter before JSON on ``line`` (0: none)."""
    m = _GUTTER.match(line)
    if m is None:
        return 0
    rest = line[m.end() :].lstrip(" \t")
    return m.end() if rest[:1] in ('"', "{", "}", "[", "]") else 0


def ungutter(line: str, gutter: bool) -> str | None:
    """``line`` without its gutter; None when a gutter is expected and missing."""
    if not gutter:
        return line
    width = gutter_width(line)
    return line[width:] if width else None


def depth_change(line: str) -> int:
    """Brackets opened minus closed on ``line``, outside strings."""
    return sum(1 if ch in "{[" else -1 for _, ch in BracketWalk(line))


def lenient_loads(text: str) -> tuple[Any, bool] | None:
    """``text`` parsed as JSON, and whether it had to be closed (it was cut)."""
    try:
        return orjson.loads(text), False
    except orjson.JSONDecodeError:
        pass
    closed = _closed(text)
    if closed is None:
        return None
    try:
        return orjson.loads(closed), True
    except orjson.JSONDecodeError:
        return None


def _closed(text: str) -> str | None:
    """``text`` with an open string and open brackets closed (a trailing comma dropped)."""
    stack: list[str] = []
    walk = BracketWalk(text)
    for _, ch in walk:
        if ch in _CLOSERS:
            stack.append(_CLOSERS[ch])
        elif not stack or stack.pop() != ch:
            return None
    out = text.rstrip()
    if walk.in_string:
        out = (out[:-1] if walk.escaped else out) + '"'
    else:
        out = out.rstrip(",")
        if out.endswith(":"):
            out += " null"  # cut right after a key
    return out + "".join(reversed(stack))
