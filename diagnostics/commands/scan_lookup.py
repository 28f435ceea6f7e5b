"""``scan --cloudtrail-lookup``'s options: the window, the regions, the one lookup attribute."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from diagnostics.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from diagnostics.sources.lookup_scan import LookupScan

# Linear: anchored, fixed shape (an ISO-8601 UTC time, seconds optional).
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?Z$")


def add_lookup_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cloudtrail-lookup",
        action="store_true",
        help="read the account's CloudTrail management events with LookupEvents (no S3 "
        "access needed) instead of files; one pass per --region; needs cloudtrail:LookupEvents",
    )
    p.add_argument(
        "--since",
        metavar="AGE|TIME",
        help="with --cloudtrail-lookup: from this long ago (1h, 30m, 2d; at most 90d) or "
        "from a UTC time (2026-12-07T09:00Z); default 1h",
    )
    p.add_argument(
        "--until",
        metavar="AGE|TIME",
        help="with --cloudtrail-lookup: up to this long ago or this UTC time; default now",
    )
    p.add_argument(
        "--lookup-attribute",
        metavar="KEY=VALUE",
        help="with --cloudtrail-lookup: only events LookupEvents finds for this one attribute, "
        "e.g. EventSource=iam.amazonaws.com (errorCode cannot be filtered on: that is done here)",
    )
    p.add_argument("--cloudtrail-endpoint-url", help=argparse.SUPPRESS)


def _moment(value: str, option: str, now: datetime) -> timedelta | datetime:
    if _TIME.match(value):
        text = value[:-1] + (":00" if value.count(":") == 1 else "")
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    from diagnostics.support.durations import parse_duration

    try:
        return timedelta(seconds=parse_duration(value, where=option))
    except ConfigError as exc:
        raise UsageError(f"{exc}; or a UTC time such as 2026-12-07T09:00Z") from None


def cloudtrail_lookup(
    args: argparse.Namespace, *, now: datetime | None = None
) -> LookupScan | None:
    """The lookup ``args`` ask for, or None without ``--cloudtrail-lookup``."""
    if not getattr(args, "cloudtrail_lookup", False):
        for option in ("since", "until", "lookup_attribute"):
            if getattr(args, option, None) is not None:
                flag = "--" + option.replace("_", "-")
                raise UsageError(f"{flag} only applies with --cloudtrail-lookup")
        return None
    if args.paths:
        raise UsageError(
            "--cloudtrail-lookup reads CloudTrail, not files: drop the PATH arguments "
            "or run two scans"
        )
    from diagnostics.sources import lookup_events as le
    from diagnostics.sources.lookup_scan import LookupScan

    now = now if now is not None else datetime.now(UTC)
    since = _moment(args.since or "1h", "--since", now)
    until = _moment(args.until, "--until", now) if args.until else None
    end = now - until if isinstance(until, timedelta) else until
    attribute = le.parse_attribute(args.lookup_attribute) if args.lookup_attribute else None
    window = le.window_since(since, end, now, attribute)
    return LookupScan(
        regions=_regions(args),
        window=window,
        err=sys.stderr,
        profile=args.profile,
        endpoint_url=args.cloudtrail_endpoint_url,
    )


def _regions(args: Any) -> tuple[str, ...]:
    regions: list[str] = list(getattr(args, "regions", None) or [])
    if not regions:
        import boto3

        regions = [boto3.session.Session(profile_name=args.profile).region_name or "us-east-1"]
    return tuple(dict.fromkeys(regions))
