"""CloudTrail records and the envelopes they travel in.

Envelopes: an S3 delivery ``{"Records": [...]}``, a JSON array of records, a
single record, an EventBridge "AWS API Call via CloudTrail" event (the record
is ``detail``), ``aws cloudtrail lookup-events`` items (the record is the JSON
string ``CloudTrailEvent``; also the whole ``{"Events": [...]}`` output), and
CloudWatch Logs subscription payloads (records are the JSON strings
``logEvents[].message``).

A record is an authorization failure when its ``errorCode`` is in
``codes.AUTHZ_CODE_TABLE``.  ``eventName`` is kept as the operation; mapping it
to an IAM action needs the IAM dataset and happens later in the pipeline.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from diagnostics.extract.assembly.text import analyse_message
from diagnostics.extract.cloudtrail.request_resources import request_resource
from diagnostics.iam.error_codes import is_authz_error_code
from diagnostics.model import Failure, SourceRef, as_policy_type

#: How many envelope levels we unwrap (EventBridge in SQS in SNS ...).
MAX_ENVELOPE_DEPTH = 6
#: Longest errorMessage we parse (CloudTrail itself cuts messages far shorter).
MAX_MESSAGE = 64 * 1024
#: CloudTrail keeps this many characters of an errorMessage, then adds "..."
#: (seen in DataDog/stratus-red-team's detonation logs: 1,026-character messages).
CLOUDTRAIL_MESSAGE_LIMIT = 1023

_ACCOUNT = re.compile(r"^\d{12}$")  # linear: anchored fixed-length class

_RECORD_KEYS = ("eventVersion", "eventSource", "eventName")


def is_record(obj: object) -> bool:
    """A CloudTrail record: a mapping with the keys every record carries."""
    return isinstance(obj, Mapping) and sum(1 for k in _RECORD_KEYS if k in obj) >= 2


def _loads_string(value: object) -> object:
    if not isinstance(value, str) or not value.lstrip().startswith("{"):
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return None


def iter_records(obj: object, *, depth: int = 0) -> Iterator[Mapping[str, Any]]:
    """Every CloudTrail record inside ``obj``, whatever envelope holds it."""
    if depth > MAX_ENVELOPE_DEPTH:
        return
    if isinstance(obj, list):
        for item in obj:
            yield from iter_records(item, depth=depth + 1)
        return
    if not isinstance(obj, Mapping):
        return
    if is_record(obj):
        yield obj
        return
    records = obj.get("Records")
    if isinstance(records, list):
        yield from iter_records(records, depth=depth + 1)
        return
    detail = obj.get("detail")
    if isinstance(detail, Mapping) and "detail-type" in obj:
        yield from iter_records(detail, depth=depth + 1)
        return
    if "CloudTrailEvent" in obj:
        yield from iter_records(_loads_string(obj["CloudTrailEvent"]), depth=depth + 1)
        return
    events = obj.get("Events")
    if isinstance(events, list):
        yield from iter_records(events, depth=depth + 1)
        return
    log_events = obj.get("logEvents")
    if isinstance(log_events, list):
        for item in log_events:
            if isinstance(item, Mapping):
                yield from iter_records(_loads_string(item.get("message")), depth=depth + 1)


def looks_like_cloudtrail(obj: object) -> bool:
    """Whether ``obj`` is a CloudTrail document or envelope, even with zero records."""
    if isinstance(obj, Mapping):
        if "Records" in obj or is_record(obj) or "CloudTrailEvent" in obj:
            return True
        if obj.get("detail-type") and isinstance(obj.get("detail"), Mapping):
            return is_record(obj["detail"])
        if isinstance(obj.get("logEvents"), list) and obj.get("messageType"):
            return True
        return isinstance(obj.get("Events"), list)
    if isinstance(obj, list):
        return bool(obj) and all(
            isinstance(x, Mapping) and (is_record(x) or "CloudTrailEvent" in x) for x in obj[:16]
        )
    return False


def _str(value: object, limit: int = 2048) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _account(*values: object) -> str | None:
    for value in values:
        if isinstance(value, str) and _ACCOUNT.match(value):
            return value
    return None


def _caller_account(record: Mapping[str, Any], identity: Mapping[str, Any]) -> str | None:
    # A caller of type AWSAccount (another account calling in, no ARN) is its
    # own accountId; recipientAccountId is the account that refused it.
    if identity.get("type") == "AWSAccount":
        return _account(identity.get("accountId"), record.get("recipientAccountId"))
    return _account(record.get("recipientAccountId"), identity.get("accountId"))


def record_resource(record: Mapping[str, Any]) -> str | None:
    """The resource a record names: ``resources[0].ARN``, else one its request parameters name."""
    resources = record.get("resources")
    if isinstance(resources, list) and resources and isinstance(resources[0], Mapping):
        arn = _str(resources[0].get("ARN"))
        if arn is not None:
            return arn
    identity = record.get("userIdentity")
    # A bare name (table, function) always means the caller's own account.
    caller = identity.get("accountId") if isinstance(identity, Mapping) else None
    return request_resource(record, _account(caller, record.get("recipientAccountId")))


@functools.lru_cache(maxsize=4096)
def _is_ip(text: str) -> bool:
    # Remembered: a trail's records come from few addresses, and parsing one costs 5 µs.
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def record_conditions(record: Mapping[str, Any]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Global condition keys a record states (CloudTrail record contents reference).

    ``sourceIPAddress`` is a service name ("ec2.amazonaws.com") when a service
    called on the principal's behalf: only an address becomes aws:SourceIp.
    """
    out: list[tuple[str, tuple[str, ...]]] = []
    ip = _str(record.get("sourceIPAddress"), 64)
    if ip and _is_ip(ip):
        out.append(("aws:SourceIp", (ip,)))
    vpce = _str(record.get("vpcEndpointId"), 64)
    if vpce:
        out.append(("aws:SourceVpce", (vpce,)))
    region = _str(record.get("awsRegion"), 64)
    if region:
        out.append(("aws:RequestedRegion", (region,)))
    # sessionContext.attributes.mfaAuthenticated is left out: it is absent or
    # "false" for nearly every role session, and read as aws:MultiFactorAuthPresent
    # it would make every explicit deny look like an MFA requirement.
    return tuple(out)


_HEX = frozenset("0123456789abcdef")
_SERVICE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def _partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def _via_service(record: Mapping[str, Any], identity: Mapping[str, Any]) -> str | None:
    """``kms:ViaService`` of a KMS call a service made with the caller's credentials.

    CloudTrail writes the service as ``userIdentity.invokedBy``
    (``s3.amazonaws.com``); KMS's key is ``<service>.<region>.amazonaws.com``
    (AWS KMS Developer Guide, "kms:ViaService").  A service acting as itself
    (type AWSService) and "AWS Internal" are no forward access session.
    """
    invoked = _str(identity.get("invokedBy"), 128)
    region = _str(record.get("awsRegion"), 64)
    if (
        record.get("eventSource") != "kms.amazonaws.com"
        or identity.get("type") == "AWSService"
        or not invoked
        or not region
    ):
        return None
    service = invoked.removesuffix(".amazonaws.com")
    if service == invoked or not service or not set(service) <= _SERVICE_CHARS:
        return None
    return f"{service}.{region}.amazonaws.com"


def _parent_volume(record: Mapping[str, Any], account: str | None) -> str | None:
    """The volume ARN a CreateSnapshot request names (``requestParameters.volumeId``)."""
    params = record.get("requestParameters")
    region = _str(record.get("awsRegion"), 64)
    if (
        record.get("eventSource") != "ec2.amazonaws.com"
        or record.get("eventName") != "CreateSnapshot"
        or not isinstance(params, Mapping)
        or not region
        or not account
    ):
        return None
    volume = _str(params.get("volumeId"), 32) or ""
    digits = volume.removeprefix("vol-")
    # vol- and 8 or 17 hex digits (EC2 resource IDs); anything else is not a volume.
    if digits == volume or len(digits) not in (8, 17) or not set(digits) <= _HEX:
        return None
    return f"arn:{_partition_of(region)}:ec2:{region}:{account}:volume/{volume}"


def caller_conditions(
    record: Mapping[str, Any], identity: Mapping[str, Any], account: str | None
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Condition keys the caller and request state: role with path, calling service, volume.

    A role session's ``sessionIssuer.arn`` is its ``aws:PrincipalArn``, the
    role's ARN with its path (``role/apps/ingest-role``), which the session's
    own ARN drops.
    """
    out: list[tuple[str, tuple[str, ...]]] = []
    context = identity.get("sessionContext")
    issuer = context.get("sessionIssuer") if isinstance(context, Mapping) else None
    if isinstance(issuer, Mapping) and issuer.get("type") == "Role":
        role = _str(issuer.get("arn"), 2048)
        if role and role.startswith("arn:") and ":role/" in role:
            out.append(("aws:PrincipalArn", (role,)))
    via = _via_service(record, identity)
    if via:
        out.append(("kms:ViaService", (via,)))
    volume = _parent_volume(record, account)
    if volume:
        out.append(("ec2:ParentVolume", (volume,)))
    return tuple(out)


def _web_identity_provider(identity: Mapping[str, Any]) -> str | None:
    """A web identity caller's OIDC provider ARN: it has no ARN of its own."""
    provider = _str(identity.get("identityProvider"), 512)
    if identity.get("type") == "WebIdentityUser" and provider and ":oidc-provider/" in provider:
        return provider
    return None


def web_identity_claims(identity: Mapping[str, Any]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The token's ``<host>:sub`` and ``<host>:aud`` a web identity record states.

    CloudTrail writes ``principalId`` as ``<provider ARN>:<aud>:<sub>`` and the
    subject again as ``userName`` (``system:serviceaccount:NS:SA`` for EKS IRSA).
    """
    provider = _web_identity_provider(identity)
    sub = _str(identity.get("userName"), 512)
    if provider is None or sub is None:
        return ()
    host = provider.split(":oidc-provider/", 1)[1]
    out: list[tuple[str, tuple[str, ...]]] = [(f"{host}:sub", (sub,))]
    principal_id = _str(identity.get("principalId"), 2048) or ""
    tail = f":{sub}"
    if principal_id.startswith(f"{provider}:") and principal_id.endswith(tail):
        aud = principal_id[len(provider) + 1 : -len(tail)]
        if aud:
            out.append((f"{host}:aud", (aud,)))
    return tuple(out)


def _was_cut(message: str) -> bool:
    """CloudTrail cut this errorMessage: it keeps 1,023 characters and appends "..."."""
    return len(message) >= CLOUDTRAIL_MESSAGE_LIMIT


def _placeholder(arn: str) -> bool:
    """A caller ARN someone replaced or masked: no ARN at all, an account that is not
    12 digits (``{AWS_ACCOUNT_ID}``, ``xxxx``), or a ``<...>``/``{...}`` slot."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or not _ACCOUNT.match(parts[4]):
        return True
    return any(c in arn for c in "<>{}")


def failure_from_record(record: Mapping[str, Any], source: SourceRef) -> Failure | None:
    """The authorization failure a CloudTrail record holds, or None (also for a non-mapping)."""
    if not isinstance(record, Mapping):  # callers pass parsed JSON of any shape
        return None  # type: ignore[unreachable]
    code = record.get("errorCode")
    if not is_authz_error_code(code):
        return None
    assert isinstance(code, str)
    identity = record.get("userIdentity")
    identity = identity if isinstance(identity, Mapping) else {}
    principal = _str(identity.get("arn")) or _web_identity_provider(identity)
    # A caller ARN with a placeholder or masked account ("{AWS_ACCOUNT_ID}", "<arn>")
    # is kept as written: a fix naming it would be wrong.
    written = None
    if principal is not None and _placeholder(principal):
        principal, written = None, principal
    message = record.get("errorMessage")
    found = (
        analyse_message(message[:MAX_MESSAGE], cut=_was_cut(message))
        if isinstance(message, str)
        else None
    )
    event_id = _str(record.get("eventID"), 128)
    if source.event_id != event_id:
        source = SourceRef(source.path, source.line, source.offset, event_id)
    excerpt = f"{record.get('eventSource', '')} {record.get('eventName', '')} {code}"
    if isinstance(message, str):
        excerpt = f"{excerpt}: {message}"
    return Failure(
        kind="cloudtrail",
        source=source,
        principal_arn=principal or (found.principal_arn if found and not written else None),
        principal_text=written or (found.principal_text if found else None),
        account_id=_caller_account(record, identity) or (found.account_id if found else None),
        action=found.action if found else None,
        resource=(found.resource if found else None) or record_resource(record),
        resource_text=found.resource_text if found else None,
        policy_type=as_policy_type(found.policy_type) if found else None,
        policy_arn=found.policy_arn if found else None,
        explicit_deny=found.explicit_deny if found else None,
        encoded_message=found.encoded_message if found else None,
        truncated=bool(found and found.truncated),
        operation=_str(record.get("eventName"), 256),
        event_source=_str(record.get("eventSource"), 256),
        region=_str(record.get("awsRegion"), 64),
        error_code=code,
        event_time=_str(record.get("eventTime"), 64),
        conditions=record_conditions(record)
        + web_identity_claims(identity)
        + caller_conditions(record, identity, _caller_account(record, identity)),
        excerpt=excerpt[:500],
        authorization_id=found.authorization_id if found else None,
        parse_notes=found.parse_notes if found else (),
    )


def failures_from_document(obj: object, source: SourceRef) -> Iterator[Failure]:
    """The authorization failures in a parsed CloudTrail document or envelope."""
    for record in iter_records(obj):
        failure = failure_from_record(record, source)
        if failure is not None:
            yield failure
