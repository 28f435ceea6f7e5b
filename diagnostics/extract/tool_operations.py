"""The API call a tool names in its own words around an AWS error.

Terraform, Packer, docker-machine, Karpenter, the EBS CSI driver and
Prometheus print what they were doing before the AWS error they got
(``Error launching source instance: UnauthorizedOperation: ...``).  EC2's
bare refusal names no action, so these words are the only place the call is
said.  Each row is the tool's fixed wording (as printed in its public issue
threads) and the one EC2/Lambda operation that wording stands for; the
pipeline maps the operation to its IAM action.

The AWS SDK for Go v1 debug log names the call exactly: ``Validate Response
ec2/DescribeInstanceCreditSpecifications failed``.
"""

from __future__ import annotations

import re

#: (wording, lower case; service; operation).
TOOL_WORDINGS: tuple[tuple[str, str, str], ...] = (
    # Packer amazon-ebs and Terraform aws_instance (provider <= v3).
    ("launching source instance", "ec2", "RunInstances"),
    # docker-machine's amazonec2 driver.
    ("error launching instance", "ec2", "RunInstances"),
    # Terraform aws_instance (provider >= v4).
    ("creating ec2 instance", "ec2", "RunInstances"),
    # Terraform provider v5 reads the instance type before RunInstances.
    ("reading ec2 instance type", "ec2", "DescribeInstanceTypes"),
    # Karpenter's instance provider.
    ("creating fleet", "ec2", "CreateFleet"),
    # Prometheus EC2 service discovery.
    ("could not describe instances", "ec2", "DescribeInstances"),
    # AWS EBS CSI driver.
    ("could not create volume in ec2", "ec2", "CreateVolume"),
    # Terraform data.aws_ami reads images.
    ("data.aws_ami.", "ec2", "DescribeImages"),
    # Terraform/Pulumi aws_lambda_function.
    ("creating lambda function", "lambda", "CreateFunction"),
    # Terraform aws_security_group.
    ("creating security group", "ec2", "CreateSecurityGroup"),
    # eksctl looks up the zones of the region first.
    ("getting availability zones", "ec2", "DescribeAvailabilityZones"),
    # The AWS Service Broker.
    ("failed to create the cloudformation stack", "cloudformation", "CreateStack"),
    # Terraform aws_s3_bucket_object: "Error putting object in S3 bucket (%s): %s".
    ("error putting object in s3 bucket", "s3", "PutObject"),
    # Terraform's S3 state backend (PutObject, or the upload manager: s3:PutObject too).
    ("failed to upload state", "s3", "PutObject"),
    # Terraform aws_s3_bucket's ACL update: "Error putting S3 ACL: %s".
    ("error putting s3 acl", "s3", "PutBucketAcl"),
    # Packer amazon-ebs wraps DescribeImages' error: "Error querying AMI: %s".
    ("error querying ami", "ec2", "DescribeImages"),
    # Packer's region check (AccessConfig.ValidateRegion calls DescribeRegions).
    ("error validating regions", "ec2", "DescribeRegions"),
    # Karpenter wraps CreateFleet's per-request errors: "with fleet error(s), %w".
    ("with fleet error(s)", "ec2", "CreateFleet"),
)
# Linear: literals and bounded classes; the lazy gap is bounded and stops at a literal.
_LAMBDA_EC2 = re.compile(
    r"denied by EC2, please make sure [^\n]{0,120}? permission to (?P<op>[A-Z][A-Za-z0-9]{2,100})"
)
#: How far before a failure the tool's words may be.
REACH = 300

# Linear: anchored at a found literal; two bounded disjoint classes around "/".
_GO_DEBUG = re.compile(
    r"Validate Response (?P<svc>[a-z0-9-]{1,64})/(?P<op>[A-Za-z0-9]{1,128}) failed"
)


# Linear: literals around bounded classes.
_PHP = re.compile(
    r'Error executing "(?P<op>[A-Z][A-Za-z0-9]{1,100})" on "https://(?P<svc>[a-z0-9-]{1,64})\.'
)
# Linear: a literal, then bounded classes and a literal; anchored at the found literal.
_JS_V3 = re.compile(r"deserializeAws_[a-z0-9]{1,20}(?P<op>[A-Z][A-Za-z0-9]{1,100})Command")


def tool_operation(text: str, start: int, end: int) -> tuple[str | None, str] | None:
    """(service, operation) a tool's wording right before ``text[start:end]`` names.

    The service is None when the wording names only the call (the JS SDK v3's
    ``deserializeAws_queryCreateQueueCommandError`` stack frame).
    """
    lo = max(0, start - REACH)
    i = text.rfind('Error executing "', lo, end)
    if i != -1 and (m := _PHP.match(text, i)):
        return m.group("svc"), m.group("op")  # the PHP SDK: 'Error executing "Op" on "https://svc.'
    i = text.find("deserializeAws_", start, end + REACH)
    if i != -1 and (m := _JS_V3.match(text, i)):
        return None, m.group("op")
    i = text.rfind("Validate Response ", lo, end)
    if i != -1:
        m = _GO_DEBUG.match(text, i)
        if m:
            return m.group("svc"), m.group("op")
    i = text.rfind("denied by EC2, please make sure", lo, end)
    if i != -1:
        m = _LAMBDA_EC2.match(text, i)
        if m:  # Lambda's VPC set-up: "... have permission to CreateNetworkInterface"
            return "ec2", m.group("op")
    window = text[lo:end].lower()
    best: tuple[int, str, str] | None = None
    for wording, service, operation in TOOL_WORDINGS:
        at = window.rfind(wording)
        if at != -1 and (best is None or at > best[0]):
            best = (at, service, operation)  # the innermost (last) wording wins
    return (best[1], best[2]) if best else None
