"""Shared helpers for the S3/SQS/CloudWatch Logs source tests: CloudTrail records and deliveries."""

from __future__ import annotations

import gzip
import json
from typing import Any

ORG = "o-abcdefghij"
ACCOUNT_A = "111111111111"
ACCOUNT_B = "222222222222"


def failure_record(i: int, account: str = ACCOUNT_A, region: str = "us-east-1") -> dict[str, Any]:
    """A CloudTrail AccessDenied record whose resource (and so alert group) is unique to ``i``."""
    user = f"arn:aws:iam::{account}:user/dev-{i % 7}"
    resource = f"arn:aws:s3:::bucket-{account}/obj-{i}"
    return {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": user, "accountId": account},
        "eventTime": "2024-05-01T12:00:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "awsRegion": region,
        "errorCode": "AccessDenied",
        "errorMessage": (
            f"User: {user} is not authorized to perform: s3:GetObject on resource: "
            f'"{resource}" because no identity-based policy allows the s3:GetObject action'
        ),
        "eventID": f"00000000-0000-4000-8000-{account[:4]}{i:08d}",
        "recipientAccountId": account,
    }


def ok_record(i: int, account: str = ACCOUNT_A) -> dict[str, Any]:
    """A successful call: never a failure."""
    return {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{account}:user/ok"},
        "eventSource": "s3.amazonaws.com",
        "eventName": "ListBuckets",
        "eventID": f"ok-{account}-{i}",
        "recipientAccountId": account,
    }


def delivery(records: list[dict[str, Any]]) -> bytes:
    """A CloudTrail delivery file as S3 holds it: gzip of ``{"Records": [...]}``."""
    return gzip.compress(json.dumps({"Records": records}).encode())


def delivery_key(
    account: str, region: str, day: str, n: int, *, org: str | None = ORG, prefix: str = ""
) -> str:
    """``[prefix]AWSLogs/[org/]<acct>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_..``."""
    y, m, d = day.split("-")
    org_part = f"{org}/" if org else ""
    return (
        f"{prefix}AWSLogs/{org_part}{account}/CloudTrail/{region}/{y}/{m}/{d}/"
        f"{account}_CloudTrail_{region}_{y}{m}{d}T12{n:02d}Z_{n:016x}.json.gz"
    )


def s3_notification(bucket: str, key: str, region: str = "us-east-1") -> dict[str, Any]:
    """An S3 ObjectCreated event notification (key URL-encoded as S3 sends it)."""
    from urllib.parse import quote_plus

    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(key, safe="/"), "size": 1},
                },
            }
        ]
    }


def sns_wrap(message: dict[str, Any]) -> dict[str, Any]:
    """The SNS envelope a subscribed SQS queue receives (raw delivery off)."""
    return {
        "Type": "Notification",
        "MessageId": "6b1a7c39-0000-4000-8000-000000000001",
        "TopicArn": "arn:aws:sns:us-east-1:111111111111:cloudtrail",
        "Message": json.dumps(message),
        "Timestamp": "2024-05-01T12:00:00.000Z",
    }


def eventbridge(record: dict[str, Any]) -> dict[str, Any]:
    """An EventBridge "AWS API Call via CloudTrail" event carrying ``record``."""
    return {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.s3",
        "account": record.get("recipientAccountId"),
        "time": "2024-05-01T12:00:00Z",
        "region": record.get("awsRegion", "us-east-1"),
        "resources": [],
        "detail": record,
    }
