"""What the S3, SQS and CloudWatch Logs sources share.

boto3 clients with bounded retries and timeouts, the common ``[[source]]``
options (region, endpoint_url), reading one CloudTrail delivery object with a
cap on its decompressed size, and turning a parsed document into failures.
boto3 and botocore are imported inside the functions, never at import time.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from diagnostics.errors import ConfigError, InputError
from diagnostics.model import Failure, SourceRef

if TYPE_CHECKING:
    from diagnostics.config.table import ConfigTable

#: Default cap on one decompressed delivery.  CloudTrail rolls a file over
#: long before this (deliveries are typically well under 50 MB uncompressed).
DEFAULT_MAX_OBJECT_BYTES = 256 << 20
#: Error codes S3 gives for an object that is gone (deleted, or lifecycle-expired).
MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
#: Error codes that no retry will cure: the daemon's role lacks a permission.
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "AllAccessDisabled"})
#: Error codes for "slow down": the call was fine, the rate was not.
THROTTLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "TooManyRequestsException",
        "RequestLimitExceeded",
    }
)


@dataclass(frozen=True, slots=True)
class AwsOptions:
    """Where a source's AWS calls go."""

    region: str | None = None
    endpoint_url: str | None = None


#: Region and endpoint from the environment (AWS_REGION, AWS_ENDPOINT_URL_<SERVICE>).
DEFAULT_AWS = AwsOptions()


def placeholders(n: int) -> str:
    """``?, ?, ?`` for an SQL ``IN`` list of ``n`` bound values (never the values)."""
    return ", ".join("?" * n)


def check_aws_options(table: ConfigTable) -> AwsOptions:
    """``region`` and ``endpoint_url`` (for tests and VPC endpoints), checked."""
    endpoint = table.text("endpoint_url")
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise ConfigError(
            f"{table.where}: key 'endpoint_url' {endpoint!r} must start with http:// or https://"
        )
    return AwsOptions(region=table.text("region"), endpoint_url=endpoint)


def make_client(service: str, opts: AwsOptions, *, read_timeout: float = 30.0) -> Any:
    """A boto3 client with standard retries, timeouts and a connection pool.

    ``read_timeout`` must exceed an SQS long poll (20 s) or every receive fails.
    """
    import boto3
    from botocore.config import Config

    from diagnostics.support.awsenv import avoid_instance_metadata_off_ec2

    avoid_instance_metadata_off_ec2()
    config = Config(
        retries={"mode": "standard", "total_max_attempts": 5},
        connect_timeout=10,
        read_timeout=read_timeout,
        max_pool_connections=20,
    )
    session = boto3.session.Session(region_name=opts.region)
    return session.client(
        service,
        region_name=opts.region or session.region_name or "us-east-1",
        endpoint_url=opts.endpoint_url,
        config=config,
    )


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError``, else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def decompress_capped(data: bytes, *, cap: int, name: str) -> bytes:
    """``data`` un-gzipped when it is gzip, refusing to grow past ``cap`` bytes.

    A hostile or corrupt object must not be able to exhaust memory (a gzip
    bomb inflates a thousandfold), so the output is bounded while inflating.
    """
    if not data.startswith(b"\x1f\x8b"):
        if len(data) > cap:
            raise InputError(f"{name}: {len(data)} bytes is over the {cap}-byte cap; skipped")
        return data
    inflater = zlib.decompressobj(wbits=47)  # 32 + 15: gzip or zlib header
    try:
        out = inflater.decompress(data, cap + 1)
    except zlib.error as exc:
        raise InputError(f"{name}: not valid gzip ({exc}); skipped") from None
    if len(out) > cap:
        raise InputError(
            f"{name}: decompresses to more than {cap} bytes; skipped "
            "(raise max_object_bytes if such deliveries are expected)"
        )
    return out


def read_object(s3: Any, bucket: str, key: str, *, cap: int) -> bytes | None:
    """The bytes of ``s3://bucket/key`` (decompressed), or None when it is gone."""
    from botocore.exceptions import ClientError

    try:
        answer = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if error_code(exc) in MISSING_CODES:
            return None
        raise
    body = answer["Body"]
    try:
        # Compressed deliveries are small; bound the raw read too.
        raw: bytes = body.read(cap + 1)
    finally:
        body.close()
    if len(raw) > cap:
        raise InputError(f"s3://{bucket}/{key}: over the {cap}-byte cap; skipped")
    return decompress_capped(raw, cap=cap, name=f"s3://{bucket}/{key}")


def failures_in_json(data: bytes, source: SourceRef) -> list[Failure]:
    """The failures in one JSON document (a delivery, an envelope, a record)."""
    from diagnostics.extract import failures_from_document

    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{source.path}: not JSON ({exc}); skipped") from None
    return list(failures_from_document(obj, source))


def object_failures(s3: Any, bucket: str, key: str, *, cap: int) -> list[Failure] | None:
    """The failures in one delivery object, or None when the object is gone."""
    data = read_object(s3, bucket, key, cap=cap)
    if data is None:
        return None
    return failures_in_json(data, SourceRef(f"s3://{bucket}/{key}"))


# -- SQS message bodies ---------------------------------------------------------------


class PoisonMessage(Exception):
    """A message no retry will make readable; it is left for the queue's redrive policy."""


@dataclass(frozen=True, slots=True)
class MessageContent:
    """What one SQS message asks for: CloudTrail failures in it, objects to fetch."""

    failures: tuple[Failure, ...] = ()
    objects: tuple[tuple[str, str, str | None], ...] = ()  # (bucket, key, region)
    kind: str = "cloudtrail"


def _s3_notification_objects(obj: dict[str, Any]) -> list[tuple[str, str, str | None]] | None:
    """Objects named by an S3 event notification, or None when ``obj`` is not one."""
    from urllib.parse import unquote_plus

    records = obj.get("Records")
    if not isinstance(records, list) or not records:
        return None
    if not all(isinstance(r, dict) and isinstance(r.get("s3"), dict) for r in records):
        return None
    out: list[tuple[str, str, str | None]] = []
    for r in records:
        if not str(r.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = r["s3"]
        bucket = s3.get("bucket", {}).get("name")
        key = s3.get("object", {}).get("key")
        if not isinstance(bucket, str) or not isinstance(key, str):
            raise PoisonMessage("S3 notification record without bucket name or object key")
        region = r.get("awsRegion")
        # Notification keys are URL-encoded with '+' for spaces (S3 event docs).
        out.append((bucket, unquote_plus(key), region if isinstance(region, str) else None))
    return out


def _is_cloudtrail_shape(obj: object) -> bool:
    if isinstance(obj, list):
        return bool(obj) and all(isinstance(x, dict) for x in obj)
    if not isinstance(obj, dict):
        return False
    if isinstance(obj.get("Records"), list):
        return True
    if "detail-type" in obj and isinstance(obj.get("detail"), dict):
        return True
    return sum(1 for k in ("eventVersion", "eventSource", "eventName") if k in obj) >= 2


def parse_message(body: str, origin: str) -> MessageContent:
    """Read one SQS message body; raise ``PoisonMessage`` for anything unreadable.

    Understood: S3 event notifications (direct, SNS-wrapped, or EventBridge
    "Object Created"), CloudTrail's own SNS delivery notices, EventBridge
    "AWS API Call via CloudTrail" events, raw records and record lists.
    """
    from diagnostics.extract import failures_from_document

    try:
        obj: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise PoisonMessage("the body is not JSON") from None
    if isinstance(obj, dict) and obj.get("Type") == "Notification" and "TopicArn" in obj:
        inner = obj.get("Message")
        try:
            obj = orjson.loads(inner) if isinstance(inner, str) else None
        except orjson.JSONDecodeError:
            raise PoisonMessage("the SNS envelope's Message is not JSON") from None
    if not isinstance(obj, (dict, list)):
        raise PoisonMessage("the body is neither a JSON object nor an array")
    if isinstance(obj, dict):
        if obj.get("Event") == "s3:TestEvent":
            return MessageContent(kind="s3_test_event")
        objects = _s3_notification_objects(obj)
        if objects is not None:
            return MessageContent(objects=tuple(objects), kind="s3_notification")
        if isinstance(obj.get("s3ObjectKey"), list) and isinstance(obj.get("s3Bucket"), str):
            # CloudTrail's SNS notice: {"s3Bucket": ..., "s3ObjectKey": [...]}.
            keys = [k for k in obj["s3ObjectKey"] if isinstance(k, str)]
            return MessageContent(
                objects=tuple((obj["s3Bucket"], k, None) for k in keys), kind="cloudtrail_sns"
            )
        detail = obj.get("detail")
        if obj.get("source") == "aws.s3" and obj.get("detail-type") == "Object Created":
            bucket = detail.get("bucket", {}).get("name") if isinstance(detail, dict) else None
            key = detail.get("object", {}).get("key") if isinstance(detail, dict) else None
            if not isinstance(bucket, str) or not isinstance(key, str):
                raise PoisonMessage("EventBridge Object Created event without bucket or key")
            region = obj.get("region")
            return MessageContent(
                objects=((bucket, key, region if isinstance(region, str) else None),),
                kind="eventbridge_s3",
            )
    if not _is_cloudtrail_shape(obj):
        raise PoisonMessage("not an S3 notification, EventBridge event or CloudTrail record")
    failures = tuple(failures_from_document(obj, SourceRef(origin)))
    return MessageContent(failures=failures, kind="cloudtrail")
