"""--verify: real boto3 SimulateCustomPolicy calls against the loopback IAM double."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from diagnostics.model import RequestContext
from diagnostics.policy.simulate import build_request, context_key_type, verify_with_simulator
from diagnostics.testing.iam_double import IamDouble

ACCOUNT = "111122223333"


@pytest.fixture
def iam() -> Iterator[IamDouble]:
    with IamDouble() as double:
        yield double


def session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="us-east-1"
    )


def request(**conditions: tuple[str, ...]) -> RequestContext:
    return RequestContext(
        action="s3:GetObject",
        resource="arn:aws:s3:::bucket/key",
        principal_arn=f"arn:aws:iam::{ACCOUNT}:user/alice",
        account_id=ACCOUNT,
        region="eu-west-1",
        conditions=conditions,
    )


def test_simulator_confirms_a_covering_statement(iam: IamDouble) -> None:
    """A statement that covers the request comes back allowed from a signed boto3 call."""
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}
    result = verify_with_simulator(
        [statement], request(), session=session(), endpoint_url=iam.endpoint_url
    )
    assert result.status == "allowed"
    assert result.decision == "allowed"
    (call,) = iam.calls()
    assert call.signed
    assert call.actions == ("s3:GetObject",)
    assert call.resources == ("arn:aws:s3:::bucket/key",)
    assert call.context["aws:RequestedRegion"] == ("eu-west-1",)


def test_simulator_reports_a_statement_that_misses(iam: IamDouble) -> None:
    """A statement on the wrong bucket is reported denied, with the simulator's decision."""
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::other/*"}
    result = verify_with_simulator(
        [statement], request(), session=session(), endpoint_url=iam.endpoint_url
    )
    assert result.status == "denied"
    assert result.decision == "implicitDeny"
    assert "do not cover" in result.message


def test_conditions_travel_with_their_types(iam: IamDouble) -> None:
    """Context keys reach the simulator typed, and conditions are evaluated on them."""
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "*",
        "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    }
    inside = request(**{"aws:SourceIp": ("203.0.113.5",), "aws:TagKeys": ("a", "b")})
    result = verify_with_simulator(
        [statement], inside, session=session(), endpoint_url=iam.endpoint_url
    )
    assert result.status == "allowed"
    call = iam.calls()[-1]
    assert call.context_types["aws:SourceIp"] == "ip"
    assert call.context_types["aws:TagKeys"] == "stringList"
    outside = request(**{"aws:SourceIp": ("198.51.100.1",)})
    assert (
        verify_with_simulator(
            [statement], outside, session=session(), endpoint_url=iam.endpoint_url
        ).status
        == "denied"
    )


def test_access_denied_says_what_to_do(iam: IamDouble) -> None:
    """When the caller may not simulate, the result says so and names the permission."""
    iam.deny_all = True
    result = verify_with_simulator([], request(), session=session(), endpoint_url=iam.endpoint_url)
    assert result.status == "unavailable"
    assert "iam:SimulateCustomPolicy" in result.message
    assert "without --verify" in result.message


def test_missing_credentials_say_what_to_do(
    iam: IamDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no credentials anywhere, verification is skipped with a clear message."""
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    bare = boto3.Session(region_name="us-east-1")
    result = verify_with_simulator([], request(), session=bare, endpoint_url=iam.endpoint_url)
    assert result.status == "unavailable"
    assert "no AWS credentials" in result.message
    assert iam.calls() == []


def test_unreachable_endpoint_is_unavailable() -> None:
    """A closed port gives an 'unreachable' message instead of a traceback."""
    with IamDouble() as double:
        url = double.endpoint_url

    result = verify_with_simulator([], request(), session=session(), endpoint_url=url)
    assert result.status == "unavailable"
    assert "unreachable" in result.message


def test_request_shape_and_key_types() -> None:
    """The API request carries the policy, action, resource and typed context entries."""
    kwargs = build_request(
        [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        request(**{"iam:PassedToService": ("ec2.amazonaws.com",)}),
    )
    assert kwargs["ActionNames"] == ["s3:GetObject"]
    assert '"Version": "2012-10-17"' in kwargs["PolicyInputList"][0]
    names = {e["ContextKeyName"]: e["ContextKeyType"] for e in kwargs["ContextEntries"]}
    assert names == {"iam:PassedToService": "string", "aws:RequestedRegion": "string"}
    assert context_key_type("aws:MultiFactorAuthPresent", ("true",)) == "boolean"
    assert context_key_type("aws:PrincipalTag/team", ("a", "b")) == "stringList"
    no_action = RequestContext(action=None, resource=None, principal_arn=None, account_id=None)
    assert verify_with_simulator([], no_action, session=None).status == "unavailable"
