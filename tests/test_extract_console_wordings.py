"""Refusals worded by the AWS consoles and Bedrock, with no "perform: svc:Action" sentence."""

from __future__ import annotations

from diagnostics.extract import extract_text


def test_s3_console_cannot_list_objects() -> None:
    """The S3 console's "Insufficient permissions to list objects" is a ListBucket refusal."""
    text = (
        "Insufficient permissions to list objects\n"
        "After you or your AWS administrator have updated your permissions to allow the "
        "s3:ListBucket action, refresh the page.\n"
    )
    (f,) = extract_text(text)
    assert (f.action, f.principal_arn, f.source.line) == ("s3:ListBucket", None, 1)


def test_eks_console_cannot_see_kubernetes_objects() -> None:
    """The EKS console's "does not have access to Kubernetes objects" is a refusal by EKS."""
    text = (
        "Your current user or role does not have access to Kubernetes objects on this EKS "
        "cluster. This may be due to the current user or role not having Kubernetes RBAC "
        "permissions to describe cluster resources.\n"
    )
    (f,) = extract_text(text)
    assert (f.event_source, f.action, f.principal_arn) == ("eks", None, None)


def test_bedrock_marketplace_actions_give_one_failure_each() -> None:
    """Bedrock's "required AWS Marketplace actions (a, b)" names two refused actions."""
    text = (
        "AccessDeniedException: Model access is denied due to IAM user or service role is not "
        "authorized to perform the required AWS Marketplace actions (aws-marketplace:"
        "ViewSubscriptions, aws-marketplace:Subscribe) to enable access to this model.\n"
    )
    found = extract_text(text)
    assert [f.action for f in found] == [
        "aws-marketplace:ViewSubscriptions",
        "aws-marketplace:Subscribe",
    ]


def test_karpenter_nodeclass_condition_names_the_refused_action() -> None:
    """Karpenter's "Controller isn't authorized to call ec2:RunInstances" condition is a refusal."""
    text = (
        "Reason=RunInstancesAuthCheckFailed\n"
        "Message: Controller isn't authorized to call ec2:RunInstances\n"
    )
    (f,) = extract_text(text)
    assert (f.action, f.principal_arn, f.source.line) == ("ec2:RunInstances", None, 2)
