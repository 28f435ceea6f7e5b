"""CloudTrail ``LookupEvents``: paging a time window at 2 calls per second, events to failures.

Shared by ``scan --cloudtrail-lookup`` and the ``cloudtrail_lookup`` watch
source.  LookupEvents filters on at most one attribute and never on
``errorCode``, so every management event of the window crosses the network
and the authorization failures are picked here, by the same record reader
that reads CloudTrail files.  boto3 and botocore are imported inside the
functions, never at import time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from diagnostics.errors import InputError
from diagnostics.model import Failure, SourceRef
from diagnostics.support.ratelimit import TokenBucket

#: LookupEvents answers 2 calls per second per account and region (CloudTrail
#: API reference, LookupEvents; "CloudTrail quotas"); more are throttled.
LOOKUP_RATE = 2.0
#: The largest page LookupEvents gives (``MaxResults`` 1..50).
PAGE_SIZE = 50
#: LookupEvents keeps 90 days of management events.
RETENTION = timedelta(days=90)
#: The attribute keys LookupEvents can filter on (one at a time).
ATTRIBUTE_KEYS = (
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
)
PERMISSION = "cloudtrail:LookupEvents"


@dataclass(frozen=True, slots=True)
class LookupWindow:
    """What one pass asks for: a time range and at most one lookup attribute."""

    start: datetime
    end: datetime
    attribute: tuple[str, str] | None = None


@dataclass(slots=True)
class LookupPage:
    """One page of events, read: the failures by event id, and what could not be read."""

    region: str
    events: int = 0
    failures: list[tuple[str, Failure]] = field(default_factory=list)
    #: Event ids (or "?") whose ``CloudTrailEvent`` is not a CloudTrail record.
    unparsable: list[str] = field(default_factory=list)


class LookupDenied(InputError):
    """The caller may not call LookupEvents; ``str(e)`` says which permission to add."""

    def __init__(self, region: str, code: str, message: str) -> None:
        super().__init__(denied_text(region, code))
        self.region = region
        #: AWS's own sentence ("User: ... is not authorized to perform: ..."),
        #: itself an authorization failure the pipeline can diagnose.
        self.aws_message = message


def denied_text(region: str, code: str) -> str:
    return (
        f"CloudTrail refused {PERMISSION} in {region} ({code}): allow the action "
        f'"{PERMISSION}" (Resource "*") for the identity running authz-diag '
        "(docs/aws-setup.md); the refusal itself is diagnosed like any other failure"
    )


def parse_attribute(text: str) -> tuple[str, str]:
    """``"EventSource=iam.amazonaws.com"`` as a (key, value) pair, checked."""
    key, sep, value = text.partition("=")
    if not sep or key not in ATTRIBUTE_KEYS or not value:
        raise InputError(
            f"lookup attribute {text!r}: write KEY=VALUE with KEY one of "
            f"{', '.join(ATTRIBUTE_KEYS)}, e.g. EventSource=iam.amazonaws.com "
            "(LookupEvents filters on one attribute and never on errorCode)"
        )
    return key, value


def make_client(
    region: str,
    bucket: TokenBucket,
    *,
    profile: str | None = None,
    endpoint_url: str | None = None,
) -> Any:
    """A ``cloudtrail`` client whose every HTTP attempt, retries included, takes a token."""
    import boto3
    from botocore.config import Config

    from diagnostics.support.awsenv import avoid_instance_metadata_off_ec2

    avoid_instance_metadata_off_ec2()
    session = boto3.session.Session(profile_name=profile)
    client = session.client(
        "cloudtrail",
        region_name=region,
        endpoint_url=endpoint_url,
        # Standard mode retries ThrottlingException with backoff; the bucket
        # keeps even those retries at 2/s, so throttling stays the exception.
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 6},
            connect_timeout=10,
            read_timeout=30,
        ),
    )

    def take_token(**_: Any) -> None:
        bucket.acquire()

    client.meta.events.register("before-send.cloudtrail.LookupEvents", take_token)
    return client


def new_bucket() -> TokenBucket:
    """One bucket per account and region: 2 calls a second, no burst above that."""
    return TokenBucket(LOOKUP_RATE, burst=1.0)


def read_events(events: list[Mapping[str, Any]], region: str) -> LookupPage:
    """Each event's ``CloudTrailEvent`` through the CloudTrail record reader."""
    from diagnostics.extract.cloudtrail.records import failure_from_record, iter_records

    page = LookupPage(region, events=len(events))
    origin = f"cloudtrail-lookup:{region}"
    for event in events:
        outer_id = str(event.get("EventId") or "?")[:128] if isinstance(event, Mapping) else "?"
        records = list(iter_records(event)) if isinstance(event, Mapping) else []
        if not records or "CloudTrailEvent" not in event:
            page.unparsable.append(outer_id)
            continue
        for record in records:
            failure = failure_from_record(record, SourceRef(origin))
            if failure is not None:
                page.failures.append((failure.source.event_id or outer_id, failure))
    return page


def lookup_pages(
    client: Any,
    region: str,
    window: LookupWindow,
    *,
    stop: threading.Event | None = None,
) -> Iterator[LookupPage]:
    """Every page of the window, newest events first; raises ``LookupDenied`` when refused."""
    from diagnostics.lookup import errors as e

    kwargs: dict[str, Any] = {
        "StartTime": window.start,
        "EndTime": window.end,
        "MaxResults": PAGE_SIZE,
    }
    if window.attribute is not None:
        key, value = window.attribute
        kwargs["LookupAttributes"] = [{"AttributeKey": key, "AttributeValue": value}]
    while stop is None or not stop.is_set():
        try:
            answer = client.lookup_events(**kwargs)
        except Exception as exc:
            error = e.classify(exc)
            if error.kind == e.ACCESS_DENIED:
                raise LookupDenied(region, error.code, error.message) from None
            raise
        events = answer.get("Events")
        yield read_events(events if isinstance(events, list) else [], region)
        token = answer.get("NextToken")
        if not token:
            return
        kwargs["NextToken"] = token


def window_since(
    since: timedelta | datetime,
    until: datetime | None,
    now: datetime,
    attribute: tuple[str, str] | None = None,
) -> LookupWindow:
    """The window from ``since`` (an age or a time) to ``until`` (default now), checked."""
    end = until if until is not None else now
    start = now - since if isinstance(since, timedelta) else since
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    if start > end:
        raise InputError(
            f"--since ({start:%Y-%m-%dT%H:%M:%SZ}) is after --until ({end:%Y-%m-%dT%H:%M:%SZ})"
        )
    if start < now - RETENTION:
        raise InputError(
            "LookupEvents keeps 90 days of events: use --since 90d or less "
            "(older events are only in the trail's S3 deliveries: scan those)"
        )
    return LookupWindow(start, end, attribute)
