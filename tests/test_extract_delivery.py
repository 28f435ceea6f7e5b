"""Compact CloudTrail delivery files: only records with an errorCode are parsed, same answers.

The fast path (``extract/cloudtrail/delivery.py``) must give exactly what parsing the
whole document gives, on the fixture corpus, on the real public captures and
on every layout that must fall back to the full parse.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from diagnostics.extract import extract_path, failures_from_document
from diagnostics.extract.cloudtrail.delivery import count_newlines, error_records
from diagnostics.model import Failure, InputStats, SourceRef

HERE = Path(__file__).resolve().parent
FORMATS = HERE / "fixtures" / "formats"
EXTERNAL = HERE.parents[0].parent / "shared" / "external" / "cloudtrail"


def _record(n: int, code: str | None = None, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "arn": f"arn:aws:sts::111122223333:assumed-role/r/s{n}",
        },
        "eventTime": "2024-05-01T12:00:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "awsRegion": "us-east-1",
        "requestParameters": {"bucketName": "b", "key": f"k{n}"},
        "eventID": f"00000000-0000-0000-0000-{n:012d}",
        "recipientAccountId": "111122223333",
    }
    if code is not None:
        record["errorCode"] = code
        record["errorMessage"] = "Access Denied"
    record.update(extra)
    return record


def _compact(records: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"Records": records})


def _full_parse(document: bytes, path: str = "f.json") -> list[tuple[Any, ...]]:
    """What parsing the whole document finds: (eventID, error code, principal, resource)."""
    return [
        (f.source.event_id, f.error_code, f.principal_arn, f.resource)
        for f in failures_from_document(orjson.loads(document), SourceRef(path))
    ]


def _scan(tmp_path: Path, document: bytes) -> tuple[list[Failure], InputStats]:
    path = tmp_path / "delivery.json"
    path.write_bytes(document)
    stats = InputStats()
    return list(extract_path(path, stats)), stats


def _documents() -> list[Path]:
    roots = [FORMATS] + ([EXTERNAL] if EXTERNAL.is_dir() else [])
    out = []
    for root in roots:
        for path in sorted(root.rglob("*.json*")):
            if path.is_file() and not path.name.endswith(".expected.json"):
                out.append(path)
    return out


def test_fast_path_matches_full_parse_on_every_real_document() -> None:
    """Every fixture and public capture gives the same failures sliced as parsed whole."""
    compact = 0
    for path in _documents():
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        located = error_records(data)
        if located is None:
            continue
        compact += 1
        found = list(extract_path(path, InputStats()))
        assert [(f.source.event_id, f.error_code, f.principal_arn, f.resource) for f in found] == (
            _full_parse(data, str(path))
        ), path
    assert compact >= 4  # the fixtures' delivery files, at least, take the fast path


def test_fast_path_reports_line_and_offset_like_the_full_parse(tmp_path: Path) -> None:
    """A delivery file of several compact lines gives each failure its own line and line start."""
    first = _compact([_record(1), _record(2, "AccessDenied")])
    document = first + b"\n"
    located = error_records(document)
    assert located is not None and [(line, off) for line, off, _ in located] == [(1, 0)]
    failures, stats = _scan(tmp_path, document)
    assert [(f.source.line, f.source.offset, f.source.event_id) for f in failures] == [
        (1, 0, "00000000-0000-0000-0000-000000000002")
    ]
    assert stats.lines == 1 and stats.bytes_read == len(document)


def test_only_authorization_codes_become_failures(tmp_path: Path) -> None:
    """Records with other error codes are parsed, not reported; records without one are skipped."""
    records = [
        _record(1),
        _record(2, "ThrottlingException"),
        _record(3, "AccessDenied"),
        _record(4),
    ]
    failures, _ = _scan(tmp_path, _compact(records))
    assert [f.source.event_id for f in failures] == ["00000000-0000-0000-0000-000000000003"]
    assert failures[0].principal_arn == "arn:aws:sts::111122223333:assumed-role/r/s3"


def test_records_with_other_error_codes_are_not_even_parsed() -> None:
    """Only records with an authorization error code are sliced out and parsed."""
    records = [_record(1, "ThrottlingException"), _record(2, "AccessDenied"), _record(3)]
    records += [_record(4, "Client.UnauthorizedOperation"), _record(5, "NoSuchBucketPolicy")]
    found = error_records(_compact(records))
    assert found is not None
    assert [r["eventID"][-1] for _, _, r in found] == ["2", "4"]
    assert [(line, offset) for line, offset, _ in found] == [(1, 0), (1, 0)]


def test_no_error_records_means_no_parse_and_no_failure(tmp_path: Path) -> None:
    """A delivery without any errorCode yields nothing and is still counted as read."""
    document = _compact([_record(n) for n in range(50)])
    assert error_records(document) == []
    failures, stats = _scan(tmp_path, document)
    assert failures == [] and stats.bytes_read == len(document) and stats.lines == 1


@pytest.mark.parametrize(
    "document",
    [
        # pretty-printed (aws s3 cp | jq .)
        json.dumps({"Records": [_record(1, "AccessDenied")]}, indent=2).encode(),
        # spaces around the key's colon
        _compact([_record(1)])[:-2] + b',{"eventVersion":"1.08","errorCode" : "AccessDenied",'
        b'"eventSource":"s3.amazonaws.com","eventName":"GetObject"}]}',
        # a record nested inside another record (a slice that does not parse)
        _compact(
            [_record(1, "AccessDenied", requestParameters={"inner": [_record(9), _record(8)]})]
        ),
        # records separated by a newline
        b'{"Records":['
        + orjson.dumps(_record(1, "AccessDenied"))
        + b",\n"
        + orjson.dumps(_record(2, "AccessDenied"))
        + b"]}",
        # a record whose keys do not start with eventVersion
        b'{"Records":[{"eventSource":"s3.amazonaws.com","eventName":"GetObject",'
        b'"eventVersion":"1.08","errorCode":"AccessDenied"}]}',
    ],
    ids=["pretty", "spaced-key", "nested-record", "newline-separated", "other-key-order"],
)
def test_other_layouts_fall_back_to_the_full_parse(tmp_path: Path, document: bytes) -> None:
    """Layouts that are not AWS's compact one are parsed whole and lose no failure."""
    assert error_records(document) is None
    failures, _ = _scan(tmp_path, document)
    assert [(f.source.event_id, f.error_code) for f in failures] == [
        (e, c) for e, c, _, _ in _full_parse(document)
    ]
    assert failures


def test_a_broken_record_with_an_error_is_not_guessed_at(tmp_path: Path) -> None:
    """A corrupt record holding errorCode sends the file the old way: read as text, not sliced."""
    good = _compact([_record(1, "AccessDenied")])
    broken = good.replace(b'"eventName":"GetObject"', b'"eventName":"GetObject"""')
    assert error_records(broken) is None
    failures, stats = _scan(tmp_path, broken)
    assert all(f.kind != "cloudtrail" for f in failures)  # not valid JSON: no record parsed
    assert stats.bytes_read == len(broken)


def test_count_newlines_agrees_with_bytes_count() -> None:
    """The newline count shortcut gives bytes.count's answer with and without newlines."""
    for data in (b"", b"\n", b"x", b"x\n", b"\nx", b"a\nb\n", b"a\n\n", b"{}" * 100 + b"\n"):
        assert count_newlines(data) == data.count(b"\n"), data


def test_blank_padding_and_a_bom_are_accepted_but_bounded(tmp_path: Path) -> None:
    """A BOM and a few blank bytes keep the fast path; a long blank run goes the slow way."""
    body = _compact([_record(1, "AccessDenied")])
    located = error_records(b"\xef\xbb\xbf \n" + body + b"\n\n")
    assert located is not None and len(located) == 1
    padded = b" " * 4096 + body
    assert error_records(padded) is None
    failures, _ = _scan(tmp_path, padded)
    assert [f.error_code for f in failures] == ["AccessDenied"]
