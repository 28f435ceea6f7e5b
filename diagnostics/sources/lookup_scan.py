"""``scan --cloudtrail-lookup``: the failures of one LookupEvents window, region by region.

One pass per region, each with its own 2-calls-a-second bucket (the limit is
per account and region).  A region that cannot be read is reported and the
others go on; a refused ``cloudtrail:LookupEvents`` also becomes a failure of
its own, so the scan diagnoses the tool's own denial and prints its fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from diagnostics.model import Failure, InputStats
from diagnostics.sources import lookup_events as le


@dataclass(slots=True)
class LookupScan:
    """What ``scan`` asks LookupEvents for, and what it counted."""

    regions: tuple[str, ...]
    window: le.LookupWindow
    err: TextIO
    profile: str | None = None
    endpoint_url: str | None = None
    #: Builds the client of a region (tests inject one; default: ``le.make_client``).
    client_for: Callable[[str], object] | None = None
    events: int = 0
    unparsable: int = 0
    #: Regions whose events could not all be read.
    failed_regions: list[str] = field(default_factory=list)

    def failures(self, stats: InputStats, unread: list[str]) -> Iterator[Failure]:
        """Every authorization failure of the window, region after region.

        A region that could not be read is added to ``unread`` (the scan then exits 2:
        a region not read is no clean bill of health).
        """
        for region in self.regions:
            stats.files += 1
            yield from self._region(region, stats)
            if region in self.failed_regions:
                unread.append(f"cloudtrail-lookup:{region}")

    def _client(self, region: str) -> object:
        if self.client_for is not None:
            return self.client_for(region)
        return le.make_client(
            region, le.new_bucket(), profile=self.profile, endpoint_url=self.endpoint_url
        )

    def _region(self, region: str, stats: InputStats) -> Iterator[Failure]:
        from diagnostics.extract import extract_text
        from diagnostics.lookup import errors as e
        from diagnostics.text.safe import line

        unparsable: list[str] = []
        try:
            for page in le.lookup_pages(self._client(region), region, self.window):
                self.events += page.events
                stats.lines += page.events
                unparsable.extend(page.unparsable)
                for _event_id, failure in page.failures:
                    yield failure
        except le.LookupDenied as exc:
            self.failed_regions.append(region)
            print(f"authz-diag: error: {line(str(exc))}", file=self.err)
            own = f"cloudtrail-lookup:{region} (authz-diag's own LookupEvents call)"
            yield from extract_text(exc.aws_message, own, stats)
        except Exception as exc:
            self.failed_regions.append(region)
            error = e.classify(exc)
            print(
                f"authz-diag: error: cloudtrail-lookup:{region}: LookupEvents failed "
                f"({error.kind}: {line(error.code)}); {_what_to_do(error.kind)}",
                file=self.err,
            )
        if unparsable:
            self.unparsable += len(unparsable)
            stats.rejected += len(unparsable)
            stats.warnings.append(
                f"cloudtrail-lookup:{region}: {len(unparsable)} event(s) whose CloudTrailEvent "
                f"is not a CloudTrail record were skipped (first event id: {unparsable[0]}); "
                "the other events were read"
            )


def _what_to_do(kind: str) -> str:
    from diagnostics.lookup import errors as e

    return {
        e.NO_CREDENTIALS: "no AWS credentials: pass --profile or set AWS_PROFILE",
        e.EXPIRED_CREDENTIALS: "the credentials expired: log in again (aws sso login)",
        e.THROTTLED: "still throttled after retries: try again, or narrow --since",
        e.UNREACHABLE: "CloudTrail was unreachable: check the network and --region",
    }.get(kind, "try again; if it persists, run with -vv")
