"""Tests for the pipeline: decode results, enrichment, action inference, dedup."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from diagnostics.diagnose.pipeline import NO_DECODE, Pipeline, infer_action
from diagnostics.model import DecodeResult, Failure, SourceRef
from diagnostics.rules import RuleSet, bundled_rules_dir

DECODED = {
    "allowed": False,
    "explicitDeny": False,
    "matchedStatements": {"items": []},
    "failures": {"items": []},
    "context": {
        "principal": {"id": "AROAEXAMPLE:s", "arn": "arn:aws:sts::111122223333:assumed-role/ci/s"},
        "action": "ec2:RunInstances",
        "resource": "arn:aws:ec2:us-east-1:111122223333:instance/*",
        "conditions": {"items": []},
    },
}


class FakeDecoder:
    """Answers every blob with DECODED and records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def decode_many(self, failures: Iterable[Failure]) -> Iterator[tuple[Failure, DecodeResult]]:
        for failure in failures:
            self.asked.append(failure.encoded_message or "")
            yield failure, DecodeResult(decoded=DECODED)


def _blob_failure(blob: str = "AbC-_1") -> Failure:
    return Failure(
        kind="encoded",
        source=SourceRef("-", 1, 0),
        encoded_message=blob,
        operation="RunInstances",
        error_code="UnauthorizedOperation",
    )


def test_decoded_context_fills_the_fields_the_text_lacked() -> None:
    """A blob-only EC2 failure reports principal, action and resource from the decode."""
    decoder = FakeDecoder()
    [diag] = Pipeline(None, decoder).diagnose([_blob_failure()])
    assert decoder.asked == ["AbC-_1"]
    assert diag.failure.principal_arn == "arn:aws:sts::111122223333:assumed-role/ci/s"
    assert diag.failure.action == "ec2:RunInstances"
    assert diag.failure.account_id == "111122223333"
    assert diag.failure.region == "us-east-1"
    assert diag.failure.explicit_deny is False
    assert diag.decoded == DECODED


def test_without_a_decoder_the_error_says_how_to_decode() -> None:
    """With --no-decode an encoded failure carries a decode_error naming the flag."""
    [diag] = Pipeline(None).diagnose([_blob_failure()])
    assert diag.decode_error == NO_DECODE
    assert "--no-decode" in (diag.decode_error or "")


def test_truncated_blob_is_explained_not_decoded() -> None:
    """A blob CloudTrail cut off gets an error saying so, not a decode attempt."""
    failure = Failure(
        kind="cloudtrail", source=SourceRef("t.json"), encoded_message="Ab", truncated=True
    )
    [diag] = Pipeline(None).diagnose([failure])
    assert "cut off" in (diag.decode_error or "")


def test_operation_is_mapped_to_the_iam_action() -> None:
    """The CLI's 'when calling the RunInstances operation' becomes ec2:RunInstances."""
    assert infer_action(_blob_failure()).action == "ec2:RunInstances"
    listing = Failure(
        kind="cloudtrail",
        source=SourceRef("t.json"),
        operation="ListObjectsV2",
        event_source="s3.amazonaws.com",
    )
    assert infer_action(listing).action == "s3:ListBucket"


def test_unknown_service_leaves_action_unknown() -> None:
    """An operation with no service hint is not guessed into a wrong action."""
    failure = Failure(
        kind="plain", source=SourceRef("-"), operation="GetItem", error_code="AccessDenied"
    )
    assert infer_action(failure).action is None


def test_rules_run_on_the_enriched_failure() -> None:
    """A decoded implicit deny from an assumed role gets an identity fix aimed at the role."""
    ruleset = RuleSet.load([bundled_rules_dir()])
    [diag] = Pipeline(ruleset, FakeDecoder()).diagnose([_blob_failure()])
    fixes = [fix for finding in diag.findings for fix in finding.fixes]
    assert fixes, diag.findings
    assert any(f.applies_to == "arn:aws:iam::111122223333:role/ci" for f in fixes)


def test_cloudtrail_states_source_ip_endpoint_and_region_as_condition_keys() -> None:
    """A record's sourceIPAddress, vpcEndpointId and awsRegion reach the rules' context."""
    from diagnostics.extract import failure_from_record
    from diagnostics.request.context import build_context

    record = {
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "awsRegion": "eu-west-1",
        "eventID": "e-1",
        "errorCode": "AccessDenied",
        "errorMessage": "Access Denied",
        "sourceIPAddress": "203.0.113.7",
        "vpcEndpointId": "vpce-0abc1234",
        "userIdentity": {"arn": "arn:aws:iam::111122223333:user/bob"},
    }
    failure = failure_from_record(record, SourceRef("t.json"))
    assert failure is not None
    ctx = build_context(failure)
    assert ctx.conditions["aws:SourceIp"] == ("203.0.113.7",)
    assert ctx.conditions["aws:SourceVpce"] == ("vpce-0abc1234",)
    assert ctx.conditions["aws:RequestedRegion"] == ("eu-west-1",)
    # A service calling on the principal's behalf is not an address.
    service_call = failure_from_record(
        {**record, "sourceIPAddress": "ec2.amazonaws.com"}, SourceRef("t.json")
    )
    assert service_call is not None
    assert "aws:SourceIp" not in dict(service_call.conditions)


def test_decoded_context_overrides_what_the_record_states() -> None:
    """Where the decoded message gives a key, its value wins over the record's."""
    failure = Failure(
        kind="cloudtrail",
        source=SourceRef("t.json"),
        conditions=(("aws:SourceIp", ("203.0.113.7",)),),
    )
    decoded = {
        "allowed": False,
        "context": {
            "conditions": {
                "items": [
                    {"key": "aws:SourceIp", "values": {"items": [{"value": "198.51.100.1"}]}},
                ]
            }
        },
    }
    from diagnostics.request.context import build_context

    assert build_context(failure, decoded).conditions["aws:SourceIp"] == ("198.51.100.1",)
