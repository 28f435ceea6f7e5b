"""Fields the scan knows are filled: S3 bare denials, unprefixed decoded actions, AWSAccount."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

from diagnostics.diagnose.pipeline import infer_action
from diagnostics.model import Failure, SourceRef
from diagnostics.rules import RuleSet
from diagnostics.run.scan import scan
from diagnostics.testing.sts_samples import decoded_message


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return RuleSet.bundled()


def _scan(tmp_path: Path, text: str, ruleset: RuleSet) -> list[dict[str, object]]:
    path = tmp_path / "input.log"
    path.write_text(text, encoding="utf-8")
    _, diagnoses = scan([str(path)], ruleset=ruleset, err=io.StringIO())
    return [d.to_json() for d in diagnoses]


@pytest.mark.parametrize(
    ("operation", "action"),
    [
        ("ListObjectsV2", "s3:ListBucket"),
        ("GetObject", "s3:GetObject"),
        ("HeadBucket", "s3:ListBucket"),
        ("PutObject", "s3:PutObject"),
    ],
)
def test_bare_s3_access_denied_gets_the_action_of_its_operation(
    tmp_path: Path, ruleset: RuleSet, operation: str, action: str
) -> None:
    """`aws s3 ls` printing only 'Access Denied' still reports the IAM action S3 checked."""
    line = (
        f"An error occurred (AccessDenied) when calling the {operation} operation: Access Denied\n"
    )
    [found] = _scan(tmp_path, line, ruleset)
    assert found["action"] == action
    assert found["operation"] == operation
    assert found["principal_arn"] is None
    explanation = found["findings"][0]["explanation"]  # type: ignore[index]
    assert f"checks for {operation} is {action}" in explanation


def test_access_denied_exception_on_a_like_named_operation_is_not_called_s3() -> None:
    """Lightsail's CreateBucket refused with AccessDeniedException is not guessed to be S3."""
    failure = Failure(
        kind="plain",
        source=SourceRef("-"),
        error_code="AccessDeniedException",
        operation="CreateBucket",
    )
    assert infer_action(failure).action is None
    iam = Failure(
        kind="plain", source=SourceRef("-"), error_code="AccessDenied", operation="GetUser"
    )
    # IAM's: of the usual services with a GetUser call, only IAM refuses with AccessDenied.
    assert infer_action(iam).action == "iam:GetUser"
    tagged = Failure(
        kind="plain", source=SourceRef("-"), error_code="AccessDenied", operation="TagResource"
    )
    assert infer_action(tagged).action is None  # every service's: no guess


def _decoded_line(**kwargs: object) -> str:
    message = decoded_message(**kwargs)  # type: ignore[arg-type]
    return orjson.dumps({"DecodedMessage": orjson.dumps(message).decode()}).decode() + "\n"


@pytest.mark.parametrize(
    "given",
    [
        # aws:Service names the service (EC2 writes the bare operation name).
        (
            "RunInstances",
            "instance/*",
            {"aws:Service": "ec2", "aws:Type": "instance"},
            "ec2:RunInstances",
        ),
        # Without aws:Service the resource ARN's service qualifies it, in the dataset's spelling.
        ("createvolume", "arn:aws:ec2:us-east-1:111122223333:volume/*", None, "ec2:CreateVolume"),
        # Nothing names the service: kept as written rather than guessed.
        ("RunInstances", "*", None, "RunInstances"),
    ],
)
def test_decoded_action_without_prefix_gets_its_service(
    tmp_path: Path, ruleset: RuleSet, given: tuple[str, str, dict[str, str] | None, str]
) -> None:
    """A decoded action 'RunInstances' is reported as ec2:RunInstances when the message says EC2."""
    action, resource, conditions, reported = given
    text = _decoded_line(
        action=action,
        resource=resource,
        principal_arn="arn:aws:iam::111122223333:user/builder",
        conditions=conditions,
    )
    [found] = _scan(tmp_path, text, ruleset)
    assert found["kind"] == "decoded"
    assert found["action"] == reported


def _record(identity: dict[str, object]) -> dict[str, object]:
    return {
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": "2024-05-01T10:00:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9",
        "errorCode": "AccessDenied",
        "errorMessage": "Access Denied",
        "requestParameters": {"bucketName": "shared-data", "key": "in/file.json"},
        "resources": [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::shared-data/in/file.json"}],
        "eventID": "0b2c3d4e-0000-4000-8000-00000000000" + str(len(identity)),
        "recipientAccountId": "444455556666",
    }


def test_cloudtrail_awsaccount_caller_reports_the_callers_account(
    tmp_path: Path, ruleset: RuleSet
) -> None:
    """An AWSAccount caller's record gives the caller's account, not the bucket owner's."""
    caller = {"type": "AWSAccount", "principalId": "AIDAEXAMPLE", "accountId": "111122223333"}
    own = {
        "type": "AssumedRole",
        "arn": "arn:aws:sts::444455556666:assumed-role/reader/x",
        "accountId": "444455556666",
        "principalId": "AROAEXAMPLE:x",
    }
    text = orjson.dumps({"Records": [_record(caller), _record(own)]}).decode()
    path = tmp_path / "111122223333_CloudTrail_us-east-1_20240501T1200Z_records.json"
    path.write_text(text, encoding="utf-8")
    _, diagnoses = scan([str(path)], ruleset=ruleset, err=io.StringIO())
    accounts = [d.failure.account_id for d in diagnoses]
    assert accounts == ["111122223333", "444455556666"]
    assert diagnoses[0].failure.action == "s3:GetObject"
