"""The CloudTrail reader carries the caller's role, the calling service and a named volume."""

from __future__ import annotations

from typing import Any

from diagnostics.extract.cloudtrail.records import failure_from_record
from diagnostics.model import SourceRef

ACCOUNT = "111122223333"
KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/ingest-role/s1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/apps/ingest-role"
VOLUME = "vol-0123456789abcdef0"


def kms_record(**identity: Any) -> dict[str, Any]:
    """A KMS Decrypt that S3 made for a role session and KMS refused."""
    return {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "arn": SESSION,
            "accountId": ACCOUNT,
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "arn": ROLE, "accountId": ACCOUNT}
            },
            "invokedBy": "s3.amazonaws.com",
            **identity,
        },
        "eventSource": "kms.amazonaws.com",
        "eventName": "Decrypt",
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "s3.amazonaws.com",
        "errorCode": "AccessDenied",
        "errorMessage": (
            f"User: {SESSION} is not authorized to perform: kms:Decrypt on resource: {KEY} "
            "because no identity-based policy allows the kms:Decrypt action"
        ),
        "eventID": "e1",
        "resources": [{"ARN": KEY, "type": "AWS::KMS::Key"}],
        "recipientAccountId": ACCOUNT,
    }


def snapshot_record() -> dict[str, Any]:
    """A refused CreateSnapshot whose request names the volume."""
    return {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "arn": f"arn:aws:iam::{ACCOUNT}:user/ops",
            "accountId": ACCOUNT,
        },
        "eventSource": "ec2.amazonaws.com",
        "eventName": "CreateSnapshot",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "errorCode": "Client.UnauthorizedOperation",
        "errorMessage": "You are not authorized to perform this operation.",
        "requestParameters": {"volumeId": VOLUME, "description": "nightly"},
        "eventID": "e2",
        "recipientAccountId": ACCOUNT,
    }


def _conditions(record: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    failure = failure_from_record(record, SourceRef("trail.json"))
    assert failure is not None
    return dict(failure.conditions)


def test_a_service_call_to_kms_carries_kms_via_service() -> None:
    """KMS refused a call S3 made: the failure states kms:ViaService s3.<region>.amazonaws.com."""
    assert _conditions(kms_record())["kms:ViaService"] == ("s3.eu-west-1.amazonaws.com",)


def test_a_direct_or_internal_call_gets_no_via_service() -> None:
    """No invokedBy, or a value that is no service endpoint, states no kms:ViaService."""
    direct = kms_record()
    del direct["userIdentity"]["invokedBy"]
    assert "kms:ViaService" not in _conditions(direct)
    assert "kms:ViaService" not in _conditions(kms_record(invokedBy="AWS Internal"))
    # A service acting as itself is no principal's forward access session.
    assert "kms:ViaService" not in _conditions(kms_record(type="AWSService"))


def test_the_session_issuer_role_with_its_path_is_the_principal_arn() -> None:
    """sessionIssuer.arn (role/apps/ingest-role) becomes aws:PrincipalArn, path kept."""
    assert _conditions(kms_record())["aws:PrincipalArn"] == (ROLE,)
    user = kms_record(type="IAMUser", arn=f"arn:aws:iam::{ACCOUNT}:user/ops")
    del user["userIdentity"]["sessionContext"]
    assert "aws:PrincipalArn" not in _conditions(user)


def test_create_snapshot_names_its_volume_as_the_parent_volume() -> None:
    """CreateSnapshot's requestParameters.volumeId becomes the volume ARN (ec2:ParentVolume)."""
    assert _conditions(snapshot_record())["ec2:ParentVolume"] == (
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:volume/{VOLUME}",
    )
    odd = snapshot_record()
    odd["requestParameters"]["volumeId"] = "vol-../../x"
    assert "ec2:ParentVolume" not in _conditions(odd)


def test_a_placeholder_account_in_the_caller_arn_is_kept_as_text_not_as_an_arn() -> None:
    """A record whose ARNs say ``{AWS_ACCOUNT_ID}`` gives the caller and resource as written."""
    user = "arn:aws:iam::{AWS_ACCOUNT_ID}:user/denied"
    target = "arn:aws:iam::{AWS_ACCOUNT_ID}:user/new-user"
    record = {
        "eventVersion": "1.11",
        "userIdentity": {"type": "IAMUser", "arn": user, "accountId": "{AWS_ACCOUNT_ID}"},
        "eventSource": "iam.amazonaws.com",
        "eventName": "CreateUser",
        "errorCode": "AccessDenied",
        "errorMessage": f"User: {user} is not authorized to perform: iam:CreateUser on resource:"
        f" {target} because no identity-based policy allows the iam:CreateUser action",
    }
    f = failure_from_record(record, SourceRef("trail.json", 1))
    assert f is not None
    assert (f.principal_arn, f.principal_text, f.account_id) == (None, user, None)
    assert (f.resource, f.resource_text) == (None, target)
