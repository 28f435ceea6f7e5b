"""``scan --cloudtrail-lookup`` against the loopback LookupEvents double, through real boto3."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson
import pytest

from diagnostics.cli import main
from diagnostics.testing.lookup_events_double import LookupEventsDouble
from diagnostics.testing.lookup_events_samples import denied_message, lookup_record

NOW = datetime.now(UTC)


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy keys: the double checks that requests are signed, not by whom."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLELOOKUP001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")


@pytest.fixture
def trail(creds: None) -> Iterator[LookupEventsDouble]:
    with LookupEventsDouble(page_size=2) as double:
        yield double


def _denial(minutes: float, action: str, region: str = "us-east-1") -> dict[str, Any]:
    service, _, name = action.partition(":")
    arn = f"arn:aws:iam::123456789012:role/app-{name.lower()}"
    return lookup_record(
        name,
        f"{service}.amazonaws.com",
        NOW - timedelta(minutes=minutes),
        error_code="AccessDenied",
        error_message=denied_message(action, arn),
        region=region,
        read_only=False,
    )


def _success(minutes: float, region: str = "us-east-1") -> dict[str, Any]:
    return lookup_record(
        "DescribeInstances", "ec2.amazonaws.com", NOW - timedelta(minutes=minutes), region=region
    )


def _seed(double: LookupEventsDouble, records: list[dict[str, Any]]) -> None:
    for record in records:
        double.add_record(record)


def _scan(double: LookupEventsDouble, *extra: str) -> int:
    return main(
        [
            "scan",
            "--cloudtrail-lookup",
            "--no-decode",
            "--format",
            "json",
            "--cloudtrail-endpoint-url",
            double.endpoint_url,
            *extra,
        ]
    )


def _event_ids(out: str) -> list[str]:
    return [orjson.loads(line)["source"]["event_id"] for line in out.splitlines() if line]


def test_finds_exactly_the_seeded_denials_across_pages_at_two_calls_a_second(
    trail: LookupEventsDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    """--since 1h reports every denial of the hour and nothing else, paging at most 2 calls/s."""
    inside = [_denial(5, "iam:CreateRole"), _denial(20, "kms:Decrypt"), _denial(50, "ssm:Get")]
    _seed(trail, [*inside, _success(10), _success(30), _denial(90, "iam:PassRole")])
    assert _scan(trail, "--since", "1h") == 1
    out = capsys.readouterr().out
    assert sorted(_event_ids(out)) == sorted(r["eventID"] for r in inside)
    calls = trail.calls
    assert len(calls) == 3  # five events in the hour, two a page
    assert [c.error_code for c in calls] == [None, None, None]
    gaps = [b.received_at - a.received_at for a, b in pairwise(calls)]
    # 2 calls a second; 50 ms of slack for loopback scheduling.
    assert all(gap >= 0.45 for gap in gaps), gaps


def test_each_region_is_its_own_pass(
    trail: LookupEventsDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    """Repeating --region reads each named region once, and no other."""
    east, west = _denial(5, "iam:CreateRole"), _denial(6, "sqs:Send", region="eu-west-1")
    _seed(trail, [east, west, _denial(7, "sns:Publish", region="ap-south-1")])
    assert _scan(trail, "--since", "1h", "--region", "us-east-1", "--region", "eu-west-1") == 1
    assert sorted(_event_ids(capsys.readouterr().out)) == sorted([east["eventID"], west["eventID"]])
    assert sorted(c.region for c in trail.calls) == ["eu-west-1", "us-east-1"]


def test_throttling_is_retried_and_nothing_is_lost(
    trail: LookupEventsDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ThrottlingException is retried by boto3 and the scan still reports every denial."""
    records = [_denial(1, "iam:CreateRole"), _denial(2, "kms:Decrypt"), _denial(3, "ssm:Get")]
    _seed(trail, records)
    trail.fail_next("throttle", 2)
    assert _scan(trail, "--since", "1h") == 1
    assert sorted(_event_ids(capsys.readouterr().out)) == sorted(r["eventID"] for r in records)
    codes = [c.error_code for c in trail.calls]
    assert codes.count("ThrottlingException") == 2 and codes.count(None) == 2


def test_output_is_the_same_as_reading_the_records_from_a_file(
    trail: LookupEventsDouble, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A lookup diagnoses each record exactly as scanning the same records in a file does."""
    records = [_denial(4, "iam:CreateRole"), _denial(8, "kms:Decrypt"), _success(9)]
    _seed(trail, records)
    assert _scan(trail, "--since", "1h") == 1
    looked_up = capsys.readouterr().out
    delivery = tmp_path / "delivery.json"
    delivery.write_bytes(orjson.dumps({"Records": records}))
    assert main(["scan", "--no-decode", "--format", "json", str(delivery)]) == 1
    from_file = capsys.readouterr().out

    def comparable(out: str) -> list[dict[str, Any]]:
        rows = [orjson.loads(line) for line in out.splitlines() if line]
        for row in rows:
            row.pop("source"), row.pop("last_source")
        return sorted(rows, key=lambda r: str(r["event_time"]))

    assert comparable(looked_up) == comparable(from_file)


def test_an_unparsable_event_is_counted_and_the_rest_still_read(
    trail: LookupEventsDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CloudTrailEvent that is not a record is skipped with a warning naming it."""
    good = _denial(3, "iam:CreateRole")
    broken = _denial(4, "kms:Decrypt")
    _seed(trail, [good])
    trail.add_record(broken, raw='{"eventVersion": "1.09", "errorCode": "AccessDenied"')
    assert _scan(trail, "--since", "1h") == 1
    captured = capsys.readouterr()
    assert _event_ids(captured.out) == [good["eventID"]]
    assert "1 event(s) whose CloudTrailEvent is not a CloudTrail record" in captured.err
    assert broken["eventID"] in captured.err


def test_lookup_events_denied_says_which_permission_and_diagnoses_itself(
    trail: LookupEventsDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    """AccessDenied on LookupEvents names cloudtrail:LookupEvents, exits 2 and is diagnosed."""
    trail.fail_next("access_denied", None)
    assert _scan(trail, "--since", "1h") == 2
    captured = capsys.readouterr()
    assert 'allow the action "cloudtrail:LookupEvents"' in captured.err
    assert "docs/aws-setup.md" in captured.err
    (own,) = [orjson.loads(line) for line in captured.out.splitlines() if line]
    assert own["action"] == "cloudtrail:LookupEvents"
    assert own["principal_arn"] == trail.caller_arn
    assert trail.call_count() == 1  # a denial is not retried


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--since", "soon"], "'soon' is not a duration"),
        (["--since", "100d"], "keeps 90 days"),
        (["--since", "1h", "--until", "2h"], "is after --until"),
        (["--lookup-attribute", "errorCode=AccessDenied"], "KEY one of"),
    ],
)
def test_bad_options_are_explained(
    trail: LookupEventsDouble, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """A bad window or attribute exits 2 with what to write instead, before any call."""
    assert _scan(trail, *argv) == 2
    assert message in capsys.readouterr().err
    assert trail.call_count() == 0


def test_window_options_need_the_lookup(capsys: pytest.CaptureFixture[str]) -> None:
    """--since without --cloudtrail-lookup is refused rather than ignored."""
    assert main(["scan", "--since", "1h", "--no-decode", "x.log"]) == 2
    assert "--since only applies with --cloudtrail-lookup" in capsys.readouterr().err
