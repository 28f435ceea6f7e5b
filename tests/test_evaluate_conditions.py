"""Condition operators, written from AWS's documented examples.

Cases come from the IAM User Guide pages "IAM JSON policy elements: Condition
operators", "Multivalued context keys" (ForAllValues / ForAnyValue) and
"IAM policy elements: Variables and tags"; the values are our own.
"""

from __future__ import annotations

from typing import Any

import pytest

from diagnostics.model import RequestContext
from diagnostics.policy import evaluate, request_keys, statement_allows

ACCOUNT = "111122223333"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"


def request(principal: str = USER, region: str | None = "us-east-1", **keys: Any) -> RequestContext:
    return RequestContext(
        action="s3:ListBucket",
        resource="arn:aws:s3:::bucket",
        principal_arn=principal,
        account_id=ACCOUNT,
        region=region,
        conditions={k: tuple(v) if isinstance(v, list) else (v,) for k, v in keys.items()},
    )


def allowed(condition: dict[str, Any], ctx: RequestContext) -> bool:
    statement = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}
    return statement_allows({**statement, "Condition": condition}, ctx)


CASES: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    # String operators
    (
        "StringEquals hit",
        {"StringEquals": {"aws:PrincipalTag/job": "admin"}},
        {"aws:PrincipalTag/job": "admin"},
        True,
    ),
    (
        "StringEquals is case-sensitive",
        {"StringEquals": {"aws:PrincipalTag/job": "admin"}},
        {"aws:PrincipalTag/job": "Admin"},
        False,
    ),
    (
        "condition keys are case-insensitive",
        {"StringEquals": {"AWS:principaltag/JOB": "admin"}},
        {"aws:PrincipalTag/job": "admin"},
        True,
    ),
    ("StringEquals missing key", {"StringEquals": {"aws:PrincipalTag/job": "admin"}}, {}, False),
    (
        "StringNotEquals missing key is true",
        {"StringNotEquals": {"aws:PrincipalTag/job": "x"}},
        {},
        True,
    ),
    (
        "StringNotEquals differs",
        {"StringNotEquals": {"aws:PrincipalTag/job": ["x", "y"]}},
        {"aws:PrincipalTag/job": "z"},
        True,
    ),
    (
        "StringNotEquals equal",
        {"StringNotEquals": {"aws:PrincipalTag/job": ["x", "y"]}},
        {"aws:PrincipalTag/job": "y"},
        False,
    ),
    (
        "StringEqualsIgnoreCase",
        {"StringEqualsIgnoreCase": {"aws:PrincipalTag/d": "SALES"}},
        {"aws:PrincipalTag/d": "sales"},
        True,
    ),
    (
        "StringNotEqualsIgnoreCase",
        {"StringNotEqualsIgnoreCase": {"aws:PrincipalTag/d": "SALES"}},
        {"aws:PrincipalTag/d": "Sales"},
        False,
    ),
    (
        "StringLike with variable (s3:prefix home example)",
        {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/*"]}},
        {"s3:prefix": "home/alice/docs"},
        True,
    ),
    (
        "StringLike other user's home",
        {"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}},
        {"s3:prefix": "home/bob/docs"},
        False,
    ),
    (
        "StringLike ? wildcard",
        {"StringLike": {"s3:prefix": "logs-?"}},
        {"s3:prefix": "logs-1"},
        True,
    ),
    (
        "StringNotLike",
        {"StringNotLike": {"s3:prefix": "private/*"}},
        {"s3:prefix": "public/x"},
        True,
    ),
    (
        "StringNotLike matches",
        {"StringNotLike": {"s3:prefix": "private/*"}},
        {"s3:prefix": "private/x"},
        False,
    ),
    # Numeric
    (
        "NumericLessThanEquals s3:max-keys",
        {"NumericLessThanEquals": {"s3:max-keys": "10"}},
        {"s3:max-keys": "10"},
        True,
    ),
    (
        "NumericLessThanEquals exceeded",
        {"NumericLessThanEquals": {"s3:max-keys": "10"}},
        {"s3:max-keys": "11"},
        False,
    ),
    ("NumericEquals decimal", {"NumericEquals": {"k:n": "1.0"}}, {"k:n": "1"}, True),
    ("NumericNotEquals", {"NumericNotEquals": {"k:n": "5"}}, {"k:n": "6"}, True),
    ("NumericLessThan", {"NumericLessThan": {"k:n": "5"}}, {"k:n": "5"}, False),
    ("NumericGreaterThan", {"NumericGreaterThan": {"k:n": "5"}}, {"k:n": "6"}, True),
    ("NumericGreaterThanEquals", {"NumericGreaterThanEquals": {"k:n": "5"}}, {"k:n": "5"}, True),
    ("Numeric garbage never matches", {"NumericEquals": {"k:n": "5"}}, {"k:n": "five"}, False),
    # Date
    (
        "DateGreaterThan aws:TokenIssueTime",
        {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}},
        {"aws:TokenIssueTime": "2024-05-01T10:00:00Z"},
        True,
    ),
    (
        "DateLessThan",
        {"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
        {"aws:CurrentTime": "2024-05-01T10:00:00Z"},
        False,
    ),
    (
        "Date epoch seconds",
        {"DateLessThanEquals": {"aws:EpochTime": "1700000000"}},
        {"aws:EpochTime": "2023-11-14T22:13:20Z"},
        True,
    ),
    (
        "DateEquals",
        {"DateEquals": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}},
        {"aws:CurrentTime": "2024-01-01T00:00:00+00:00"},
        True,
    ),
    (
        "DateNotEquals",
        {"DateNotEquals": {"aws:CurrentTime": "2024-01-01"}},
        {"aws:CurrentTime": "2024-01-02"},
        True,
    ),
    (
        "DateGreaterThanEquals",
        {"DateGreaterThanEquals": {"aws:CurrentTime": "2024-01-02"}},
        {"aws:CurrentTime": "2024-01-01"},
        False,
    ),
    # Bool
    (
        "Bool aws:SecureTransport",
        {"Bool": {"aws:SecureTransport": "true"}},
        {"aws:SecureTransport": "true"},
        True,
    ),
    (
        "Bool JSON true, request False",
        {"Bool": {"aws:MultiFactorAuthPresent": True}},
        {"aws:MultiFactorAuthPresent": "False"},
        False,
    ),
    ("Bool missing MFA key", {"Bool": {"aws:MultiFactorAuthPresent": "true"}}, {}, False),
    (
        "BoolIfExists missing MFA key",
        {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        {},
        True,
    ),
    # IP addresses
    (
        "IpAddress in CIDR",
        {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        {"aws:SourceIp": "203.0.113.42"},
        True,
    ),
    (
        "IpAddress outside",
        {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}},
        {"aws:SourceIp": "198.51.100.7"},
        False,
    ),
    (
        "IpAddress single address",
        {"IpAddress": {"aws:SourceIp": "198.51.100.7"}},
        {"aws:SourceIp": "198.51.100.7"},
        True,
    ),
    (
        "IpAddress IPv6",
        {"IpAddress": {"aws:SourceIp": "2001:DB8:1234:5678::/64"}},
        {"aws:SourceIp": "2001:db8:1234:5678::1"},
        True,
    ),
    (
        "NotIpAddress outside",
        {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        {"aws:SourceIp": "198.51.100.7"},
        True,
    ),
    (
        "NotIpAddress inside",
        {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        {"aws:SourceIp": "203.0.113.9"},
        False,
    ),
    (
        "IpAddress garbage",
        {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        {"aws:SourceIp": "vpc-internal"},
        False,
    ),
    # ARN operators
    (
        "ArnLike aws:SourceArn",
        {"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:111122223333:trail/*"}},
        {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/main"},
        True,
    ),
    (
        "ArnEquals other account",
        {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:*:111122223333:t"}},
        {"aws:SourceArn": "arn:aws:sns:us-east-1:444455556666:t"},
        False,
    ),
    ("ArnNotLike", {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Admin*"}}, {}, True),
    ("ArnNotEquals missing key", {"ArnNotEquals": {"aws:SourceArn": "arn:aws:s3:::b"}}, {}, True),
    # Null
    ("Null true: key absent", {"Null": {"aws:TokenIssueTime": "true"}}, {}, True),
    (
        "Null true: key present",
        {"Null": {"aws:TokenIssueTime": "true"}},
        {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"},
        False,
    ),
    (
        "Null false: key present",
        {"Null": {"aws:TokenIssueTime": "false"}},
        {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"},
        True,
    ),
    # IfExists
    (
        "StringLikeIfExists present ok",
        {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*"]}},
        {"ec2:InstanceType": "t2.micro"},
        True,
    ),
    (
        "StringLikeIfExists present bad",
        {"StringLikeIfExists": {"ec2:InstanceType": ["t2.*"]}},
        {"ec2:InstanceType": "m5.large"},
        False,
    ),
    ("StringLikeIfExists absent", {"StringLikeIfExists": {"ec2:InstanceType": ["t2.*"]}}, {}, True),
    # Set operators (Multivalued context keys page)
    (
        "ForAllValues subset",
        {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
        {"aws:TagKeys": ["environment"]},
        True,
    ),
    (
        "ForAllValues extra key",
        {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
        {"aws:TagKeys": ["environment", "owner"]},
        False,
    ),
    (
        "ForAllValues empty is true",
        {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment"]}},
        {},
        True,
    ),
    (
        "ForAnyValue overlap",
        {"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
        {"aws:TagKeys": ["owner", "environment"]},
        True,
    ),
    (
        "ForAnyValue none",
        {"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment"]}},
        {"aws:TagKeys": ["owner"]},
        False,
    ),
    (
        "ForAnyValue empty is false",
        {"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment"]}},
        {},
        False,
    ),
    (
        "ForAnyValue IfExists empty",
        {"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": ["x"]}},
        {},
        True,
    ),
    (
        "ForAllValues StringNotEquals",
        {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}},
        {"aws:TagKeys": ["a", "b"]},
        True,
    ),
    (
        "ForAnyValue StringNotLike",
        {"ForAnyValue:StringNotLike": {"aws:TagKeys": ["a*"]}},
        {"aws:TagKeys": ["ab", "b"]},
        True,
    ),
    (
        "ForAllValues StringLike",
        {"ForAllValues:StringLike": {"aws:TagKeys": ["env*"]}},
        {"aws:TagKeys": ["env", "envx"]},
        True,
    ),
    # Several keys AND, several values OR
    ("keys are ANDed", {"StringEquals": {"a:x": "1", "a:y": "2"}}, {"a:x": "1", "a:y": "3"}, False),
    (
        "operators are ANDed",
        {"StringEquals": {"a:x": "1"}, "Bool": {"a:b": "true"}},
        {"a:x": "1", "a:b": "true"},
        True,
    ),
    ("values are ORed", {"StringEquals": {"a:x": ["1", "2", "3"]}}, {"a:x": "3"}, True),
    (
        "unresolvable variable matches nothing",
        {"StringEquals": {"a:x": "${aws:nothing}"}},
        {"a:x": "v"},
        False,
    ),
    ("variable with default", {"StringEquals": {"a:x": "${aws:nothing, 'v'}"}}, {"a:x": "v"}, True),
    (
        "BinaryEquals",
        {"BinaryEquals": {"a:bin": "QmluYXJ5VmFsdWU="}},
        {"a:bin": "QmluYXJ5VmFsdWU="},
        True,
    ),
    ("unknown operator matches nothing", {"StringSortOf": {"a:x": "1"}}, {"a:x": "1"}, False),
    (
        "bad qualifier matches nothing",
        {"ForSomeValues:StringEquals": {"a:x": "1"}},
        {"a:x": "1"},
        False,
    ),
    ("operator body must be an object", {"StringEquals": "a:x"}, {"a:x": "1"}, False),
]


@pytest.mark.parametrize(
    ("name", "condition", "keys", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_documented_condition_cases(
    name: str, condition: dict[str, Any], keys: dict[str, Any], expected: bool
) -> None:
    """Each documented operator case gives the decision the IAM User Guide describes."""
    assert allowed(condition, request(**keys)) is expected, name


def test_derived_keys_for_role_sessions_and_region() -> None:
    """aws:PrincipalArn of a session is its role; region and account come from the request."""
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/ci"
    keys = request_keys(request(principal=session, region="eu-west-1"))
    assert keys["aws:principalarn"] == (f"arn:aws:iam::{ACCOUNT}:role/Deploy",)
    assert keys["aws:principalaccount"] == (ACCOUNT,)
    assert keys["aws:requestedregion"] == ("eu-west-1",)
    assert "aws:username" not in keys
    # Keys from the decoded message win over derived ones.
    assert request_keys(request(**{"aws:RequestedRegion": "us-west-2"}))["aws:requestedregion"] == (
        "us-west-2",
    )


def test_region_restriction_deny_from_requested_region() -> None:
    """A region-restriction SCP-style Deny denies a request made in another region."""
    deny = {
        "Effect": "Deny",
        "NotAction": ["iam:*", "sts:*"],
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}},
    }
    everything = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    assert evaluate([everything, deny], request(region="us-east-1")) == "explicit_deny"
    assert evaluate([everything, deny], request(region="eu-west-1")) == "allow"


def test_principal_arn_condition_matches_role_for_session() -> None:
    """ArnLike on aws:PrincipalArn with a role pattern covers that role's sessions."""
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/ci"
    condition = {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/Dep*"}}
    assert allowed(condition, request(principal=session))
    assert not allowed(condition, request(principal=USER))
