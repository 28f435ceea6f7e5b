"""Builders for GetRequestAuthorizationDetails answers, in the iam-toolbox model's shapes.

Every dict these return validates against botocore's
``GetRequestAuthorizationDetailsOutput`` (tests/test_troubleshooter_details.py
checks that), so the tests exercise what the real API returns.
"""

from __future__ import annotations

import copy
from typing import Any

from diagnostics.troubleshooter.details import POLICY_CHECKS

#: checkType -> the PolicyInfo type its policies have.
POLICY_TYPE_OF = {check: policy for policy, check in POLICY_CHECKS.items()}

ACCOUNT = "111122223333"
MGMT = "999988887777"
ORG = "o-a1b2c3d4e5"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ci-deployer"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-deployer/GitHubActions"
ROOT = f"arn:aws:organizations::{MGMT}:root/{ORG}/r-ab12"
OU = f"arn:aws:organizations::{MGMT}:ou/{ORG}/ou-ab12-workloads"
ACCOUNT_TARGET = f"arn:aws:organizations::{MGMT}:account/{ORG}/{ACCOUNT}"
FULL_ACCESS = "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess"
REGION_SCP = f"arn:aws:organizations::{MGMT}:policy/{ORG}/service_control_policy/p-7q3x9k2m"
ALLOW_LIST_SCP = f"arn:aws:organizations::{MGMT}:policy/{ORG}/service_control_policy/p-allowlst"
IDENTITY = f"arn:aws:iam::{ACCOUNT}:policy/ci-deployer-ec2"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/ci-boundary"
BUCKET = "arn:aws:s3:::ci-artifacts"

FULL_ACCESS_DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}
IDENTITY_DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Run", "Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"}],
}
REGION_DOC = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyOutsideRegions",
            "Effect": "Deny",
            "NotAction": ["iam:*", "sts:*", "organizations:*"],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}},
        }
    ],
}


def statement(sid: str, effect: str) -> dict[str, Any]:
    return {"sid": sid, "evaluatedEffect": effect}


def check(
    check_type: str,
    effect: str,
    target: str | None = None,
    matched: list[tuple[str, list[dict[str, Any]]]] | None = None,
    types: list[str] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"checkType": check_type, "evaluatedEffect": effect}
    if target:
        out["targetArn"] = target
    out["relevantPolicyTypes"] = types or [POLICY_TYPE_OF[check_type]]
    out["matchedPolicies"] = [
        {"uri": uri, "matchedStatements": statements} for uri, statements in matched or []
    ]
    return out


def scp_allow(target: str = ROOT) -> dict[str, Any]:
    return check(
        "SERVICE_CONTROL_POLICY",
        "ALLOW",
        target,
        [(FULL_ACCESS, [statement("FullAWSAccess", "ALLOW")])],
    )


def evaluation(
    action: str,
    resource: str,
    effect: str,
    checks: list[dict[str, Any]],
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "action": action,
        "resource": resource,
        "context": context or {},
        "evaluatedEffect": effect,
        "checks": checks,
    }


def policy(uri: str, kind: str, *attached: str, inline: bool = False) -> dict[str, Any]:
    return {
        "type": kind,
        "inline": inline,
        "uri": uri,
        "attachedTo": [{"arn": a} for a in attached],
    }


def answer(
    evaluations: list[dict[str, Any]],
    policies: list[dict[str, Any]],
    region: str = "eu-west-1",
    documents: dict[str, Any] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "requestContext": {
            "aws:PrincipalArn": ROLE,
            "aws:PrincipalAccount": ACCOUNT,
            "aws:RequestedRegion": region,
        },
        "evaluations": evaluations,
        "policies": policies,
    }
    if documents is not None:
        out["documents"] = copy.deepcopy(documents)  # tests edit them; keep the constants intact
    return out


def scp_explicit_deny(with_documents: bool = True) -> dict[str, Any]:
    """s3:CreateBucket in ap-south-1 denied by a region SCP attached at an OU."""
    ev = evaluation(
        "s3:CreateBucket",
        BUCKET,
        "EXPLICIT_DENY",
        [
            scp_allow(ROOT),
            check(
                "SERVICE_CONTROL_POLICY",
                "EXPLICIT_DENY",
                OU,
                [
                    (REGION_SCP, [statement("DenyOutsideRegions", "DENY")]),
                    (FULL_ACCESS, [statement("FullAWSAccess", "ALLOW")]),
                ],
            ),
            scp_allow(ACCOUNT_TARGET),
            check("PRINCIPAL", "ALLOW", ROLE, [(IDENTITY, [statement("Buckets", "ALLOW")])]),
        ],
    )
    policies = [
        policy(FULL_ACCESS, "SERVICE_CONTROL_POLICY", ROOT, OU, ACCOUNT_TARGET),
        policy(REGION_SCP, "SERVICE_CONTROL_POLICY", OU),
        policy(IDENTITY, "IDENTITY_BASED_POLICY", ROLE),
    ]
    docs = {REGION_SCP: REGION_DOC, FULL_ACCESS: FULL_ACCESS_DOC} if with_documents else None
    return answer([ev], policies, region="ap-south-1", documents=docs)


def run_instances(extra_checks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """RunInstances allowed, its iam:PassRole and ec2:CreateTags evaluations implicitly denied."""
    instance = f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/*"
    denied = [scp_allow(ROOT), check("PRINCIPAL", "IMPLICIT_DENY", ROLE), *(extra_checks or [])]
    evaluations = [
        evaluation(
            "ec2:RunInstances",
            instance,
            "ALLOW",
            [
                scp_allow(ROOT),
                check("PRINCIPAL", "ALLOW", ROLE, [(IDENTITY, [statement("Run", "ALLOW")])]),
            ],
        ),
        evaluation(
            "iam:PassRole",
            f"arn:aws:iam::{ACCOUNT}:role/app-instance",
            "IMPLICIT_DENY",
            denied,
            {"iam:PassedToService": "ec2.amazonaws.com"},
        ),
        evaluation(
            "ec2:CreateTags",
            instance,
            "IMPLICIT_DENY",
            denied,
            {"ec2:CreateAction": "RunInstances", "aws:TagKeys": ["Name"]},
        ),
    ]
    policies = [
        policy(FULL_ACCESS, "SERVICE_CONTROL_POLICY", ROOT),
        policy(IDENTITY, "IDENTITY_BASED_POLICY", ROLE),
        policy(BOUNDARY, "PERMISSIONS_BOUNDARY", ROLE),
        policy(ALLOW_LIST_SCP, "SERVICE_CONTROL_POLICY", OU),
    ]
    return answer(
        evaluations, policies, documents={FULL_ACCESS: FULL_ACCESS_DOC, IDENTITY: IDENTITY_DOC}
    )
