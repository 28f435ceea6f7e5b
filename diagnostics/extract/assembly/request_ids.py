"""The request ID an SDK printed with an error: it tells two printed denials apart.

Every SDK prints the ID AWS gave the request (Java ``Request ID: X``, Java v1's
older ``AWS Request ID: X``, Go v1 ``request id: X``, Go v2 ``RequestID: X``,
JS ``requestId: 'X'``, an XML body's ``<RequestId>X</RequestId>``).  Two
denials with the same words but different IDs are two requests, and are
reported apart, as two blobs or two authorization IDs are.
"""

from __future__ import annotations

import re
from dataclasses import replace

from diagnostics.extract.assembly.found import Found

# Linear: a literal alternation, bounded blanks and quotes, one bounded class run
# (the classes around the ID exclude its first character's class only in part, but
# every quantifier is bounded, so each start position costs constant work).
_REQUEST_ID = re.compile(
    r"(?:[Rr]equest ?I[Dd]|request id|<RequestI[Dd]>)[\"']?[ \t]{0,3}:?[ \t>]{0,3}[\"']?"
    r"(?P<id>[A-Za-z0-9][A-Za-z0-9-]{7,63})"
)
#: How far after a failure its SDK's request ID may be printed, and how far before.
_AFTER = 600
_BEFORE = 400


def with_request_ids(text: str, found: list[Found]) -> list[Found]:
    """``found`` (in text order) with the request ID printed beside each, when one is."""
    if "equest" not in text and "RequestI" not in text:
        return found
    out: list[Found] = []
    for i, f in enumerate(found):
        if f.kind == "decoded" or f.request_id is not None:
            out.append(f)
            continue
        lo = max(found[i - 1].end if i else 0, f.start - _BEFORE)
        hi = min(found[i + 1].start if i + 1 < len(found) else len(text), f.end + _AFTER)
        ident = _first(text, f.start, hi) or _last(text, lo, f.start)
        out.append(replace(f, request_id=ident) if ident else f)
    return out


def _first(text: str, lo: int, hi: int) -> str | None:
    m = _REQUEST_ID.search(text, lo, hi) if lo < hi else None
    return m.group("id") if m else None


def _last(text: str, lo: int, hi: int) -> str | None:
    ident = None
    pos = lo
    while pos < hi:
        m = _REQUEST_ID.search(text, pos, hi)
        if m is None:
            break
        ident, pos = m.group("id"), m.end()
    return ident
