"""One printed occurrence gives one failure; repeats give repeats; the public API's contracts."""

from __future__ import annotations

import json

import pytest

from diagnostics.extract import (
    Extractor,
    extract_text,
    failure_from_record,
    failures_from_document,
)
from diagnostics.model import SourceRef

ROLE = "arn:aws:sts::123456789012:assumed-role/ci/run-1"
BLOB = "-Zx9" + "Qm9vLWJhci1iYXpfcXV4" * 40
MODERN = (
    "You are not authorized to perform this operation. User: "
    f"{ROLE} is not authorized to perform: ec2:RunInstances on resource: "
    "arn:aws:ec2:us-east-1:123456789012:instance/* because no identity-based policy allows the "
    f"ec2:RunInstances action. Encoded authorization failure message: {BLOB}"
)
RECORD = {
    "eventVersion": "1.09",
    "eventSource": "ec2.amazonaws.com",
    "eventName": "RunInstances",
    "awsRegion": "us-east-1",
    "eventTime": "2024-06-11T08:21:44Z",
    "eventID": "4f1b7c7e-0000-4000-8000-000000000001",
    "recipientAccountId": "123456789012",
    "userIdentity": {"type": "AssumedRole", "arn": ROLE, "accountId": "123456789012"},
    "errorCode": "Client.UnauthorizedOperation",
    "errorMessage": MODERN,
}


def test_plain_sentence_and_blob_are_one_failure() -> None:
    """The modern EC2 message (sentence and blob together) is one encoded failure with both."""
    found = extract_text(
        f"An error occurred (UnauthorizedOperation) when calling the "
        f"RunInstances operation: {MODERN}\n"
    )
    assert len(found) == 1
    f = found[0]
    assert (f.kind, f.encoded_message, f.principal_arn) == ("encoded", BLOB, ROLE)
    assert (f.action, f.policy_type, f.explicit_deny) == ("ec2:RunInstances", "identity", False)


def test_message_in_json_log_line_is_one_failure() -> None:
    """A JSON log line holding the message once gives one failure, not a plain and an encoded."""
    line = json.dumps({"level": "error", "msg": "launch failed", "error": MODERN})
    assert [f.kind for f in extract_text(line)] == ["encoded"]


def test_cloudtrail_line_is_only_a_cloudtrail_failure() -> None:
    """A CloudTrail record on a JSON line is reported once, as cloudtrail, not again as text."""
    found = extract_text(json.dumps(RECORD))
    assert [f.kind for f in found] == ["cloudtrail"]
    f = found[0]
    assert (f.encoded_message, f.action, f.event_source) == (
        BLOB,
        "ec2:RunInstances",
        "ec2.amazonaws.com",
    )
    assert f.source.event_id == RECORD["eventID"]


def test_repeated_printing_gives_repeats_with_one_key() -> None:
    """The same failure printed three times gives three failures that share one dedup key."""
    found = extract_text(f"try 1: {MODERN}\nlater: {MODERN}\nsummary: {MODERN}\n")
    assert len(found) == 3
    assert len({f.dedup_key() for f in found}) == 1
    assert [f.source.line for f in found] == [1, 2, 3]


def test_decoded_message_is_parsed_and_enriches() -> None:
    """An inline decoded message becomes a decoded failure with its context filled in."""
    decoded = {
        "allowed": False,
        "explicitDeny": True,
        "matchedStatements": {"items": []},
        "failures": {"items": []},
        "context": {
            "principal": {"id": "AROAEXAMPLE:ci", "arn": ROLE},
            "action": "s3:PutObject",
            "resource": "arn:aws:s3:::bucket/key",
            "conditions": {"items": []},
        },
    }
    found = extract_text(f"Authorization failure message: '{json.dumps(decoded)}'\n")
    assert len(found) == 1
    f = found[0]
    assert f.kind == "decoded"
    assert f.decoded is not None and f.decoded["explicitDeny"] is True
    assert (f.principal_arn, f.action, f.resource, f.explicit_deny) == (
        ROLE,
        "s3:PutObject",
        "arn:aws:s3:::bucket/key",
        True,
    )


def test_failure_from_record_rejects_successes_and_other_errors() -> None:
    """Successful records and non-authorization errors are not failures."""
    source = SourceRef("trail.json")
    ok = {k: v for k, v in RECORD.items() if k not in ("errorCode", "errorMessage")}
    assert failure_from_record(ok, source) is None
    throttled = {**RECORD, "errorCode": "ThrottlingException", "errorMessage": "Rate exceeded"}
    assert failure_from_record(throttled, source) is None
    failure = failure_from_record(RECORD, source)
    assert failure is not None
    assert (failure.operation, failure.region, failure.account_id) == (
        "RunInstances",
        "us-east-1",
        "123456789012",
    )


def test_failures_from_document_unwraps_every_envelope() -> None:
    """Records, arrays, EventBridge, lookup-events and CloudWatch Logs envelopes all unwrap."""
    source = SourceRef("doc.json")
    envelopes = [
        {"Records": [RECORD]},
        [RECORD],
        RECORD,
        {"detail-type": "AWS API Call via CloudTrail", "detail": RECORD},
        {"Events": [{"CloudTrailEvent": json.dumps(RECORD)}]},
        {"messageType": "DATA_MESSAGE", "logEvents": [{"message": json.dumps(RECORD)}]},
    ]
    for envelope in envelopes:
        found = list(failures_from_document(envelope, source))
        assert [f.source.event_id for f in found] == [RECORD["eventID"]], envelope


def test_extractor_rejects_use_after_finish() -> None:
    """Feeding after finish() is a programming error and says so."""
    ext = Extractor("x.log")
    ext.finish()
    with pytest.raises(RuntimeError, match="finish"):
        ext.feed(b"more\n")
