"""The resource a CloudTrail record's ``requestParameters`` name, as an ARN.

Many failure records carry neither ``resources`` nor a resource in
``errorMessage`` ("Access to the resource https://sqs... is denied."), yet
the request itself names it.  Only shapes whose ARN is certain are read:

- S3 ``bucketName`` (+ ``key``);
- SQS ``queueUrl``, regional (``https://sqs.<region>.amazonaws.com/<acct>/<name>``)
  and legacy (``https://queue.amazonaws.com/...``, ``https://<region>.queue.amazonaws.com/...``);
- SNS ``topicArn``;
- DynamoDB ``tableName`` (a name in the caller's account, or an ARN);
- Lambda ``functionName`` (name, ``name:qualifier``, partial or full ARN);
- KMS ``keyId`` and Secrets Manager ``secretId``, only when already an ARN
  (a key id, alias or secret name alone does not give the full ARN);
- STS ``roleArn`` (AssumeRole, AssumeRoleWithWebIdentity, AssumeRoleWithSAML).

ARN formats: the Service Authorization Reference's resource types per service.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

# Plain character checks rather than regexes: each input is short and the
# shapes are simple (every regex in diagnostics/ also needs a ReDoS case).
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_TABLE_CHARS = _NAME_CHARS | {"."}
_QUALIFIER_CHARS = _NAME_CHARS | {"$"}
_REGION_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz-")
_PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f")


def _is_account(text: str) -> bool:
    return len(text) == 12 and text.isascii() and text.isdigit()


def _is_region(text: str) -> bool:
    """``us-east-1``, ``us-gov-west-1``, ``ap-southeast-2``."""
    head, _, number = text.rpartition("-")
    return (
        0 < len(number) <= 2
        and number.isascii()
        and number.isdigit()
        and 4 <= len(head) <= 30
        and head[2:3] == "-"
        and set(head) <= _REGION_CHARS
    )


def _is_name(text: str, chars: frozenset[str], low: int, high: int) -> bool:
    return low <= len(text) <= high and set(text) <= chars


def _is_queue_name(text: str) -> bool:
    name = text.removesuffix(".fifo")
    return _is_name(name, _NAME_CHARS, 1, 80)


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _text(value: object, limit: int = 2048) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def _arn_of(value: object, service: str, marker: str) -> str | None:
    """``value`` when it is an ARN of ``service`` whose resource part starts with ``marker``."""
    arn = _text(value)
    if arn is None or any(ch.isspace() for ch in arn):
        return None
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[1] not in _PARTITIONS:
        return None
    if parts[2] != service or not _is_region(parts[3]) or not _is_account(parts[4]):
        return None
    return arn if parts[5].startswith(marker) and len(parts[5]) > len(marker) else None


def _s3(params: Mapping[str, Any], region: str | None) -> str | None:
    bucket = _text(params.get("bucketName"), 255)
    if bucket is None:
        return None
    arn = f"arn:{_partition(region or '')}:s3:::{bucket}"
    key = _text(params.get("key"), 1024)
    return f"{arn}/{key}" if key is not None else arn


def _sqs(params: Mapping[str, Any], region: str | None) -> str | None:
    url = _text(params.get("queueUrl"))
    if url is None:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    path = parts.path.strip("/").split("/")
    if len(path) != 2 or not _is_account(path[0]) or not _is_queue_name(path[1]):
        return None
    labels = host.split(".")
    if host.endswith(".amazonaws.com.cn"):
        labels = labels[:-1]
    if labels[-2:] != ["amazonaws", "com"]:
        return None
    head = labels[:-2]
    if head == ["queue"]:
        where = region  # the legacy us-east-1 endpoint: the record's region
    elif len(head) == 2 and head[0] == "sqs":
        where = head[1]  # sqs.<region>.amazonaws.com
    elif len(head) == 2 and head[1] == "queue":
        where = head[0]  # <region>.queue.amazonaws.com (legacy regional)
    else:
        return None
    if where is None or not _is_region(where):
        return None
    return f"arn:{_partition(where)}:sqs:{where}:{path[0]}:{path[1]}"


def _dynamodb(params: Mapping[str, Any], region: str | None, account: str | None) -> str | None:
    name = params.get("tableName")
    arn = _arn_of(name, "dynamodb", "table/")
    if arn is not None:
        return arn
    table = _text(name, 255)
    if table is None or not _is_name(table, _TABLE_CHARS, 3, 255):
        return None
    if region is None or account is None:
        return None
    return f"arn:{_partition(region)}:dynamodb:{region}:{account}:table/{table}"


def _lambda(params: Mapping[str, Any], region: str | None, account: str | None) -> str | None:
    value = params.get("functionName")
    arn = _arn_of(value, "lambda", "function:")
    if arn is not None:
        return arn
    text = _text(value, 256)
    if text is None or region is None:
        return None
    owner = account
    parts = text.split(":")
    if len(parts) >= 3 and parts[1] == "function":
        owner, parts = parts[0], parts[2:]  # "<account>:function:<name>[:<qualifier>]"
    if owner is None or not _is_account(owner) or len(parts) > 2:
        return None
    if not _is_name(parts[0], _NAME_CHARS, 1, 64):
        return None
    if len(parts) == 2 and not _is_name(parts[1], _QUALIFIER_CHARS, 1, 128):
        return None
    return f"arn:{_partition(region)}:lambda:{region}:{owner}:function:{':'.join(parts)}"


def request_resource(record: Mapping[str, Any], account: str | None) -> str | None:
    """The ARN the record's request parameters name, or None when not certain.

    ``account`` is the caller's account, used only where the request gives a
    bare name (which always means a resource in the caller's own account).
    """
    params = record.get("requestParameters")
    if not isinstance(params, Mapping):
        return None
    raw_region = record.get("awsRegion")
    region = raw_region if isinstance(raw_region, str) and _is_region(raw_region) else None
    source = record.get("eventSource")
    if source == "s3.amazonaws.com":
        return _s3(params, region)
    if source == "sqs.amazonaws.com":
        return _sqs(params, region)
    if source == "sns.amazonaws.com":
        return _arn_of(params.get("topicArn"), "sns", "")
    if source == "dynamodb.amazonaws.com":
        return _dynamodb(params, region, account)
    if source == "lambda.amazonaws.com":
        return _lambda(params, region, account)
    if source == "kms.amazonaws.com":
        return _arn_of(params.get("keyId"), "kms", "key/")
    if source == "secretsmanager.amazonaws.com":
        return _arn_of(params.get("secretId"), "secretsmanager", "secret:")
    if source == "sts.amazonaws.com":
        return _role_arn(params.get("roleArn"))
    return None


def _role_arn(value: object) -> str | None:
    """STS AssumeRole*'s ``roleArn``: an IAM role ARN (IAM ARNs have no region)."""
    arn = _text(value)
    if arn is None or any(ch.isspace() for ch in arn):
        return None
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[1] not in _PARTITIONS:
        return None
    ok = parts[2] == "iam" and not parts[3] and _is_account(parts[4])
    return arn if ok and parts[5].startswith("role/") and len(parts[5]) > 5 else None
