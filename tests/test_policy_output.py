"""``scan --format policy``: one JSON document that jq reads and AWS accepts as written."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
AUTHZ_DIAG = str(Path(sys.executable).parent / "authz-diag")


def _scan(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [AUTHZ_DIAG, "scan", "--no-decode", *args],
        capture_output=True,
        timeout=120,
        cwd=REPO,
        check=False,
        env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"},
    )


@pytest.fixture(scope="module")
def entries() -> list[dict[str, Any]]:
    proc = _scan("--format", "policy", "examples/")
    assert proc.returncode == 1, proc.stderr
    parsed = json.loads(proc.stdout)  # the whole of stdout is one JSON document
    assert isinstance(parsed, list)
    return parsed


def test_policy_output_is_one_json_document_with_the_four_keys(
    entries: list[dict[str, Any]],
) -> None:
    """Every entry is {target, applies_to, document, notes}; documents are IAM-shaped."""
    assert entries
    for entry in entries:
        assert set(entry) == {"target", "applies_to", "document", "notes"}
        assert isinstance(entry["notes"], list)
        if entry["document"] is not None:
            assert entry["document"]["Version"] == "2012-10-17"
            assert entry["document"]["Statement"]


def test_what_no_statement_can_fix_is_listed_with_notes_not_dropped() -> None:
    """An explicit deny (the decoded example) gives a null document with a note, exit 1."""
    proc = _scan("--format", "policy", "examples/decoded-message.json")
    assert proc.returncode == 1
    [entry] = json.loads(proc.stdout)
    assert entry["document"] is None
    assert "no policy statement can fix" in entry["notes"][0]
    assert b"ec2:RunInstances" in proc.stderr  # the explanation goes to stderr


def test_policy_text_keeps_the_commented_layout() -> None:
    """--format policy-text prints `#` headers before each document, as before."""
    proc = _scan("--format", "policy-text", "examples/terraform-apply.log")
    assert proc.returncode == 1
    assert proc.stdout.startswith(b"# identity policy for arn:aws:iam::111122223333:role/")


def test_an_empty_scan_prints_an_empty_list() -> None:
    """No failure: `[]` (still valid JSON for jq), exit 0."""
    proc = _scan("--format", "policy", "README.md", "-", "--format", "policy")
    assert proc.returncode in (0, 1)
    assert isinstance(json.loads(proc.stdout), list)


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _client(service: str, url: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _apply(entry: dict[str, Any], url: str) -> str:
    """Apply one entry the way a user would with the AWS CLI; returns what was called."""
    target, arn, doc = entry["target"], entry["applies_to"], json.dumps(entry["document"])
    name = arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1] if arn else ""
    iam = _client("iam", url)
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    if target in ("identity", "trust", "permissions_boundary") and ":role/" in arn:
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
    if target == "identity" and ":role/" in arn:
        iam.put_role_policy(RoleName=name, PolicyName="authz-diag-fix", PolicyDocument=doc)
        return "put-role-policy"
    if target == "identity" and ":user/" in arn:
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="authz-diag-fix", PolicyDocument=doc)
        return "put-user-policy"
    if target == "trust":
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=doc)
        return "update-assume-role-policy"
    if target == "permissions_boundary":
        created = iam.create_policy(PolicyName=f"{name}-boundary", PolicyDocument=doc)
        iam.put_role_permissions_boundary(
            RoleName=name, PermissionsBoundary=created["Policy"]["Arn"]
        )
        return "put-role-permissions-boundary"
    if target == "resource" and arn.startswith("arn:aws:s3:::"):
        s3 = _client("s3", url)
        s3.create_bucket(Bucket=name)
        s3.put_bucket_policy(Bucket=name, Policy=doc)
        return "put-bucket-policy"
    if target == "resource" and arn.startswith("arn:aws:sns:"):
        sns = _client("sns", url)
        topic = sns.create_topic(Name=name)["TopicArn"]
        sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=doc)
        return "sns set-topic-attributes Policy"
    if target == "resource" and arn.startswith("arn:aws:kms:"):
        _client("kms", url).create_key(Policy=doc)
        return "kms create-key --policy"
    raise AssertionError(f"no way to apply {target} for {arn}")


@pytest.mark.slow
def test_each_document_applies_to_aws_as_printed(entries: list[dict[str, Any]], moto: str) -> None:
    """Every document goes to moto (over HTTP) with the call a user would make, unchanged."""
    applied = [_apply(e, moto) for e in entries if e["document"] is not None]
    assert {"put-role-policy", "put-user-policy", "put-bucket-policy"} <= set(applied)
    assert len(applied) == sum(e["document"] is not None for e in entries)
