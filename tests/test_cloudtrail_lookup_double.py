"""The loopback LookupEvents double answers real boto3 calls the way CloudTrail does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import orjson
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from diagnostics.testing.lookup_events_double import LookupEventsDouble
from diagnostics.testing.lookup_events_samples import lookup_record

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def trail() -> Iterator[LookupEventsDouble]:
    with LookupEventsDouble(page_size=2) as double:
        for minutes, name in [(1, "CreateRole"), (2, "PutRolePolicy"), (3, "GetRole")]:
            double.add_record(
                lookup_record(name, "iam.amazonaws.com", NOW - timedelta(minutes=minutes))
            )
        double.add_record(lookup_record("RunInstances", "ec2.amazonaws.com", NOW))
        yield double


def _client(double: LookupEventsDouble, attempts: int = 1, region: str = "us-east-1") -> Any:
    return boto3.client(
        "cloudtrail",
        endpoint_url=double.endpoint_url,
        region_name=region,
        aws_access_key_id="AKIAEXAMPLELOOKUP001",
        aws_secret_access_key="not-a-secret",
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
    )


def test_paginator_walks_every_page_newest_first(trail: LookupEventsDouble) -> None:
    """boto3's paginator follows NextToken and gets the events newest first, in full."""
    client = _client(trail, attempts=5)
    pages = list(
        client.get_paginator("lookup_events").paginate(
            StartTime=NOW - timedelta(hours=1), EndTime=NOW
        )
    )
    events = [e for p in pages for e in p["Events"]]
    assert [e["EventName"] for e in events] == [
        "RunInstances",
        "CreateRole",
        "PutRolePolicy",
        "GetRole",
    ]
    assert orjson.loads(events[1]["CloudTrailEvent"])["eventName"] == "CreateRole"
    assert events[0]["EventTime"] == NOW
    assert len(pages) == 2


def test_a_third_call_within_a_second_is_throttled(trail: LookupEventsDouble) -> None:
    """A caller faster than 2 calls a second per region gets ThrottlingException (HTTP 400)."""
    client = _client(trail)
    codes: list[tuple[str, int]] = []
    while not codes:  # back to back: a loaded machine may still space two calls out
        for _ in range(3):
            try:
                client.lookup_events(MaxResults=1)
            except ClientError as exc:
                response: Any = exc.response
                codes.append(
                    (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"])
                )
    assert set(codes) == {("ThrottlingException", 400)}
    calls = trail.calls
    answered = [c.received_at for c in calls if c.error_code is None]
    for call in calls:
        window = 1.0 - trail.tolerance
        recent = [t for t in answered if 0 < call.received_at - t < window]
        # Throttled exactly when two answers went out in the second before it.
        assert (call.error_code is not None) == (len(recent) >= 2)
    # The limit is per region: another region is answered at once.
    assert _client(trail, region="eu-west-1").lookup_events(MaxResults=1)["Events"] == []


def test_one_attribute_filters_and_two_are_refused(trail: LookupEventsDouble) -> None:
    """One lookup attribute filters the events; a second is InvalidLookupAttributesException."""
    client = _client(trail, attempts=5)
    answer = client.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "ec2.amazonaws.com"}]
    )
    assert [e["EventName"] for e in answer["Events"]] == ["RunInstances"]
    with pytest.raises(ClientError, match="InvalidLookupAttributesException"):
        client.lookup_events(
            LookupAttributes=[
                {"AttributeKey": "EventSource", "AttributeValue": "ec2.amazonaws.com"},
                {"AttributeKey": "ReadOnly", "AttributeValue": "false"},
            ]
        )


def test_a_token_from_another_query_is_refused(trail: LookupEventsDouble) -> None:
    """A NextToken only continues the query that issued it."""
    client = _client(trail, attempts=5)
    token = client.lookup_events(StartTime=NOW - timedelta(hours=1), EndTime=NOW)["NextToken"]
    with pytest.raises(ClientError, match="InvalidNextTokenException"):
        client.lookup_events(StartTime=NOW - timedelta(hours=2), EndTime=NOW, NextToken=token)


def test_calls_are_logged_with_region_window_and_status(trail: LookupEventsDouble) -> None:
    """Each call is recorded with its region, time range, answer size and error code."""
    trail.fail_next("access_denied")
    client = _client(trail)
    with pytest.raises(ClientError, match="AccessDeniedException"):
        client.lookup_events(StartTime=NOW - timedelta(hours=1), EndTime=NOW)
    client.lookup_events(StartTime=NOW - timedelta(hours=1), EndTime=NOW)
    denied, ok = trail.calls
    assert (denied.region, denied.error_code, denied.returned) == (
        "us-east-1",
        "AccessDeniedException",
        0,
    )
    assert (ok.status, ok.returned, ok.end_time) == (200, 2, NOW.timestamp())
