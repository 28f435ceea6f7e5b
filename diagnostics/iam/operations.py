"""Map API operations (CloudTrail ``eventName``, SDK operation names) to IAM actions.

Most operations share their IAM action's name (``ec2:RunInstances``).  The
exceptions live in ``diagnostics.iam.exceptions`` with a source per entry;
the event source's host part becomes the IAM prefix through that table, the
dataset itself, or botocore's service models (``endpointPrefix`` /
``signingName``): one model by its service name, or an index of every model's
names extracted ahead of time (``endpoint_index.py``).
"""

from __future__ import annotations

import functools
import re

from diagnostics.iam.dataset import action_names, get_action, service_exists, service_prefixes
from diagnostics.iam.endpoint_index import shipped
from diagnostics.iam.exceptions import COMPANION_ACTIONS, OPERATION_ACTIONS, PREFIX_BY_HOST

# CloudTrail appends the API version to some event names: Lambda writes
# "UpdateFunctionCode20150331v2", CloudFront "UpdateDistribution2020_05_31"
# (CloudTrail user guide, Lambda and CloudFront "Logging API calls" pages).
# Linear: fixed-width alternatives anchored at the end.
_VERSION_SUFFIX = re.compile(r"(?:\d{8}(?:v\d+)?|\d{4}_\d{2}_\d{2})$")
# Linear: literal alternatives anchored at the end.
_HOST_SUFFIX = re.compile(r"\.amazonaws\.com(?:\.cn)?$|\.api\.aws$")


def _host(service_or_event_source: str) -> str:
    host = service_or_event_source.strip().lower()
    return _HOST_SUFFIX.sub("", host)


def _operation(operation: str) -> str:
    op = operation.strip()
    if op[:1].islower():
        # An SDK's method name: Ruby's get_bucket_website, Java's listQueues.
        op = "".join(part[:1].upper() + part[1:] for part in op.split("_"))
    stripped = _VERSION_SUFFIX.sub("", op)
    return stripped or op


@functools.lru_cache(maxsize=1)
def _botocore_session() -> object:
    import botocore.session

    return botocore.session.get_session()


@functools.lru_cache(maxsize=1)
def _endpoint_index() -> dict[str, str]:
    """endpointPrefix (and botocore service name) -> IAM prefix, over every service.

    From the index extracted ahead of time (``endpoint_index.py``): reading
    every botocore model here took seconds on the daemon's main thread.
    """
    index: dict[str, str] = {}
    for service in shipped().services:
        prefix = (service.signing_name or service.endpoint_prefix or service.name).lower()
        if not service_exists(prefix):
            continue
        endpoint = service.endpoint_prefix.lower()
        if endpoint:
            index.setdefault(endpoint, prefix)
        index.setdefault(service.name.lower(), prefix)
    return index


@functools.lru_cache(maxsize=256)
def _model_prefix(name: str) -> str | None:
    session = _botocore_session()
    if name not in session.get_available_services():  # type: ignore[attr-defined]
        return None
    meta = session.get_service_model(name).metadata  # type: ignore[attr-defined]
    prefix = str(meta.get("signingName") or meta.get("endpointPrefix") or name).lower()
    return prefix if service_exists(prefix) else None


@functools.lru_cache(maxsize=1024)
def iam_prefix_for(service_or_event_source: str) -> str | None:
    """The IAM service prefix for an event source (``monitoring.amazonaws.com``) or name."""
    host = _host(service_or_event_source)
    if not host:
        return None
    if host in PREFIX_BY_HOST:
        return PREFIX_BY_HOST[host]
    if service_exists(host):
        return host
    # A botocore service name ("efs", "opensearch"): one model is cheap to read.
    found = _model_prefix(host)
    if found:
        return found
    # Hosts like "api.ecr" or "streams.dynamodb": try the full botocore index,
    # then each dotted part on its own.
    found = _endpoint_index().get(host)
    if found:
        return found
    for part in reversed(host.split(".")):
        if service_exists(part):
            return part
    return None


@functools.lru_cache(maxsize=1)
def _s3_operations() -> frozenset[str]:
    session = _botocore_session()
    model = session.get_service_model("s3")  # type: ignore[attr-defined]
    return frozenset(str(name) for name in model.operation_names)


def is_s3_operation(operation: str) -> bool:
    """True when ``operation`` is an S3 API operation (botocore's S3 service model).

    A bare ``AccessDenied`` naming such an operation and no service is S3's:
    the other services with like-named operations (Lightsail's CreateBucket,
    MediaStore's GetObject) answer ``AccessDeniedException`` instead.
    """
    return _operation(operation) in _s3_operations()


@functools.lru_cache(maxsize=8192)
def action_for_operation(service_or_event_source: str, operation: str) -> str | None:
    """The IAM action an API call needs, or None when no IAM action governs it.

    ``action_for_operation("s3.amazonaws.com", "ListObjectsV2")`` is
    ``"s3:ListBucket"``; ``("lambda", "Invoke")`` is ``"lambda:InvokeFunction"``;
    ``("signin.amazonaws.com", "ConsoleLogin")`` is None.  The returned
    action always exists in the IAM dataset.
    """
    prefix = iam_prefix_for(service_or_event_source)
    op = _operation(operation)
    if prefix is None or not op:
        return None
    key = (prefix, op.lower())
    if key in OPERATION_ACTIONS:
        mapped = OPERATION_ACTIONS[key]
        info = get_action(mapped) if mapped else None
        return info.name if info else None
    info = get_action(f"{prefix}:{op}")
    return info.name if info else None


def companion_actions(service_or_event_source: str, operation: str) -> tuple[str, ...]:
    """Further actions the call needs besides its main one (e.g. CopyObject reads the source)."""
    prefix = iam_prefix_for(service_or_event_source)
    if prefix is None:
        return ()
    return COMPANION_ACTIONS.get((prefix, _operation(operation).lower()), ())


#: When an operation name is an action of several services, the one a bare SDK
#: error most likely came from: the services most AWS workloads call, each with
#: the code it refuses with (query and rest-xml services say AccessDenied, json
#: ones AccessDeniedException, EC2 UnauthorizedOperation, SNS AuthorizationError;
#: the services' "Common Errors" API references).  Only consulted when the text
#: names no service at all (botocore's ClientError).
_USUAL_SERVICES: dict[str, str] = {
    "s3": "AccessDenied", "ec2": "UnauthorizedOperation", "iam": "AccessDenied",
    "sts": "AccessDenied", "lambda": "AccessDeniedException",
    "dynamodb": "AccessDeniedException", "kms": "AccessDeniedException",
    "sqs": "AccessDenied", "sns": "AuthorizationError", "cloudformation": "AccessDenied",
    "secretsmanager": "AccessDeniedException", "ssm": "AccessDeniedException",
    "logs": "AccessDeniedException", "ecr": "AccessDeniedException",
    "ecs": "AccessDeniedException", "eks": "AccessDeniedException", "rds": "AccessDenied",
    "route53": "AccessDenied", "elasticloadbalancing": "AccessDenied",
    "autoscaling": "AccessDenied", "cloudwatch": "AccessDenied",
    "events": "AccessDeniedException", "states": "AccessDeniedException",
    "glue": "AccessDeniedException", "athena": "AccessDeniedException",
    "kinesis": "AccessDeniedException", "firehose": "AccessDeniedException",
    "apigateway": "AccessDeniedException", "acm": "AccessDeniedException",
}  # fmt: skip


@functools.lru_cache(maxsize=1)
def _services_by_action_name() -> dict[str, tuple[str, ...]]:
    """Lower-case action name -> the IAM prefixes that have it (about 0.2 s, once)."""
    index: dict[str, list[str]] = {}
    for prefix in sorted(service_prefixes()):
        for name in action_names(prefix):
            index.setdefault(name.lower(), []).append(prefix)
    for prefix, op in OPERATION_ACTIONS:
        index.setdefault(op, []).append(prefix)
    return {name: tuple(dict.fromkeys(prefixes)) for name, prefixes in index.items()}


def services_with(operation: str) -> tuple[str, ...]:
    """The IAM prefixes that have an action named like ``operation`` (any case)."""
    return _services_by_action_name().get(_operation(operation).lower(), ())


def usual_service_for(operation: str, code: str) -> str | None:
    """The one usual service that has ``operation`` and refuses with ``code``, or None.

    Stricter than ``service_for_operation``: an operation only a rare service
    has (``Info``) names none, so a word that merely looks like a call does not.
    """
    code = code.removeprefix("Client.")
    candidates = _services_by_action_name().get(_operation(operation).lower(), ())
    usual = [s for s in candidates if _USUAL_SERVICES.get(s) == code]
    return usual[0] if len(usual) == 1 else None


@functools.lru_cache(maxsize=1024)
def service_for_operation(operation: str, code: str) -> str | None:
    """The IAM prefix of the one service an operation name and refusal code point to.

    ``CreateRole`` refused with ``AccessDenied`` is IAM's alone; ``PutObject``
    with ``AccessDenied`` is S3's among several (the usual service wins);
    ``CreateBucket`` with ``AccessDeniedException`` is not S3's (S3 says
    ``AccessDenied``: Lightsail has one too), and ``TagResource`` is
    everyone's: None.
    """
    code = code.removeprefix("Client.")
    candidates = _services_by_action_name().get(_operation(operation).lower(), ())
    if len(candidates) == 1:
        only = candidates[0]
        return only if _USUAL_SERVICES.get(only, code) == code else None
    # A usual service refuses with its own code, which rules the others out.
    usual = [s for s in candidates if _USUAL_SERVICES.get(s) == code]
    return usual[0] if len(usual) == 1 else None
