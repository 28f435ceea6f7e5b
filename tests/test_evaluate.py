"""The built-in IAM evaluator: actions, resources, principals, conditions."""

from __future__ import annotations

from typing import Any

import pytest

from diagnostics.model import RequestContext
from diagnostics.policy import evaluate, principal_matches, statement_allows, statements_of

ACCOUNT = "111122223333"
ROLE_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/ci-42"
USER = f"arn:aws:iam::{ACCOUNT}:user/dev/alice"


def ctx(
    action: str = "s3:GetObject",
    resource: str | None = "arn:aws:s3:::bucket/key.txt",
    principal: str | None = USER,
    region: str | None = "us-east-1",
    **conditions: Any,
) -> RequestContext:
    conds = {
        k.replace("__", ":").replace("_SLASH_", "/"): tuple(v if isinstance(v, list) else [v])
        for k, v in conditions.items()
    }
    return RequestContext(
        action=action,
        resource=resource,
        principal_arn=principal,
        account_id=ACCOUNT,
        region=region,
        conditions=conds,
    )


def allow(**fields: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", **fields}


@pytest.mark.parametrize(
    ("action_field", "expected"),
    [
        ({"Action": "s3:GetObject"}, True),
        ({"Action": "S3:getobject"}, True),
        ({"Action": ["ec2:*", "s3:Get*"]}, True),
        ({"Action": "s3:Get?bject"}, True),
        ({"Action": "*"}, True),
        ({"Action": "s3:Put*"}, False),
        ({"Action": "s3:GetObjectAcl"}, False),
        ({"NotAction": "s3:Put*"}, True),
        ({"NotAction": ["s3:*"]}, False),
        ({}, False),
    ],
)
def test_action_matching(action_field: dict[str, Any], expected: bool) -> None:
    """Actions match case-insensitively with * and ?; NotAction inverts; no Action, no match."""
    statement = {"Effect": "Allow", "Resource": "*", **action_field}
    assert statement_allows(statement, ctx()) is expected


@pytest.mark.parametrize(
    ("resource_field", "resource", "expected"),
    [
        ({"Resource": "*"}, "arn:aws:s3:::bucket/key.txt", True),
        ({"Resource": "*"}, None, True),
        ({"Resource": "arn:aws:s3:::bucket/*"}, "arn:aws:s3:::bucket/a/b", True),
        ({"Resource": "arn:aws:s3:::bucket"}, "arn:aws:s3:::bucket/a", False),
        ({"Resource": "arn:aws:s3:::Bucket/*"}, "arn:aws:s3:::bucket/a", False),
        ({"Resource": "arn:aws:s3:::bucket/?"}, "arn:aws:s3:::bucket/a", True),
        ({"Resource": "arn:aws:s3:::bucket/*"}, None, False),
        # Wildcards stay within one ARN segment: * in the region cannot eat the account.
        ({"Resource": "arn:aws:ec2:*:1:*"}, "arn:aws:ec2:us-east-1:2:instance/x:1:y", False),
        ({"Resource": "arn:aws:ec2:*:*:instance/*"}, "arn:aws:ec2:us-east-1:1:instance/i-1", True),
        ({"Resource": "arn:*:ec2:*:*:*"}, "arn:aws:ec2:us-east-1:1:instance/i-1", True),
        (
            {"Resource": "arn:aws:logs:*:*:log-group:/aws/*:*"},
            "arn:aws:logs:eu-west-1:1:log-group:/aws/x:log-stream:s",
            True,
        ),
        ({"NotResource": "arn:aws:s3:::secret/*"}, "arn:aws:s3:::bucket/a", True),
        ({"NotResource": "arn:aws:s3:::bucket/*"}, "arn:aws:s3:::bucket/a", False),
        ({"NotResource": "arn:aws:s3:::bucket/*"}, None, False),
        ({"Resource": "arn:aws:s3:::home/${aws:username}/*"}, "arn:aws:s3:::home/alice/x", True),
        ({"Resource": "arn:aws:s3:::home/${aws:username}/*"}, "arn:aws:s3:::home/bob/x", False),
        ({"Resource": "arn:aws:s3:::a/${aws:nokey}/*"}, "arn:aws:s3:::a/x/y", False),
        ({"Resource": "arn:aws:s3:::a/${aws:nokey, 'x'}/*"}, "arn:aws:s3:::a/x/y", True),
        ({"Resource": "arn:aws:s3:::a/${*}"}, "arn:aws:s3:::a/*", True),
        ({"Resource": "arn:aws:s3:::a/${*}"}, "arn:aws:s3:::a/b", False),
        ({}, "arn:aws:s3:::bucket/a", False),
    ],
)
def test_resource_matching(
    resource_field: dict[str, Any], resource: str | None, expected: bool
) -> None:
    """Resources match per ARN segment, case-sensitively, with policy variables resolved."""
    statement = {"Effect": "Allow", "Action": "s3:GetObject", **resource_field}
    assert statement_allows(statement, ctx(resource=resource)) is expected


def test_explicit_deny_wins_and_implicit_deny_is_default() -> None:
    """A matching Deny beats any Allow; with no Allow the decision is implicit_deny."""
    deny = {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::bucket/*"}
    assert evaluate([allow(), deny], ctx()) == "explicit_deny"
    assert evaluate([allow()], ctx()) == "allow"
    assert evaluate([], ctx()) == "implicit_deny"
    assert evaluate([deny], ctx(resource="arn:aws:s3:::other/x")) == "implicit_deny"
    assert evaluate([{"Effect": "Maybe", "Action": "*", "Resource": "*"}], ctx()) == (
        "implicit_deny"
    )
    assert statement_allows(deny, ctx()) is False


@pytest.mark.parametrize(
    ("block", "caller", "expected"),
    [
        ("*", ROLE_SESSION, True),
        ({"AWS": "*"}, ROLE_SESSION, True),
        ({"AWS": ACCOUNT}, ROLE_SESSION, True),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, USER, True),
        ({"AWS": "444455556666"}, USER, False),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:role/Deploy"}, ROLE_SESSION, True),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:role/ci/Deploy"}, ROLE_SESSION, True),
        (
            {"AWS": f"arn:aws:iam::{ACCOUNT}:role/Deploy"},
            f"arn:aws:iam::{ACCOUNT}:role/Deploy",
            True,
        ),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:role/Other"}, ROLE_SESSION, False),
        ({"AWS": "arn:aws:iam::444455556666:role/Deploy"}, ROLE_SESSION, False),
        ({"AWS": [USER]}, USER, True),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:user/bob"}, USER, False),
        ({"AWS": ROLE_SESSION}, ROLE_SESSION, True),
        ({"AWS": f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/other"}, ROLE_SESSION, False),
        ({"Service": "ec2.amazonaws.com"}, "ec2.amazonaws.com", True),
        ({"Service": ["lambda.amazonaws.com"]}, "ec2.amazonaws.com", False),
        ({"AWS": ACCOUNT}, None, False),
        ("nonsense", USER, False),
    ],
)
def test_principal_matches(block: Any, caller: str | None, expected: bool) -> None:
    """Principal elements name accounts, roles (with their sessions), users and services."""
    assert principal_matches(block, caller) is expected


def test_trust_policy_statement_with_principal() -> None:
    """A trust policy statement allows AssumeRole only for the principal it names."""
    trust = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/Deploy"},
        "Action": "sts:AssumeRole",
    }
    # Trust policies have no Resource element; the role being assumed is implied.
    target = f"arn:aws:iam::{ACCOUNT}:role/Target"
    request = ctx(action="sts:AssumeRole", resource=target, principal=ROLE_SESSION)
    assert statement_allows(trust, request)
    assert not statement_allows(trust, ctx(action="sts:AssumeRole", resource=target))
    not_principal = {**trust, "Effect": "Deny", "NotPrincipal": {"AWS": USER}}
    del not_principal["Principal"]
    assert evaluate([not_principal], ctx(action="sts:AssumeRole", principal=USER)) == (
        "implicit_deny"
    )


def test_statements_of_accepts_single_statement_objects() -> None:
    """A document's Statement may be one object or a list."""
    assert statements_of({"Statement": allow()}) == [allow()]
    assert statements_of({"Statement": [allow(), "junk"]}) == [allow()]
    assert statements_of({}) == []
