"""The call a bare denial answers, read from where the tool or SDK prints it.

Each text is shaped the way the tool's own source prints the error (format
strings of the Terraform AWS provider and S3 backend, Packer, Karpenter; the
stack frames of the Ruby, Java and JavaScript SDKs; boto2's query calls).
"""

from __future__ import annotations

import pytest

from diagnostics.extract import extract_text
from diagnostics.infer import infer_action
from diagnostics.model import Failure

S3_403 = "AccessDenied: Access Denied\n\tstatus code: 403, request id: 4C2D9A7F1B3E5D60"
EC2_403 = (
    "UnauthorizedOperation: You are not authorized to perform this operation.\n"
    "\tstatus code: 403, request id: 43edddc2-9bdd-4fab-836f-62fcde035979"
)


def _one(text: str) -> Failure:
    found = [infer_action(f) for f in extract_text(text, "paste.txt")]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("text", "action"),
    [
        # Terraform aws_s3_bucket_object: "Error putting object in S3 bucket (%s): %s".
        (f"Error: Error putting object in S3 bucket (foo): {S3_403}", "s3:PutObject"),
        # Terraform's S3 state backend: "failed to upload state: %s".
        (f"Error saving state: failed to upload state: {S3_403}", "s3:PutObject"),
        # Terraform aws_s3_bucket (v0.x-v3): "Error putting S3 ACL: %s".
        (f"* aws_s3_bucket.b: Error putting S3 ACL: {S3_403}", "s3:PutBucketAcl"),
        # Packer amazon-ebs, after DescribeImages: "Error querying AMI: %s".
        (f"==> amazon-ebs: Error querying AMI: {EC2_403}", "ec2:DescribeImages"),
        # Packer's region check calls DescribeRegions: "error validating regions: %v".
        (f"Build 'amazon-ebs' errored: error validating regions: {EC2_403}", "ec2:DescribeRegions"),
        # Karpenter wraps CreateFleet's errors: "with fleet error(s), %w".
        (
            "Provisioning failed, launching node, creating cloud provider instance, "
            f"with fleet error(s), {EC2_403}",
            "ec2:CreateFleet",
        ),
    ],
)
def test_a_tool_wording_names_the_call_its_bare_denial_answers(text: str, action: str) -> None:
    """A bare denial after a tool's fixed wording for a call gets that call's IAM action."""
    assert _one(text).action == action
