"""Parse only the records that can hold an error in a CloudTrail delivery file.

A delivery file is one line of compact JSON, ``{"Records":[{"eventVersion":
...},{"eventVersion":...}]}``, and in a typical one only a few records carry
``"errorCode"``.  Parsing the whole document costs six times as much as
parsing just those records, so for this layout the records are sliced out
around each ``"errorCode":`` key and parsed one by one.

A record without the key cannot be a failure, so skipping it loses nothing.
Anything that does not fit the layout exactly (pretty-printed JSON, another
envelope, a key spelt with spaces, a slice that does not parse as a record)
makes ``error_records`` return None, and the caller parses the whole
document as before.  Quotes inside JSON strings are escaped, so the bytes
``"errorCode":`` only ever occur as a key.
"""

from __future__ import annotations

import functools
from typing import Any

import orjson

from diagnostics.extract.cloudtrail.records import is_record
from diagnostics.iam.error_codes import is_authz_error_code

_HEAD = b'{"Records":['
_START = b'{"eventVersion":'
_NEXT = b',{"eventVersion":'
_KEY = b'"errorCode"'


_SPACE = b" \t\r\n"

#: (line number, offset of that line's start, parsed record)
Located = tuple[int, int, dict[str, Any]]


def count_newlines(data: bytes) -> int:
    """``data.count(b"\\n")``, but a memchr-speed ``find`` when there is at most a final one."""
    if data.find(b"\n", 0, len(data) - 1) == -1:
        return 1 if data.endswith(b"\n") else 0
    return data.count(b"\n")


def error_records(document: bytes) -> list[Located] | None:
    """The records holding an ``errorCode`` key, in document order; None if not compact.

    Each comes with the line it is on and where that line starts, as
    ``SourceRef`` wants them.  A record spread over several lines is not
    compact: None.
    """
    first = 3 if document.startswith(b"\xef\xbb\xbf") else 0
    limit = min(len(document), first + 64)  # bounded: more blank bytes go the slow way
    while first < limit and document[first] in _SPACE:
        first += 1
    if not document.startswith(_HEAD, first):
        return None
    last = len(document)
    floor = max(0, last - 64)
    while last > floor and document[last - 1] in _SPACE:
        last -= 1
    if document[last - 2 : last] != b"]}":
        return None
    first, last = first + len(_HEAD), last - 2
    if first > last:
        return None
    if first == last:
        return []
    if not document.startswith(_START, first):
        return None
    view = memoryview(document)
    out: list[Located] = []
    # AWS writes a delivery as one line: then every record is on line 1 at
    # offset 0, and no per-record newline search or count is needed.
    one_line = document.find(b"\n", first, last) == -1
    line, counted = 1, 0
    pos = document.find(_KEY, first, last)
    while pos != -1:
        after = pos + len(_KEY)
        if document[after : after + 1] != b":":
            return None  # spaces around the colon: not AWS's layout
        code_end = _other_error_code(document, after + 1)
        if code_end:
            # Not an authorization error: the record is not parsed at all.
            pos = document.find(_KEY, code_end, last)
            continue
        start = document.rfind(_START, first, pos)
        if start != first and document[start - 1 : start] != b",":
            return None
        nxt = document.find(_NEXT, pos, last)
        stop = last if nxt == -1 else nxt
        if not one_line:
            if document.find(b"\n", start, stop) != -1:
                return None
            line += document.count(b"\n", counted, start)
            counted = start
        try:
            record = orjson.loads(view[start:stop])
        except orjson.JSONDecodeError:
            return None  # a nested record or a broken file: let the full parse decide
        if not isinstance(record, dict) or not is_record(record):
            return None
        offset = 0 if one_line else document.rfind(b"\n", 0, start) + 1
        out.append((line, offset, record))
        pos = document.find(_KEY, stop, last)
    return out


@functools.lru_cache(maxsize=1024)
def _is_authz(code: bytes) -> bool:
    return is_authz_error_code(code.decode("ascii", "replace"))


def _other_error_code(document: bytes, at: int) -> int:
    """Where a plain ``"SomeCode"`` value at ``at`` ends when it is no authorization
    error, else 0 (an authorization code, or anything unusual: parse the record)."""
    if document[at : at + 1] != b'"':
        return 0
    end = document.find(b'"', at + 1, at + 130)
    if end == -1:
        return 0
    code = document[at + 1 : end]
    if b"\\" in code or _is_authz(code):
        return 0
    return end + 1
