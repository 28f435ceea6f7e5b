"""Streams: stdin and pipes report failures as they arrive; JSON lines are never buffered whole."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import orjson
import pytest

from diagnostics.extract import Extractor, extract_stream, extract_text
from diagnostics.model import Failure, InputStats

PLAIN = (
    b"$ aws s3 ls\naws: [ERROR]: An error occurred (AccessDenied) when calling the ListBuckets "
    b"operation: User: arn:aws:iam::123456789012:user/deploy is not authorized to perform: "
    b"s3:ListAllMyBuckets because no identity-based policy allows the s3:ListAllMyBuckets action\n"
)
BLOB = "Qk9ORV9fX18tLS0t" * 40
KARPENTER = (
    b'{"level":"INFO","time":"2024-06-11T08:21:43.901Z","message":"created nodeclaim"}\n'
    + orjson.dumps(
        {
            "level": "ERROR",
            "message": "Reconciler error",
            "error": "creating instance, UnauthorizedOperation: You are not authorized to perform "
            "this operation. User: arn:aws:sts::123456789012:assumed-role/Karpenter/1718 is not "
            "authorized to perform: ec2:CreateFleet on resource: "
            "arn:aws:ec2:us-west-2:123456789012:fleet/* because no identity-based policy allows "
            f"the ec2:CreateFleet action. Encoded authorization failure message: {BLOB}\n"
            "\tstatus code: 403",
        }
    )
    + b"\n"
)
RECORDS = orjson.dumps(
    {
        "Records": [
            {
                "eventVersion": "1.09",
                "eventSource": "s3.amazonaws.com",
                "eventName": name,
                "eventID": f"id-{name}",
                "errorCode": "AccessDenied",
                "errorMessage": "Access Denied",
            }
            for name in ("ListBuckets", "GetObject", "PutObject")
        ]
    }
)


def _next_within(gen: Iterator[Failure], seconds: float) -> Failure | None:
    """The generator's next failure, or None if it did not come in time."""
    box: list[Failure] = []
    worker = threading.Thread(target=lambda: box.extend([next(gen)]), daemon=True)
    worker.start()
    worker.join(seconds)
    return box[0] if box else None


@pytest.mark.timeout(30)
@pytest.mark.parametrize("payload", [PLAIN, KARPENTER], ids=["cli-text", "json-lines"])
def test_pipe_reports_before_end_of_input(payload: bytes) -> None:
    """A failure written to a still-open pipe comes out without waiting for EOF."""
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb") as reader, os.fdopen(write_fd, "wb", buffering=0) as writer:
        gen = extract_stream(reader, "-", InputStats())
        writer.write(payload + b"still running...\n")
        failure = _next_within(gen, 10.0)
        assert failure is not None, "the failure waited for the end of the stream"
        assert failure.source.path == "-"
        writer.close()
        assert list(gen) == []


def test_json_lines_file_is_not_a_document() -> None:
    """A log of JSON lines that are not CloudTrail is searched line by line with line numbers."""
    failures = extract_text(KARPENTER.decode() * 3)
    assert [f.source.line for f in failures] == [2, 4, 6]


def test_single_line_cloudtrail_document() -> None:
    """A whole Records document on one line is parsed as a document, not as a long line."""
    stats = InputStats()
    failures = extract_text(RECORDS.decode(), "delivery.json", stats)
    assert [f.kind for f in failures] == ["cloudtrail"] * 3
    assert stats.long_lines == 0


def test_safe_offset_holds_back_an_unfinished_blob() -> None:
    """safe_offset stays before a blob that may continue, and covers everything after finish()."""
    pieces = [BLOB[i : i + 76] for i in range(0, len(BLOB), 76)]
    data = ("deploy failed:\nEncoded authorization failure message:\n" + "\n".join(pieces)).encode()
    data += b"\n\nnext step: decode it\n"
    cut = data.index(b"\n\n")  # the blob's last piece is complete, its end is not yet known
    ext = Extractor("app.log")
    assert ext.feed(data[:cut]) == []
    assert ext.safe_offset <= data.index(b"Encoded")
    rest = ext.feed(data[cut:]) + ext.finish()
    assert [f.encoded_message for f in rest] == [BLOB]
    assert rest[0].source.offset == data.index(b"Encoded")
    assert ext.safe_offset == len(data)


def test_offsets_and_lines_are_exact() -> None:
    """Each failure's offset is the byte offset of its line's start, line numbers count from 1."""
    data = b"one\r\ntwo\n" + PLAIN + PLAIN
    failures = extract_text(data.decode())
    starts = [i + 1 for i, b in enumerate(data) if b == 10]
    assert [(f.source.line, f.source.offset) for f in failures] == [
        (4, starts[2]),
        (6, starts[4]),
    ]


def test_document_records_point_at_their_lines() -> None:
    """In a pretty-printed CloudTrail array, each failure names the line of its record's eventID."""
    records = orjson.loads(RECORDS)["Records"]
    text = orjson.dumps(records, option=orjson.OPT_INDENT_2).decode() + "\n"
    failures = extract_text(text, "array.json")
    lines = text.splitlines(keepends=True)
    for failure in failures:
        line = failure.source.line
        assert line is not None
        assert f'"eventID": "{failure.source.event_id}"' in lines[line - 1]
        assert failure.source.offset == sum(len(x) for x in lines[: line - 1])
    assert len(failures) == 3
