"""Seeded CloudTrail delivery trees: N ``.json.gz`` files of 1,000 records each.

Files are laid out as CloudTrail delivers them to S3,
``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<time>_<id>.json.gz``,
each a compact ``{"Records":[...]}`` document (the record fields follow the
CloudTrail record contents reference, eventVersion 1.08-1.09).  A chosen
share of records carries an ``errorCode``: some are authorization failures
(``AccessDenied``, ``Client.UnauthorizedOperation``, ``AccessDeniedException``,
some with truncated encoded blobs), the rest are errors a scan must not
report (``ThrottlingException``, ``NoSuch*``, ``*.NotFound``,
``Client.DryRunOperation``, Security Hub's ``InvalidAccessException``).
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gen_applog import ACCOUNTS, fake_encoded_blob

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
AGENTS = (
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1 exe/x86_64.amzn.2023",
    "Boto3/1.34.70 md/Botocore#1.34.70 ua/2.0 os/linux#6.1 lang/python#3.11.8",
    "terraform-provider-aws/5.40.0 (+https://registry.terraform.io) aws-sdk-go-v2/1.25.3",
    "console.amazonaws.com",
)

# (eventSource, eventName, readOnly)
EVENTS = (
    ("s3.amazonaws.com", "GetObject", True),
    ("s3.amazonaws.com", "PutObject", False),
    ("s3.amazonaws.com", "ListObjectsV2", True),
    ("ec2.amazonaws.com", "DescribeInstances", True),
    ("ec2.amazonaws.com", "RunInstances", False),
    ("iam.amazonaws.com", "GetRole", True),
    ("sts.amazonaws.com", "AssumeRole", False),
    ("dynamodb.amazonaws.com", "GetItem", True),
    ("kms.amazonaws.com", "Decrypt", True),
    ("lambda.amazonaws.com", "Invoke", False),
    ("logs.amazonaws.com", "PutLogEvents", False),
)


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _identity(rng: random.Random, account: str) -> dict[str, Any]:
    if rng.random() < 0.75:
        role = rng.choice(("ci-deployer", "orders-api", "etl-runner", "data-reader"))
        return {
            "type": "AssumedRole",
            "principalId": f"AROAEXAMPLE{rng.getrandbits(40):010X}:session",
            "arn": f"arn:aws:sts::{account}:assumed-role/{role}/session-{rng.randrange(9999)}",
            "accountId": account,
            "accessKeyId": f"ASIA{rng.getrandbits(64):016X}",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLEROLEID",
                    "arn": f"arn:aws:iam::{account}:role/{role}",
                    "accountId": account,
                    "userName": role,
                },
                "attributes": {
                    "creationDate": "2026-11-27T08:00:00Z",
                    "mfaAuthenticated": "false",
                },
            },
        }
    user = rng.choice(("alice", "bob", "deploy-bot"))
    return {
        "type": "IAMUser",
        "principalId": f"AIDAEXAMPLE{rng.getrandbits(40):010X}",
        "arn": f"arn:aws:iam::{account}:user/{user}",
        "accountId": account,
        "accessKeyId": f"AKIA{rng.getrandbits(64):016X}",
        "userName": user,
    }


def _request(rng: random.Random, name: str, account: str, region: str) -> dict[str, Any] | None:
    if name in ("GetObject", "PutObject"):
        return {"bucketName": "acme-data", "key": f"raw/{rng.randrange(10**6)}.parquet"}
    if name == "ListObjectsV2":
        return {"bucketName": "acme-data", "prefix": "raw/", "list-type": "2"}
    if name == "DescribeInstances":
        return {"instancesSet": {}, "filterSet": {}}
    if name == "RunInstances":
        return {"instanceType": "t3.micro", "instancesSet": {"items": [{"minCount": 1}]}}
    if name == "GetRole":
        return {"roleName": "orders-api"}
    if name == "AssumeRole":
        return {"roleArn": f"arn:aws:iam::{account}:role/data-reader", "roleSessionName": "etl"}
    if name == "GetItem":
        return {"tableName": "Orders", "key": {"id": {"s": str(rng.randrange(10**6))}}}
    if name == "Invoke":
        return {"functionName": f"arn:aws:lambda:{region}:{account}:function:resize"}
    return None


# Errors: (errorCode, message builder(rng, record) -> str); the first list is authz.
Msg = Callable[[random.Random, dict[str, Any]], str]


def _not_authorized(rng: random.Random, rec: dict[str, Any]) -> str:
    service = rec["eventSource"].split(".")[0]
    action = f"{service}:{rec['eventName']}"
    return (
        f"User: {rec['userIdentity']['arn']} is not authorized to perform: {action} on "
        f"resource: arn:aws:{service}:{rec['awsRegion']}:{rec['recipientAccountId']}:thing/"
        f"{rng.randrange(10**6)} because no identity-based policy allows the {action} action"
    )


def _encoded(rng: random.Random, rec: dict[str, Any]) -> str:
    blob = fake_encoded_blob(rng)
    if rng.random() < 0.3:
        # CloudTrail cuts long messages and appends "..."; the blob is then unusable.
        blob = blob[: rng.randint(200, 400)] + "..."
    return (
        "You are not authorized to perform this operation. "
        f"Encoded authorization failure message: {blob}"
    )


AUTHZ_ERRORS: tuple[tuple[str, Msg], ...] = (
    ("AccessDenied", _not_authorized),
    ("AccessDenied", lambda rng, rec: "Access Denied"),
    ("Client.UnauthorizedOperation", _encoded),
    ("AccessDeniedException", _not_authorized),
)
OTHER_ERRORS: tuple[tuple[str, Msg], ...] = (
    ("ThrottlingException", lambda rng, rec: "Rate exceeded"),
    ("NoSuchBucketPolicy", lambda rng, rec: "The bucket policy does not exist"),
    (
        "Client.InvalidInstanceID.NotFound",
        lambda rng, rec: f"The instance ID 'i-{rng.getrandbits(64):017x}' does not exist",
    ),
    ("ResourceNotFoundException", lambda rng, rec: "Requested resource not found"),
    (
        "Client.DryRunOperation",
        lambda rng, rec: "Request would have succeeded, but DryRun flag is set.",
    ),
    ("InvalidAccessException", lambda rng, rec: "Account is not subscribed to AWS Security Hub"),
)


def _record(
    rng: random.Random, account: str, region: str, when: str, error: tuple[str, Msg] | None
) -> dict[str, Any]:
    source, name, read_only = rng.choice(EVENTS)
    rec: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": _identity(rng, account),
        "eventTime": when,
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": f"203.0.113.{rng.randrange(256)}",
        "userAgent": rng.choice(AGENTS),
        "requestParameters": _request(rng, name, account, region),
        "responseElements": None,
        "requestID": _uuid(rng),
        "eventID": _uuid(rng),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": source not in ("s3.amazonaws.com", "lambda.amazonaws.com"),
        "recipientAccountId": account,
        "eventCategory": "Management",
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": f"{source.split('.')[0]}.{region}.amazonaws.com",
        },
    }
    if error is not None:
        code, message = error
        rec["errorCode"] = code
        rec["errorMessage"] = message(rng, rec)
    elif not read_only:
        rec["responseElements"] = {"requestId": rec["requestID"]}
    return rec


def generate_cloudtrail(
    root: Path,
    *,
    files: int,
    records: int = 1000,
    seed: int,
    error_rate: float = 0.05,
    authz_share: float = 0.5,
) -> dict[str, Any]:
    """Write a delivery tree under ``root``; return the manifest of what is in it."""
    rng = random.Random(seed)
    authz = errors = 0
    by_code: dict[str, int] = {}
    total_bytes = gz_bytes = 0
    for i in range(files):
        account = ACCOUNTS[i % len(ACCOUNTS)]
        region = REGIONS[(i // len(ACCOUNTS)) % len(REGIONS)]
        day = 1 + (i // 24) % 28
        hour, minute = i % 24, (i * 5) % 60
        when = f"2026-11-{day:02d}T{hour:02d}:{minute:02d}:00Z"
        batch = []
        for _ in range(records):
            error = None
            if rng.random() < error_rate:
                errors += 1
                if rng.random() < authz_share:
                    authz += 1
                    error = rng.choice(AUTHZ_ERRORS)
                else:
                    error = rng.choice(OTHER_ERRORS)
                by_code[error[0]] = by_code.get(error[0], 0) + 1
            batch.append(_record(rng, account, region, when, error))
        doc = json.dumps({"Records": batch}, separators=(",", ":")).encode()
        directory = root / "AWSLogs" / account / "CloudTrail" / region / f"2026/11/{day:02d}"
        directory.mkdir(parents=True, exist_ok=True)
        suffix = f"{rng.getrandbits(64):016X}"
        name = f"{account}_CloudTrail_{region}_202611{day:02d}T{hour:02d}{minute:02d}Z_{suffix}"
        # mtime=0 keeps the gzip header, and so the whole tree, identical for a seed.
        data = gzip.compress(doc, compresslevel=6, mtime=0)
        (directory / f"{name}.json.gz").write_bytes(data)
        total_bytes += len(doc)
        gz_bytes += len(data)
    return {
        "corpus": "cloudtrail",
        "path": str(root),
        "seed": seed,
        "files": files,
        "records_per_file": records,
        "records": files * records,
        "error_rate": error_rate,
        "authz_share": authz_share,
        "json_bytes": total_bytes,
        "gz_bytes": gz_bytes,
        "expected": {"failures": authz, "records_with_error": errors, "by_error_code": by_code},
    }
