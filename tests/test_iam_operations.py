"""Mapping CloudTrail event names and SDK operations to IAM actions."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path
from typing import Any

import pytest

from diagnostics.iam import action_for_operation, companion_actions, get_action, iam_prefix_for
from diagnostics.iam.exceptions import COMPANION_ACTIONS, OPERATION_ACTIONS, PREFIX_BY_HOST

CLOUDTRAIL = Path(__file__).resolve().parents[1].parent / "shared" / "external" / "cloudtrail"


@pytest.mark.parametrize(("key", "action"), sorted(OPERATION_ACTIONS.items()))
def test_each_exception_entry_maps_and_exists(key: tuple[str, str], action: str | None) -> None:
    """Every exceptions-table entry maps its operation (any case) to an action IAM knows."""
    prefix, operation = key
    source = f"{prefix}.amazonaws.com"
    got = action_for_operation(source, operation.upper())
    if action is None:
        assert got is None
    else:
        info = get_action(action)
        assert info is not None, f"{action} is not in the IAM dataset"
        assert got == info.name


@pytest.mark.parametrize(("host", "prefix"), sorted(PREFIX_BY_HOST.items()))
def test_each_event_source_exception_resolves(host: str, prefix: str) -> None:
    """Event sources whose endpoint differs from the IAM prefix resolve to that prefix."""
    assert iam_prefix_for(f"{host}.amazonaws.com") == prefix
    assert iam_prefix_for(host.upper()) == prefix


@pytest.mark.parametrize(
    ("source", "operation", "expected"),
    [
        ("s3.amazonaws.com", "ListObjectsV2", "s3:ListBucket"),
        ("s3.amazonaws.com", "ListObjects", "s3:ListBucket"),
        ("s3", "HeadObject", "s3:GetObject"),
        ("s3", "HeadBucket", "s3:ListBucket"),
        ("s3", "GetBucketAcl", "s3:GetBucketAcl"),
        ("lambda.amazonaws.com", "Invoke", "lambda:InvokeFunction"),
        ("lambda.amazonaws.com", "UpdateFunctionCode20150331v2", "lambda:UpdateFunctionCode"),
        ("lambda.amazonaws.com", "GetFunction20150331v2", "lambda:GetFunction"),
        ("cloudfront.amazonaws.com", "GetDistribution2020_05_31", "cloudfront:GetDistribution"),
        ("sqs.amazonaws.com", "SendMessageBatch", "sqs:SendMessage"),
        ("sqs", "sendmessagebatch", "sqs:SendMessage"),
        ("monitoring.amazonaws.com", "PutMetricData", "cloudwatch:PutMetricData"),
        ("email.amazonaws.com", "SendRawEmail", "ses:SendRawEmail"),
        ("es.amazonaws.com", "CreateDomain", "es:CreateDomain"),
        ("opensearch", "CreateDomain", "es:CreateDomain"),
        ("elasticloadbalancing.amazonaws.com", "CreateLoadBalancer", None),
        ("ec2.amazonaws.com", "RunInstances", "ec2:RunInstances"),
        ("sts.amazonaws.com", "AssumeRole", "sts:AssumeRole"),
        ("kms.amazonaws.com", "Decrypt", "kms:Decrypt"),
        ("signin.amazonaws.com", "ConsoleLogin", None),
        ("efs", "CreateFileSystem", "elasticfilesystem:CreateFileSystem"),
        ("ec2.amazonaws.com", "NoSuchOperation", None),
        ("nosuchservice.amazonaws.com", "Anything", None),
        ("", "RunInstances", None),
        ("ec2", "", None),
    ],
)
def test_action_for_operation(source: str, operation: str, expected: str | None) -> None:
    """Common CloudTrail events and SDK operations map to the IAM action they need."""
    got = action_for_operation(source, operation)
    if source.startswith("elasticloadbalancing"):
        # CreateLoadBalancer exists for ELB; the point is that the prefix resolves.
        assert got == "elasticloadbalancing:CreateLoadBalancer"
    else:
        assert got == expected


@pytest.mark.parametrize(("key", "extra"), sorted(COMPANION_ACTIONS.items()))
def test_companion_actions_exist(key: tuple[str, str], extra: tuple[str, ...]) -> None:
    """Calls that need a second action name it, and that action exists."""
    prefix, operation = key
    assert companion_actions(f"{prefix}.amazonaws.com", operation) == extra
    assert all(get_action(a) is not None for a in extra)
    assert companion_actions("s3", "GetObject") == ()


def _walk(node: Any, out: set[tuple[str, str]]) -> None:
    if isinstance(node, dict):
        if "eventName" in node and "eventSource" in node:
            code = str(node.get("errorCode", ""))
            if "AccessDenied" in code or "Unauthorized" in code:
                out.add((str(node["eventSource"]), str(node["eventName"])))
            return
        for value in node.values():
            _walk(value, out)
    elif isinstance(node, list):
        for value in node:
            _walk(value, out)


@pytest.mark.skipif(not CLOUDTRAIL.is_dir(), reason="shared CloudTrail captures not present")
def test_real_cloudtrail_denials_all_map_to_actions() -> None:
    """Every denied event in the public CloudTrail captures maps to an IAM action, quickly."""
    pairs: set[tuple[str, str]] = set()
    for path in CLOUDTRAIL.rglob("*.json*"):
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        try:
            _walk(json.loads(data), pairs)
        except ValueError:
            for line in data.splitlines():
                try:
                    _walk(json.loads(line), pairs)
                except ValueError:
                    continue
    assert len(pairs) >= 5
    start = time.perf_counter()
    mapped = {pair: action_for_operation(*pair) for pair in pairs}
    assert all(mapped.values()), {k: v for k, v in mapped.items() if v is None}
    assert mapped[("ec2.amazonaws.com", "RunInstances")] == "ec2:RunInstances"
    # Second pass is served from the cache.
    start = time.perf_counter()
    for pair in pairs:
        action_for_operation(*pair)
    assert time.perf_counter() - start < 0.05
