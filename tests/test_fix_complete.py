"""Fixes cover the whole call and every layer's fix is checked, on every path (issue 24)."""

from __future__ import annotations

import pytest

from diagnostics.diagnose.pipeline import Pipeline
from diagnostics.diagnose.verify import check_fixes
from diagnostics.extract import extract_text
from diagnostics.iam.call_needs import required_resources
from diagnostics.model import Diagnosis, Failure, Finding, Fix, SourceRef
from diagnostics.request.context import build_context
from diagnostics.rules import RuleSet

ACCOUNT = "111122223333"
USER = f"arn:aws:iam::{ACCOUNT}:user/ops"
EC2 = f"arn:aws:ec2:us-east-1:{ACCOUNT}"


def _line(action: str, resource: str, why: str = "no identity-based policy allows") -> str:
    op = action.split(":")[1]
    return (
        f"An error occurred (UnauthorizedOperation) when calling the {op} operation: You are not "
        f"authorized to perform this operation. User: {USER} is not authorized to perform: "
        f"{action} on resource: {resource} because {why} the {action} action"
    )


def _diagnose(text: str) -> Diagnosis:
    (failure,) = extract_text(text)
    return next(Pipeline(RuleSet.bundled()).diagnose([failure]))


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("ec2:CreateFleet", f"{EC2}:fleet/*"),
        ("ec2:CreateSnapshot", "arn:aws:ec2:us-east-1::snapshot/*"),
        ("ec2:RunInstances", f"{EC2}:subnet/subnet-0abc1234"),
        ("ec2:CreateVolume", f"{EC2}:volume/*"),
        ("ec2:AttachVolume", f"{EC2}:volume/vol-0123456789abcdef0"),
    ],
)
def test_multi_resource_ec2_fixes_name_every_required_resource_type(
    action: str, resource: str
) -> None:
    """The fix allows every resource type the IAM dataset marks required; the check allows."""
    d = _diagnose(_line(action, resource))
    granted = [
        r
        for f in d.findings
        for fix in f.fixes
        for st in fix.statements
        if st.get("Action") == action
        for r in ([st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"])
    ]
    ctx = build_context(d.failure, None)
    wanted = required_resources(action, resource, ACCOUNT, "us-east-1", ctx.conditions)
    assert {rtype for rtype, _ in wanted} <= {rtype for rtype, arn in wanted if arn in granted}
    assert resource in granted
    assert [e.status for e in d.verification if e.checker == "evaluator"] == ["allows"]


def test_verification_fails_when_a_required_resource_is_left_out() -> None:
    """A CreateSnapshot fix granting only snapshot/* is marked incomplete, naming the volume."""
    failure = Failure(
        kind="plain",
        source=SourceRef("-"),
        principal_arn=USER,
        account_id=ACCOUNT,
        region="us-east-1",
        action="ec2:CreateSnapshot",
        resource="arn:aws:ec2:us-east-1::snapshot/*",
    )
    statement = {
        "Effect": "Allow",
        "Action": "ec2:CreateSnapshot",
        "Resource": "arn:aws:ec2:us-east-1::snapshot/*",
    }
    d = Diagnosis(
        failure,
        findings=(Finding("r", "t", "medium", "e", (Fix("identity", USER, (statement,)),)),),
    )
    (entry,) = check_fixes(d).verification
    assert entry.status == "incomplete" and "volume" in entry.message


def test_verification_fails_when_a_dependent_action_is_left_out() -> None:
    """RunInstances with an instance profile in its context needs iam:PassRole to ec2 in the fix."""
    failure = Failure(
        kind="plain",
        source=SourceRef("-"),
        principal_arn=USER,
        account_id=ACCOUNT,
        region="us-east-1",
        action="ec2:RunInstances",
        resource=f"{EC2}:instance/*",
        conditions=(("ec2:InstanceProfile", (f"arn:aws:iam::{ACCOUNT}:instance-profile/web",)),),
    )
    statement = {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"}
    d = Diagnosis(
        failure,
        findings=(Finding("r", "t", "medium", "e", (Fix("identity", USER, (statement,)),)),),
    )
    (entry,) = check_fixes(d).verification
    assert entry.status == "incomplete" and "iam:PassRole" in entry.message


@pytest.mark.parametrize(
    ("why", "target"),
    [
        ("no permissions boundary allows", "permissions_boundary"),
        ("no service control policy allows", "scp"),
        ("no session policy allows", "session"),
    ],
)
def test_guardrail_fixes_from_sentences_are_checked_by_the_evaluator(why: str, target: str) -> None:
    """Boundary, SCP and session-policy fixes from a plain sentence get an evaluator verdict."""
    d = _diagnose(_line("s3:GetObject", "arn:aws:s3:::data/k", why))
    assert any(fix.target == target for f in d.findings for fix in f.fixes)
    entries = [e for e in d.verification if e.target == target]
    assert entries and all(e.status == "allows" for e in entries)
