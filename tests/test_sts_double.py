"""The loopback STS double answers real boto3 calls the way STS does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import orjson
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from diagnostics.testing import StsDouble, decoded_message, fake_blob


@pytest.fixture
def sts() -> Iterator[StsDouble]:
    with StsDouble() as double:
        yield double


def _client(double: StsDouble, key: str = "AKIAEXAMPLEBASE00001", **config: Any) -> Any:
    return boto3.client(
        "sts",
        endpoint_url=double.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key="not-a-secret",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}, **config),
    )


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response: Any = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_programmed_blob_is_decoded(sts: StsDouble) -> None:
    """A programmed blob comes back as its DecodedMessage JSON through boto3."""
    blob = fake_blob(1)
    sts.add_message(blob, decoded_message(action="ec2:RunInstances"))
    answer = _client(sts).decode_authorization_message(EncodedMessage=blob)
    assert orjson.loads(answer["DecodedMessage"])["context"]["action"] == "ec2:RunInstances"
    (call,) = sts.calls
    assert call.encoded_message == blob
    assert call.access_key_id == "AKIAEXAMPLEBASE00001"
    assert call.status == 200


def test_unknown_blob_is_invalid(sts: StsDouble) -> None:
    """A blob the double does not know gets InvalidAuthorizationMessageException, 400."""
    with pytest.raises(ClientError) as exc:
        _client(sts).decode_authorization_message(EncodedMessage=fake_blob(2))
    assert _error(exc) == ("InvalidAuthorizationMessageException", 400)


def test_default_generator_sees_the_call(sts: StsDouble) -> None:
    """The default answer function gets the blob and the signing key."""
    seen: list[str | None] = []

    def answer(blob: str, call: Any) -> dict[str, Any]:
        seen.append(call.access_key_id)
        return decoded_message(resource=f"arn:aws:s3:::b/{blob[:4]}")

    with StsDouble(default=answer) as double:
        out = _client(double, key="AKIAOTHERKEY00000001").decode_authorization_message(
            EncodedMessage="abcd-_"
        )
    assert orjson.loads(out["DecodedMessage"])["context"]["resource"] == "arn:aws:s3:::b/abcd"
    assert seen == ["AKIAOTHERKEY00000001"]


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [
        ("throttle", "Throttling", 400),
        ("access_denied", "AccessDenied", 403),
        ("invalid", "InvalidAuthorizationMessageException", 400),
        ("expired", "InvalidAuthorizationMessageException", 400),
        ("internal_error", "InternalFailure", 500),
        ("unavailable", "ServiceUnavailable", 503),
    ],
)
def test_scripted_faults_have_sts_codes_and_statuses(
    sts: StsDouble, kind: Any, code: str, status: int
) -> None:
    """Each scripted fault reaches boto3 with STS's error code and HTTP status, once."""
    blob = fake_blob(3)
    sts.add_message(blob, decoded_message())
    sts.fail_next(kind)
    client = _client(sts)
    with pytest.raises(ClientError) as exc:
        client.decode_authorization_message(EncodedMessage=blob)
    assert _error(exc) == (code, status)
    assert client.decode_authorization_message(EncodedMessage=blob)["DecodedMessage"]
    assert [c.error_code for c in sts.calls] == [code, None]


def test_access_denied_names_the_caller(sts: StsDouble) -> None:
    """AccessDenied carries the 'User: ... is not authorized' sentence STS writes."""
    sts.fail_next("access_denied")
    with pytest.raises(ClientError) as exc:
        _client(sts).decode_authorization_message(EncodedMessage="abc")
    message = exc.value.response["Error"]["Message"]
    assert message.startswith(f"User: {sts.base_identity} is not authorized to perform")
    assert "sts:DecodeAuthorizationMessage" in message


def test_fault_until_cleared_and_by_action(sts: StsDouble) -> None:
    """A fault with no count lasts until cleared and spares other actions."""
    sts.fail_next("throttle", None)
    client = _client(sts)
    for _ in range(3):
        with pytest.raises(ClientError):
            client.decode_authorization_message(EncodedMessage="abc")
    assert client.get_caller_identity()["Arn"] == sts.base_identity
    sts.clear_faults()
    with pytest.raises(ClientError) as exc:
        client.decode_authorization_message(EncodedMessage="abc")
    assert _error(exc)[0] == "InvalidAuthorizationMessageException"


def test_unknown_fault_kind_is_rejected(sts: StsDouble) -> None:
    """Programming a fault kind that does not exist fails loudly, listing the kinds."""
    with pytest.raises(ValueError, match="throttle"):
        sts.fail_next("explode")  # type: ignore[arg-type]


def test_hang_makes_the_client_time_out() -> None:
    """A hang fault holds the request until the client's read timeout fires."""
    with StsDouble(hang_seconds=10) as double:
        double.fail_next("hang")
        client = _client(double, read_timeout=0.3, connect_timeout=1)
        with pytest.raises(ReadTimeoutError):
            client.decode_authorization_message(EncodedMessage="abc")
        assert double.calls[0].error_code == "hang"


def test_too_long_blob_is_a_validation_error(sts: StsDouble) -> None:
    """A blob over 10,240 characters is refused as STS refuses it."""
    with pytest.raises(ClientError) as exc:
        _client(sts).decode_authorization_message(EncodedMessage="A" * 10_241)
    assert _error(exc) == ("ValidationError", 400)


def test_assume_role_issues_keys_tied_to_the_account(sts: StsDouble) -> None:
    """AssumeRole returns credentials whose later calls the double attributes to that account."""
    blob = fake_blob(4)
    sts.add_message(blob, decoded_message(), account="222222222222")
    base = _client(sts)
    creds = base.assume_role(
        RoleArn="arn:aws:iam::222222222222:role/Decoder", RoleSessionName="authz-diag-test"
    )["Credentials"]
    role_client = boto3.client(
        "sts",
        endpoint_url=sts.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    assert role_client.decode_authorization_message(EncodedMessage=blob)["DecodedMessage"]
    with pytest.raises(ClientError):  # the base account cannot decode another account's message
        base.decode_authorization_message(EncodedMessage=blob)
    identity = role_client.get_caller_identity()
    assert identity["Arn"] == "arn:aws:sts::222222222222:assumed-role/Decoder/authz-diag-test"
    assert sts.calls[1].account == "222222222222"


def test_denied_role_answers_access_denied(sts: StsDouble) -> None:
    """A role marked denied refuses AssumeRole with AccessDenied naming the role."""
    role = "arn:aws:iam::333333333333:role/Decoder"
    sts.deny_role(role)
    with pytest.raises(ClientError) as exc:
        _client(sts).assume_role(RoleArn=role, RoleSessionName="authz-diag-test")
    assert _error(exc) == ("AccessDenied", 403)
    assert role in exc.value.response["Error"]["Message"]


def test_endpoint_url_requires_start() -> None:
    """Asking an unstarted double for its URL explains how to start it."""
    with pytest.raises(RuntimeError, match="context manager"):
        _ = StsDouble().endpoint_url


def test_fake_blob_is_base64url_and_deterministic() -> None:
    """fake_blob gives the same base64url text for the same seed and length."""
    blob = fake_blob("x", 2000)
    assert blob == fake_blob("x", 2000) != fake_blob("y", 2000)
    assert len(blob) == 2000
    assert set(blob) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
