"""Who a fix grants to and whose policy it edits: role paths, bucket policies, trust actions.

A session ARN (``assumed-role/NAME/session``) drops the role's path, but the
input often states it elsewhere: CloudTrail's ``sessionIssuer.arn``, a decoded
message's or Access Troubleshooter's ``aws:PrincipalArn``.  A Principal must
name the role by its exact ARN, so the path is kept wherever it is known.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from diagnostics.iam.arns import parse_arn, principal_for_policy

#: Actions a role's trust policy decides (IAM User Guide, "Role trust policy";
#: STS API reference): a fix for them goes in the trust policy, without Resource.
TRUST_ACTIONS = frozenset(
    {
        "sts:assumerole",
        "sts:assumerolewithsaml",
        "sts:assumerolewithwebidentity",
        "sts:tagsession",
        "sts:setsourceidentity",
        "sts:setcontext",
    }
)

#: Context keys that state the role behind a session with its path.
ROLE_ARN_KEYS = ("aws:PrincipalArn", "sessionIssuer.arn")

# Linear: anchored; the bucket stops at the first '/'.
_S3_OBJECT = re.compile(r"^(arn:aws[a-z-]*:s3:::[^/]+)/.*$")


def is_trust_action(action: str | None) -> bool:
    """True for the STS actions a role's trust policy allows."""
    return bool(action) and str(action).lower() in TRUST_ACTIONS


def policy_holder(resource: str | None) -> str | None:
    """The ARN whose resource policy governs ``resource``: an S3 object's bucket.

    A bucket policy belongs to the bucket (``arn:aws:s3:::bucket``) even when
    the request names an object; every other resource holds its own policy.
    """
    if not resource:
        return resource
    m = _S3_OBJECT.match(resource)
    return m.group(1) if m else resource


def _values(conditions: Mapping[str, tuple[str, ...]], key: str) -> tuple[str, ...]:
    for k, v in conditions.items():
        if k.lower() == key.lower():
            return v
    return ()


def stated_role(
    principal_arn: str | None, conditions: Mapping[str, tuple[str, ...]] | None = None
) -> str | None:
    """The role ARN, path included, that the input states for session ``principal_arn``.

    ``assumed-role/ingest-role/s1`` with ``aws:PrincipalArn`` (or
    ``sessionIssuer.arn``) ``role/apps/ingest-role`` in the same account gives
    that ARN; None when no such key names the session's role.
    """
    if not principal_arn:
        return None
    parsed = parse_arn(principal_for_policy(principal_arn))
    if parsed is None or parsed.service != "iam" or not parsed.resource.startswith("role/"):
        return None
    name = parsed.resource.rsplit("/", 1)[-1]
    for key in ROLE_ARN_KEYS:
        for value in _values(conditions or {}, key):
            stated = parse_arn(value)
            if (
                stated is not None
                and stated.service == "iam"
                and stated.account == parsed.account
                and stated.resource.startswith("role/")
                and stated.resource.rsplit("/", 1)[-1] == name
            ):
                return value
    return None


def role_with_path(
    principal_arn: str | None, conditions: Mapping[str, tuple[str, ...]] | None = None
) -> str | None:
    """The ARN whose identity policy governs ``principal_arn``, its role path kept.

    The role ``stated_role`` finds, else the path-less role of
    ``principal_for_policy``.
    """
    if not principal_arn:
        return None
    return stated_role(principal_arn, conditions) or principal_for_policy(principal_arn)
