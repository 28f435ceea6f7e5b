"""CloudTrail's caller details shape the fix: kms:ViaService, the role's path, the volume."""

from __future__ import annotations

import json
from typing import Any

from test_extract_cloudtrail_caller import (
    ACCOUNT,
    KEY,
    ROLE,
    VOLUME,
    kms_record,
    snapshot_record,
)

from diagnostics.diagnose.pipeline import Pipeline
from diagnostics.extract import extract_text
from diagnostics.model import Diagnosis, Fix
from diagnostics.policy.grammar import problems
from diagnostics.rules import RuleSet


def _diagnose(record: dict[str, Any]) -> Diagnosis:
    (failure,) = extract_text(json.dumps(record))
    return next(Pipeline(RuleSet.bundled()).diagnose([failure]))


def _fixes(d: Diagnosis) -> list[Fix]:
    return [fix for finding in d.findings for fix in finding.fixes]


def _conditions(fix: Fix) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for statement in fix.statements:
        for block in statement.get("Condition", {}).values():
            out.update(block)
    return out


def test_kms_decrypt_invoked_by_s3_is_allowed_only_via_s3() -> None:
    """The identity fix carries kms:ViaService s3.<region>.amazonaws.com and no aws:CalledVia."""
    d = _diagnose(kms_record())
    (identity,) = [f for f in _fixes(d) if f.target == "identity"]
    assert identity.applies_to == ROLE
    via = _conditions(identity)["kms:ViaService"]
    assert via in ("s3.eu-west-1.amazonaws.com", ["s3.eu-west-1.amazonaws.com"])
    # S3 is not among the services that set aws:CalledVia (IAM User Guide,
    # aws:CalledVia): a condition on it would make the fix deny.
    assert all("aws:CalledVia" not in _conditions(f) for f in _fixes(d))
    statuses = {e.target: e.status for e in d.verification}
    assert statuses["identity"] == "allows"


def test_the_key_policy_is_named_as_the_other_side() -> None:
    """The key's own policy gets a statement for the role (with its path), also via S3 only."""
    d = _diagnose(kms_record())
    (key_fix,) = [f for f in _fixes(d) if f.target == "resource"]
    assert key_fix.applies_to == KEY
    (statement,) = key_fix.statements
    assert statement["Principal"] == {"AWS": ROLE}
    assert "kms:ViaService" in _conditions(key_fix)
    assert f"key policy of {KEY}" in d.findings[0].explanation
    assert problems(key_fix) == []


def test_a_cloudtrail_assume_role_keeps_the_callers_role_path_in_the_trust_principal() -> None:
    """sessionIssuer.arn role/apps/ingest-role is the trust Principal, not role/ingest-role."""
    target = f"arn:aws:iam::{ACCOUNT[::-1]}:role/deployer"
    record = kms_record()
    del record["userIdentity"]["invokedBy"]
    record.update(
        eventSource="sts.amazonaws.com",
        eventName="AssumeRole",
        errorMessage=(
            f"User: {record['userIdentity']['arn']} is not authorized to perform: "
            f"sts:AssumeRole on resource: {target}"
        ),
        requestParameters={"roleArn": target, "roleSessionName": "x"},
        resources=[],
    )
    d = _diagnose(record)
    fixes = _fixes(d)
    (trust,) = [f for f in fixes if f.target == "trust"]
    assert trust.statements[0]["Principal"] == {"AWS": ROLE}
    assert {f.applies_to for f in fixes if f.target == "identity"} == {ROLE}
    assert "does not show role" not in " ".join(x.explanation for x in d.findings)


def test_a_cloudtrail_create_snapshot_fix_names_the_exact_volume() -> None:
    """The volume from requestParameters is in the fix, and the whole call is verified."""
    record = snapshot_record()
    record["errorMessage"] = (
        "You are not authorized to perform this operation. User: "
        f"arn:aws:iam::{ACCOUNT}:user/ops is not authorized to perform: ec2:CreateSnapshot on "
        "resource: arn:aws:ec2:us-east-1::snapshot/* because no identity-based policy allows "
        "the ec2:CreateSnapshot action"
    )
    d = _diagnose(record)
    (fix,) = _fixes(d)
    resources = fix.statements[0]["Resource"]
    assert f"arn:aws:ec2:us-east-1:{ACCOUNT}:volume/{VOLUME}" in resources
    assert [e.status for e in d.verification] == ["allows"]
