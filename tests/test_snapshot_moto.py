"""authz-diag snapshot against moto (in-process), then explain denials against what it wrote."""

from __future__ import annotations

import argparse
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from diagnostics.diagnose.pipeline import Pipeline
from diagnostics.model import Failure, RequestContext, SourceRef
from diagnostics.snapshot.edits import apply_edit
from diagnostics.snapshot.evaluate import evaluate_request
from diagnostics.snapshot.judge import SnapshotJudge
from diagnostics.snapshot.read import load_snapshot

ACCOUNT = "123456789012"  # moto's default account
OTHER = "444455556666"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s1"


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        iam = boto3.client("iam")
        iam.create_role(RoleName="app", AssumeRolePolicyDocument=_doc())
        iam.put_role_policy(
            RoleName="app",
            PolicyName="app-data",
            PolicyDocument=_doc(
                {
                    "Sid": "ReadReports",
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::reports/*",
                },
                {
                    "Sid": "ReadPartner",
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::partner-drop/*",
                },
                {"Sid": "Everything", "Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
            ),
        )
        org = boto3.client("organizations")
        org.create_organization(FeatureSet="ALL")
        root = org.list_roots()["Roots"][0]["Id"]
        ou = org.create_organizational_unit(ParentId=root, Name="prod")["OrganizationalUnit"]["Id"]
        org.move_account(AccountId=ACCOUNT, SourceParentId=root, DestinationParentId=ou)
        scp = org.create_policy(
            Name="no-terminate",
            Description="guardrail",
            Type="SERVICE_CONTROL_POLICY",
            Content=_doc(
                {
                    "Sid": "DenyTerminate",
                    "Effect": "Deny",
                    "Action": "ec2:TerminateInstances",
                    "Resource": "*",
                }
            ),
        )["Policy"]["PolicySummary"]["Id"]
        org.attach_policy(PolicyId=scp, TargetId=ou)
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="partner-drop")
        s3.put_bucket_policy(
            Bucket="partner-drop",
            Policy=_doc(
                {
                    "Sid": "PartnerReads",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::partner-drop/*",
                }
            ),
        )
        yield


def _collect(tmp_path: Path, *resources: str) -> Path:
    from diagnostics.commands import snapshot

    out = tmp_path / "snap.json"
    args = argparse.Namespace(
        out=str(out),
        resource=list(resources),
        logs=[],
        profile=None,
        region="us-east-1",
        account=ACCOUNT,
        endpoint_url=None,
    )
    assert snapshot.run(args) in (0, 1)
    return out


def _judge(path: Path, failure: Failure):  # type: ignore[no-untyped-def]
    diagnosis = Pipeline(None).diagnose_one(
        failure, __import__("diagnostics.model").model.DecodeResult()
    )
    return SnapshotJudge(load_snapshot([path]))(diagnosis)


def _allowed_with(path: Path, fix, ctx: RequestContext) -> bool:  # type: ignore[no-untyped-def]
    snap = load_snapshot([path])
    layered = evaluate_request(apply_edit(snap, fix.edit), ctx)
    return layered is not None and layered.allowed


def test_the_snapshot_is_written_0600_and_read_back(account: None, tmp_path: Path) -> None:
    """The collected file is private and --policies reads its roles, SCP and bucket policy."""
    path = _collect(tmp_path, "arn:aws:s3:::partner-drop/x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    snap = load_snapshot([path])
    assert snap.entity(SESSION) is not None
    assert [o.policy.name for o in snap.org_policies if o.policy.name == "no-terminate"]
    assert snap.resource_policy("arn:aws:s3:::partner-drop") is not None
    assert [t.type for t in snap.chains[ACCOUNT]] == ["ROOT", "ORGANIZATIONAL_UNIT", "ACCOUNT"]


def test_an_scp_explicit_deny_at_an_ou_is_named_and_its_edit_allows(
    account: None, tmp_path: Path
) -> None:
    """An SCP Deny at an OU is named with its Sid; the edit exempts the role and allows it."""
    path = _collect(tmp_path)
    failure = Failure(
        "plain",
        SourceRef("t"),
        principal_arn=SESSION,
        account_id=ACCOUNT,
        action="ec2:TerminateInstances",
        resource=f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-1",
    )
    d = _judge(path, failure)
    finding = d.findings[0]
    assert finding.rule == "snapshot-explicit-deny"
    assert "SCP no-terminate" in finding.title and "(statement DenyTerminate)" in finding.title
    assert " at ou-" in finding.title
    [fix] = finding.fixes
    assert fix.edit.after["Condition"] == {"ArnNotLike": {"aws:PrincipalArn": [ROLE]}}
    ctx = RequestContext(failure.action, failure.resource, SESSION, ACCOUNT)
    assert _allowed_with(path, fix, ctx)


def test_a_cross_account_bucket_read_needs_the_bucket_policy(account: None, tmp_path: Path) -> None:
    """Another account's bucket names only the partner: a statement for the caller is added."""
    path = _collect(tmp_path, "arn:aws:s3:::partner-drop/x")
    snap = json.loads(path.read_text())
    snap["ResourcePolicies"] = [dict(r, Account=OTHER) for r in snap["ResourcePolicies"]]
    path.write_text(json.dumps(snap))
    failure = Failure(
        "plain",
        SourceRef("t"),
        principal_arn=SESSION,
        account_id=ACCOUNT,
        action="s3:GetObject",
        resource="arn:aws:s3:::partner-drop/x",
    )
    d = _judge(path, failure)
    finding = d.findings[0]
    assert finding.title == (
        "s3:GetObject denied by the resource-based policy of arn:aws:s3:::partner-drop/x "
        "(no statement allows s3:GetObject)"
    )
    [fix] = finding.fixes
    assert fix.edit is None  # the bucket's statement names another principal
    assert fix.statements[0]["Principal"] == {"AWS": ROLE}
    assert d.verification[0].status == "allows", d.verification


def test_a_missing_permission_is_reported_as_a_statement_to_add(
    account: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without Organizations the snapshot is still written, and the missing action is named."""
    from diagnostics.snapshot.collect import collect

    def clients(service: str):  # type: ignore[no-untyped-def]
        client = boto3.client(service, region_name="us-east-1")
        if service == "organizations":
            from botocore.exceptions import ClientError

            def denied(*_a, **_k):  # type: ignore[no-untyped-def]
                raise ClientError(
                    {"Error": {"Code": "AccessDeniedException", "Message": "no"}},
                    "DescribeOrganization",
                )

            client.describe_organization = denied
        return client

    done = collect(clients, ACCOUNT)
    assert done.statement() == {
        "Sid": "AuthzDiagSnapshotRead",
        "Effect": "Allow",
        "Action": ["organizations:DescribeOrganization"],
        "Resource": "*",
    }
    assert done.snapshot["RoleDetailList"]


def test_an_identity_implicit_deny_edits_the_near_statement(account: None, tmp_path: Path) -> None:
    """s3:GetObject on another bucket: ReadReports is edited to add it, and that allows it."""
    path = _collect(tmp_path)
    failure = Failure(
        "plain",
        SourceRef("t"),
        principal_arn=SESSION,
        account_id=ACCOUNT,
        action="s3:GetObject",
        resource="arn:aws:s3:::invoices/a.pdf",
        policy_type="identity",
        explicit_deny=False,
    )
    d = _judge(path, failure)
    [fix] = d.findings[0].fixes
    assert fix.edit.sid == "ReadReports"
    assert fix.edit.after["Resource"] == ["arn:aws:s3:::reports/*", "arn:aws:s3:::invoices/a.pdf"]
    assert _allowed_with(
        path, fix, RequestContext("s3:GetObject", "arn:aws:s3:::invoices/a.pdf", SESSION, ACCOUNT)
    )
