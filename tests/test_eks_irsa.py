"""IRSA and EKS Pod Identity: web identity denials get the trust policy's sub, aud and provider."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from diagnostics.rules import RuleSet
from diagnostics.run.scan import scan

PROVIDER = (
    "arn:aws:iam::111122223333:oidc-provider/"
    "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
)
HOST = PROVIDER.split(":oidc-provider/", 1)[1]
SUB = "system:serviceaccount:payments:api"
ROLE = "arn:aws:iam::111122223333:role/payments-api"


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return RuleSet.bundled()


def _scan(tmp_path: Path, text: str, ruleset: RuleSet) -> list[dict[str, Any]]:
    path = tmp_path / "in.log"
    path.write_text(text, encoding="utf-8")
    _, diagnoses = scan([str(path)], ruleset=ruleset, err=io.StringIO())
    return [d.to_json() for d in diagnoses]


def _record(identity: dict[str, str]) -> str:
    record = {
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": "2026-11-30T10:00:00Z",
        "eventSource": "sts.amazonaws.com",
        "eventName": "AssumeRoleWithWebIdentity",
        "awsRegion": "us-east-1",
        "errorCode": "AccessDenied",
        "errorMessage": "An unknown error occurred",
        "requestParameters": {"roleArn": ROLE, "roleSessionName": "s1"},
        "eventID": "e1",
        "recipientAccountId": "111122223333",
    }
    return json.dumps({"Records": [record]}) + "\n"


def test_cloudtrail_irsa_denial_gets_the_trust_statement_with_sub_and_aud(
    tmp_path: Path, ruleset: RuleSet
) -> None:
    """A CloudTrail IRSA record names provider, service account and role; the fix tests sub, aud."""
    identity = {
        "type": "WebIdentityUser",
        "principalId": f"{PROVIDER}:sts.amazonaws.com:{SUB}",
        "userName": SUB,
        "identityProvider": PROVIDER,
    }
    [d] = _scan(tmp_path, _record(identity), ruleset)
    assert (d["principal_arn"], d["resource"]) == (PROVIDER, ROLE)
    assert d["request_context"][f"{HOST}:sub"] == [SUB]
    assert d["request_context"][f"{HOST}:aud"] == ["sts.amazonaws.com"]
    [finding] = d["findings"]
    assert finding["rule"] == "irsa-trust"
    assert SUB in finding["explanation"] and "pods.eks.amazonaws.com" in finding["explanation"]
    assert "sts:TagSession" in finding["explanation"]
    [fix] = finding["fixes"]
    assert (fix["target"], fix["applies_to"]) == ("trust", ROLE)
    assert fix["statements"] == [
        {
            "Sid": "TrustEksServiceAccount",
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{HOST}:sub": SUB, f"{HOST}:aud": "sts.amazonaws.com"}},
        }
    ]


def test_a_github_actions_web_identity_record_is_not_irsa(tmp_path: Path, ruleset: RuleSet) -> None:
    """A GitHub OIDC caller keeps the generic federated advice (no EKS service account)."""
    provider = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
    sub = "repo:org/infra:ref:refs/heads/main"
    identity = {
        "type": "WebIdentityUser",
        "principalId": f"{provider}:sts.amazonaws.com:{sub}",
        "userName": sub,
        "identityProvider": provider,
    }
    [d] = _scan(tmp_path, _record(identity), ruleset)
    assert d["principal_arn"] == provider
    assert [f["rule"] for f in d["findings"]] == ["assume-role-federated"]


def test_go_sdk_irsa_text_gets_the_service_account_advice(tmp_path: Path, ruleset: RuleSet) -> None:
    """A controller's WebIdentityErr, naming nothing, is told about sub, aud and Pod Identity."""
    line = (
        'msg="failed to list hosted zones: WebIdentityErr: failed to retrieve credentials\\n'
        "caused by: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity\\n"
        '\\tstatus code: 403, request id: 87a3ca86"\n'
    )
    [d] = _scan(tmp_path, line, ruleset)
    [finding] = d["findings"]
    assert finding["rule"] == "assume-role-federated"
    for words in ("system:serviceaccount:NAMESPACE:NAME", '"sts.amazonaws.com"', "oidc.issuer"):
        assert words in finding["explanation"]
    assert "pods.eks.amazonaws.com for sts:AssumeRole and sts:TagSession" in finding["explanation"]


def test_sts_sentence_opening_a_markdown_code_span_is_read(
    tmp_path: Path, ruleset: RuleSet
) -> None:
    """Ruby's STS sentence right after a Markdown backtick is read (a code span in prose)."""
    line = (
        "We were getting `Not authorized to perform sts:AssumeRoleWithWebIdentity"
        " (Aws::STS::Errors::AccessDenied)` error.\n"
    )
    [d] = _scan(tmp_path, line, ruleset)
    assert (d["action"], d["error_code"]) == ("sts:AssumeRoleWithWebIdentity", "AccessDenied")
