"""The cheap path for EC2's refusal with its encoded blob, whole on one line.

The AWS CLI prints ``An error occurred (UnauthorizedOperation) when calling
the RunInstances operation: You are not authorized to perform this operation.
Encoded authorization failure message: <blob>`` on one line; boto3's traceback
puts ``botocore.exceptions.ClientError:`` before it.  When that is the whole
line and the blob is whole (``MIN_WHOLE_BLOB`` to ``MAX_BLOB`` characters),
the tolerant reader comes to one ``encoded`` failure with the code and the
operation; this module reads it with one anchored expression instead.

Whether the next line continues the blob (a hard wrap, a tool's fixed width,
a base64url run) is decided by the tolerant reader's own join functions,
asked exactly as it would ask them; any join, and this module declines.
``tests/test_cheap_path.py`` checks that every fixture, real-corpus text and
generated line gives exactly the tolerant reader's failures.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from diagnostics.extract.assembly.cheap import SERVICE_OPS
from diagnostics.extract.assembly.code_above import with_code_above
from diagnostics.extract.assembly.found import Found
from diagnostics.extract.assembly.joins import join, terminal_row, unescaped, wants_next
from diagnostics.extract.assembly.normalize import normalize_line, strip_known_prefix
from diagnostics.extract.assembly.provenance import mark_embedded
from diagnostics.extract.assembly.templates import is_template
from diagnostics.extract.assembly.text import excerpt_of
from diagnostics.extract.parsers.decoded import looks_like_decoded_key_line
from diagnostics.extract.parsers.encoded import open_blob_at_end
from diagnostics.model import Failure, SourceRef

#: The phrase every line this path takes holds (a C-speed test before the expression).
MARKER = b"You are not authorized to perform this operation. Encoded authorization failure"
_CLIENT_ERROR = "botocore.exceptions.ClientError: "
# Linear: fullmatched from one position; literals between single bounded
# classes, none of which can match the literal that follows it.
_EC2_BLOB = re.compile(
    r"(?:botocore\.exceptions\.ClientError: )?"
    r"An error occurred \(UnauthorizedOperation\) when calling the "
    r"(?P<op>[A-Z][A-Za-z0-9]{0,99}) operation: You are not authorized to perform this "
    r"operation\. Encoded authorization failure message: "
    # A whole blob: MIN_WHOLE_BLOB to MAX_BLOB - 1 characters (a longer one is cut).
    r"(?P<blob>[A-Za-z0-9_-]{64,10239})"
)


def cheap_blob_line(
    path: str,
    raw: bytes,
    *,
    line_no: int,
    offset: int,
    next_line: Callable[[], bytes | None],
    lines_above: Callable[[], list[str]],
) -> list[Failure] | None:
    """The failure on this one line read by the cheap path, or None to decline.

    ``next_line`` gives the following line (None when nothing follows or it is
    over-long; it may raise ``NeedMore`` just as the tolerant reader would).
    """
    if MARKER not in raw:
        return None
    line, bad = normalize_line(raw)
    if bad or looks_like_decoded_key_line(line):
        return None
    text = unescaped(strip_known_prefix(line.rstrip(" \t")))
    m = _EC2_BLOB.fullmatch(text)
    if m is None or m.group("op") in SERVICE_OPS or not _next_stays_apart(next_line, line, text):
        return None
    start = len(_CLIENT_ERROR) if text.startswith(_CLIENT_ERROR) else 0
    end = len(text)
    if is_template(text, start, end, None):
        return None
    found = Found(
        "encoded",
        start,
        end,
        encoded_message=m.group("blob"),
        operation=m.group("op"),
        error_code="UnauthorizedOperation",
    )
    out: list[Failure] = []
    for f in with_code_above([found], line, lines_above):
        failure = f.to_failure(SourceRef(path, line_no, offset), excerpt_of(text, f.start, f.end))
        out.append(mark_embedded(failure, line, text[f.start : f.end]))
    return out


def _next_stays_apart(next_line: Callable[[], bytes | None], line: str, text: str) -> bool:
    """The tolerant reader would join nothing to this line: its first forward step, asked here."""
    mode = wants_next(text)
    if mode is None:
        return True
    raw = next_line()
    if raw is None:
        return True
    ntext, _bad = normalize_line(raw)
    visible = len(line.rstrip(" \t"))
    started = open_blob_at_end(text) if mode == "blob" else None
    width = visible if started is not None and started.length else 0
    if terminal_row(mode, len(line), 1, line, ntext):
        return False
    joined = join(
        mode,
        text,
        ntext,
        prev_visible=line,
        explicit=False,
        width=width,
        blob_lines=0,
        first_text=line,
    )
    return joined is None
