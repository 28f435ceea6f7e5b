"""Fixes land on the policy the user edits: trust, bucket, role path, permission set (issue 24)."""

from __future__ import annotations

from typing import Any

import toolbox_shapes as shapes

from diagnostics.model import Failure, SourceRef
from diagnostics.policy.grammar import problems
from diagnostics.request.context import build_context
from diagnostics.rules import RuleSet
from diagnostics.troubleshooter import judge_details

CALLER_ROLE = "arn:aws:iam::444455556666:role/deploy/ci-runner"
CALLER_SESSION = "arn:aws:sts::444455556666:assumed-role/ci-runner/job-1"
TARGET_ROLE = f"arn:aws:iam::{shapes.ACCOUNT}:role/ci-deployer"


def _cross_account(action: str, resource: str) -> dict[str, Any]:
    ev = shapes.evaluation(
        action,
        resource,
        "IMPLICIT_DENY",
        [
            shapes.scp_allow(),
            shapes.check("PRINCIPAL", "ALLOW", CALLER_ROLE),
            shapes.check("RESOURCE", "IMPLICIT_DENY", resource),
        ],
    )
    raw = shapes.answer([ev], [])
    raw["requestContext"]["aws:PrincipalArn"] = CALLER_ROLE
    raw["requestContext"]["aws:PrincipalAccount"] = "444455556666"
    return raw


def _judge(raw: dict[str, Any]) -> tuple[Any, ...]:
    failure = Failure(kind="plain", source=SourceRef("app.log"), principal_arn=CALLER_SESSION)
    verdict = judge_details(failure, raw)
    assert verdict is not None
    return verdict


def test_cross_account_assume_role_is_fixed_in_the_trust_policy_without_resource() -> None:
    """Access Troubleshooter's AssumeRole denial gets a valid trust-policy fix, proved alone."""
    _, findings, verification = _judge(_cross_account("sts:AssumeRole", TARGET_ROLE))
    (fix,) = findings[0].fixes
    assert (fix.target, fix.applies_to) == ("trust", TARGET_ROLE)
    (statement,) = fix.statements
    assert "Resource" not in statement and statement["Principal"] == {"AWS": CALLER_ROLE}
    assert problems(fix) == []
    assert [e.status for e in verification] == ["allows"]


def test_a_cross_account_object_fix_goes_in_the_bucket_policy() -> None:
    """A GetObject resource-policy fix names the bucket, whose policy it is, and is proved."""
    obj = f"{shapes.BUCKET}/in/file.json"
    _, findings, verification = _judge(_cross_account("s3:GetObject", obj))
    (fix,) = findings[0].fixes
    assert (fix.target, fix.applies_to) == ("resource", shapes.BUCKET)
    assert fix.statements[0]["Resource"] == obj
    assert (
        shapes.BUCKET in findings[0].explanation
        and f"policy of {obj}" not in findings[0].explanation
    )
    assert [e.status for e in verification] == ["allows"]


def _rules(failure: Failure, decoded: dict[str, Any] | None = None) -> Any:
    return RuleSet.bundled().diagnose(failure, build_context(failure, decoded))


def test_the_role_path_the_input_states_is_kept_in_the_fix_and_the_principal() -> None:
    """A session whose context states role/apps/ingest-role gets fixes on that ARN, path kept."""
    session = "arn:aws:sts::111122223333:assumed-role/ingest-role/s1"
    pathed = "arn:aws:iam::111122223333:role/apps/ingest-role"
    identity = Failure(
        kind="plain",
        source=SourceRef("-"),
        principal_arn=session,
        account_id="111122223333",
        action="sqs:SendMessage",
        resource="arn:aws:sqs:us-east-1:111122223333:jobs",
        policy_type="identity",
        explicit_deny=False,
        conditions=(("aws:PrincipalArn", (pathed,)),),
    )
    (finding,) = _rules(identity)
    assert [f.applies_to for f in finding.fixes] == [pathed]
    trust = Failure(
        kind="plain",
        source=SourceRef("-"),
        principal_arn=session,
        account_id="111122223333",
        action="sts:AssumeRole",
        resource="arn:aws:iam::222233334444:role/target",
        policy_type="resource",
        explicit_deny=False,
        conditions=(("aws:PrincipalArn", (pathed,)),),
    )
    principals = [
        st.get("Principal")
        for finding in _rules(trust)
        for fix in finding.fixes
        for st in fix.statements
        if "Principal" in st
    ]
    assert principals and all(p == {"AWS": pathed} for p in principals)


def test_an_identity_center_role_gets_a_permission_set_fix_and_its_steps() -> None:
    """An AWSReservedSSO_ role's fix targets the permission set with the sso-admin step."""
    failure = Failure(
        kind="plain",
        source=SourceRef("-"),
        principal_arn="arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_DataEng_0123456789abcdef/alice",
        account_id="111122223333",
        action="s3:ListBucket",
        resource="arn:aws:s3:::data",
        policy_type="identity",
        explicit_deny=False,
    )
    findings = _rules(failure)
    fixes = [fix for f in findings for fix in f.fixes]
    assert fixes and all((f.target, f.applies_to) == ("permission_set", "DataEng") for f in fixes)
    assert "aws sso-admin put-inline-policy-to-permission-set" in findings[0].explanation


def test_a_troubleshooter_identity_center_denial_targets_the_permission_set() -> None:
    """Access Troubleshooter's reserved-role ARN (with its path) becomes a permission set fix."""
    sso_role = (
        f"arn:aws:iam::{shapes.ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
        "AWSReservedSSO_Admin_0123456789abcdef"
    )
    ev = shapes.evaluation(
        "s3:ListBucket",
        shapes.BUCKET,
        "IMPLICIT_DENY",
        [shapes.scp_allow(), shapes.check("PRINCIPAL", "IMPLICIT_DENY", sso_role)],
    )
    raw = shapes.answer([ev], [])
    raw["requestContext"]["aws:PrincipalArn"] = sso_role
    _, findings, verification = _judge(raw)
    (fix,) = findings[0].fixes
    assert (fix.target, fix.applies_to) == ("permission_set", "Admin")
    assert [e.status for e in verification] == ["allows"]
