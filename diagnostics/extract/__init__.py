"""Find authorization failures in bytes: logs, CloudTrail documents, files.

Four kinds (DESIGN.md): ``encoded`` (an encoded authorization failure
message), ``plain`` (``User: ... is not authorized to perform: ...``),
``cloudtrail`` (a record whose errorCode is an authorization refusal) and
``decoded`` (an already decoded message inside text).

``Extractor`` is the incremental core (tailing, stdin); ``extract_stream`` and
``extract_path`` add CloudTrail documents, gzip and binary detection;
``iter_input_files`` walks directories.  Bad input never raises: it is counted
in ``InputStats`` and described in ``InputStats.warnings``.
"""

from __future__ import annotations

import io

from diagnostics.extract.cloudtrail.records import failure_from_record, failures_from_document
from diagnostics.extract.inputs.files import extract_path, extract_stream
from diagnostics.extract.inputs.markers import MARKERS
from diagnostics.extract.inputs.scanner import Extractor
from diagnostics.extract.inputs.walk import iter_input_files
from diagnostics.model import Failure, InputStats


def extract_text(text: str, path: str = "-", stats: InputStats | None = None) -> list[Failure]:
    """Every failure in ``text`` (a whole input: an unterminated last line is not a cut)."""
    if text and not text.endswith("\n"):
        text += "\n"
    data = text.encode("utf-8", errors="surrogateescape")
    return list(
        extract_stream(io.BytesIO(data), path, stats if stats is not None else InputStats())
    )


__all__ = [
    "Extractor",
    "extract_text",
    "extract_stream",
    "extract_path",
    "iter_input_files",
    "failures_from_document",
    "failure_from_record",
    "MARKERS",
]
