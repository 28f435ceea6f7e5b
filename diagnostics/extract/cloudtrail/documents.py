"""A whole JSON input tried as one CloudTrail document (delivery file, envelope, array).

A compact delivery file has only its records with an ``errorCode`` parsed
(``delivery.py``); any other document is parsed whole with orjson, and each
failure is given the line and offset of its record's ``eventID``.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace

import orjson

from diagnostics.extract.cloudtrail.delivery import count_newlines, error_records
from diagnostics.extract.cloudtrail.records import (
    failure_from_record,
    failures_from_document,
    looks_like_cloudtrail,
)
from diagnostics.model import Failure, InputStats, SourceRef


def try_document(document: bytes, path: str, stats: InputStats) -> Generator[Failure, None, bool]:
    """Parse ``document``; returns True when it was CloudTrail (and is done).

    A compact delivery file has only its records with an ``errorCode`` parsed
    (``delivery.py``); any other document is parsed whole.
    """
    records = error_records(document)
    if records is not None:
        stats.bytes_read += len(document)
        stats.lines += count_newlines(document) + (0 if document.endswith(b"\n") else 1)
        for line, offset, record in records:
            failure = failure_from_record(record, SourceRef(path, line, offset))
            if failure is not None:
                yield failure
        return True
    try:
        obj = orjson.loads(document)
    except orjson.JSONDecodeError as exc:
        if _too_deep(exc):
            stats.rejected += 1
            stats.warnings.append(
                f"{path}: JSON nested deeper than 1024 levels cannot be parsed; "
                "searched as text lines instead"
            )
        return False
    if not looks_like_cloudtrail(obj):
        return False
    stats.bytes_read += len(document)
    stats.lines += document.count(b"\n") + (0 if document.endswith(b"\n") else 1)
    bad = _shape_problem(obj)
    if bad:
        stats.rejected += 1
        stats.warnings.append(f"{path}: valid JSON but not a CloudTrail document: {bad}")
    locate = _Locator(document)
    for failure in failures_from_document(obj, SourceRef(path)):
        yield locate(failure)
    return True


class _Locator:
    """Line and line-start offset of each record's eventID in a parsed document.

    Records come out in document order, so one forward pass finds them all.
    """

    def __init__(self, document: bytes) -> None:
        self.document = document
        self.pos = 0
        self.line = 1

    def __call__(self, failure: Failure) -> Failure:
        event_id = failure.source.event_id
        if not event_id:
            return failure
        needle = orjson.dumps(event_id)
        hit = self.document.find(needle, self.pos)
        if hit == -1:
            return failure
        self.line += self.document.count(b"\n", self.pos, hit)
        self.pos = hit
        start = self.document.rfind(b"\n", 0, hit) + 1
        source = replace(failure.source, line=self.line, offset=start)
        return replace(failure, source=source)


def _too_deep(exc: orjson.JSONDecodeError) -> bool:
    """orjson refuses nesting past 1024 levels ("depth limit exceeded")."""
    text = str(exc).lower()
    return "depth limit" in text or "recursion" in text


def _shape_problem(obj: object) -> str | None:
    if isinstance(obj, dict) and "Records" in obj:
        records = obj["Records"]
        if not isinstance(records, list):
            return f'"Records" is {type(records).__name__}, expected a list of records'
        odd = sum(1 for r in records if not isinstance(r, dict))
        if odd:
            return f'{odd} of {len(records)} items in "Records" are not objects and were skipped'
    return None
