"""Fixed example diagnoses for golden tests, docs and benchmarks.

Built directly from the domain types; the account, role and key names are
made up (123456789012 is AWS's documentation account).
"""

from __future__ import annotations

import dataclasses

from diagnostics.model import Diagnosis, Failure, Finding, Fix, SourceRef

ACCOUNT = "123456789012"


def run_instances_implicit_deny(*, blob: str = "Xy0-example", line: int = 42) -> Diagnosis:
    """ec2:RunInstances from an assumed-role session, no identity policy allows it, with a fix."""
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-deployer/gh-run-1842"
    role = f"arn:aws:iam::{ACCOUNT}:role/ci-deployer"
    resource = f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*"
    failure = Failure(
        kind="encoded",
        source=SourceRef("/var/log/ci/terraform.log", line, 4096),
        principal_arn=session,
        account_id=ACCOUNT,
        action="ec2:RunInstances",
        resource=resource,
        policy_type="identity",
        explicit_deny=False,
        encoded_message=blob,
        operation="RunInstances",
        region="us-east-1",
        error_code="UnauthorizedOperation",
    )
    decoded = {
        "allowed": False,
        "explicitDeny": False,
        "matchedStatements": {"items": []},
        "failures": {"items": []},
        "context": {
            "principal": {"id": "AROAEXAMPLEID:gh-run-1842", "arn": session},
            "action": "ec2:RunInstances",
            "resource": resource,
            "conditions": {
                "items": [
                    {"key": "ec2:InstanceType", "values": {"items": [{"value": "t3.micro"}]}},
                    {"key": "aws:Region", "values": {"items": [{"value": "us-east-1"}]}},
                ]
            },
        },
    }
    finding = Finding(
        rule="core.identity-policy-missing-action",
        title="No identity-based policy allows ec2:RunInstances",
        severity="high",
        explanation=(
            "The role ci-deployer has no identity-based policy statement that allows "
            "ec2:RunInstances on instance/* in us-east-1. Add the statement below to a "
            "policy attached to the role."
        ),
        fixes=(
            Fix(
                target="identity",
                applies_to=role,
                statements=(
                    {
                        "Sid": "AllowRunInstances",
                        "Effect": "Allow",
                        "Action": "ec2:RunInstances",
                        "Resource": resource,
                        "Condition": {"StringEquals": {"ec2:InstanceType": "t3.micro"}},
                    },
                ),
            ),
        ),
    )
    return Diagnosis(failure=failure, decoded=decoded, findings=(finding,))


def s3_explicit_deny_scp() -> Diagnosis:
    """s3:PutObject denied explicitly by a service control policy: nothing to add."""
    user = f"arn:aws:iam::{ACCOUNT}:user/backup-agent"
    failure = Failure(
        kind="plain",
        source=SourceRef("/var/log/backup/agent.log", 7, 512),
        principal_arn=user,
        account_id=ACCOUNT,
        action="s3:PutObject",
        resource="arn:aws:s3:::corp-backups/2024/05/01/db.tar.gz",
        policy_type="scp",
        policy_arn="arn:aws:organizations::111111111111:policy/o-exampleorgid/service_control_policy/p-examplepolicy",
        explicit_deny=True,
        operation="PutObject",
        error_code="AccessDenied",
    )
    finding = Finding(
        rule="core.explicit-deny-scp",
        title="A service control policy explicitly denies s3:PutObject",
        severity="high",
        explanation=(
            "An explicit deny in a service control policy wins over every allow. No "
            "statement in this account can fix it: ask the organization's administrators "
            "to change p-examplepolicy, or write the backups to a permitted bucket."
        ),
    )
    return Diagnosis(failure=failure, decode_error=None, findings=(finding,))


def assume_role_no_reason() -> Diagnosis:
    """A cross-account sts:AssumeRole refused without saying which policy or deny type."""
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-deployer/gh-run-1842"
    role = f"arn:aws:iam::{ACCOUNT}:role/ci-deployer"
    target = "arn:aws:iam::210987654321:role/prod-deploy"
    failure = Failure(
        kind="plain",
        source=SourceRef("/var/log/ci/deploy.log", 12, 2048),
        principal_arn=session,
        account_id=ACCOUNT,
        action="sts:AssumeRole",
        resource=target,
    )
    finding = Finding(
        rule="assume-role",
        title="sts:AssumeRole needs the caller's Allow and the role's trust",
        severity="medium",
        explanation=(
            f"{session} could not assume {target}. Two policies must agree: the identity "
            f"policy of {role} must allow sts:AssumeRole on the role, and the role's trust "
            "policy must name the caller as Principal."
        ),
        fixes=(
            Fix(
                target="identity",
                applies_to=role,
                statements=(
                    {
                        "Sid": "AllowStsAssumeRole",
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Resource": target,
                    },
                ),
            ),
        ),
    )
    return Diagnosis(failure=failure, findings=(finding,))


def run_instances_not_decoded() -> Diagnosis:
    """An encoded ec2:RunInstances failure that could not be decoded (no credentials)."""
    from diagnostics.decode.messages import no_credentials_text

    failure = Failure(
        kind="encoded",
        source=SourceRef("/var/log/ci/terraform.log", 97, 9120),
        action="ec2:RunInstances",
        encoded_message="Xy0-example-not-decoded",
        operation="RunInstances",
        error_code="UnauthorizedOperation",
    )
    finding = Finding(
        rule="ec2-run-instances",
        title="ec2:RunInstances needs every resource it touches",
        severity="medium",
        explanation=(
            "ec2:RunInstances was denied on one of its resources. The call is checked "
            "against every resource it touches; decode the message to see which one."
        ),
    )
    return Diagnosis(failure=failure, decode_error=no_credentials_text(), findings=(finding,))


def hostile_log_values() -> Diagnosis:
    """A plain failure whose log-originated values try Slack mentions, links and escapes."""
    base = s3_explicit_deny_scp()
    failure = dataclasses.replace(
        base.failure,
        principal_arn=f"arn:aws:iam::{ACCOUNT}:user/<!channel>",
        resource="arn:aws:s3:::<http://evil.example|click me>&\x1b[2J\x1b]0;pwned\x07",
        policy_arn=None,
    )
    return dataclasses.replace(base, failure=failure)


def all_examples() -> list[Diagnosis]:
    return [run_instances_implicit_deny(), s3_explicit_deny_scp()]
