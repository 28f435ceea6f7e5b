"""Explicit denies get each layer's playbook, and titles fit the call (issue 24 items 7 and 9)."""

from __future__ import annotations

from diagnostics.diagnose.pipeline import Pipeline
from diagnostics.extract import extract_text
from diagnostics.model import Diagnosis
from diagnostics.rules import RuleSet

USER = "arn:aws:iam::111122223333:user/bob"


def _diagnose(text: str) -> Diagnosis:
    (failure,) = extract_text(text)
    return next(Pipeline(RuleSet.bundled()).diagnose([failure]))


def test_an_s3_bucket_policy_deny_gets_the_bucket_playbook_not_decode() -> None:
    """A bucket-policy explicit deny names get-bucket-policy and the usual Deny conditions."""
    d = _diagnose(
        f"User: {USER} is not authorized to perform: s3:GetObject on resource: "
        '"arn:aws:s3:::data/k" with an explicit deny in a resource-based policy'
    )
    text = " ".join(f.explanation for f in d.findings)
    for words in (
        "aws s3api get-bucket-policy --bucket data",
        "aws:SecureTransport",
        "aws:SourceVpce",
    ):
        assert words in text
    assert "decode it to see" not in text
    assert not any(fix for f in d.findings for fix in f.fixes)


def test_an_scp_deny_names_list_policies_for_target_and_the_guardrails() -> None:
    """An SCP explicit deny says how to find the SCP and which usual condition to check."""
    d = _diagnose(
        f"User: {USER} is not authorized to perform: iam:CreateRole on resource: "
        "arn:aws:iam::111122223333:role/x with an explicit deny in a service control policy"
    )
    text = " ".join(f.explanation for f in d.findings)
    assert "aws organizations list-policies-for-target" in text
    assert "iam:PermissionsBoundary" in text and "decode it to see" not in text


def test_create_volume_is_not_titled_as_needing_the_instance() -> None:
    """CreateVolume's finding title does not claim it needs an instance."""
    d = _diagnose(
        "An error occurred (UnauthorizedOperation) when calling the CreateVolume operation: You "
        f"are not authorized to perform this operation. User: {USER} is not authorized to "
        "perform: ec2:CreateVolume on resource: arn:aws:ec2:us-east-1:111122223333:volume/* "
        "because no identity-based policy allows the ec2:CreateVolume action"
    )
    assert d.findings and all("instance" not in f.title for f in d.findings)
