"""A fix never names a role session: applies_to and trust Principals name the role (class 10)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from diagnostics.iam import principal_for_policy
from diagnostics.rules import RuleSet
from diagnostics.rules.cases import diagnose_case
from diagnostics.run.scan import scan
from diagnostics.testing.corpus import load_cases, scan_case

# Linear: bounded classes, each stops at the delimiter after it.
SESSION_ARN = re.compile(r"arn:[^:\s\"]*:sts::[^:\s\"]*:assumed-role/[^/\s\"]+/")


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return RuleSet.bundled()


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def session_arns_in(fixes: list[dict[str, Any]]) -> list[str]:
    """Each place a fix names a session ARN: applies_to, Principal/NotPrincipal, Condition."""
    bad = []
    for fix in fixes:
        if SESSION_ARN.search(fix.get("applies_to") or ""):
            bad.append(f"applies_to {fix['applies_to']}")
        for st in fix["statements"]:
            for key in ("Principal", "NotPrincipal", "Condition"):
                bad.extend(f"{key} {s}" for s in _strings(st.get(key)) if SESSION_ARN.search(s))
    return bad


def test_no_rule_case_gets_a_fix_naming_a_session(ruleset: RuleSet) -> None:
    """Over every bundled rule's cases, no finding's fix names an assumed-role session ARN."""
    bad = []
    for rule in ruleset.rules:
        for i, case in enumerate(rule.cases):
            _, findings = diagnose_case(ruleset, rule, i, case)
            for finding in findings:
                fixes = [fix.to_json() for fix in finding.fixes]
                bad.extend(f"{rule.id} case {i}: {b}" for b in session_arns_in(fixes))
    assert not bad, bad


def test_no_real_corpus_case_gets_a_fix_naming_a_session(ruleset: RuleSet) -> None:
    """Over every real pasted text, no fix names a session ARN, redacted accounts included."""
    bad = []
    for case in load_cases():
        for found in scan_case(case, ruleset):
            for finding in found["findings"]:
                bad.extend(f"{case.slug}: {b}" for b in session_arns_in(finding["fixes"]))
    assert not bad, bad


@pytest.mark.parametrize(
    ("session", "role"),
    [
        (
            "arn:aws:sts::xxxxxxxxxxxx:assumed-role/ci-runner/gitlab-42",
            "arn:aws:iam::xxxxxxxxxxxx:role/ci-runner",
        ),
        ("arn:aws:sts::123:assumed-role/PuppetRole/sc_123", "arn:aws:iam::123:role/PuppetRole"),
        (
            "arn:aws:sts:::assumed-role/Cognito_Unauth_Role/Cognito",
            "arn:aws:iam:::role/Cognito_Unauth_Role",
        ),
        (
            "arn:aws-cn:sts::111122223333:assumed-role/app/i-0abc",
            "arn:aws-cn:iam::111122223333:role/app",
        ),
    ],
)
def test_a_session_with_a_redacted_or_short_account_maps_to_its_role(
    session: str, role: str
) -> None:
    """A session whose account was redacted or cut still maps to its role, keeping the account."""
    assert principal_for_policy(session) == role


CDK_TRACE = (
    " \u274c  AppStack failed: Error: The stack named AppStack failed creation, it may need to be"
    " manually deleted from the AWS console: ROLLBACK_COMPLETE: Resource handler returned message:"
    ' "User: arn:aws:sts::123456789012:assumed-role/cdk-hnb659fds-cfn-exec-role-123456789012-'
    "us-east-1/AWSCloudFormation is not authorized to perform: lambda:CreateFunction on resource:"
    " arn:aws:lambda:us-east-1:123456789012:function:app-fn because no identity-based policy"
    " allows the lambda:CreateFunction action (Service: Lambda, Status Code: 403, Request ID:"
    ' 5f0e7f2c-1111-4222-8333-944445555666)" (RequestToken: 0f1e2d3c-aaaa-4bbb-8ccc-ddddeeeeffff,'
    " HandlerErrorCode: AccessDenied)\n"
)
TRUST = (
    "An error occurred (AccessDenied) when calling the AssumeRole operation: User: "
    "arn:aws:sts::111122223333:assumed-role/ci-runner/gitlab-42 is not authorized to perform: "
    "sts:AssumeRole on resource: arn:aws:iam::444455556666:role/deploy\n"
)


def _fixes(tmp_path: Path, text: str, ruleset: RuleSet) -> list[dict[str, Any]]:
    path = tmp_path / "input.log"
    path.write_text(text, encoding="utf-8")
    _, diagnoses = scan([str(path)], ruleset=ruleset, err=io.StringIO())
    return [fix for d in diagnoses for f in d.to_json()["findings"] for fix in f["fixes"]]


def test_a_cdk_cloudformation_trace_fixes_the_execution_role(
    tmp_path: Path, ruleset: RuleSet
) -> None:
    """CDK's CloudFormation-handler denial is fixed on the cfn-exec role, not its session."""
    fixes = _fixes(tmp_path, CDK_TRACE, ruleset)
    assert fixes
    assert {f["applies_to"] for f in fixes} == {
        "arn:aws:iam::123456789012:role/cdk-hnb659fds-cfn-exec-role-123456789012-us-east-1"
    }
    assert session_arns_in(fixes) == []


def test_a_trust_fix_names_the_calling_role_as_principal(tmp_path: Path, ruleset: RuleSet) -> None:
    """AssumeRole denied to a role session: the trust Principal is the role, not the session."""
    fixes = _fixes(tmp_path, TRUST, ruleset)
    trust = [f for f in fixes if f["target"] == "trust"]
    assert [st["Principal"] for f in trust for st in f["statements"]] == [
        {"AWS": "arn:aws:iam::111122223333:role/ci-runner"}
    ]
    assert session_arns_in(fixes) == []
