"""Tailing: complete failures come out as soon as their line does; ``flush()`` decides held ones."""

from __future__ import annotations

from diagnostics.extract import Extractor

PLAIN = (
    "2024-05-01T12:00:00Z app ERROR User: arn:aws:iam::111122223333:user/alice is not "
    "authorized to perform: s3:GetObject on resource: arn:aws:s3:::bucket/obj because no "
    "identity-based policy allows the s3:GetObject action\n"
)
BLOB = "AbCdEfGh0123456789-_" * 30


def test_complete_sentence_waits_one_line_for_an_authorization_id() -> None:
    """A finished sentence may be followed by its "Go to ... authorization id" line: one line
    of lookahead, or flush() at idle, reports it."""
    ex = Extractor("app.log")
    assert ex.feed(PLAIN.encode()) == []
    found = ex.feed(b"next unrelated line\n")
    assert [(f.action, f.authorization_id) for f in found] == [("s3:GetObject", None)]
    assert ex.safe_offset == len(PLAIN) + len("next unrelated line\n")
    ex = Extractor("app.log")
    assert ex.feed(PLAIN.encode()) == []
    assert [f.action for f in ex.flush()] == ["s3:GetObject"]


def test_sentence_with_its_authorization_id_is_reported_at_once() -> None:
    """A sentence whose line ends with the authorization ID needs no lookahead."""
    line = PLAIN.rstrip("\n") + (
        ". Go to https://us-east-1.console.aws.amazon.com/iam/home?region=us-east-1"
        "#/authorization-details/abc123 for complete details, or call the "
        "GetRequestAuthorizationDetails API with the following authorization id: abc123\n"
    )
    ex = Extractor("app.log")
    found = ex.feed(line.encode())
    assert [(f.action, f.authorization_id) for f in found] == [("s3:GetObject", "abc123")]
    assert ex.safe_offset == len(line)


def test_blob_at_line_end_is_held_until_the_next_line() -> None:
    """A blob ending a line may go on on the next: the record waits, safe_offset stays before it."""
    line = f"UnauthorizedOperation: Encoded authorization failure message: {BLOB}\n".encode()
    ex = Extractor("app.log")
    assert ex.feed(line) == []
    assert ex.safe_offset == 0
    found = ex.feed(b"next unrelated line\n")
    assert [f.encoded_message for f in found] == [BLOB]
    assert not found[0].truncated


def test_flush_reports_a_held_record_without_marking_it_truncated() -> None:
    """At idle a tailer calls flush(): the held blob is reported whole; later lines start afresh."""
    line = f"UnauthorizedOperation: Encoded authorization failure message: {BLOB}\n".encode()
    ex = Extractor("app.log")
    assert ex.feed(line) == []
    found = ex.flush()
    assert [(f.encoded_message, f.truncated) for f in found] == [(BLOB, False)]
    assert ex.safe_offset == len(line)
    assert ex.feed(b"later line\n") == []
    assert ex.finish() == []


def test_flush_keeps_an_unterminated_line_buffered() -> None:
    """flush() never decides a line whose newline has not arrived."""
    ex = Extractor("app.log")
    assert ex.feed(PLAIN.encode()[:-40]) == []
    assert ex.flush() == []
    # Once the line is whole it waits for one line (its authorization ID may follow).
    assert ex.feed(PLAIN.encode()[-40:]) == []
    assert [f.action for f in ex.flush()] == ["s3:GetObject"]


def test_equal_width_sentences_on_consecutive_lines_are_not_one_wrapped_message() -> None:
    """Two finished sentences of the same width are two failures, not a terminal's hard wrap
    (the first waits only for the second, which may have been its ID suffix)."""
    first = PLAIN.replace("bucket/obj", "bucket/ob1")
    second = PLAIN.replace("bucket/obj", "bucket/ob2")
    assert len(first) == len(second)
    ex = Extractor("app.log")
    found = ex.feed((first + second).encode())
    assert [f.resource for f in found] == ["arn:aws:s3:::bucket/ob1"]
    assert [f.resource for f in ex.flush()] == ["arn:aws:s3:::bucket/ob2"]
    assert ex.feed(b"more\n") == [] and ex.finish() == []
