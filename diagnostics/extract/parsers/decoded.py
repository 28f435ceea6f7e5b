"""Already decoded authorization messages inside text.

Packer (and tools built on the same Go helper) replace the blob with
``Authorization failure message: '{"allowed":false,...}'``; people paste the
output of ``aws sts decode-authorization-message`` (``{"DecodedMessage":
"{\\"allowed\\":false,...}"}``, JSON-escaped, or pretty-printed by jq).  The
line normaliser has already undone JSON escapes, so here the message is a
JSON object starting with ``{"allowed"``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from diagnostics.extract.parsers.decoded_lenient import repair, salvage
from diagnostics.extract.parsers.json_brackets import BracketWalk
from diagnostics.model import JSONObject
from diagnostics.request.context import DecodedMessageError, parse_decoded

#: Largest decoded message we try to parse (real ones are a few KiB).
MAX_DECODED = 256 * 1024

# Linear: literal brace, bounded blanks, literal key, bounded blanks, literal colon.
_START = re.compile(r'\{[ \t\r\n]{0,40}"allowed"[ \t]{0,8}:')
_DECODER = json.JSONDecoder()


@dataclass(frozen=True, slots=True)
class DecodedHit:
    start: int
    end: int
    message: JSONObject
    #: Not valid JSON as pasted (cut, elided, half-escaped): read leniently.
    lenient: bool = False


def find_decoded(text: str) -> tuple[list[DecodedHit], list[str]]:
    """Every decoded message object in ``text``, plus problems worth a warning."""
    hits: list[DecodedHit] = []
    problems: list[str] = []
    pos = 0
    while True:
        m = _START.search(text, pos)
        if m is None:
            break
        start = m.start()
        window = text[start : start + MAX_DECODED]
        lenient = False
        try:
            obj, length = _DECODER.raw_decode(window)
        except RecursionError:
            problems.append("a decoded message is nested too deeply to parse; it was skipped")
            pos = m.end()
            continue
        except ValueError:
            # Cut, elided or half-unescaped: read what is still there.
            length = _region_end(window)
            obj = repair(window[:length]) or salvage(window[:length])
            lenient = True
            if obj is None:
                pos = m.end()
                continue
        try:
            message = parse_decoded(obj)
        except DecodedMessageError:
            pos = m.end()
            continue
        hits.append(DecodedHit(start, start + length, message, lenient))
        pos = start + length
    return hits, problems


def _region_end(window: str) -> int:
    """Where the object starting ``window`` ends: its closing brace, else the window's end."""
    depth = 0
    for i, ch in BracketWalk(window):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    return len(window)


def pretty_json_starts(line: str) -> bool:
    """True for a line that opens a pretty-printed JSON object (``{`` alone)."""
    return line.strip() in ("{", '{"DecodedMessage": {', "[{")


def looks_like_decoded_key_line(line: str) -> bool:
    """A ``"allowed": false,`` / ``"explicitDeny": true,`` line of a pretty-printed message."""
    s = line.strip()
    if s.startswith('"DecodedMessage"'):
        # The CLI's escaped string, hard-wrapped: '"DecodedMessage": "{\"allowed\":false,'
        # with the rest of the message (its context) on the lines below.
        head = s[:80].replace('\\"', '"')
        return '"allowed"' in head and "context" not in s
    return s.startswith(('"allowed"', '"explicitDeny"'))


def json_continuation(line: str) -> bool:
    """A line that can continue a pretty-printed JSON object (or an elision inside one)."""
    s = line.strip()
    return bool(s) and (
        s[0] in '"{}[]-0123456789'
        or s.startswith(("true", "false", "null", "...", "(...)", "…", '\\"'))
    )
